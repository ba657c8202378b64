# 10,000 files of 4 KiB piped into Send-Transfer, and the folder sent with Send-Transfer -Recurse, vs rclone copy of the
# folder (and cp -r as the floor).
# Target: faster than rclone. The TransferTools run also measures the per-object cost of the Transfer objects it returns.
$smallSource = Join-Path $WorkRoot "small-$SmallFiles"
$smallDest = Join-Path $WorkRoot 'small-dest'
if (-not (Test-Path $smallSource) -or @(Get-ChildItem $smallSource -File).Count -ne $SmallFiles) {
    Write-Host "Creating $SmallFiles files of 4 KiB in $smallSource"
    Reset-Dir $smallSource
    $random = [Random]::new(11); $buffer = [byte[]]::new(4096)
    for ($i = 0; $i -lt $SmallFiles; $i++) { $random.NextBytes($buffer); [IO.File]::WriteAllBytes((Join-Path $smallSource ('f{0:D5}.bin' -f $i)), $buffer) }
}
$smallBytes = [double]$SmallFiles * 4096
$throttle = 16

$script:ManyFilesObjectBytes = $null
$objectBytes = $null
$script:ManyFilesRun = 0
$sendTitle = "Get-ChildItem | Send-Transfer -ThrottleLimit $throttle"
$recurseTitle = "Send-Transfer -Recurse -ThrottleLimit $throttle"
# Lines both TransferTools contenders run: an untimed warm-up (JIT, plugin loading), and the check of their results.
$warmUp = "`$null = Get-ChildItem '$smallSource' -File | Select-Object -First 2 | Send-Transfer -Destination '$WorkRoot/warm/' -Force"
$allCompleted = "if (`$result.Count -ne $SmallFiles -or @(`$result | Where-Object Status -ne 'Completed').Count) { throw `"`$(`$result.Count) results, not all completed`" }"

# The same contenders in two settings of the file system, because ext4 without a journal (as here) makes a new
# file's inode cost depend on how many files were deleted in the last minutes: it scans past recently deleted inodes
# (for 60 s, up to 360 s while their table block is dirty) when it allocates one.
#  - Fresh: every run writes into a new folder and nothing is deleted until the case ends, so each run pays only for
#    its own work (what a user copying into a new folder on a journaled file system meets).
#  - After delete: every run writes into the folder the previous run's 10,000 files were just deleted from, 10 s
#    earlier; the kernel's inode scan then dominates and all contenders pay it.
function New-ManyFilesRows([string] $Title, [scriptblock] $Reset) {
    Invoke-Case $Title ([ordered]@{
            'cp -r'       = @{ Before = $Reset; Run = { Measure-Process 'cp' @('-r', "$smallSource/.", $script:smallDest) } }
            'rclone copy' = @{ Before = $Reset; Run = { Measure-Process 'rclone' @('copy', $smallSource, $script:smallDest) } }
            $sendTitle    = @{
                Before = $Reset
                Run    = {
                    $f = Invoke-PwshTimed @"
$warmUp
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); `$before = [GC]::GetTotalMemory(`$true)
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = Get-ChildItem '$smallSource' -File | Send-Transfer -Destination '$($script:smallDest)/' -ThrottleLimit $throttle
`$sw.Stop()
`$after = [GC]::GetTotalMemory(`$true)
$allCompleted
'OBJECTBYTES ' + ((`$after - `$before) / `$result.Count)
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
                    $script:ManyFilesObjectBytes = $f.OBJECTBYTES
                    $f.ELAPSED
                }
            }
            # The folder itself, as rclone is given it (it arrives as a subfolder of the destination).
            $recurseTitle = @{
                Before = $Reset
                Run    = {
                    (Invoke-PwshTimed @"
$warmUp
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = Send-Transfer -Path '$smallSource' -Recurse -Destination '$($script:smallDest)/' -ThrottleLimit $throttle
`$sw.Stop()
$allCompleted
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@).ELAPSED
                }
            }
        })
}

$fresh = New-ManyFilesRows "$SmallFiles files of 4 KiB, each run into a new folder" {
    $script:ManyFilesRun++
    $script:smallDest = Join-Path $WorkRoot "small-dest-fresh-$script:ManyFilesRun"
    Reset-Dir $script:smallDest
}
Add-Table "$SmallFiles files of 4 KiB, local folder to a new folder" $fresh 'rclone copy' $smallBytes "Every run writes into a new folder and nothing is deleted until the case ends. Send-Transfer journals, hashes, verifies and delivers every file atomically and leaves a manifest line for each; rclone copies with its default 4 transfers and 8 checkers; cp does neither."
Get-ChildItem $WorkRoot -Directory -Filter 'small-dest-fresh-*' | Remove-Item -Recurse -Force
if ($script:ManyFilesObjectBytes) { $objectBytes = $script:ManyFilesObjectBytes }

$script:smallDest = $smallDest
$afterDelete = New-ManyFilesRows "$SmallFiles files of 4 KiB, into a folder just emptied" {
    Reset-Dir $script:smallDest
    Remove-Item (Join-Path $WorkRoot 'home/journal') -Recurse -Force -ErrorAction SilentlyContinue
    Start-Sleep -Seconds 10
}
Add-Table "$SmallFiles files of 4 KiB, local folder to a folder just emptied of the previous run's files" $afterDelete 'rclone copy' $smallBytes "Every run writes into the folder the previous run's files were deleted from 10 s earlier: ext4 without a journal scans past those recently deleted inodes for every new file, which all contenders pay."
Remove-Item $smallDest -Recurse -Force -ErrorAction SilentlyContinue

$ttFresh = Get-Row $fresh $sendTitle; $rcFresh = Get-Row $fresh 'rclone copy'
$ttAfter = Get-Row $afterDelete $sendTitle; $rcAfter = Get-Row $afterDelete 'rclone copy'
$met = (Test-Rows @($ttFresh, $rcFresh, $ttAfter, $rcAfter)) -and $ttFresh.Median -lt $rcFresh.Median -and $ttAfter.Median -lt $rcAfter.Median
# The folder sent whole (-Recurse) is reported beside the target, which names the piped form.
$rrFresh = Get-Row $fresh $recurseTitle; $rrAfter = Get-Row $afterDelete $recurseTitle
Add-Target "$SmallFiles files of 4 KiB piped into Send-Transfer faster than rclone copy" $met ('new folder: {0} vs rclone {1}; folder just emptied: {2} vs rclone {3}. The folder with Send-Transfer -Recurse: {4} and {5}' -f (Format-Seconds $ttFresh), (Format-Seconds $rcFresh), (Format-Seconds $ttAfter), (Format-Seconds $rcAfter), (Format-Seconds $rrFresh), (Format-Seconds $rrAfter))
if ($ttFresh -and -not $ttFresh.Error -and $objectBytes) {
    $script:PerObjectCosts.Add([pscustomobject]@{ What = "Transfer object from Send-Transfer ($('{0:N0}' -f $SmallFiles) piped files, new folder)"; Bytes = $objectBytes; Time = $ttFresh.Median / $SmallFiles })
}

# The same folder to an SFTP server over loopback (the bench sshd, key login, host key checked): piped and -Recurse vs
# rclone copy (its default 4 transfers) and OpenSSH sftp put -r (one stream, in batch mode). Each run into a new folder.
$ssh = Get-BenchSshd
$smallSftpRoot = "$($ssh.KeyUserData)/small"
Reset-SftpFolder $smallSftpRoot
$smallSshOptions = Get-SshOptions $ssh.Port $ssh.KnownHostsFile
$smallRcloneEnv = New-RcloneSftpEnvironment 'ttsmall' $ssh.Port $ssh.KnownHostsFile
$smallSftpUri = "sftp://$($ssh.KeyUser)@127.0.0.1:$($ssh.Port)"
$smallAuth = "-KeyFile '$($ssh.KeyFile)' -HostKeyFingerprint '$($ssh.HostKeyFingerprint)'"
$smallSftpWarm = "`$null = Get-ChildItem '$smallSource' -File | Select-Object -First 2 | Send-Transfer -Destination '$smallSftpUri$smallSftpRoot/warm/' $smallAuth -Force"
$script:SmallSftpRun = 0
$resetSmallSftp = {
    $script:SmallSftpRun++
    $script:smallSftpDest = "$smallSftpRoot/run-$script:SmallSftpRun"
    Reset-SftpFolder $script:smallSftpDest
}
$sftpPipedTitle = "Get-ChildItem | Send-Transfer -ThrottleLimit $throttle (sftp)"
$sftpRecurseTitle = "Send-Transfer -Recurse -ThrottleLimit $throttle (sftp)"
$smallSftp = Invoke-Case "$SmallFiles files of 4 KiB to SFTP over loopback" ([ordered]@{
        'OpenSSH sftp put -r' = @{ Before = $resetSmallSftp; Run = { Invoke-SftpBatch "put -r $smallSource $($script:smallSftpDest)/" $smallSshOptions } }
        'rclone copy (sftp)'  = @{ Before = $resetSmallSftp; Run = { Measure-Process 'rclone' @('copy', $smallSource, "ttsmall:$($script:smallSftpDest)") -Environment $smallRcloneEnv } }
        $sftpPipedTitle       = @{
            Before = $resetSmallSftp
            Run    = {
                (Invoke-PwshTimed @"
$smallSftpWarm
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = Get-ChildItem '$smallSource' -File | Send-Transfer -Destination '$smallSftpUri$($script:smallSftpDest)/' $smallAuth -ThrottleLimit $throttle
`$sw.Stop()
$allCompleted
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@).ELAPSED
            }
        }
        $sftpRecurseTitle     = @{
            Before = $resetSmallSftp
            Run    = {
                (Invoke-PwshTimed @"
$smallSftpWarm
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = Send-Transfer -Path '$smallSource' -Recurse -Destination '$smallSftpUri$($script:smallSftpDest)/' $smallAuth -ThrottleLimit $throttle
`$sw.Stop()
$allCompleted
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@).ELAPSED
            }
        }
    })
Add-Table "$SmallFiles files of 4 KiB, local folder to a new folder over SFTP (loopback)" $smallSftp 'rclone copy (sftp)' $smallBytes "Key login, host key verified. Send-Transfer hashes, verifies and delivers every file under a temporary name renamed into place, and leaves a manifest per file at the destination root; rclone copies with its default 4 transfers; OpenSSH sftp put -r sends one file after the other over one connection and checks nothing."
Reset-SftpFolder $smallSftpRoot
$ttSftp = Get-Row $smallSftp $sftpPipedTitle; $rrSftp = Get-Row $smallSftp $sftpRecurseTitle; $rcSftp = Get-Row $smallSftp 'rclone copy (sftp)'; $osSftp = Get-Row $smallSftp 'OpenSSH sftp put -r'
$metSftp = (Test-Rows @($ttSftp, $rrSftp, $rcSftp)) -and $ttSftp.Median -le $rcSftp.Median -and $rrSftp.Median -le $rcSftp.Median
Add-Target "$SmallFiles files of 4 KiB to SFTP (loopback) at most 1.0x rclone copy, piped and with -Recurse" $metSftp ('piped {0}, -Recurse {1} vs rclone {2}, OpenSSH sftp put -r {3}' -f (Format-Seconds $ttSftp), (Format-Seconds $rrSftp), (Format-Seconds $rcSftp), (Format-Seconds $osSftp))
