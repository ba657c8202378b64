# SFTP 1 GiB upload and download over loopback: TransferTools vs OpenSSH sftp (batch mode) and rclone, all with the
# same key and a verified host key. Target: at least as fast as OpenSSH sftp in both directions.
$ssh = Get-BenchSshd
$sftpHome = $ssh.KeyUserData
$upDir = "$sftpHome/up"
$dlDir = "$sftpHome/dl"
New-Item -ItemType Directory -Force -Path $dlDir | Out-Null
$remoteFile = Join-Path $dlDir 'payload.bin'
if (-not (Test-Path $remoteFile)) { New-Item -ItemType HardLink -Path $remoteFile -Target $source | Out-Null }
& chmod 755 $dlDir; & chmod 644 $source

$sshOptions = Get-SshOptions $ssh.Port $ssh.KnownHostsFile
# The same options for ssh itself, whose port flag is -p (sftp's is -P).
$sshExecOptions = @($sshOptions | ForEach-Object { if ($_ -ceq '-P') { '-p' } else { $_ } })
$rcloneEnv = New-RcloneSftpEnvironment 'ttsftp' $ssh.Port $ssh.KnownHostsFile
$sftpUri = "sftp://$($ssh.KeyUser)@127.0.0.1:$($ssh.Port)"
$ttAuth = "-KeyFile '$($ssh.KeyFile)' -HostKeyFingerprint '$($ssh.HostKeyFingerprint)'"
# For the session-warm rows: one small transfer of the same kind first, untimed, in the same pwsh (connection pooled, JIT warm).
$remoteWarm = Join-Path $dlDir 'warm.bin'
Copy-Item $warmFile $remoteWarm -Force; & chmod 644 $remoteWarm
$warmUp = "`$null = Send-Transfer -Path '$warmFile' -Destination '$sftpUri$upDir/' $ttAuth"
$warmDown = "`$null = Receive-Transfer -Source '$sftpUri$remoteWarm' -OutputDir '$WorkRoot/warm-sftp' -Force $ttAuth"
$warmNote = ' Session warm: the same command after one small SFTP transfer in that pwsh (untimed), as in a runbook that moves several files; the target is judged on the row above it.'

function Reset-Upload { Reset-SftpFolder $upDir; Read-IntoCache $source }

$upload = Invoke-Case "SFTP upload, $SizeMB MiB" ([ordered]@{
        'OpenSSH sftp put'              = @{ Before = { Reset-Upload }; Run = { Invoke-SftpBatch "put $source $upDir/payload.bin" $sshOptions } }
        'rclone copy (sftp)'            = @{ Before = { Reset-Upload }; Run = { Measure-Process 'rclone' @('copyto', $source, "ttsftp:$upDir/payload.bin") -Environment $rcloneEnv } }
        'Send-Transfer (sftp, verified)' = @{ Before = { Reset-Upload }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$sftpUri$upDir/' $ttAuth" } }
        'Send-Transfer (sftp), session warm' = @{ Before = { Reset-Upload }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$sftpUri$upDir/' $ttAuth" -Prepare $warmUp } }
        'Send-Transfer (sftp, ServerDigest Off)' = @{ Before = { Reset-Upload }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$sftpUri$upDir/' $ttAuth -ProtocolOption @{ ServerDigest = 'Off' }" } }
        'OpenSSH sftp put, then the same digest on the server' = @{ Before = { Reset-Upload }; Run = {
                $put = Invoke-SftpBatch "put $source $upDir/payload.bin" $sshOptions
                $put + (Measure-Process 'ssh' ($sshExecOptions + @("$($ssh.KeyUser)@127.0.0.1", "openssl dgst -sha256 -r '$upDir/payload.bin' || sha256sum -- '$upDir/payload.bin'")))
            } }
    }) -Count $ParityRounds
Add-Table "SFTP upload over loopback, $SizeMB MiB" $upload 'OpenSSH sftp put' $Bytes ('Key login, host key verified. One stream each way (the round trip Send-Transfer measures is under the 10 ms from which it splits a file). Send-Transfer hashes (SHA-256) while it sends, writes under a temporary name, renames into place and leaves a manifest; by default (ServerDigest Exec, issue 27) it then asks the server for the SHA-256 of what it holds (openssl dgst -sha256, or sha256sum where the server has no OpenSSL, over SSH exec) and compares it before it says Completed, so its row carries the server reading the file once more. ServerDigest Off: the same without that proof (size checked), the like-for-like peer of OpenSSH sftp put; the last row adds that same command to OpenSSH sftp put.' + $warmNote)

$download = Invoke-Case "SFTP download, $SizeMB MiB" ([ordered]@{
        'OpenSSH sftp get'                  = @{ Before = { Reset-Dir $dest }; Run = { Invoke-SftpBatch "get $remoteFile $dest/payload.bin" $sshOptions } }
        'rclone copy (sftp)'                = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'rclone' @('copyto', "ttsftp:$remoteFile", (Join-Path $dest 'payload.bin')) -Environment $rcloneEnv } }
        'Receive-Transfer (sftp, verified)' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$sftpUri$remoteFile' -OutputDir '$dest' $ttAuth" } }
        'Receive-Transfer (sftp), session warm' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$sftpUri$remoteFile' -OutputDir '$dest' $ttAuth" -Prepare $warmDown } }
    }) -Count $ParityRounds
Add-Table "SFTP download over loopback, $SizeMB MiB" $download 'OpenSSH sftp get' $Bytes ('Receive-Transfer hashes while it receives and renames into place after the check.' + $warmNote)
Reset-Upload

# The upload's parity is judged without the server's digest (OpenSSH proves nothing); the proven upload against
# OpenSSH plus the same digest command, so that the proof's cost (the server reading the file again) is shown, not hidden.
$proven = Get-Row $upload 'Send-Transfer (sftp, verified)'; $putSum = Get-Row $upload 'OpenSSH sftp put, then the same digest on the server'
Add-Target 'SFTP upload proven by the server''s SHA-256 at most 1.0x OpenSSH sftp put + the same digest on the server' ((Test-Rows @($proven, $putSum)) -and $proven.Median -le $putSum.Median) ('{0} vs {1}' -f (Format-Seconds $proven), (Format-Seconds $putSum))
foreach ($pair in @(@('upload', $upload, 'Send-Transfer (sftp, ServerDigest Off)', 'OpenSSH sftp put'), @('download', $download, 'Receive-Transfer (sftp, verified)', 'OpenSSH sftp get'))) {
    $tt = Get-Row $pair[1] $pair[2]; $anchor = Get-Row $pair[1] $pair[3]; $rc = Get-Row $pair[1] 'rclone copy (sftp)'
    $met = (Test-Rows @($tt, $anchor)) -and $tt.Median -le $anchor.Median
    Add-Target "SFTP $($pair[0]) at least as fast as OpenSSH sftp" $met ('{3} {0} vs sftp {1}, rclone {2}' -f (Format-Seconds $tt), (Format-Seconds $anchor), (Format-Seconds $rc), $pair[2])
}
