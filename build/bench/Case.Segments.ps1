# One large file over a 50 ms round trip (LatencyProxy.cs in front of the loopback sshd and nginx): segmented
# transfers (-Streams) against OpenSSH sftp, rclone's multi-thread streams, lftp pget and curl (issue 31, item 3).
# Run alone: pwsh build/bench/Invoke-Benchmark.ps1 -ModulePath out/TransferTools -OutputPath /tmp/b.md -Case Segments
$script:CaseIssue = '31'
$ssh = Get-BenchSshd
if (-not ('TransferTools.Bench.LatencyProxy' -as [type])) { Add-Type -Path (Join-Path $PSScriptRoot 'LatencyProxy.cs') }
$segRounds = [Math]::Min($Rounds, 3)
$segProxy = [TransferTools.Bench.LatencyProxy]::new($ssh.Port, 25)
try {
    $segHome = $ssh.KeyUserData
    $segUp = "$segHome/seg"
    $segKnownHosts = Join-Path $WorkRoot 'seg_known_hosts'
    (Get-Content $ssh.KnownHostsFile) -replace "^\[127\.0\.0\.1\]:$($ssh.Port) ", "[127.0.0.1]:$($segProxy.Port) " | Set-Content $segKnownHosts
    $segSsh = Get-SshOptions $segProxy.Port $segKnownHosts
    $segRclone = New-RcloneSftpEnvironment 'ttseg' $segProxy.Port $segKnownHosts
    $segUri = "sftp://$($ssh.KeyUser)@127.0.0.1:$($segProxy.Port)"
    $segAuth = "-KeyFile '$($ssh.KeyFile)' -HostKeyFingerprint '$($ssh.HostKeyFingerprint)'"
    $shared = "-ProtocolOption @{ StreamConnections = 'Shared' }"
    function Reset-SegUpload { Reset-SftpFolder $segUp }

    $up = Invoke-Case "SFTP upload over 50 ms, $SizeMB MiB" ([ordered]@{
            'OpenSSH sftp put'                          = @{ Before = { Reset-SegUpload }; Run = { Invoke-SftpBatch "put $source $segUp/payload.bin" $segSsh } }
            # The same without the proxy: what the machine's CPU allows one stream (on a shared, loaded machine, the floor).
            'OpenSSH sftp put, loopback (no proxy)'     = @{ Before = { Reset-SegUpload }; Run = { Invoke-SftpBatch "put $source $segUp/payload.bin" (Get-SshOptions $ssh.Port $ssh.KnownHostsFile) } }
            'rclone copyto --multi-thread-streams 4'    = @{ Before = { Reset-SegUpload }; Run = { Measure-Process 'rclone' @('copyto', '--multi-thread-streams', '4', $source, "ttseg:$segUp/payload.bin") -Environment $segRclone } }
            'Send-Transfer (default: 8 streams)'        = @{ Before = { Reset-SegUpload }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$segUri$segUp/' $segAuth" } }
            'Send-Transfer (4 streams)'                 = @{ Before = { Reset-SegUpload }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$segUri$segUp/' $segAuth -Streams 4" } }
            'Send-Transfer (4 streams, one connection)' = @{ Before = { Reset-SegUpload }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$segUri$segUp/' $segAuth -Streams 4 $shared" } }
        }) -Count $segRounds
    Add-Table "SFTP upload of one large file over a 50 ms round trip, $SizeMB MiB" $up 'OpenSSH sftp put' $Bytes (
        'Through the latency proxy (25 ms each way, no bandwidth limit) in front of the loopback sshd. One SFTP stream moves at most its 2 MiB channel window per round trip; ' +
        'Send-Transfer moves 8 ranges of at most 64 MiB at once (the default for a file of 256 MiB or more over a measured round trip of 10 ms or more), each committing its own chunks; the SHA-256 of the whole file is taken in order and verified before the rename. ' +
        '"One connection" puts the four handles on one SSH connection, whose window they share. The loopback row (no proxy) is the floor the CPU sets on this machine at the time: no contender over the proxy can beat it.')
    $sftpUp = Get-Row $up 'OpenSSH sftp put'; $ttUp = Get-Row $up 'Send-Transfer (default: 8 streams)'; $rcUp = Get-Row $up 'rclone copyto --multi-thread-streams 4'
    Add-Target "SFTP upload of $SizeMB MiB over 50 ms at most 0.5x OpenSSH sftp" ((Test-Rows @($ttUp, $sftpUp)) -and $ttUp.Median -le 0.5 * $sftpUp.Median) ('{0} vs sftp {1}' -f (Format-Seconds $ttUp), (Format-Seconds $sftpUp))
    Add-Target "SFTP upload of $SizeMB MiB over 50 ms at most 1.0x rclone --multi-thread-streams 4" ((Test-Rows @($ttUp, $rcUp)) -and $ttUp.Median -le $rcUp.Median) ('{0} vs rclone {1}' -f (Format-Seconds $ttUp), (Format-Seconds $rcUp))
    Reset-SegUpload
    # Issue 31: memory growth under 100 MiB. One more default (8-stream) upload, untimed, reads the pwsh's peak working
    # set (high-water mark reset after the warm-up) against the working set before it.
    try {
        $m = Invoke-PwshTimed @"
`$null = Send-Transfer -Path '$warmFile' -Destination '$WorkRoot/warm/' -Force
[GC]::Collect(); [GC]::WaitForPendingFinalizers()
try { [IO.File]::WriteAllText('/proc/self/clear_refs', '5') } catch { }
`$self = [Diagnostics.Process]::GetCurrentProcess(); `$self.Refresh(); `$base = `$self.WorkingSet64
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$t = Send-Transfer -Path '$source' -Destination '$segUri$segUp/' $segAuth
`$sw.Stop(); if (`$t.Status -ne 'Completed') { throw `$t.Error }
`$self.Refresh(); 'BASEMB ' + (`$base / 1MB); 'PEAKMB ' + (`$self.PeakWorkingSet64 / 1MB); 'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
        Add-Target "Memory: peak working set grows less than 100 MiB during an 8-stream SFTP upload of $SizeMB MiB over 50 ms" (($m.PEAKMB - $m.BASEMB) -lt 100) ('+{0:N1} MiB from {1:N0} MiB ({2:N2} s)' -f ($m.PEAKMB - $m.BASEMB), $m.BASEMB, $m.ELAPSED)
    } catch { Add-Target "Memory: peak working set grows less than 100 MiB during an 8-stream SFTP upload of $SizeMB MiB over 50 ms" $false "failed: $_" }
    Reset-SegUpload

    $segDl = "$segHome/seg-dl"
    New-Item -ItemType Directory -Force -Path $segDl | Out-Null
    $remote = Join-Path $segDl 'payload.bin'
    if (-not (Test-Path $remote)) { New-Item -ItemType HardLink -Path $remote -Target $source | Out-Null }
    & chmod 755 $segDl; & chmod 644 $remote
    $lftpConnect = "ssh -a -x -i $($ssh.KeyFile) -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$segKnownHosts -o BatchMode=yes -o LogLevel=ERROR"
    $lftpScript = "set cmd:fail-exit yes; set net:max-retries 1; set sftp:connect-program '$lftpConnect'; pget -n 4 -O $dest $remote; bye"
    $down = Invoke-Case "SFTP download over 50 ms, $SizeMB MiB" ([ordered]@{
            'OpenSSH sftp get'                             = @{ Before = { Reset-Dir $dest }; Run = { Invoke-SftpBatch "get $remote $dest/payload.bin" $segSsh } }
            'OpenSSH sftp get, loopback (no proxy)'        = @{ Before = { Reset-Dir $dest }; Run = { Invoke-SftpBatch "get $remote $dest/payload.bin" (Get-SshOptions $ssh.Port $ssh.KnownHostsFile) } }
            'rclone copyto --multi-thread-streams 4'       = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'rclone' @('copyto', '--multi-thread-streams', '4', '--multi-thread-cutoff', '256M', "ttseg:$remote", (Join-Path $dest 'payload.bin')) -Environment $segRclone } }
            'lftp pget -n 4'                               = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'lftp' @('-e', $lftpScript, "sftp://$($ssh.KeyUser):@127.0.0.1:$($segProxy.Port)") } }
            'Receive-Transfer (default: 8 streams)'        = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$segUri$remote' -OutputDir '$dest' $segAuth" } }
            'Receive-Transfer (4 streams)'                 = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$segUri$remote' -OutputDir '$dest' $segAuth -Streams 4" } }
            'Receive-Transfer (4 streams, one connection)' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$segUri$remote' -OutputDir '$dest' $segAuth -Streams 4 $shared" } }
        }) -Count $segRounds
    Add-Table "SFTP download of one large file over a 50 ms round trip, $SizeMB MiB" $down 'OpenSSH sftp get' $Bytes (
        'The same proxy. lftp runs one ssh per stream. Receive-Transfer hashes the file in order as the ranges commit (reading back what they wrote, from the page cache).')
    $sftpDown = Get-Row $down 'OpenSSH sftp get'; $ttDown = Get-Row $down 'Receive-Transfer (default: 8 streams)'
    $best = @($down | Where-Object { $_.Name -in 'rclone copyto --multi-thread-streams 4', 'lftp pget -n 4' -and -not $_.Error } | Sort-Object Median | Select-Object -First 1)
    Add-Target "SFTP download of $SizeMB MiB over 50 ms at most 0.5x OpenSSH sftp" ((Test-Rows @($ttDown, $sftpDown)) -and $ttDown.Median -le 0.5 * $sftpDown.Median) ('{0} vs sftp {1}' -f (Format-Seconds $ttDown), (Format-Seconds $sftpDown))
    if ($best) {
        Add-Target "SFTP download of $SizeMB MiB over 50 ms at most 1.0x the best of rclone/lftp" ((Test-Rows @($ttDown)) -and $ttDown.Median -le $best[0].Median) ('{0} vs {1} {2}' -f (Format-Seconds $ttDown), $best[0].Name, (Format-Seconds $best[0]))
    } else {
        Add-Target "SFTP download of $SizeMB MiB over 50 ms at most 1.0x the best of rclone/lftp" $false ('{0}; no peer measured: {1}' -f (Format-Seconds $ttDown), (($down | Where-Object { $_.Name -in 'rclone copyto --multi-thread-streams 4', 'lftp pget -n 4' } | ForEach-Object { '{0} {1}' -f $_.Name, (Format-Seconds $_) }) -join ', '))
    }
}
finally {
    $segProxy.Dispose()
}

# HTTP through the same kind of proxy in front of nginx.
$web = Get-BenchNginx
$served = Join-Path $web.FilesRoot 'payload.bin'
if (-not (Test-Path $served)) { New-Item -ItemType HardLink -Path $served -Target $source | Out-Null }
$webProxy = [TransferTools.Bench.LatencyProxy]::new(([Uri]$web.BaseUri).Port, 25)
try {
    $segUrl = "http://127.0.0.1:$($webProxy.Port)/files/payload.bin"
    $out = Join-Path $dest 'payload.bin'
    $http = Invoke-Case "HTTP download over 50 ms, $SizeMB MiB" ([ordered]@{
            'curl'                         = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'curl' @('-sSf', '-o', $out, $segUrl) } }
            'rclone copyurl'               = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'rclone' @('copyurl', $segUrl, $out) } }
            'aria2c -x 4'                  = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'aria2c' @('-x', '4', '-s', '4', '--quiet=true', '--allow-overwrite=true', '--file-allocation=none', '-d', $dest, '-o', 'payload.bin', $segUrl) } }
            'Receive-Transfer -Streams 8'  = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$segUrl' -OutputDir '$dest' -Streams 8" } }
            'Receive-Transfer (default: one stream)' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "Receive-Transfer -Source '$segUrl' -OutputDir '$dest'" } }
        }) -Count $segRounds
    Add-Table "HTTP download of one large file over a 50 ms round trip, $SizeMB MiB" $http 'curl' $Bytes (
        'The same proxy in front of nginx. The proxy adds latency only: it reads as fast as bytes come and queues them, so a TCP stream is not held to its window per round trip here as on a real long link, and one GET pays the round trip once. ' +
        'Receive-Transfer -Streams 8 asks Range requests of at most 64 MiB, eight at a time, each conditional (If-Match) on the strong ETag nginx gives; without -Streams an HTTP download is one stream.')
    $curlRow = Get-Row $http 'curl'; $ttHttp = Get-Row $http 'Receive-Transfer -Streams 8'
    Add-Target "HTTP download of $SizeMB MiB over 50 ms at most 0.5x curl" ((Test-Rows @($ttHttp, $curlRow)) -and $ttHttp.Median -le 0.5 * $curlRow.Median) ('{0} vs curl {1}' -f (Format-Seconds $ttHttp), (Format-Seconds $curlRow))
}
finally {
    $webProxy.Dispose()
}
