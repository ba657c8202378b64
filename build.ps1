#requires -Version 7.0
<#
.SYNOPSIS
    Builds, tests, benchmarks and packages TransferTools.
.DESCRIPTION
    Build   (default) builds the solution and lays out the importable module in out/TransferTools.
    Demo    builds, then runs the main job: a real, verified transfer on the embedded defaults, with progress.
    Test    builds, then runs every xunit project and every Pester *.Tests.ps1 against out/TransferTools,
            starting the real services the tests need, and prints one line "N passed, N failed".
    Bench   runs the benchmark harness (build/bench) and writes docs/benchmarks.md (-BenchCase ManyFiles: that case
            alone, written to out/benchmarks-ManyFiles.md; -Quick: 3 rounds and a 256 MiB payload, about 20 minutes).
    Package publishes the module (and the Abstractions and conformance-kit packages) to out/repository.
.EXAMPLE
    dotnet pwsh ./build.ps1
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package', 'Clean')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Pester test files or folders to run (default: all under tests/).
    [string[]] $PesterPath,
    # xunit filter expression passed to dotnet test --filter.
    [string] $XunitFilter,
    [switch] $SkipXunit,
    [switch] $SkipPester,
    # Bench: run only these cases (build/bench/Case.<Name>.ps1, e.g. ManyFiles); the report then goes to
    # out/benchmarks-<cases>.md, leaving docs/benchmarks.md (the full run's) as it is.
    [string[]] $BenchCase,
    # Bench: the short run (3 rounds, 256 MiB payload; every case and every target, about 20 minutes on an idle machine).
    # Without -BenchCase it still regenerates docs/benchmarks.md, which then says it was a quick run.
    [switch] $Quick
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$Root = $PSScriptRoot
$OutModule = Join-Path $Root 'out/TransferTools'

function Invoke-Native {
    param([string] $File, [string[]] $Arguments)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$File $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

# A plugin build loaded in its own load context (net8.0/, net10.0-linux-x64/): its assembly, its own dependencies and
# its deps.json go to a module subfolder, all but the plugin API, which must be the module's copy shared with the host.
function Copy-IsolatedPluginBuild([string] $From, [string] $To) {
    New-Item -ItemType Directory -Force -Path $To | Out-Null
    Get-ChildItem $From -File | Where-Object { $_.Extension -in '.dll', '.pdb', '.json' -and $_.BaseName -notlike 'TransferTools.Abstractions*' } |
        Copy-Item -Destination $To
}

function Invoke-Build {
    Write-Host "Building TransferTools ($Configuration)..."
    Invoke-Native dotnet @('build', (Join-Path $Root 'TransferTools.sln'), '-c', $Configuration, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')

    if (Test-Path $OutModule) { Remove-Item $OutModule -Recurse -Force }
    New-Item -ItemType Directory -Path $OutModule | Out-Null

    # The cmdlet assembly and everything it depends on, minus PowerShell itself.
    $cmdletBin = Join-Path $Root "src/TransferTools/bin/$Configuration/netstandard2.0"
    Get-ChildItem $cmdletBin -File | Where-Object { $_.Name -notlike 'System.Management.Automation*' -and $_.Extension -in '.dll', '.xml', '.pdb', '.json' } |
        Copy-Item -Destination $OutModule

    # Plugin projects with heavy dependencies: their assemblies and dependencies, loaded on first use.
    # Only folders with a project count: a renamed or removed plugin leaves its bin/ behind in a work tree, and that
    # stale build must not reach out/ (a clean clone has no such folder, so the two would test different modules).
    $pluginFolders = Get-ChildItem (Join-Path $Root 'src') -Directory -Filter 'TransferTools.Plugins.*' |
        Where-Object { Test-Path (Join-Path $_.FullName "$($_.Name).csproj") }
    foreach ($plugin in $pluginFolders) {
        $bin = Join-Path $plugin.FullName "bin/$Configuration/netstandard2.0"
        if (Test-Path $bin) {
            Get-ChildItem $bin -File | Where-Object { $_.Extension -in '.dll', '.pdb' -and -not (Test-Path (Join-Path $OutModule $_.Name)) } |
                Copy-Item -Destination $OutModule
        }
        # A plugin built for both netstandard2.0 and net8.0 (Sftp): the net8.0 build and its own dependencies go to
        # net8.0/, which the engine loads on .NET 8 or later in its own load context (PluginHost.LoadBuiltInType).
        $net8 = Join-Path $plugin.FullName "bin/$Configuration/net8.0"
        if ($bin -ne $net8 -and (Test-Path $net8)) {
            Copy-IsolatedPluginBuild $net8 (Join-Path $OutModule 'net8.0')
        }
    }

    # The engine's plugin loading (one AssemblyLoadContext per plugin) targets net8.0 and is loaded only on PowerShell 7;
    # it shares the engine and the plugin API with the module, so only its own assembly is copied.
    Get-ChildItem (Join-Path $Root "src/TransferTools.Engine.PluginLoading/bin/$Configuration/net8.0") -File -Filter 'TransferTools.Engine.PluginLoading.*' |
        Where-Object { $_.Extension -in '.dll', '.pdb' } | Copy-Item -Destination $OutModule

    # The Sftp plugin once more, as a net10.0 build precompiled to native code (ReadyToRun) for linux-x64, which the
    # engine prefers there on .NET 10 (PluginAssemblyLoaders.PrecompiledFolder). crossgen2 comes in the SDK's runtime
    # version and .NET 10 refuses code precompiled by an older one, hence net10.0; elsewhere net8.0/'s IL is compiled.
    $precompiledName = 'net10.0-linux-x64'
    $publishDir = Join-Path $Root "src/TransferTools.Plugins.Sftp/bin/$Configuration/precompiled-$precompiledName"
    if (Test-Path $publishDir) { Remove-Item $publishDir -Recurse -Force }
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/TransferTools.Plugins.Sftp/TransferTools.Plugins.Sftp.csproj'), '-c', $Configuration,
        '-f', 'net10.0', '-r', 'linux-x64', '--self-contained', 'false', '-p:TransferToolsPrecompiled=true', '-p:PublishReadyToRun=true',
        '-o', $publishDir, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')
    Copy-IsolatedPluginBuild $publishDir (Join-Path $OutModule $precompiledName)

    # Native SQLite for every platform; the engine picks the right one at load time.
    $native = Get-ChildItem (Join-Path $Root "src/TransferTools.Engine/bin/$Configuration/netstandard2.0") -Directory -Filter runtimes -ErrorAction SilentlyContinue
    $sqliteLib = Get-ChildItem (Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/sqlitepclraw.lib.e_sqlite3') -Directory -ErrorAction SilentlyContinue |
        Sort-Object { [version]($_.Name -replace '-.*$', '') } | Select-Object -Last 1
    if ($env:NUGET_PACKAGES) {
        $alt = Get-ChildItem (Join-Path $env:NUGET_PACKAGES 'sqlitepclraw.lib.e_sqlite3') -Directory -ErrorAction SilentlyContinue | Select-Object -Last 1
        if ($alt) { $sqliteLib = $alt }
    }
    if ($sqliteLib) {
        Copy-Item (Join-Path $sqliteLib.FullName 'runtimes') -Destination $OutModule -Recurse -Force
    }

    # Manifest, merged format views, types, help.
    Copy-Item (Join-Path $Root 'TransferTools.psd1') $OutModule
    $formats = Get-ChildItem (Join-Path $Root 'src/TransferTools/Formats') -Filter '*.format.ps1xml' | Sort-Object Name
    $views = foreach ($f in $formats) {
        $xml = [xml](Get-Content $f.FullName -Raw)
        foreach ($v in $xml.Configuration.ViewDefinitions.View) { $v.OuterXml }
    }
    $merged = "<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<Configuration>`n  <ViewDefinitions>`n$($views -join "`n")`n  </ViewDefinitions>`n</Configuration>`n"
    Set-Content -Path (Join-Path $OutModule 'TransferTools.format.ps1xml') -Value $merged -Encoding utf8NoBOM

    $helpBuilder = Join-Path $Root 'build/New-MamlHelp.ps1'
    if (Test-Path $helpBuilder) {
        & $helpBuilder -DocsPath (Join-Path $Root 'docs') -OutputPath (Join-Path $OutModule 'en-US')
    }
    Write-Host "Module laid out in $OutModule"
}

function Get-PesterModulePath {
    $restore = Join-Path $Root 'build/pester/PesterRestore.csproj'
    Invoke-Native dotnet @('restore', $restore, '--nologo', '-v', 'quiet')
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $psd1 = Join-Path $packages 'pester/6.2.0/tools/Pester.psd1'
    if (-not (Test-Path $psd1)) { throw "Pester was not restored to $psd1." }
    $psd1
}

function Invoke-XunitTests {
    $projects = Get-ChildItem (Join-Path $Root 'tests') -Recurse -Filter '*.Tests.csproj'
    $passed = 0; $failed = 0
    foreach ($project in $projects) {
        $results = Join-Path $Root "out/test-results/$($project.BaseName).trx"
        if (Test-Path $results) { Remove-Item $results }
        $testArgs = @('test', $project.FullName, '-c', $Configuration, '--nologo', '--logger', "trx;LogFileName=$results", '--logger', 'console;verbosity=minimal')
        if ($XunitFilter) { $testArgs += @('--filter', $XunitFilter) }
        & dotnet @testArgs | Out-Host
        if (Test-Path $results) {
            $counters = ([xml](Get-Content $results -Raw)).TestRun.ResultSummary.Counters
            $count = { param($name) $v = $counters.GetAttribute($name); if ($v) { [int]$v } else { 0 } }
            $passed += & $count 'passed'
            $failed += (& $count 'failed') + (& $count 'error') + (& $count 'timeout') + (& $count 'aborted')
        } else {
            Write-Warning "$($project.Name) produced no results; counting it as one failure."
            $failed += 1
        }
    }
    [pscustomobject]@{ Passed = $passed; Failed = $failed }
}

function Invoke-PesterTests {
    $pester = Get-PesterModulePath
    $paths = if ($PesterPath) { @($PesterPath | ForEach-Object { $_ -split "," } | Where-Object { $_ }) } else { @(Join-Path $Root 'tests') }
    $summary = Join-Path $Root 'out/test-results/pester-summary.json'
    New-Item -ItemType Directory -Force -Path (Split-Path $summary) | Out-Null
    if (Test-Path $summary) { Remove-Item $summary }
    # A fresh process: the tests import out/TransferTools exactly as a user would.
    $script = @'
param($PesterPsd1, $Paths, $Summary, $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPsd1 -Force
$env:TRANSFERTOOLS_TEST_MODULE = $ModulePath
$config = New-PesterConfiguration
$config.Run.Path = [string[]]($Paths -split [IO.Path]::PathSeparator)
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Normal'
if ($env:CI -or $env:NO_COLOR) { $config.Output.RenderMode = 'Plaintext' }
$config.Should.ErrorAction = 'Continue'
# Beside the xunit .trx files: what failed, with its message, stays readable after the console has scrolled away.
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = Join-Path (Split-Path $Summary) 'pester.xml'
$result = Invoke-Pester -Configuration $config
# With the first line of each error: CI shows only the end of the output, and a failure should say why there.
function Get-FirstLine($errors) { (@($errors) | Select-Object -First 1 | ForEach-Object { "$_" -split "`n" | Select-Object -First 1 }) }
foreach ($c in $result.Containers | Where-Object { $_.ErrorRecord.Count -gt 0 }) { Write-Host "FAILED CONTAINER: $($c.Item): $(Get-FirstLine $c.ErrorRecord)" }
foreach ($test in $result.Failed) { Write-Host "FAILED: $($test.ExpandedPath): $(Get-FirstLine $test.ErrorRecord)" }
@{ Passed = $result.PassedCount; Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount; Skipped = $result.SkippedCount } |
    ConvertTo-Json | Set-Content -Path $Summary
'@
    $scriptFile = Join-Path $Root 'out/test-results/run-pester.ps1'
    Set-Content -Path $scriptFile -Value $script
    # -File passes each argument as one string, so the list of paths travels joined and is split again inside.
    & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -File $scriptFile -PesterPsd1 $pester -Paths ($paths -join [IO.Path]::PathSeparator) -Summary $summary -ModulePath $OutModule | Out-Host
    if (Test-Path $summary) {
        $s = Get-Content $summary -Raw | ConvertFrom-Json
        [pscustomobject]@{ Passed = [int]$s.Passed; Failed = [int]$s.Failed }
    } else {
        Write-Warning 'Pester produced no summary; counting it as one failure.'
        [pscustomobject]@{ Passed = 0; Failed = 1 }
    }
}

switch ($Task) {
    'Clean' {
        Remove-Item (Join-Path $Root 'out') -Recurse -Force -ErrorAction SilentlyContinue
        Invoke-Native dotnet @('clean', (Join-Path $Root 'TransferTools.sln'), '-c', $Configuration, '--nologo', '-v', 'quiet')
    }
    'Build' { Invoke-Build }
    'Demo' {
        Invoke-Build
        & (Join-Path $PSHOME 'pwsh') -NoProfile -File (Join-Path $Root 'build/Demo.ps1') -ModulePath $OutModule
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    }
    'Test' {
        $failedBuild = $false
        # The module first: Pester and the in-process cmdlet tests (tests/TransferTools.Cmdlets.Tests) import out/TransferTools.
        try { Invoke-Build } catch { Write-Host "Build failed: $_"; $failedBuild = $true }
        if ($failedBuild) { Write-Host '0 passed, 1 failed'; exit 1 }
        # The real servers and tools the tests use (Debian and npm packages), installed when missing, so this command
        # alone passes on a fresh machine. A failure here is not fatal: the tests that need what is missing fail, and
        # say what to install.
        try {
            Import-Module (Join-Path $Root 'tests/services/TestServices.psm1') -Force
            Install-TestServicePrerequisite
        } catch { Write-Warning "Installing test prerequisites failed: $_" }
        $x = if ($SkipXunit) { [pscustomobject]@{ Passed = 0; Failed = 0 } } else { Invoke-XunitTests }
        $p = if ($SkipPester) { [pscustomobject]@{ Passed = 0; Failed = 0 } } else { Invoke-PesterTests }
        $passed = $x.Passed + $p.Passed
        $failed = $x.Failed + $p.Failed
        Write-Host "xunit: $($x.Passed) passed, $($x.Failed) failed; Pester: $($p.Passed) passed, $($p.Failed) failed"
        Write-Host "$passed passed, $failed failed"
        if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
    }
    'Bench' {
        $bench = Join-Path $Root 'build/bench/Invoke-Benchmark.ps1'
        if (-not (Test-Path $bench)) { throw 'The benchmark harness (build/bench/Invoke-Benchmark.ps1) is not in this checkout yet.' }
        Invoke-Build
        if ($BenchCase) {
            $cases = @($BenchCase | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
            & $bench -ModulePath $OutModule -OutputPath (Join-Path $Root "out/benchmarks-$($cases -join '-').md") -Case $cases -Quick:$Quick
        }
        else {
            & $bench -ModulePath $OutModule -OutputPath (Join-Path $Root 'docs/benchmarks.md') -Quick:$Quick
        }
    }
    'Package' {
        $package = Join-Path $Root 'build/Publish-Package.ps1'
        if (-not (Test-Path $package)) { throw 'The packaging script (build/Publish-Package.ps1) is not in this checkout yet.' }
        Invoke-Build
        & $package -ModulePath $OutModule -Configuration $Configuration
    }
}
