# S3 resume after kill -9 at ~60 % (issue 30 item 10), against Ceph radosgw on loopback: how many multipart parts go up
# again. Before the resume, ListParts says what the server holds; the resumed transfer's ResumedFrom says what it kept;
# parts sent again = parts held - parts kept (target: at most one). Parts in flight at the kill, which the server never
# confirmed, are not "again": they were never there. Run alone with `build.ps1 -Task Bench -BenchCase S3Resume`.
$script:CaseIssue = '30'
$rgw = Start-TestRadosgw -Root (Join-Path $WorkRoot 'radosgw-resume')
try {
    $admin = Join-Path $PSScriptRoot '../../tests/services/s3-admin.py'
    function Invoke-ResumeAdmin { & python3 $admin $rgw.ServiceUrl $rgw.AccessKeyId $rgw.SecretAccessKey @args | ConvertFrom-Json }
    Invoke-ResumeAdmin mkbucket tt-resume | Out-Null
    $resumeHome = Join-Path $WorkRoot 'home-s3resume'
    if (Test-Path $resumeHome) { Remove-Item $resumeHome -Recurse -Force }
    $envs = @{
        TRANSFERTOOLS_HOME = $resumeHome; AWS_ACCESS_KEY_ID = $rgw.AccessKeyId; AWS_SECRET_ACCESS_KEY = $rgw.SecretAccessKey
        AWS_ENDPOINT_URL = $rgw.ServiceUrl; AWS_REGION = 'us-east-1'
    }
    function Start-ResumePwsh([string] $Command) {
        $psi = [Diagnostics.ProcessStartInfo]::new($pwshExe)
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', "`$ErrorActionPreference='Stop'; `$ProgressPreference='SilentlyContinue'; Import-Module '$ModulePath'; $Command") {
            $psi.ArgumentList.Add($a)
        }
        foreach ($k in $envs.Keys) { $psi.Environment[$k] = $envs[$k] }
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
        [Diagnostics.Process]::Start($psi)
    }

    # A limit so that ~60 % is reached after some seconds, not between two polls; the resume runs unlimited.
    $rate = [long][Math]::Max(4MB, $Bytes / 20)
    $sender = Start-ResumePwsh "Send-Transfer -Path '$source' -Destination 's3://tt-resume/payload.bin' -MaxBytesPerSecond $rate | Out-Null"
    $journal = Join-Path $resumeHome 'journal'
    $id = $null; $committed = 0
    $deadline = [DateTime]::UtcNow.AddSeconds(600)
    while ([DateTime]::UtcNow -lt $deadline -and -not $sender.HasExited) {
        $log = Get-ChildItem -LiteralPath $journal -Filter '*.chunks' -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($log) {
            $id = $log.BaseName
            $record = Get-Content -Raw -LiteralPath (Join-Path $journal "$id.json") -ErrorAction SilentlyContinue | ConvertFrom-Json -ErrorAction SilentlyContinue
            $chunk = if ($record -and $record.chunkSize) { [long]$record.chunkSize } else { 4MB }
            $committed = [long]($log.Length / 28) * $chunk   # one 28-byte line per committed chunk
            if ($committed -ge 0.6 * $Bytes) { break }
        }
        Start-Sleep -Milliseconds 50
    }
    if ($sender.HasExited) { throw "The upload ended before it could be killed: $($sender.StandardError.ReadToEnd())" }
    $sender.Kill()   # SIGKILL: nothing of the process runs after it
    $sender.WaitForExit()
    $killedAt = [Math]::Round(100 * $committed / $Bytes)

    $upload = @(Invoke-ResumeAdmin uploads tt-resume) | Where-Object key -eq 'payload.bin' | Select-Object -First 1
    if (-not $upload) { throw 'No pending multipart upload after the kill.' }
    $held = @(Invoke-ResumeAdmin parts tt-resume payload.bin $upload.id)
    $partSize = [long]($held | Where-Object n -eq 1).size
    $heldBytes = [long]($held | Measure-Object size -Sum).Sum

    $resumer = Start-ResumePwsh "`$sw = [Diagnostics.Stopwatch]::StartNew(); `$t = Resume-Transfer -Id $id -MaxBytesPerSecond 0; 'RESUMED ' + `$t.ResumedFrom + ' ' + `$t.Status + ' ' + `$sw.Elapsed.TotalSeconds"
    $out = $resumer.StandardOutput.ReadToEnd(); $err = $resumer.StandardError.ReadToEnd(); $resumer.WaitForExit()
    $line = ($out -split "`n" | Where-Object { $_ -like 'RESUMED *' } | Select-Object -First 1)
    if (-not $line) { throw "The resume printed no result: $err" }
    $fields = $line.Trim() -split ' '
    $resumedFrom = [long]$fields[1]; $status = $fields[2]; $resumeSeconds = [double]$fields[3]
    if ($status -ne 'Completed') { throw "The resume ended $status." }
    $head = Invoke-ResumeAdmin head tt-resume payload.bin
    $totalParts = [int](([string]$head.etag).Trim('"') -replace '^.*-', '')
    $keptParts = [int]($resumedFrom / $partSize)
    $again = $held.Count - $keptParts
    $sentAfter = $totalParts - $keptParts
    $shaOk = $head.metadata.sha256 -eq (Get-FileHash -Algorithm SHA256 -LiteralPath $source).Hash.ToLowerInvariant()

    $script:Report.Add("### S3 resume after kill -9 at ~$killedAt %, $SizeMB MiB`n")
    $script:Report.Add("Send-Transfer to radosgw limited to $([Math]::Round($rate / 1MB, 1)) MiB/s, killed with SIGKILL once $killedAt % was committed in the journal; Resume-Transfer in a new process, unlimited. Parts sent again = parts the server held (ListParts before the resume) - parts the resume kept (ResumedFrom / part size). Load average (1 min): $(Get-LoadAverage).`n")
    $script:Report.Add('| part size | parts in object | held at kill (ListParts) | kept by resume | uploaded after resume | sent again | resume (s) | SHA-256 metadata |')
    $script:Report.Add('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    $script:Report.Add("| $($partSize / 1MB) MiB | $totalParts | $($held.Count) ($([Math]::Round($heldBytes / 1MB)) MiB) | $keptParts | $sentAfter | $again | $('{0:N2}' -f $resumeSeconds) | $(if ($shaOk) { 'matches the source' } else { 'MISMATCH' }) |")
    $script:Report.Add('')
    Add-Target 'S3 resume after a kill at 60 % sends at most one part again' ($again -le 1 -and $shaOk) "$again part(s) sent again of $($held.Count) held; $sentAfter of $totalParts uploaded after the resume"
    Write-Host "S3Resume: killed at $killedAt %, held $($held.Count) parts, kept $keptParts, sent again $again, uploaded after $sentAfter of $totalParts, sha ok $shaOk"
}
finally { Stop-TestRadosgw $rgw }
