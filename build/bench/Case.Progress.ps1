# Progress must cost nothing: Send-Transfer with its progress bars drawn in a terminal vs the same send with
# $ProgressPreference = 'SilentlyContinue' (PowerShell/PowerShell#2138: Invoke-WebRequest's progress once made
# downloads many times slower). Target: within 5%.
# The runs happen in a tmux window, a real terminal emulator. Not `script`: PowerShell's console host asks the
# terminal for the cursor position (ESC[6n) while drawing bars, `script` never answers, and every bar then waits for
# a time-out (a plain Write-Progress loop of 8 updates takes 34 s instead of 2.4 s there), whoever writes the bars.

function Invoke-PwshInTmux {
    <# Runs $Script in a fresh pwsh inside a detached tmux window (module imported, not timed); returns its 'ELAPSED'. #>
    param([string] $Script)
    $id = 'ttprogress' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    $file = Join-Path $WorkRoot "$id.ps1"
    $result = Join-Path $WorkRoot "$id.result"
    Set-Content -Path $file -Value ("`$ErrorActionPreference='Stop'; `$env:TRANSFERTOOLS_HOME='$(Join-Path $WorkRoot 'home')'; Import-Module '$ModulePath'`n" +
        "try { $Script } catch { 'ERROR ' + `$_ | Set-Content '$result'; exit 1 }`n" + "`$elapsed | Set-Content '$result'")
    try {
        & tmux new-session -d -s $id -x 120 -y 40 "$pwshExe -NoProfile -File $file; tmux wait-for -S $id"
        if ($LASTEXITCODE -ne 0) { throw 'tmux could not start a session (apt-get install tmux).' }
        & tmux wait-for $id
        $text = Get-Content $result -Raw -ErrorAction SilentlyContinue
        if ($text -notmatch '^ELAPSED ([0-9.]+)') { throw "run failed: $text" }
        [double]$Matches[1]
    } finally {
        & tmux kill-session -t $id 2>$null
        Remove-Item $file, $result -ErrorAction SilentlyContinue
    }
}

$send = "`$sw=[Diagnostics.Stopwatch]::StartNew(); `$t = Send-Transfer -Path '$source' -Destination '$dest'; if (`$t.Status -ne 'Completed') { throw `$t.Error }; `$elapsed = 'ELAPSED ' + `$sw.Elapsed.TotalSeconds"
if (-not (Get-Command tmux -ErrorAction SilentlyContinue)) {
    Add-Target 'A send with progress shown within 5% of the same send silent' $false 'not measured: needs tmux (apt-get install tmux)'
    return
}
$rows = Invoke-Case "Progress shown vs silent, $SizeMB MiB" ([ordered]@{
        'Send-Transfer, progress silent' = @{ Before = { Reset-Dir $dest }; Run = { Invoke-PwshInTmux "`$ProgressPreference='SilentlyContinue'; $send" } }
        'Send-Transfer, progress shown'  = @{ Before = { Reset-Dir $dest }; Run = { Invoke-PwshInTmux "`$ProgressPreference='Continue'; $send" } }
    })
Add-Table "Progress shown vs silent, $SizeMB MiB local send (in a tmux terminal)" $rows 'Send-Transfer, progress silent' $Bytes 'Progress events are throttled (4/s per transfer), queued off the data path and drawn by the cmdlet at most every 250 ms.'
$on = Get-Row $rows 'Send-Transfer, progress shown'; $off = Get-Row $rows 'Send-Transfer, progress silent'
if ($on -and -not $on.Error -and $off -and -not $off.Error) {
    Add-Target 'A send with progress shown within 5% of the same send silent' ($on.Median -le 1.05 * $off.Median) ('{0:N2} s vs {1:N2} s ({2:+0.0;-0.0}%)' -f $on.Median, $off.Median, (100 * ($on.Median / $off.Median - 1)))
} else { Add-Target 'A send with progress shown within 5% of the same send silent' $false 'not measured (a run failed)' }
