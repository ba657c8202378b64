<#
.SYNOPSIS
    Creates docs/<Verb-Noun>.md for every cmdlet of the built module that has none, and refreshes the metadata
    (syntax, parameter list and yaml blocks) of the ones that exist, keeping the text people wrote.
.DESCRIPTION
    The platyPS New-MarkdownHelp / Update-MarkdownHelp pair, for a machine without platyPS. Run it after adding a
    cmdlet or changing parameters, then write the description, examples (with real output) and notes by hand.
    Runs in a child process so the module is not left loaded in the caller's session.
.EXAMPLE
    dotnet pwsh ./build.ps1; dotnet pwsh ./build/Update-HelpMarkdown.ps1
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/TransferTools'),
    [string] $DocsPath = (Join-Path $PSScriptRoot '../docs'),
    # Only these cmdlets (default: all exported).
    [string[]] $Name
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1') -Force
$module = Import-Module (Resolve-Path $ModulePath) -PassThru -Force
$xmlDocs = Get-XmlDocSummary -XmlDocPath (Join-Path $module.ModuleBase 'TransferTools.xml')
foreach ($command in Get-Command -Module TransferTools -CommandType Cmdlet | Sort-Object Name) {
    if ($Name -and $Name -notcontains $command.Name) { continue }
    $path = Join-Path $DocsPath "$($command.Name).md"
    $existing = if (Test-Path $path) { Read-HelpMarkdown -Path $path }
    $text = New-HelpMarkdown -Command $command -XmlDocs $xmlDocs -Existing $existing
    $old = if (Test-Path $path) { (Get-Content -LiteralPath $path -Raw) -replace "`r`n", "`n" }
    if ($old -ne $text) {
        Set-Content -LiteralPath $path -Value $text -NoNewline -Encoding utf8NoBOM
        Write-Host "$(if ($existing) { 'Updated' } else { 'Created' }) $path"
    }
}
