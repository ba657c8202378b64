# Progress must cost nothing: Send-Transfer with its progress bars drawn in a terminal vs the same send with
# $ProgressPreference = 'SilentlyContinue' (PowerShell/PowerShell#2138: Invoke-WebRequest's progress once made
# downloads many times slower). Target: within 5%.
# Both run in pwsh inside a tmux window (Invoke-PwshTimed -Pty), a real terminal emulator. Not `script`: the console
# host asks the terminal for the cursor position (ESC[6n) while drawing bars, `script` never answers, and every bar
# then waits for a time-out, whoever writes the bars.
# A 5% threshold is finer than one run's noise on this shared machine, and a run is short: at least 11 rounds.
$progressRounds = $ParityRounds   # at least 11, except in a -Quick run
$rows = Invoke-Case "Progress shown vs silent, $SizeMB MiB" ([ordered]@{
        'Send-Transfer, SilentlyContinue' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$dest/'" -Pty } }
        'Send-Transfer, progress shown'   = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$dest/'" -Pty -ShowProgress } }
    }) -Count $progressRounds
Add-Table "Progress shown vs SilentlyContinue (local send, $SizeMB MiB, in a tmux terminal)" $rows 'Send-Transfer, SilentlyContinue' $Bytes "Progress events are throttled (4/s per transfer), queued off the data path and drawn by the cmdlet at most every 250 ms. $progressRounds alternating rounds (the 5% threshold is finer than one run's noise here)."
$silent = Get-Row $rows 'Send-Transfer, SilentlyContinue'; $shown = Get-Row $rows 'Send-Transfer, progress shown'
Add-Target 'Send with progress shown within 5% of SilentlyContinue' ((Test-Rows @($silent, $shown)) -and $shown.Median -le 1.05 * $silent.Median) ('{0} vs {1} ({2:+0.0;-0.0}%)' -f (Format-Seconds $shown), (Format-Seconds $silent), $(if (Test-Rows @($silent, $shown)) { ($shown.Median / $silent.Median - 1) * 100 } else { 0 }))
Reset-Dir $dest
