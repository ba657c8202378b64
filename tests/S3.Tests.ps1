# The S3 plugin against a real Ceph radosgw (single node, started once for the file): the AWS default chain with no
# registration, multipart upload resumed after kill -9 in a new process re-sending only missing parts, verified
# downloads, a replaced object, errors, secrets, listing across pages, and buckets as stores.
BeforeDiscovery { $script:Skip = -not $IsLinux -or [bool]$env:TRANSFERTOOLS_SKIP_RADOSGW }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = Join-Path $script:home_ 'work'
    New-Item -ItemType Directory -Path $script:work | Out-Null
    if (-not $script:Skip) { $script:rgw = Start-TestRadosgw }

    function Get-Sha([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }

    # boto3 from outside: what the server holds.
    function Invoke-S3Admin {
        $out = & python3 (Join-Path $PSScriptRoot 'services/s3-admin.py') $script:rgw.ServiceUrl $script:rgw.AccessKeyId $script:rgw.SecretAccessKey @args 2>$null
        if ($LASTEXITCODE -ne 0) { throw "s3-admin $args failed" }
        $out | ConvertFrom-Json
    }

    function Get-ChunkCount([string] $Id) {
        $log = Get-Item -LiteralPath (Join-Path $script:home_ "journal/$Id.chunks") -ErrorAction SilentlyContinue
        if ($log) { [int]($log.Length / 28) } else { 0 }
    }

    # A TCP relay in front of radosgw that counts the bytes through this machine and the requests in flight at once.
    function Start-CountingProxy {
        $stats = Join-Path $script:work ('proxy-' + [guid]::NewGuid().ToString('n') + '.json')
        $target = [Uri]$script:rgw.ServiceUrl
        $info = [Diagnostics.ProcessStartInfo]::new('python3')
        foreach ($a in (Join-Path $PSScriptRoot 'services/counting-proxy.py'), $target.Host, $target.Port, $stats) { $info.ArgumentList.Add([string]$a) }
        $info.RedirectStandardOutput = $true
        $process = [Diagnostics.Process]::Start($info)
        $port = [int]$process.StandardOutput.ReadLine()
        [pscustomobject]@{ Process = $process; Url = "http://127.0.0.1:$port"; Stats = $stats }
    }
    function Get-ProxyStats($Proxy) { Get-Content -Raw -LiteralPath $Proxy.Stats | ConvertFrom-Json }
    function Stop-CountingProxy($Proxy) { if ($Proxy) { $Proxy.Process.Kill(); $Proxy.Process.WaitForExit() } }

    # The AWS CLI's environment: no registration needed.
    $env:AWS_ACCESS_KEY_ID = $script:rgw.AccessKeyId
    $env:AWS_SECRET_ACCESS_KEY = $script:rgw.SecretAccessKey
    $env:AWS_ENDPOINT_URL = $script:rgw.ServiceUrl
    $env:AWS_REGION = 'us-east-1'
    Invoke-S3Admin mkbucket tt-data | Out-Null
}
AfterAll {
    Remove-Item Env:AWS_ACCESS_KEY_ID, Env:AWS_SECRET_ACCESS_KEY, Env:AWS_ENDPOINT_URL, Env:AWS_REGION -ErrorAction SilentlyContinue
    if ($script:rgw) { Stop-TestRadosgw $script:rgw }
    Remove-TransferToolsTest $script:home_
}

Describe 'S3 transfers against Ceph radosgw' -Skip:$script:Skip {
    It 'sends with no registration (AWS environment) in one PUT and as multipart, with SHA-256 and mtime metadata, and receives verified' {
        $small = New-TestFile -Path (Join-Path $script:work 'small.bin') -Size 300KB -Seed 1
        $big = New-TestFile -Path (Join-Path $script:work 'big.bin') -Size 40MB -Seed 2
        $t1 = Send-Transfer $small.FullName -Destination 's3://tt-data/in/'
        $t2 = Send-Transfer $big.FullName -Destination 's3://tt-data/in/'
        $t1.Status | Should -Be 'Completed'
        $t2.Status | Should -Be 'Completed'
        $head = Invoke-S3Admin head tt-data in/big.bin
        $head.size | Should -Be 40MB
        $head.metadata.sha256 | Should -Be (Get-Sha $big.FullName)
        $head.metadata.mtime | Should -Not -BeNullOrEmpty
        (Invoke-S3Admin head tt-data in/small.bin).metadata.sha256 | Should -Be (Get-Sha $small.FullName)
        (Invoke-S3Admin uploads tt-data) | Should -BeNullOrEmpty

        $down = Join-Path $script:work 'down'
        New-Item -ItemType Directory $down | Out-Null
        $r = Receive-Transfer -Source 's3://tt-data/in/big.bin' -OutputDir $down
        $r.Status | Should -Be 'Completed'
        $r.Verification | Should -Be 'ServerDigest'   # against x-amz-meta-sha256
        Get-Sha (Join-Path $down 'big.bin') | Should -Be (Get-Sha $big.FullName)
    }

    It 'verifies a download of an object another tool put in one PUT against its MD5 ETag' {
        $f = New-TestFile -Path (Join-Path $script:work 'foreign.bin') -Size 3MB -Seed 13
        Invoke-S3Admin put tt-data foreign.bin $f.FullName | Out-Null   # boto3: no x-amz-meta-sha256
        $down = Join-Path $script:work 'down-foreign'
        New-Item -ItemType Directory $down | Out-Null
        $r = Receive-Transfer -Source 's3://tt-data/foreign.bin' -OutputDir $down
        $r.Status | Should -Be 'Completed'
        $r.Verification | Should -Be 'ServerDigest'
        Get-Sha (Join-Path $down 'foreign.bin') | Should -Be (Get-Sha $f.FullName)
    }

    It 'takes endpoint, region and keys from an AWS profile: s3://PROFILE@bucket/ and AWS_PROFILE, with no registration' {
        $f = New-TestFile -Path (Join-Path $script:work 'profiled.bin') -Size 10KB -Seed 14
        $credentials = Join-Path $script:work 'aws-credentials'
        $config = Join-Path $script:work 'aws-config'
        Set-Content -LiteralPath $credentials -Value "[ceph]`naws_access_key_id = $($script:rgw.AccessKeyId)`naws_secret_access_key = $($script:rgw.SecretAccessKey)`n"
        Set-Content -LiteralPath $config -Value "[profile ceph]`nregion = us-east-1`nendpoint_url = $($script:rgw.ServiceUrl)`n"
        $saved = @{}
        foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL', 'AWS_REGION') {
            $saved[$name] = [Environment]::GetEnvironmentVariable($name)
            [Environment]::SetEnvironmentVariable($name, $null)
        }
        $env:AWS_SHARED_CREDENTIALS_FILE = $credentials
        $env:AWS_CONFIG_FILE = $config
        try {
            # Only the profile knows where radosgw is and who signs. A new process, as a runbook starts: the AWS SDK
            # reads where the shared files are once per process, as the AWS CLI does.
            $down = Join-Path $script:work 'down-profile'
            New-Item -ItemType Directory $down | Out-Null
            $results = Invoke-InNewProcess {
                param($File, $Down)
                Send-Transfer $File -Destination 's3://ceph@tt-data/profile/'
                $env:AWS_PROFILE = 'ceph'
                Receive-Transfer -Source 's3://tt-data/profile/profiled.bin' -OutputDir $Down
                Send-Transfer $File -Destination 's3://nosuchprofile@tt-data/profile/' -ErrorAction SilentlyContinue -ErrorVariable err | Out-Null
                [pscustomobject]@{ ErrorId = $err[0].FullyQualifiedErrorId }
            } -ArgumentList $f.FullName, $down
            [TransferTools.Abstractions.TransferStatus]$results[0].Status | Should -Be 'Completed'
            (Invoke-S3Admin head tt-data profile/profiled.bin).metadata.sha256 | Should -Be (Get-Sha $f.FullName)
            [TransferTools.Abstractions.TransferStatus]$results[1].Status | Should -Be 'Completed'
            Get-Sha (Join-Path $down 'profiled.bin') | Should -Be (Get-Sha $f.FullName)
            $results[2].ErrorId | Should -Match '^S3ProfileNotFound'
        }
        finally {
            Remove-Item Env:AWS_PROFILE, Env:AWS_SHARED_CREDENTIALS_FILE, Env:AWS_CONFIG_FILE -ErrorAction SilentlyContinue
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
    }

    It 'resumes a multipart upload killed with -9 in a new process, re-sending only the parts the server lacks' {
        $src = New-TestFile -Path (Join-Path $script:work 'killed.bin') -Size 48MB -Seed 3
        $command = "Import-Module '$(Get-TestModulePath)'; Send-Transfer -LiteralPath '$($src.FullName)' -Destination 's3://tt-data/resume/' -MaxBytesPerSecond 6MB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        $id = $null
        while ([DateTime]::UtcNow -lt $deadline) {
            $id = (Get-TransferStatus | Where-Object { $_.Source -eq $src.FullName } | Select-Object -First 1).Id
            if ($id -and (Get-ChunkCount $id) -ge 5) { break }
            if ($process.HasExited) { throw "The sending process exited early: $($process.StandardError.ReadToEnd())" }
            Start-Sleep -Milliseconds 100
        }
        $process.Kill()   # SIGKILL: no cleanup runs
        $process.WaitForExit()

        $upload = @(Invoke-S3Admin uploads tt-data) | Where-Object key -eq 'resume/killed.bin'
        $upload | Should -Not -BeNullOrEmpty
        $held = @(Invoke-S3Admin parts tt-data resume/killed.bin $upload.id)
        $held.Count | Should -BeGreaterOrEqual 2
        $heldBytes = ($held | Measure-Object size -Sum).Sum
        { Invoke-S3Admin head tt-data resume/killed.bin } | Should -Throw   # nothing appears before completion

        $resumed = Invoke-InNewProcess ([scriptblock]::Create("Resume-Transfer -Id $id -MaxBytesPerSecond 0"))
        [TransferTools.Abstractions.TransferStatus]$resumed.Status | Should -Be 'Completed'
        # Only what the server lacked went again: everything it held (proven against the source) was kept.
        $resumed.ResumedFrom | Should -BeGreaterOrEqual ([Math]::Min($heldBytes, (Get-ChunkCount $id) * 4MB))
        $resumed.ResumedFrom | Should -BeGreaterOrEqual 16MB
        (Invoke-S3Admin head tt-data resume/killed.bin).metadata.sha256 | Should -Be (Get-Sha $src.FullName)
        @(Invoke-S3Admin uploads tt-data | Where-Object key -eq 'resume/killed.bin') | Should -BeNullOrEmpty
    }

    It 'Stop-Transfer aborts the multipart upload of an interrupted send' {
        $src = New-TestFile -Path (Join-Path $script:work 'stopped.bin') -Size 40MB -Seed 4
        $command = "Import-Module '$(Get-TestModulePath)'; Send-Transfer -LiteralPath '$($src.FullName)' -Destination 's3://tt-data/stop/' -MaxBytesPerSecond 6MB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        while ([DateTime]::UtcNow -lt $deadline) {
            $id = (Get-TransferStatus | Where-Object { $_.Source -eq $src.FullName } | Select-Object -First 1).Id
            if ($id -and (Get-ChunkCount $id) -ge 3) { break }
            Start-Sleep -Milliseconds 100
        }
        $process.Kill(); $process.WaitForExit()
        @(Invoke-S3Admin uploads tt-data | Where-Object key -eq 'stop/stopped.bin') | Should -Not -BeNullOrEmpty
        Stop-Transfer -Id $id -Confirm:$false
        @(Invoke-S3Admin uploads tt-data | Where-Object key -eq 'stop/stopped.bin') | Should -BeNullOrEmpty
    }

    It 'refuses to resume a download whose object was replaced (SourceChanged), never splicing' {
        $orig = New-TestFile -Path (Join-Path $script:work 'changing.bin') -Size 24MB -Seed 5
        Invoke-S3Admin put tt-data changing.bin $orig.FullName | Out-Null
        $down = Join-Path $script:work 'down-changing'
        New-Item -ItemType Directory $down | Out-Null
        $command = "Import-Module '$(Get-TestModulePath)'; Receive-Transfer -Source 's3://tt-data/changing.bin' -OutputDir '$down' -MaxBytesPerSecond 4MB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ([DateTime]::UtcNow -lt $deadline) {
            $id = (Get-TransferStatus | Where-Object { $_.Source -like '*changing.bin' } | Select-Object -First 1).Id
            if ($id -and (Get-ChunkCount $id) -ge 2) { break }
            Start-Sleep -Milliseconds 100
        }
        $process.Kill(); $process.WaitForExit()
        $other = New-TestFile -Path (Join-Path $script:work 'changing2.bin') -Size 24MB -Seed 6
        Invoke-S3Admin put tt-data changing.bin $other.FullName | Out-Null
        $err = $null
        Resume-Transfer -Id $id -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].FullyQualifiedErrorId | Should -Match '^SourceChanged'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Test-Path (Join-Path $down 'changing.bin') | Should -BeFalse
    }

    It 'refuses a download whose bytes do not match the object''s x-amz-meta-sha256 (ChecksumMismatch), delivering nothing' {
        $f = New-TestFile -Path (Join-Path $script:work 'tampered.bin') -Size 2MB -Seed 12
        Invoke-S3Admin putsha tt-data tampered.bin $f.FullName ('0' * 64) | Out-Null
        $down = Join-Path $script:work 'down-tampered'
        New-Item -ItemType Directory $down | Out-Null
        $err = $null
        Receive-Transfer -Source 's3://tt-data/tampered.bin' -OutputDir $down -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].FullyQualifiedErrorId | Should -Match '^ChecksumMismatch'
        Test-Path (Join-Path $down 'tampered.bin') | Should -BeFalse
    }

    It 'names the endpoint and key id, never the secret, for a wrong secret (AuthenticationError)' {
        $f = New-TestFile -Path (Join-Path $script:work 'auth.bin') -Size 10KB -Seed 7
        $wrong = 'WrongSecret' + [guid]::NewGuid().ToString('n')
        Register-TransferPlugin -Name BadKeys -Type S3 -Configuration @{
            ServiceUrl = $script:rgw.ServiceUrl; AccessKeyId = $script:rgw.AccessKeyId; SecretAccessKey = $wrong } -ErrorVariable regErr -ErrorAction SilentlyContinue | Out-Null
        "$regErr" | Should -Match $script:rgw.AccessKeyId
        "$regErr" | Should -Not -Match $wrong
        $regErr[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        foreach ($file in Get-ChildItem $script:home_ -Recurse -File | Where-Object FullName -notlike "$($script:work)*") {
            (Get-Content -LiteralPath $file.FullName -Raw -ErrorAction SilentlyContinue) | Should -Not -Match $wrong
        }
        Unregister-TransferPlugin -Name BadKeys -Confirm:$false -ErrorAction SilentlyContinue

        # Every stream of a working transfer, verbose and debug included: no secret.
        $streams = Send-Transfer $f.FullName -Destination 's3://tt-data/auth/' -Verbose -Debug *>&1 | Out-String
        $streams | Should -Not -Match ([regex]::Escape($script:rgw.SecretAccessKey))
        foreach ($file in Get-ChildItem $script:home_ -Recurse -File | Where-Object FullName -notlike "$($script:work)*") {
            (Get-Content -LiteralPath $file.FullName -Raw -ErrorAction SilentlyContinue) | Should -Not -Match ([regex]::Escape($script:rgw.SecretAccessKey))
        }
    }

    It 'refuses at registration a ServiceUrl that does not answer as S3' {
        # A plain web server (python's http.server) where the S3 API was meant.
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
        $web = Start-Process python3 -ArgumentList '-m', 'http.server', $port, '--bind', '127.0.0.1', '--directory', $script:work -PassThru -RedirectStandardError (Join-Path $script:work 'web.err')
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ([DateTime]::UtcNow -lt $deadline) {
                try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port); $c.Dispose(); break } catch { Start-Sleep -Milliseconds 100 }
            }
            $err = $null
            Register-TransferPlugin -Name NotS3 -Type S3 -Configuration @{
                ServiceUrl = "http://127.0.0.1:$port"; AccessKeyId = 'AKIDNOTS3'; SecretAccessKey = 'not-a-secret-at-all' } -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
            $err[0].FullyQualifiedErrorId | Should -Match '^S3EndpointNotS3'
            "$($err[0])" | Should -Match "127\.0\.0\.1:$port"
            "$($err[0])" | Should -Not -Match 'not-a-secret-at-all'
            @(Get-TransferPlugin | Where-Object Name -eq 'NotS3') | Should -BeNullOrEmpty
        }
        finally {
            Stop-Process -Id $web.Id -ErrorAction SilentlyContinue
        }
    }

    It 'reports a missing bucket as ObjectNotFound' {
        $f = New-TestFile -Path (Join-Path $script:work 'nobucket.bin') -Size 1KB -Seed 8
        $err = $null
        Send-Transfer $f.FullName -Destination 's3://tt-no-such-bucket/x/' -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        "$($err[0])" | Should -Match 'tt-no-such-bucket'
    }

    It 'reports a missing key as ObjectNotFound, delivering nothing' {
        $down = Join-Path $script:work 'down-missing'
        New-Item -ItemType Directory $down | Out-Null
        $err = $null
        Receive-Transfer -Source 's3://tt-data/no/such-key.bin' -OutputDir $down -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        "$($err[0])" | Should -Match 'such-key\.bin'
        @(Get-ChildItem -Force $down) | Should -BeNullOrEmpty
    }

    It 'sends nothing with -WhatIf' {
        $f = New-TestFile -Path (Join-Path $script:work 'whatif.bin') -Size 1KB -Seed 9
        Send-Transfer $f.FullName -Destination 's3://tt-data/whatif/' -WhatIf | Out-Null
        { Invoke-S3Admin head tt-data whatif/whatif.bin } | Should -Throw
    }

    It 'receives a prefix with -Recurse' {
        $tree = Join-Path $script:work 'tree'
        $files = New-TestTree -Path $tree
        Send-Transfer -Path $tree -Destination 's3://tt-data/tree/' -Recurse | Out-Null
        $back = Join-Path $script:work 'tree-back'
        New-Item -ItemType Directory $back | Out-Null
        Receive-Transfer -Source 's3://tt-data/tree/' -OutputDir $back -Recurse | Out-Null
        foreach ($relative in $files) {
            $copy = Get-ChildItem -Recurse -File $back | Where-Object { $_.FullName.Replace('\', '/').EndsWith($relative) }
            $copy | Should -Not -BeNullOrEmpty
        }
    }
}

Describe 'S3 copies between remote locations against Ceph radosgw' -Skip:$script:Skip {
    BeforeAll {
        Invoke-S3Admin mkbucket tt-copy | Out-Null
        $script:proxy = Start-CountingProxy
        $script:via = @{ ServiceUrl = $script:proxy.Url }
    }
    AfterAll { Stop-CountingProxy $script:proxy }

    It 'copies within the server (CopyObject; UploadPartCopy above CopyPartSize): no bytes through this machine, SHA-256 and mtime carried' {
        $f = New-TestFile -Path (Join-Path $script:work 'copysrc.bin') -Size 12MB -Seed 20
        $before = Get-ProxyStats $script:proxy
        (Send-Transfer $f.FullName -Destination 's3://tt-data/copy/' -ProtocolOption $script:via).Status | Should -Be 'Completed'
        $sent = Get-ProxyStats $script:proxy
        $sent.up - $before.up | Should -BeGreaterOrEqual 12MB   # the relay sees what goes through this machine

        $one = Send-Transfer -Path 's3://tt-data/copy/copysrc.bin' -Destination 's3://tt-copy/one/' -ProtocolOption $script:via
        $parts = Send-Transfer -Path 's3://tt-data/copy/copysrc.bin' -Destination 's3://tt-copy/parts/copysrc.bin' -ProtocolOption ($script:via + @{ CopyPartSize = '5' })
        $after = Get-ProxyStats $script:proxy
        foreach ($t in $one, $parts) {
            $t.Status | Should -Be 'Completed'
            $t.Verification | Should -Be 'ServerSideCopy'
            $t.Sha256 | Should -Be (Get-Sha $f.FullName)
        }
        # Requests and answers only (heads, copies, a manifest): a relay would have moved 24 MiB each way.
        ($after.up - $sent.up) + ($after.down - $sent.down) | Should -BeLessThan 1MB
        $source = Invoke-S3Admin head tt-data copy/copysrc.bin
        foreach ($key in 'one/copysrc.bin', 'parts/copysrc.bin') {
            $head = Invoke-S3Admin head tt-copy $key
            $head.size | Should -Be 12MB
            $head.metadata.sha256 | Should -Be $source.metadata.sha256
            $head.metadata.mtime | Should -Be $source.metadata.mtime
        }
        (Invoke-S3Admin head tt-copy parts/copysrc.bin).etag | Should -Match '-3"?$'   # three copied parts of 5, 5 and 2 MiB
        @(Invoke-S3Admin uploads tt-copy) | Should -BeNullOrEmpty

        # An object no SHA-256 vouches for (put by another tool) goes through this machine, hashed on the way.
        $foreign = New-TestFile -Path (Join-Path $script:work 'copyforeign.bin') -Size 3MB -Seed 21
        Invoke-S3Admin put tt-data copy/copyforeign.bin $foreign.FullName | Out-Null
        $relayed = Send-Transfer -Path 's3://tt-data/copy/copyforeign.bin' -Destination 's3://tt-copy/relayed/' -ProtocolOption $script:via
        $relayed.Status | Should -Be 'Completed'
        $relayed.Verification | Should -Be 'ServerDigest'   # the MD5 ETag of the single-part source
        (Get-ProxyStats $script:proxy).down - $after.down | Should -BeGreaterOrEqual 3MB
        (Invoke-S3Admin head tt-copy relayed/copyforeign.bin).metadata.sha256 | Should -Be (Get-Sha $foreign.FullName)
    }

    It 'syncs a prefix to another bucket within the server; a second sync moves nothing; -Mirror deletes the extra' {
        $tree = Join-Path $script:work 'synctree'
        $files = New-TestTree -Path $tree
        Send-Transfer -Path "$tree/*" -Destination 's3://tt-data/synctree/' -Recurse -NoManifest | Out-Null
        $before = Get-ProxyStats $script:proxy
        $r = Sync-TransferFolder -Path 's3://tt-data/synctree/' -Destination 's3://tt-copy/mirror/' -ProtocolOption $script:via -PassThru
        $summary = $r | Where-Object { $_ -is [TransferTools.Engine.Sync.SyncResult] }
        $summary.Copied | Should -Be $files.Count
        $summary.Failed | Should -Be 0
        @($r | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] -and $_.Verification -ne 'ServerSideCopy' }) | Should -BeNullOrEmpty
        $after = Get-ProxyStats $script:proxy
        ($after.up - $before.up) + ($after.down - $before.down) | Should -BeLessThan 1MB
        $again = Sync-TransferFolder -Path 's3://tt-data/synctree/' -Destination 's3://tt-copy/mirror/' -ProtocolOption $script:via
        $again.Copied + $again.Updated | Should -Be 0
        Compare-TransferFolder -Path 's3://tt-data/synctree/' -Destination 's3://tt-copy/mirror/' -Quiet | Should -BeTrue
        $extra = New-TestFile -Path (Join-Path $script:work 'extra.bin') -Size 1KB -Seed 22
        Invoke-S3Admin put tt-copy mirror/extra.bin $extra.FullName | Out-Null
        (Sync-TransferFolder -Path 's3://tt-data/synctree/' -Destination 's3://tt-copy/mirror/' -Mirror).Deleted | Should -Be 1
        { Invoke-S3Admin head tt-copy mirror/extra.bin } | Should -Throw
    }

    It 'relays a copy from another endpoint (storage://) into S3, resumed after kill -9 from the parts the server holds' {
        $f = New-TestFile -Path (Join-Path $script:work 'relay.bin') -Size 40MB -Seed 24
        Save-StorageItem $f.FullName -Name 'relay/relay.bin' | Out-Null
        $command = "Import-Module '$(Get-TestModulePath)'; Send-Transfer -Path 'storage://LocalStore/relay/relay.bin' -Destination 's3://tt-copy/relay/' -MaxBytesPerSecond 6MB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        $id = $null
        while ([DateTime]::UtcNow -lt $deadline) {
            $id = (Get-TransferStatus | Where-Object { $_.Source -like 'storage://LocalStore/relay/relay.bin' } | Select-Object -First 1).Id
            if ($id -and (Get-ChunkCount $id) -ge 5) { break }
            if ($process.HasExited) { throw "The copying process exited early: $($process.StandardError.ReadToEnd())" }
            Start-Sleep -Milliseconds 100
        }
        $process.Kill()   # SIGKILL
        $process.WaitForExit()
        { Invoke-S3Admin head tt-copy relay/relay.bin } | Should -Throw   # nothing appears before completion

        $resumed = Invoke-InNewProcess ([scriptblock]::Create("Resume-Transfer -Id $id -MaxBytesPerSecond 0"))
        [TransferTools.Abstractions.TransferStatus]$resumed.Status | Should -Be 'Completed'
        $resumed.ResumedFrom | Should -BeGreaterOrEqual 16MB   # the parts the server held, proven against the source
        $resumed.Sha256 | Should -Be (Get-Sha $f.FullName)
        (Invoke-S3Admin head tt-copy relay/relay.bin).metadata.sha256 | Should -Be (Get-Sha $f.FullName)
        @(Invoke-S3Admin uploads tt-copy | Where-Object key -eq 'relay/relay.bin') | Should -BeNullOrEmpty
    }

    It 'stores the SHA-256 of an upload larger than CopyPartSize by a multipart copy onto itself (as for objects over 5 GiB)' {
        $f = New-TestFile -Path (Join-Path $script:work 'bigmeta.bin') -Size 20MB -Seed 25
        $t = Send-Transfer $f.FullName -Destination 's3://tt-data/bigmeta/' -ProtocolOption @{ CopyPartSize = '5' }
        $t.Status | Should -Be 'Completed'
        $head = Invoke-S3Admin head tt-data bigmeta/bigmeta.bin
        $head.metadata.sha256 | Should -Be (Get-Sha $f.FullName)
        $head.metadata.mtime | Should -Not -BeNullOrEmpty
        $head.etag | Should -Match '-4"?$'   # copied onto itself as four parts of at most 5 MiB
        @(Invoke-S3Admin uploads tt-data | Where-Object key -eq 'bigmeta/bigmeta.bin') | Should -BeNullOrEmpty
        $down = New-Item -ItemType Directory (Join-Path $script:work 'down-bigmeta')
        (Receive-Transfer -Source 's3://tt-data/bigmeta/bigmeta.bin' -OutputDir $down.FullName).Verification | Should -Be 'ServerDigest'
    }

    It 'sends several parts of one multipart upload at once' {
        $f = New-TestFile -Path (Join-Path $script:work 'parallel.bin') -Size 40MB -Seed 23
        $proxy = Start-CountingProxy   # (its own relay: its busy_max counts this upload only)
        try {
            $t = Send-Transfer $f.FullName -Destination 's3://tt-data/parallel/' -ProtocolOption @{ ServiceUrl = $proxy.Url; Parallelism = '4' }
            $t.Status | Should -Be 'Completed'
            $stats = Get-ProxyStats $proxy
            # A second part's upload (1 MiB or more sent) began before the answer to an earlier one came: parts in flight
            # together. (Small calls such as the manifest written ahead of delivery are not counted.)
            $stats.large_max | Should -BeGreaterOrEqual 2
            $stats.connections | Should -BeGreaterOrEqual 2
            (Invoke-S3Admin head tt-data parallel/parallel.bin).etag | Should -Match '-\d+"?$'
        }
        finally { Stop-CountingProxy $proxy }

        # The measure tells the two apart: one part at a time never has two requests open.
        $serial = Start-CountingProxy
        try {
            $t = Send-Transfer $f.FullName -Destination 's3://tt-data/serial/' -ProtocolOption @{ ServiceUrl = $serial.Url; Parallelism = '1' }
            $t.Status | Should -Be 'Completed'
            (Get-ProxyStats $serial).large_max | Should -Be 1
        }
        finally { Stop-CountingProxy $serial }
    }
}

Describe 'S3 buckets as stores against Ceph radosgw' -Skip:$script:Skip {
    It 'saves, finds, exports, measures and removes items with custom metadata; secrets stay protected' {
        Register-TransferPlugin -Name Bucket -Type S3Bucket -Configuration @{
            ServiceUrl = $script:rgw.ServiceUrl; AccessKeyId = $script:rgw.AccessKeyId; SecretAccessKey = $script:rgw.SecretAccessKey
            Bucket = 'tt-store'; Prefix = 'team/a' } | Out-Null
        $f = New-TestFile -Path (Join-Path $script:work 'item.bin') -Size 20MB -Seed 10
        $item = Save-StorageItem $f.FullName -Storage Bucket -Name 'reports/q 3!.bin' -Metadata @{ owner = 'ops'; 'Ünï' = 'välue' }
        $item.Sha256 | Should -Be (Get-Sha $f.FullName)
        $got = Get-StorageItem -Id $item.Id -Storage Bucket
        $got.Metadata['owner'] | Should -Be 'ops'
        $got.Metadata['Ünï'] | Should -Be 'välue'
        $out = $item | Export-StorageItem -Destination (Join-Path $script:work 'item.out')
        Get-Sha $out.FullName | Should -Be (Get-Sha $f.FullName)
        (Measure-StorageItem -Storage Bucket).TotalItems | Should -Be 1
        (Get-TransferPlugin -Name Bucket).Configuration['SecretAccessKey'] | Should -Be '********'
        foreach ($file in Get-ChildItem $script:home_ -Recurse -File | Where-Object FullName -notlike "$($script:work)*") {
            (Get-Content -LiteralPath $file.FullName -Raw -ErrorAction SilentlyContinue) | Should -Not -Match ([regex]::Escape($script:rgw.SecretAccessKey))
        }
        Remove-StorageItem -Id $item.Id -Storage Bucket -Confirm:$false
        (Measure-StorageItem -Storage Bucket).TotalItems | Should -Be 0
    }

    It 'is a transfer endpoint as storage://NAME/, both ways' {
        Register-TransferPlugin -Name Drop -Type S3Bucket -Configuration @{
            ServiceUrl = $script:rgw.ServiceUrl; AccessKeyId = $script:rgw.AccessKeyId; SecretAccessKey = $script:rgw.SecretAccessKey; Bucket = 'tt-drop' } | Out-Null
        $f = New-TestFile -Path (Join-Path $script:work 'dropped.bin') -Size 6MB -Seed 15
        $sent = Send-Transfer -Path $f.FullName -Destination 'storage://Drop/incoming/' -ChunkSize 1MB
        $sent.Status | Should -Be 'Completed'
        $out = New-Item -ItemType Directory (Join-Path $script:work 'drop-back')
        $back = Receive-Transfer -Source 'storage://Drop/incoming/dropped.bin' -OutputDir $out.FullName
        $back.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $out.FullName 'dropped.bin') | Should -Be (Get-Sha $f.FullName)
        # (Beside it, the send's manifest for Receive-Transfer -TransferId.)
        @(Get-StorageItem -Storage Drop | Where-Object Name -Match 'dropped\.bin$').Count | Should -Be 1
    }

    It 'lists 2,500 keys across pages in ListOrder, with -First' {
        Register-TransferPlugin -Name Many -Type S3Bucket -Configuration @{
            ServiceUrl = $script:rgw.ServiceUrl; AccessKeyId = $script:rgw.AccessKeyId; SecretAccessKey = $script:rgw.SecretAccessKey; Bucket = 'tt-many' } | Out-Null
        Invoke-S3Admin fill tt-many 'items/k' 2500 | Out-Null
        $all = @(Get-StorageItem -Storage Many)
        $all.Count | Should -Be 2500
        $all[0].Name | Should -Be 'k00000'
        $all[2499].Name | Should -Be 'k02499'
        @(Get-StorageItem -Storage Many -First 10).Count | Should -Be 10
        @(Get-StorageItem -Storage Many -Prefix 'k024').Count | Should -Be 100
    }
}
