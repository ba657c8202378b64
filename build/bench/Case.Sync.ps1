# Issue 29 item 11: Sync-TransferFolder vs rclone sync and rsync -a --delete, local folder to local folder.
# A tree of $SmallFiles files of 4 KiB and 50 files of 20 MiB in 200 folders (fewer with a -SizeMB under 1000; -Quick: 3,
# as the small files' count is what (b) and (c) cost, and the big files' throughput is the Local and Sftp cases' part):
#  (a) first sync into an empty folder, (b) re-sync with nothing changed, (c) re-sync after 1% of the files changed
#  and 1% deleted at the source. Targets: (a) and (c) at most 1.0x rclone; (b) at most 1.0x rclone and under 1 s.
# Each contender has its own destination; (c) restores it to the synced state (cp -a, untimed) before each run.
$script:CaseIssue = '29'
$syncRoot = Join-Path $WorkRoot 'sync'
$syncSource = Join-Path $syncRoot 'src'
$syncChanged = Join-Path $syncRoot 'src-changed'
$bigCount = if ($Quick) { 3 } else { [int][math]::Max(1, [math]::Min(50, [math]::Floor($SizeMB / 20))) }
# (b) and (c) are parity targets of a few seconds a run: they get the parity rounds (11, or -Quick's 3); (a) gets $Rounds.
$syncParityRounds = $ParityRounds
$folders = 200
$syncStamp = Join-Path $syncRoot "tree-$SmallFiles-$bigCount.done"
if (-not (Test-Path $syncStamp)) {
    Write-Host "Creating the sync tree: $SmallFiles x 4 KiB and $bigCount x 20 MiB in $folders folders"
    Reset-Dir $syncRoot
    $random = [Random]::new(29); $buffer = [byte[]]::new(4096)
    for ($i = 0; $i -lt $SmallFiles; $i++) {
        $folder = Join-Path $syncSource ('d{0:D3}' -f ($i % $folders))
        if ($i -lt $folders) { New-Item -ItemType Directory -Force -Path $folder | Out-Null }
        $random.NextBytes($buffer); [IO.File]::WriteAllBytes((Join-Path $folder ('f{0:D5}.bin' -f $i)), $buffer)
    }
    for ($i = 0; $i -lt $bigCount; $i++) {
        New-DataFile (Join-Path $syncSource ('d{0:D3}/big{1:D2}.bin' -f ($i * 3 % $folders), $i)) 20MB
    }
    # The changed source: hard links of the tree, 1% of the small files rewritten (new bytes, new time), 1% gone.
    & cp -al $syncSource $syncChanged
    $all = @(Get-ChildItem $syncChanged -Recurse -File -Filter 'f*.bin' | Sort-Object FullName)
    $step = 100
    for ($i = 0; $i -lt $all.Count; $i += $step) {
        $f = $all[$i].FullName; Remove-Item $f; $random.NextBytes($buffer); [IO.File]::WriteAllBytes($f, $buffer)
        if ($i + 1 -lt $all.Count) { Remove-Item $all[$i + 1].FullName }
    }
    New-Item -ItemType File -Path $syncStamp | Out-Null
}
$syncBytes = [double]$SmallFiles * 4096 + [double]$bigCount * 20MB
$ttWarm = "`$null = New-Item -ItemType Directory -Force '$syncRoot/warm-src'; Set-Content '$syncRoot/warm-src/w.txt' 'w'; `$null = Sync-TransferFolder -Path '$syncRoot/warm-src' -Destination '$syncRoot/warm-dst'"

# The CPU times beside a target's figure (user + system: of the pwsh around the timed command; of rclone's process).
function Format-SyncCpu([object] $Tt, [object] $Rclone) {
    if ($null -eq $Tt.CpuMedian -or $null -eq $Rclone.CpuMedian) { return '' }
    ' (CPU {0:N2} s vs {1:N2} s)' -f $Tt.CpuMedian, $Rclone.CpuMedian
}
function Get-SyncDest([string] $Who) { Join-Path $syncRoot "dst-$Who" }
# The contenders read the phase's source and preparation from these (script blocks do not capture variables).
$script:SyncFrom = $syncSource
$script:SyncBefore = { param($who) }
$syncContenders = [ordered]@{
    'rclone sync'                 = @{ Before = { & $script:SyncBefore 'rclone' }; Run = { Measure-Process 'rclone' @('sync', $script:SyncFrom, (Get-SyncDest 'rclone')) } }
    'rsync -a --delete'           = @{ Before = { & $script:SyncBefore 'rsync' }; Run = { Measure-Process 'rsync' @('-a', '--delete', "$($script:SyncFrom)/", "$(Get-SyncDest 'rsync')/") } }
    'Sync-TransferFolder -Mirror' = @{
        Before = { & $script:SyncBefore 'tt' }
        Run    = {
            (Invoke-PwshTimed @"
$ttWarm
`$cpu0 = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$r = Sync-TransferFolder -Path '$($script:SyncFrom)' -Destination '$(Get-SyncDest 'tt')' -Mirror -ThrottleLimit 8
`$sw.Stop()
'CPU ' + ([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - `$cpu0).TotalSeconds
if (`$r.Failed) { throw "`$(`$r.Failed) failed: `$(`$r.Errors -join '; ')" }
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@) | ForEach-Object { $script:LastCpu = $_.CPU; $_.ELAPSED }
        }
    }
}

$script:SyncFrom = $syncSource
$script:SyncBefore = { param($who) $d = Get-SyncDest $who; if (Test-Path $d) { Remove-Item $d -Recurse -Force }; Read-IntoCache $syncSource }
$first = Invoke-Case 'Sync (a): first sync into an empty folder' $syncContenders
Add-Table "Folder sync (a): $SmallFiles x 4 KiB + $bigCount x 20 MiB in $folders folders, into an empty folder" $first 'rclone sync' $syncBytes "Each contender creates the destination tree. Sync-TransferFolder journals, hashes and verifies every file and keeps times and modes; rclone sync checks sizes and times with 4 transfers and 8 checkers; rsync -a copies with times and modes." -Cpu
$script:SyncBefore = { param($who) }
$same = Invoke-Case 'Sync (b): re-sync, nothing changed' $syncContenders -Count $syncParityRounds
Add-Table 'Folder sync (b): re-sync with nothing changed' $same 'rclone sync' 0 'Both trees listed and compared by size and time; nothing moves.' -Cpu
$script:SyncFrom = $syncChanged
$script:SyncBefore = {
    param($who)
    $d = Get-SyncDest $who
    if (Test-Path $d) { Remove-Item $d -Recurse -Force }
    & cp -a $syncSource $d
}
$changed = Invoke-Case 'Sync (c): re-sync after 1% changed and 1% deleted' $syncContenders -Count $syncParityRounds
Add-Table 'Folder sync (c): re-sync after 1% of the files changed and 1% deleted at the source' $changed 'rclone sync' 0 'The destination is restored to the synced tree (cp -a, untimed) before each run; each run updates 1% and deletes 1%.' -Cpu

foreach ($phase in @(@{ Name = '(a)'; Rows = $first }, @{ Name = '(c)'; Rows = $changed }, @{ Name = '(b)'; Rows = $same })) {
    $tt = Get-Row $phase.Rows 'Sync-TransferFolder -Mirror'; $rc = Get-Row $phase.Rows 'rclone sync'
    if ($tt -and $rc -and -not $tt.Error -and -not $rc.Error) {
        $ratio = $tt.Median / $rc.Median
        $met = $ratio -le 1.0 -and ($phase.Name -ne '(b)' -or $tt.Median -lt 1.0)
        Add-Target "Sync-TransferFolder $($phase.Name) at most 1.0x rclone sync$(if ($phase.Name -eq '(b)') { ' and under 1 s' })" $met (('{0:N2} s, {1:N2}x' -f $tt.Median, $ratio) + (Format-SyncCpu $tt $rc))
    }
}

# The same three phases from the local tree to the bench sshd over loopback: rclone's sftp remote, rsync over ssh (the
# key user's shell runs rsync --server), and Sync-TransferFolder to sftp://.
$ssh = Get-BenchSshd
$sshCommand = "ssh -i $($ssh.KeyFile) -p $($ssh.Port) -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$($ssh.KnownHostsFile) -o BatchMode=yes -o LogLevel=ERROR"
$rcloneSyncEnv = New-RcloneSftpEnvironment 'ttsync' $ssh.Port $ssh.KnownHostsFile
function Get-SftpSyncDest([string] $Who) { Join-Path $ssh.KeyUserData "sync-$Who" }
$sftpContenders = [ordered]@{
    'rclone sync (sftp)'       = @{ Before = { & $script:SyncBefore 'rclone' }; Run = { Measure-Process 'rclone' @('sync', $script:SyncFrom, "ttsync:$(Get-SftpSyncDest 'rclone')") $rcloneSyncEnv } }
    'rsync -a --delete (ssh)'  = @{ Before = { & $script:SyncBefore 'rsync' }; Run = { Measure-Process 'rsync' @('-a', '--delete', '-e', $sshCommand, "$($script:SyncFrom)/", "$($ssh.KeyUser)@127.0.0.1:$(Get-SftpSyncDest 'rsync')/") } }
    'Sync-TransferFolder -Mirror (sftp)' = @{
        Before = { & $script:SyncBefore 'tt' }
        Run    = {
            (Invoke-PwshTimed @"
$ttWarm
`$cpu0 = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$r = Sync-TransferFolder -Path '$($script:SyncFrom)' -Destination 'sftp://$($ssh.KeyUser)@127.0.0.1:$($ssh.Port)$(Get-SftpSyncDest 'tt')/' -Mirror -ThrottleLimit 8 -KeyFile '$($ssh.KeyFile)' -HostKeyFingerprint '$($ssh.HostKeyFingerprint)'
`$sw.Stop()
'CPU ' + ([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - `$cpu0).TotalSeconds
if (`$r.Failed) { throw "`$(`$r.Failed) failed: `$(`$r.Errors -join '; ')" }
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@) | ForEach-Object { $script:LastCpu = $_.CPU; $_.ELAPSED }
        }
    }
}

$script:SyncFrom = $syncSource
$script:SyncBefore = { param($who) $d = Get-SftpSyncDest $who; if (Test-Path $d) { Remove-Item $d -Recurse -Force }; Read-IntoCache $syncSource }
$sftpFirst = Invoke-Case 'Sync to SFTP (a): first sync into an empty folder' $sftpContenders
Add-Table "Folder sync to SFTP over loopback (a): the same tree into an empty folder" $sftpFirst 'rclone sync (sftp)' $syncBytes 'rclone sync to its sftp remote (4 transfers, 8 checkers), rsync -a --delete over ssh, Sync-TransferFolder to sftp:// (8 copies at once).' -Cpu
$script:SyncBefore = { param($who) }
$sftpSame = Invoke-Case 'Sync to SFTP (b): re-sync, nothing changed' $sftpContenders -Count $syncParityRounds
Add-Table 'Folder sync to SFTP over loopback (b): re-sync with nothing changed' $sftpSame 'rclone sync (sftp)' 0 '' -Cpu
$script:SyncFrom = $syncChanged
$script:SyncBefore = {
    param($who)
    $d = Get-SftpSyncDest $who
    if (Test-Path $d) { Remove-Item $d -Recurse -Force }
    & cp -a $syncSource $d
    & chown -R "$($ssh.KeyUser):$($ssh.KeyUser)" $d
}
$sftpChanged = Invoke-Case 'Sync to SFTP (c): re-sync after 1% changed and 1% deleted' $sftpContenders -Count $syncParityRounds
Add-Table 'Folder sync to SFTP over loopback (c): re-sync after 1% changed and 1% deleted' $sftpChanged 'rclone sync (sftp)' 0 'The destination is restored to the synced tree (cp -a, untimed) before each run.' -Cpu
foreach ($phase in @(@{ Name = '(a)'; Rows = $sftpFirst }, @{ Name = '(b)'; Rows = $sftpSame }, @{ Name = '(c)'; Rows = $sftpChanged })) {
    $tt = Get-Row $phase.Rows 'Sync-TransferFolder -Mirror (sftp)'; $rc = Get-Row $phase.Rows 'rclone sync (sftp)'
    if ($tt -and $rc -and -not $tt.Error -and -not $rc.Error) {
        Add-Target "Sync-TransferFolder to SFTP $($phase.Name) at most 1.0x rclone sync" ($tt.Median -le $rc.Median) (('{0:N2} s, {1:N2}x' -f $tt.Median, ($tt.Median / $rc.Median)) + (Format-SyncCpu $tt $rc))
    }
}
