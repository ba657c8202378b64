# Import-Module time in a fresh process (build/bench/Measure-ModuleImport.ps1: pwsh start-up not counted). Target: under 1.5 s.
Write-Host '== Import-Module'
$import = & (Join-Path $PSScriptRoot 'Measure-ModuleImport.ps1') -ModulePath $ModulePath -Runs ([math]::Max(5, 2 * $Rounds))
$script:Report.Add("### Import-Module in a fresh pwsh`n")
$script:Report.Add('Timed inside a new `pwsh -NoProfile` with a Stopwatch around `Import-Module` (pwsh''s own start-up is not counted).')
$script:Report.Add('')
$script:Report.Add('| runs | median | slowest | whole process (median) | plugin assemblies loaded at import |')
$script:Report.Add('| ---: | ---: | ---: | ---: | --- |')
$script:Report.Add(('| {0} | {1:N0} ms | {2:N0} ms | {3:N0} ms | {4} |' -f $import.Runs, $import.ImportMedianMs, $import.ImportMaxMs, $import.ProcessMedianMs, $(if ($import.LoadedAtImport) { $import.LoadedAtImport } else { 'only TransferTools' })))
$script:Report.Add('')
Add-Target 'Import-Module under 1.5 s in a fresh process' ($import.ImportMedianMs -lt 1500) ('{0:N0} ms median, {1:N0} ms slowest' -f $import.ImportMedianMs, $import.ImportMaxMs)

# A session's first transfer pays for loading and JIT-compiling the engine; the throughput cases time the calls after
# one warm-up transfer, so this is the difference a runbook (one transfer per fresh pwsh) sees on top of them.
Write-Host '== First transfer of a session'
$firstCall = foreach ($i in 1..[math]::Max(3, $Rounds)) {
    Remove-Item (Join-Path $WorkRoot 'first') -Recurse -Force -ErrorAction SilentlyContinue
    $f = Invoke-PwshTimed @"
`$sw = [Diagnostics.Stopwatch]::StartNew(); `$null = Send-Transfer -Path '$warmFile' -Destination '$WorkRoot/first/'; `$cold = `$sw.Elapsed.TotalSeconds
`$sw.Restart(); `$null = Send-Transfer -Path '$warmFile' -Destination '$WorkRoot/first/' -Force; `$warm = `$sw.Elapsed.TotalSeconds
'VALUE ' + `$warm
'ELAPSED ' + `$cold
"@
    Write-Host ('   first {0:N3} s, second {1:N3} s' -f $f.ELAPSED, $f.VALUE)
    [pscustomobject]@{ Cold = $f.ELAPSED; Warm = $f.VALUE }
}
$script:Report.Add('The first transfer of a new session loads and JIT-compiles the engine; the throughput cases time calls after one small warm-up transfer, so a runbook that makes one transfer per fresh pwsh pays this on top:')
$script:Report.Add('')
$script:Report.Add('| first Send-Transfer of a session (64 KiB) | second call | runs (first / second, s) |')
$script:Report.Add('| ---: | ---: | --- |')
$script:Report.Add(('| {0:N0} ms | {1:N0} ms | {2} |' -f ((Get-Median $firstCall.Cold) * 1000), ((Get-Median $firstCall.Warm) * 1000), (($firstCall | ForEach-Object { '{0:N3} / {1:N3}' -f $_.Cold, $_.Warm }) -join ', ')))
$script:Report.Add('')
