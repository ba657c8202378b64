# Memory: how far the peak working set of a pwsh grows while Send-Transfer moves 1 GiB and 4 GiB (page cache does not
# count; the process's own memory does). Target: under 100 MiB of growth whatever the size. The peak is measured
# from a reset high-water mark (/proc/self/clear_refs) taken right before the transfer, after the module has loaded.
$bigSizes = @($SizeMB)
$bigFile = Join-Path $WorkRoot 'payload-4g.bin'
$freeGiB = (Get-PSDrive -PSProvider FileSystem | Where-Object { $WorkRoot.StartsWith($_.Root) } | Sort-Object { $_.Root.Length } -Descending | Select-Object -First 1).Free / 1GB
if (-not $Quick -and $SizeMB -lt 4096 -and ($freeGiB -gt 12 -or (Test-Path $bigFile))) {
    New-DataFile $bigFile (4096L * 1MB)
    $bigSizes += 4096
}

$memoryScript = {
    param([string] $Path)
    @"
`$self = [Diagnostics.Process]::GetCurrentProcess()
`$null = Send-Transfer -Path '$warmFile' -Destination '$WorkRoot/warm/' -Force
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
try { [IO.File]::WriteAllText('/proc/self/clear_refs', '5') } catch { }
`$self.Refresh(); `$base = `$self.WorkingSet64
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$t = Send-Transfer -Path '$Path' -Destination '$dest/'
`$sw.Stop()
if (`$t.Status -ne 'Completed') { throw `$t.Error }
`$self.Refresh()
'BASEMB ' + (`$base / 1MB)
'PEAKMB ' + (`$self.PeakWorkingSet64 / 1MB)
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
}

$memoryRows = foreach ($size in $bigSizes) {
    $path = if ($size -eq $SizeMB) { $source } else { $bigFile }
    Write-Host "== Memory, Send-Transfer of $size MiB"
    $growth = [Collections.Generic.List[double]]::new(); $seconds = [Collections.Generic.List[double]]::new(); $base = 0; $err = $null
    for ($r = 1; $r -le [math]::Min($Rounds, 2); $r++) {
        try {
            Reset-Dir $dest
            $f = Invoke-PwshTimed (& $memoryScript $path)
            $growth.Add($f.PEAKMB - $f.BASEMB); $seconds.Add($f.ELAPSED); $base = $f.BASEMB
            Write-Host ('   round {0}: base {1:N0} MiB, peak {2:N0} MiB, growth {3:N1} MiB, {4:N2} s' -f $r, $f.BASEMB, $f.PEAKMB, ($f.PEAKMB - $f.BASEMB), $f.ELAPSED)
        } catch { $err = "$_"; Write-Host "   failed: $_"; break }
    }
    [pscustomobject]@{ SizeMB = $size; Growth = $(if ($growth.Count) { ($growth | Measure-Object -Maximum).Maximum } else { $null }); Samples = $growth.ToArray(); Seconds = $seconds.ToArray(); BaseMB = $base; Error = $err }
}
Reset-Dir $dest

$script:Report.Add("### Memory: peak working set growth during one Send-Transfer`n")
$script:Report.Add('The working set of the pwsh running the transfer, right before it (module loaded, one warm-up transfer done, high-water mark reset) and at its peak; the page cache is not part of it. The worst round counts.')
$script:Report.Add('')
$script:Report.Add('| transfer | working set before | peak growth (worst) | runs (MiB) | time (s) |')
$script:Report.Add('| --- | ---: | ---: | --- | --- |')
foreach ($m in $memoryRows) {
    if ($m.Error) { $script:Report.Add("| Send-Transfer $($m.SizeMB) MiB | failed | | $($m.Error -replace '\|', '/' -replace "`r?`n", ' ') | |"); continue }
    $script:Report.Add(('| Send-Transfer {0} MiB | {1:N0} MiB | {2:N1} MiB | {3} | {4} |' -f $m.SizeMB, $m.BaseMB, $m.Growth, (($m.Samples | ForEach-Object { '{0:N1}' -f $_ }) -join ', '), (($m.Seconds | ForEach-Object { '{0:N2}' -f $_ }) -join ', ')))
}
$script:Report.Add('')
$okRows = @($memoryRows | Where-Object { -not $_.Error })
$worst = if ($okRows.Count) { ($okRows.Growth | Measure-Object -Maximum).Maximum } else { $null }
Add-Target 'Peak working set grows less than 100 MiB for a transfer of any size' ($okRows.Count -eq @($memoryRows).Count -and $okRows.Count -gt 0 -and $worst -lt 100) (($memoryRows | ForEach-Object { if ($_.Error) { "$($_.SizeMB) MiB: failed" } else { '{0} MiB: +{1:N1} MiB' -f $_.SizeMB, $_.Growth } }) -join '; ')
