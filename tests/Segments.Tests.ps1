#Requires -Modules Pester
# Segmented transfers (-Streams): one file moved as several ranges at once over SFTP (up and down) and HTTP downloads,
# against a real sshd and nginx on 127.0.0.1. Small files with a small chunk size stand in for the large ones the
# engine splits by itself (256 MiB and up); -Streams N splits any file of two chunks or more.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:sshd = Start-TestSshd
    $script:nginx = Start-TestNginx
    $script:work = New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')
    $script:keyBase = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)"
    $script:keyArgs = "-KeyFile '$($sshd.KeyFile)' -HostKeyFingerprint '$($sshd.HostKeyFingerprint)'"

    # Runs a transfer command in another pwsh and kills it (SIGKILL) once its chunk log holds $Lines lines; returns the
    # transfer's id and the chunk indexes logged then.
    function Stop-Midway([string] $Command, [string] $Source, [int] $Lines) {
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$(Get-TestModulePath)'; $Command | Out-Null") { $info.ArgumentList.Add($a) }
        $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $id = $null
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ([DateTime]::UtcNow -lt $deadline -and -not $process.HasExited) {
                $id = (Get-TransferStatus | Where-Object { $_.Source -eq $Source } | Select-Object -First 1).Id
                $log = if ($id) { Join-Path $script:home_ "journal/$id.chunks" }
                if ($log -and (Test-Path $log) -and (Get-Item $log).Length -ge $Lines * 28) { break }
                Start-Sleep -Milliseconds 50
            }
        } finally { $process.Kill(); $process.WaitForExit() }
        $indexes = @(Get-Content (Join-Path $script:home_ "journal/$id.chunks") | ForEach-Object { [int]($_.Substring(0, 10)) })
        [pscustomobject]@{ Id = $id; Indexes = $indexes }
    }
}

AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Segmented transfers' {
    It 'sends over SFTP in 4 streams, byte-identical, and receives it back in 4 streams' {
        $file = New-TestFile -Path (Join-Path $work 'seg-up.bin') -Size 6MB -Seed 31
        $verbose = Send-Transfer -Path $file -Destination "$keyBase/~/seg/" -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint `
            -ChunkSize 1MB -Streams 4 -Verbose 4>&1
        $sent = $verbose | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] }
        $sent.Status | Should -Be 'Completed'
        "$($verbose | Where-Object { $_ -is [Management.Automation.VerboseRecord] })" | Should -BeLike '*in 4 streams*'
        $remote = Join-Path $sshd.KeyUserData 'seg/seg-up.bin'
        (Get-FileHash $remote).Hash | Should -Be (Get-FileHash $file).Hash
        $sent.Sha256 | Should -Be (Get-FileHash $file).Hash.ToLowerInvariant()

        $out = Join-Path $work 'seg-down'
        $got = Receive-Transfer -Source "$keyBase$remote" -OutputDir $out -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint `
            -ChunkSize 1MB -Streams 4 -ProtocolOption @{ StreamConnections = 'Shared' }
        $got.Status | Should -Be 'Completed'
        $got.Sha256 | Should -Be $sent.Sha256
        (Get-FileHash (Join-Path $out 'seg-up.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        Get-ChildItem -Force $out -Filter '*.ttpart' | Should -BeNullOrEmpty
    }

    It 'moves a file as one stream with -Streams 1, and by default below the threshold' {
        $file = New-TestFile -Path (Join-Path $work 'one.bin') -Size 3MB -Seed 32
        foreach ($streams in @(@{ Streams = 1 }, @{})) {
            $verbose = Send-Transfer -Path $file -Destination "$keyBase/~/one/" -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint `
                -ChunkSize 1MB -Force -Verbose @streams 4>&1
            ($verbose | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] }).Status | Should -Be 'Completed'
            "$($verbose | Where-Object { $_ -is [Management.Automation.VerboseRecord] })" | Should -Not -BeLike '*streams*'
        }

        (Get-FileHash (Join-Path $sshd.KeyUserData 'one/one.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'sends a file above the threshold as one stream where the measured round trip is short (loopback)' {
        # Sparse: 256 MiB that cost no disk and read as fast as the page cache.
        $file = Join-Path $work 'big-sparse.bin'
        $stream = [IO.File]::Create($file); try { $stream.SetLength(256MB) } finally { $stream.Dispose() }
        $verbose = Send-Transfer -Path $file -Destination "$keyBase/~/big/" -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint -Verbose 4>&1
        $sent = $verbose | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] }
        $sent.Status | Should -Be 'Completed'
        $said = "$($verbose | Where-Object { $_ -is [Management.Automation.VerboseRecord] })"
        $said | Should -Match 'round trip \d+[.,]\d ms, under 10 ms: one stream'
        $said | Should -Not -BeLike '*bytes in * streams*'
        (Get-Item (Join-Path $sshd.KeyUserData 'big/big-sparse.bin')).Length | Should -Be 256MB
        $sent.Sha256 | Should -Be (Get-FileHash $file).Hash.ToLowerInvariant()
        Remove-Item $file
    }

    It 'resumes an SFTP upload killed midway with every range''s committed chunks kept' {
        $file = New-TestFile -Path (Join-Path $work 'killed-seg.bin') -Size 8MB -Seed 33
        # Four ranges of two 1 MiB chunks, 512 KiB/s each: a chunk of every range is committed after about 2 s.
        $stopped = Stop-Midway -Source $file.FullName -Lines 4 -Command ("Send-Transfer -LiteralPath '$($file.FullName)' -Destination '$keyBase/~/killed-seg/' " +
            "$keyArgs -ChunkSize 1MB -Streams 4 -MaxBytesPerSecond 2MB")
        $stopped.Id | Should -Not -BeNullOrEmpty
        $stopped.Indexes.Count | Should -BeGreaterOrEqual 4
        # Committed by several ranges, out of order: not only a leading run.
        @($stopped.Indexes | ForEach-Object { [Math]::Floor($_ / 2) } | Sort-Object -Unique).Count | Should -BeGreaterOrEqual 2
        $committed = $stopped.Indexes.Count * 1MB

        $resumed = Invoke-InNewProcess ([scriptblock]::Create("Resume-Transfer -Id $($stopped.Id)"))
        [TransferTools.Abstractions.TransferStatus]$resumed.Status | Should -Be 'Completed'
        # What the kill left committed is kept: only the rest is sent again.
        $resumed.ResumedFrom | Should -BeGreaterOrEqual $committed
        ($file.Length - $resumed.ResumedFrom) | Should -BeLessOrEqual ($file.Length - $committed)
        (Get-FileHash (Join-Path $sshd.KeyUserData 'killed-seg/killed-seg.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        Get-ChildItem -Force (Join-Path $sshd.KeyUserData 'killed-seg') -Filter '*.ttpart' | Should -BeNullOrEmpty
    }

    It 'refuses to resume an SFTP download killed midway whose source changed meanwhile' {
        $remote = Join-Path $sshd.KeyUserData 'changing/changing.bin'
        New-Item -ItemType Directory -Force -Path (Split-Path $remote) | Out-Null
        New-TestFile -Path $remote -Size 8MB -Seed 34 | Out-Null
        & chown -R "$($sshd.KeyUser):$($sshd.KeyUser)" (Split-Path $remote)
        $source = "$keyBase$remote"
        $out = Join-Path $work 'changing'
        $stopped = Stop-Midway -Source $source -Lines 2 -Command ("Receive-Transfer -Source '$source' -OutputDir '$out' " +
            "$keyArgs -ChunkSize 1MB -Streams 4 -MaxBytesPerSecond 2MB")
        $stopped.Indexes.Count | Should -BeGreaterOrEqual 2

        New-TestFile -Path $remote -Size 8MB -Seed 35 | Out-Null
        (Get-Item $remote).LastWriteTimeUtc = [DateTime]::UtcNow.AddHours(1)
        $err = $null
        Resume-Transfer -Id $stopped.Id -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err | Should -Not -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike '*SourceChanged*'
        Test-Path (Join-Path $out 'changing.bin') | Should -BeFalse
    }

    It 'receives over HTTP in 4 Range requests on the strong ETag, byte-identical' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'seg-http.bin') -Size 5MB -Seed 36
        $out = Join-Path $work 'seg-http'
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/files/seg-http.bin" -OutputDir $out -ChunkSize 1MB -Streams 4
        $t.Status | Should -Be 'Completed'
        $t.Sha256 | Should -Be (Get-FileHash $file).Hash.ToLowerInvariant()
        (Get-FileHash (Join-Path $out 'seg-http.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        @(Get-Content $nginx.AccessLogPath | Where-Object { $_ -like '*/files/seg-http.bin*" 206 *' }).Count | Should -BeGreaterOrEqual 4
    }

    It 'resumes an HTTP download killed midway with every range''s committed chunks kept' {
        # /slow/ sends 32 KiB/s per request: 16 chunks of 64 KiB in 4 ranges, a chunk of each range after about 2 s.
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'seg-slow.bin') -Size 1MB -Seed 37
        $source = "$($nginx.BaseUri)/slow/seg-slow.bin"
        $out = Join-Path $work 'seg-slow'
        $stopped = Stop-Midway -Source $source -Lines 4 -Command "Receive-Transfer -Source '$source' -OutputDir '$out' -ChunkSize 64KB -Streams 4"
        $stopped.Indexes.Count | Should -BeGreaterOrEqual 4
        @($stopped.Indexes | ForEach-Object { [Math]::Floor($_ / 4) } | Sort-Object -Unique).Count | Should -BeGreaterOrEqual 2
        $committed = $stopped.Indexes.Count * 64KB

        $done = Resume-Transfer -Id $stopped.Id
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -BeGreaterOrEqual $committed
        (Get-FileHash (Join-Path $out 'seg-slow.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }
}
