<#
.SYNOPSIS
    Measures Import-Module TransferTools in fresh pwsh processes (the "under 1.5 s" figure), and which assemblies the
    import loads (heavy plugin dependencies must not be among them).
.DESCRIPTION
    Each run starts a new pwsh -NoProfile and times Import-Module inside it with a Stopwatch, so pwsh's own start-up
    is not counted; the process wall time is reported beside it. Prints a table and returns the summary object.
    A benchmark, not a test: nothing fails on a slow machine.
.EXAMPLE
    dotnet pwsh ./build/bench/Measure-ModuleImport.ps1 -ModulePath out/TransferTools -Runs 10
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/TransferTools'),
    [int] $Runs = 10
)

$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$pwsh = Join-Path $PSHOME 'pwsh'
$probe = @"
`$before = [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name
`$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module '$ModulePath'
`$sw.Stop()
`$loaded = [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name | Where-Object { `$before -notcontains `$_ }
@{ ImportMs = `$sw.Elapsed.TotalMilliseconds; Loaded = @(`$loaded) } | ConvertTo-Json -Compress
"@
$home_ = Join-Path ([IO.Path]::GetTempPath()) ('tt-bench-import-' + [guid]::NewGuid().ToString('n'))
$env:TRANSFERTOOLS_HOME = $home_
try {
    $results = foreach ($i in 1..$Runs) {
        $wall = [Diagnostics.Stopwatch]::StartNew()
        $json = & $pwsh -NoProfile -NonInteractive -Command $probe
        $wall.Stop()
        $r = $json | Select-Object -Last 1 | ConvertFrom-Json
        [pscustomobject]@{ Run = $i; ImportMs = [math]::Round($r.ImportMs, 1); ProcessMs = [math]::Round($wall.Elapsed.TotalMilliseconds); Loaded = $r.Loaded }
    }
} finally {
    Remove-Item Env:TRANSFERTOOLS_HOME
    Remove-Item $home_ -Recurse -Force -ErrorAction SilentlyContinue
}
$sorted = $results.ImportMs | Sort-Object
$summary = [pscustomobject]@{
    Runs           = $Runs
    ImportMedianMs = $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)]
    ImportMaxMs    = $sorted[-1]
    ProcessMedianMs = ($results.ProcessMs | Sort-Object)[[int][math]::Floor(($Runs - 1) / 2)]
    LoadedAtImport = ($results[0].Loaded | Where-Object { $_ -like 'TransferTools*' -or $_ -like 'Renci*' -or $_ -like 'Azure*' -or $_ -like 'OpenTelemetry*' -or $_ -like '*Sqlite*' }) -join ', '
}
$results | Format-Table Run, ImportMs, ProcessMs | Out-Host
$summary
