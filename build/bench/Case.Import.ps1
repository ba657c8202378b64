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
