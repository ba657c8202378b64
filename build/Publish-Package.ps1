<#
.SYNOPSIS
    Publishes the built module to a local PSResourceGet file repository, and packs the NuGet packages plugin authors
    use (TransferTools.Abstractions, TransferTools.Conformance) beside it.
.DESCRIPTION
    build.ps1 -Task Package builds out/TransferTools and calls this script. It
    1. checks the manifest as the Gallery would (Test-ModuleManifest; explicit export lists, no wildcards),
    2. adds LICENSE and CHANGELOG.md to the module folder,
    3. publishes the module with Publish-PSResource to the file repository (default out/repository), registered for
       the duration of the publish under a private name and unregistered afterwards, so the user's repository list
       is left as it was,
    4. packs TransferTools.Abstractions and TransferTools.Conformance with dotnet pack into the same folder.
    Install from it with:
        Register-PSResourceRepository -Name TTLocal -Uri <repository> -Trusted
        Install-PSResource TransferTools -Repository TTLocal
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Package
.EXAMPLE
    ./build/Publish-Package.ps1 -ModulePath out/TransferTools -RepositoryPath /tmp/repo
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [ValidateSet('Debug', 'Release')] [string] $Configuration = 'Release',
    # The file repository to publish to (created when missing).
    [string] $RepositoryPath = (Join-Path $PSScriptRoot '../out/repository'),
    # Publish the module only (no dotnet pack).
    [switch] $ModuleOnly
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = Split-Path $PSScriptRoot
$ModulePath = (Resolve-Path $ModulePath).Path
New-Item -ItemType Directory -Force -Path $RepositoryPath | Out-Null
$RepositoryPath = (Resolve-Path $RepositoryPath).Path

# 1. The manifest, as the Gallery checks it.
$manifestPath = Join-Path $ModulePath 'TransferTools.psd1'
$manifest = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop
$data = Import-PowerShellDataFile $manifestPath
foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'AliasesToExport', 'VariablesToExport') {
    if ($data[$key] -match '\*') { throw "The manifest's $key has a wildcard; the Gallery needs explicit lists." }
}
foreach ($key in 'Tags', 'ProjectUri', 'LicenseUri', 'ReleaseNotes') {
    if (-not $data.PrivateData.PSData[$key]) { throw "The manifest has no PrivateData.PSData.$key." }
}
$version = $manifest.Version.ToString()

# 2. What a Gallery package carries besides the module.
Copy-Item (Join-Path $root 'LICENSE'), (Join-Path $root 'CHANGELOG.md') -Destination $ModulePath -Force

# 3. Publish. A version already in the repository is replaced (local repositories are rebuilt, not appended to).
Get-ChildItem $RepositoryPath -Filter "TransferTools.$version.nupkg" -ErrorAction SilentlyContinue | Remove-Item -Force
$repositoryName = 'TTLocal-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
Register-PSResourceRepository -Name $repositoryName -Uri $RepositoryPath -Trusted
try {
    Publish-PSResource -Path $ModulePath -Repository $repositoryName -SkipDependenciesCheck
} finally {
    Unregister-PSResourceRepository -Name $repositoryName
}
$nupkg = Join-Path $RepositoryPath "TransferTools.$version.nupkg"
if (-not (Test-Path $nupkg)) { throw "Publish-PSResource did not write $nupkg." }
Write-Host "Published TransferTools $version to $RepositoryPath"

# 4. The packages plugin authors reference.
if (-not $ModuleOnly) {
    $projects = @('src/TransferTools.Abstractions/TransferTools.Abstractions.csproj', 'src/TransferTools.Conformance/TransferTools.Conformance.csproj') |
        ForEach-Object { Join-Path $root $_ } | Where-Object { Test-Path $_ }
    foreach ($project in $projects) {
        $name = [IO.Path]::GetFileNameWithoutExtension($project)
        Get-ChildItem $RepositoryPath -Filter "$name.*nupkg" -ErrorAction SilentlyContinue | Remove-Item -Force
        & dotnet pack $project -c $Configuration -o $RepositoryPath --nologo -v quiet -p:ContinuousIntegrationBuild=true
        if ($LASTEXITCODE -ne 0) { throw "dotnet pack $name failed with exit code $LASTEXITCODE." }
        Write-Host "Packed $name into $RepositoryPath"
    }
}
Get-ChildItem $RepositoryPath -Filter '*.nupkg' | Sort-Object Name | Select-Object Name, Length
