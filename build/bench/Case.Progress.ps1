# Progress: the same send with progress bars drawn in a terminal and with $ProgressPreference = 'SilentlyContinue'.
# Both run in a pseudo-terminal (script(1)), so the bars are really rendered. Target: within 5%.
$rows = Invoke-Case "Progress shown vs silent, $SizeMB MiB" ([ordered]@{
        'Send-Transfer, SilentlyContinue' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$dest/'" -Pty } }
        'Send-Transfer, progress shown'   = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$dest/'" -Pty -ShowProgress } }
    })
Add-Table "Progress shown vs SilentlyContinue (local send, $SizeMB MiB, in a pseudo-terminal)" $rows 'Send-Transfer, SilentlyContinue' $Bytes 'Progress records are throttled in the engine (4 a second) and drawn by the PowerShell host.'
$silent = Get-Row $rows 'Send-Transfer, SilentlyContinue'; $shown = Get-Row $rows 'Send-Transfer, progress shown'
Add-Target 'Send with progress shown within 5% of SilentlyContinue' ((Test-Rows @($silent, $shown)) -and $shown.Median -le 1.05 * $silent.Median) ('{0} vs {1} ({2:+0.0;-0.0}%)' -f (Format-Seconds $shown), (Format-Seconds $silent), $(if (Test-Rows @($silent, $shown)) { ($shown.Median / $silent.Median - 1) * 100 } else { 0 }))
Reset-Dir $dest
