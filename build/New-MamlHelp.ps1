<#
.SYNOPSIS
    Compiles the platyPS-format markdown under docs/ into the help PowerShell reads: one MAML file for the cmdlets
    (TransferTools.dll-Help.xml) and one about_*.help.txt per about topic.
.DESCRIPTION
    Cmdlet help files are docs/<Verb-Noun>.md (platyPS schema 2.0.0); about topics are docs/about_*.md. Other
    markdown under docs/ (architecture, plugin authoring, benchmarks) is not help and is left alone.
    platyPS is not needed: build/HelpMarkdown.psm1 reads the markdown and writes MAML in the layout platyPS emits.
.EXAMPLE
    ./build/New-MamlHelp.ps1 -DocsPath docs -OutputPath out/TransferTools/en-US
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $OutputPath,
    # The MAML file name: the cmdlet assembly's file name plus -Help.xml.
    [string] $HelpFileName = 'TransferTools.dll-Help.xml'
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1') -Force

New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
$cmdletFiles = Get-ChildItem -LiteralPath $DocsPath -Filter '*.md' | Where-Object { $_.BaseName -cmatch '^[A-Z][a-z]+-[A-Z][A-Za-z]+$' } | Sort-Object Name
$commands = foreach ($file in $cmdletFiles) {
    $help = Read-HelpMarkdown -Path $file.FullName
    if ($help.Name -ne $file.BaseName) { throw "$($file.Name): the title is '# $($help.Name)'; it must be the file's name." }
    $help
}
if ($commands) {
    ConvertTo-MamlHelp -Command $commands -Path (Join-Path $OutputPath $HelpFileName)
}

$aboutFiles = Get-ChildItem -LiteralPath $DocsPath -Filter 'about_*.md' | Sort-Object Name
foreach ($file in $aboutFiles) {
    $text = ConvertTo-AboutHelpText -Path $file.FullName
    Set-Content -LiteralPath (Join-Path $OutputPath "$($file.BaseName).help.txt") -Value $text -NoNewline -Encoding utf8NoBOM
}
Write-Host "Help: $(@($commands).Count) cmdlets, $(@($aboutFiles).Count) about topics -> $OutputPath"
