# SFTP over a 50 ms round trip (a latency-only proxy in front of the loopback sshd, LatencyProxy.cs): what a runbook
# pushing to a server in another region meets. Round trips per file decide the small-file case, requests in flight
# the large one. No target from an issue; the table shows where TransferTools stands.
$ssh = Get-BenchSshd
if (-not ('TransferTools.Bench.LatencyProxy' -as [type])) { Add-Type -Path (Join-Path $PSScriptRoot 'LatencyProxy.cs') }
$oneWayMs = 25
$proxy = [TransferTools.Bench.LatencyProxy]::new($ssh.Port, $oneWayMs)
try {
    $wanHome = $ssh.KeyUserData
    $wanUp = "$wanHome/wan"
    # The host key as known for the proxy's port (OpenSSH and rclone look keys up by host and port).
    $wanKnownHosts = Join-Path $WorkRoot 'wan_known_hosts'
    (Get-Content $ssh.KnownHostsFile) -replace "^\[127\.0\.0\.1\]:$($ssh.Port) ", "[127.0.0.1]:$($proxy.Port) " | Set-Content $wanKnownHosts
    $wanSsh = Get-SshOptions $proxy.Port $wanKnownHosts
    $wanRclone = New-RcloneSftpEnvironment 'ttwan' $proxy.Port $wanKnownHosts
    $wanUri = "sftp://$($ssh.KeyUser)@127.0.0.1:$($proxy.Port)"
    $wanAuth = "-KeyFile '$($ssh.KeyFile)' -HostKeyFingerprint '$($ssh.HostKeyFingerprint)'"

    function Reset-WanUpload { Reset-SftpFolder $wanUp }

    $wanFiles = 20
    $smallDir = Join-Path $WorkRoot 'wan-small'
    if (-not (Test-Path $smallDir)) {
        New-Item -ItemType Directory -Path $smallDir | Out-Null
        for ($i = 0; $i -lt $wanFiles; $i++) { New-DataFile (Join-Path $smallDir ('f{0:d2}.bin' -f $i)) 4096 }
    }

    $small = Invoke-Case "SFTP over 50 ms, $wanFiles files of 4 KiB" ([ordered]@{
            'OpenSSH sftp put -r'           = @{ Before = { Reset-WanUpload }; Run = { Invoke-SftpBatch "put -r $smallDir $wanUp/wan-small" $wanSsh } }
            'rclone copy (sftp)'            = @{ Before = { Reset-WanUpload }; Run = { Measure-Process 'rclone' @('copy', $smallDir, "ttwan:$wanUp/wan-small") -Environment $wanRclone } }
            'Send-Transfer -Recurse (sftp)' = @{ Before = { Reset-WanUpload }; Run = { Measure-TransferTools "Send-Transfer -Path '$smallDir' -Recurse -Destination '$wanUri$wanUp/' $wanAuth" } }
        })
    Add-Table "SFTP upload over a 50 ms round trip, $wanFiles files of 4 KiB" $small 'OpenSSH sftp put -r' 0 (
        "Through a proxy on 127.0.0.1 that delays every byte by $oneWayMs ms each way (latency only, no bandwidth limit), in front of the loopback sshd. " +
        'Every contender opens its own connection inside the time. sftp sends one file after another; rclone and Send-Transfer four at a time (their defaults). ' +
        'Send-Transfer verifies each file (size, SHA-256), renames it into place and writes a manifest beside it: 7 requests per file into the folder the run makes (open, write, close, rename, lstat, setstat and a line of the batch manifest file), one after another.')

    $largeMB = 64
    $large = Join-Path $WorkRoot 'wan-large.bin'
    New-DataFile $large ($largeMB * 1MB)
    $big = Invoke-Case "SFTP over 50 ms, $largeMB MiB" ([ordered]@{
            'OpenSSH sftp put'              = @{ Before = { Reset-WanUpload }; Run = { Invoke-SftpBatch "put $large $wanUp/wan-large.bin" $wanSsh } }
            'rclone copy (sftp)'            = @{ Before = { Reset-WanUpload }; Run = { Measure-Process 'rclone' @('copyto', $large, "ttwan:$wanUp/wan-large.bin") -Environment $wanRclone } }
            'Send-Transfer (sftp, verified)' = @{ Before = { Reset-WanUpload }; Run = { Measure-TransferTools "Send-Transfer -Path '$large' -Destination '$wanUri$wanUp/' $wanAuth" } }
        })
    Add-Table "SFTP upload over a 50 ms round trip, $largeMB MiB" $big 'OpenSSH sftp put' ($largeMB * 1MB) (
        'The same proxy. About 2 MiB of write requests in flight for every contender (OpenSSH: 64 x 32 KiB; Send-Transfer: 9 x 255 KiB), so throughput is in-flight bytes per round trip; ' +
        'Send-Transfer commits each 4 MiB chunk to its journal as the answers confirm it, without waiting for them.')

    # Downloads: the same file, from the server's copy of it.
    $wanDl = "$wanHome/wan-dl"
    New-Item -ItemType Directory -Force -Path $wanDl | Out-Null
    $remoteLarge = Join-Path $wanDl 'wan-large.bin'
    if (-not (Test-Path $remoteLarge)) { Copy-Item $large $remoteLarge }
    & chmod 755 $wanDl; & chmod 644 $remoteLarge
    $down = Invoke-Case "SFTP download over 50 ms, $largeMB MiB" ([ordered]@{
            'OpenSSH sftp get'                  = @{ Before = { Reset-Dir $dest }; Run = { Invoke-SftpBatch "get $remoteLarge $dest/wan-large.bin" $wanSsh } }
            'rclone copy (sftp)'                = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'rclone' @('copyto', "ttwan:$remoteLarge", (Join-Path $dest 'wan-large.bin')) -Environment $wanRclone } }
            'Receive-Transfer (sftp, verified)' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$wanUri$remoteLarge' -OutputDir '$dest' $wanAuth" } }
        })
    Add-Table "SFTP download over a 50 ms round trip, $largeMB MiB" $down 'OpenSSH sftp get' ($largeMB * 1MB) (
        'The same proxy. About 2 MiB of read requests in flight for every contender (OpenSSH: 64 x 32 KiB; Send-Transfer: 9 x 255 KiB).')
    Reset-WanUpload
}
finally {
    $proxy.Dispose()
}
