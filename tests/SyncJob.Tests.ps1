#Requires -Modules Pester
# A folder sync as a journaled job: Sync-TransferFolder -Queue run by a real agent process (issue 32), and
# Resume-Transfer on a sync's id after kill -9 (issue 29 item 6).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = (New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')).FullName
    $script:agents = [Collections.Generic.List[object]]::new()

    # Every file under $Path as 'relative=sha256', sorted.
    function script:TreeHashes([string] $Path, [string] $Skip = '') {
        $root = (Resolve-Path -LiteralPath $Path).ProviderPath.TrimEnd('/') + '/'
        @(Get-ChildItem -LiteralPath $Path -Recurse -File -Force | Where-Object { -not $Skip -or $_.Name -notlike $Skip } | ForEach-Object {
                $_.FullName.Substring($root.Length) + '=' + (Get-FileHash -LiteralPath $_.FullName).Hash
            } | Sort-Object)
    }

    function script:NewTree([string] $Path, [int] $Seed) {
        New-Item -ItemType Directory -Force -Path (Join-Path $Path 'sub/deeper') | Out-Null
        New-TestFile -Path (Join-Path $Path 'one.bin') -Size 20KB -Seed $Seed | Out-Null
        New-TestFile -Path (Join-Path $Path 'sub/two.bin') -Size 5KB -Seed ($Seed + 1) | Out-Null
        New-TestFile -Path (Join-Path $Path 'sub/deeper/three é.txt') -Size 3KB -Seed ($Seed + 2) | Out-Null
        New-TestFile -Path (Join-Path $Path 'sub/skip.log') -Size 1KB -Seed ($Seed + 3) | Out-Null
    }

    # Start-TransferAgent in a new pwsh on this home (as tests/Agent.Tests.ps1); returns once it holds the agent lock.
    function script:StartAgent {
        $n = $script:agents.Count
        $out = Join-Path $script:work "agent$n.out"
        $command = "Import-Module '$(Get-TestModulePath)'; Start-TransferAgent -PollIntervalSeconds 1 -RetryIntervalSeconds 1"
        $p = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $command `
            -RedirectStandardOutput $out -RedirectStandardError "$out.err" -PassThru
        $agent = [pscustomobject]@{ Process = $p; Log = $out }
        $script:agents.Add($agent)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not ((Get-TransferAgent) | Where-Object { $_.Running -and $_.ProcessId -eq $p.Id })) {
            if ($p.HasExited) { throw "The agent exited: $(Get-Content -Raw "$out.err") $(Get-Content -Raw $out)" }
            if ([DateTime]::UtcNow -gt $deadline) { throw 'The agent did not start in time.' }
            Start-Sleep -Milliseconds 100
        }
        $agent
    }

    function script:StopAgent([object] $Agent) {
        & kill -TERM $Agent.Process.Id
        $Agent.Process.WaitForExit(60000) | Should -BeTrue
    }

    function script:WaitUntil([scriptblock] $Condition, [int] $Seconds = 90, [string] $What = 'the condition') {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out waiting for $What." }
            Start-Sleep -Milliseconds 200
        }
    }
}

AfterAll {
    foreach ($a in $script:agents) { if (-not $a.Process.HasExited) { $a.Process.Kill() } }
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'A queued sync (Sync-TransferFolder -Queue)' -Skip:$IsWindows {
    AfterEach {
        foreach ($a in $script:agents) { if (-not $a.Process.HasExited) { $a.Process.Kill(); $a.Process.WaitForExit(10000) | Out-Null } }
    }

    It 'is journaled at once, -WhatIf queues nothing, Stop-Transfer removes one, and the agent runs the whole sync' {
        $src = Join-Path $work 'q-src'
        $dst = Join-Path $work 'q-dst'
        NewTree $src 500
        New-Item -ItemType Directory -Force -Path $dst | Out-Null
        Set-Content -LiteralPath (Join-Path $dst 'extra.txt') 'not in the source'
        Set-Content -LiteralPath (Join-Path $dst 'kept.log') 'excluded: neither copied nor deleted'

        Sync-TransferFolder -Path $src -Destination $dst -Mirror -Queue -WhatIf | Should -BeNullOrEmpty
        Get-TransferStatus | Where-Object Name -eq '(sync)' | Should -BeNullOrEmpty

        $q = Sync-TransferFolder -Path $src -Destination $dst -Mirror -Exclude '*.log' -MaxDelete 5 -Queue
        $q.Status | Should -Be 'Queued'
        $q.Name | Should -Be '(sync)'
        $q.Queued | Should -BeTrue
        # Nothing ran yet: the destination is as it was.
        Test-Path (Join-Path $dst 'one.bin') | Should -BeFalse

        $other = Join-Path $work 'q-stopped'
        $stopped = Sync-TransferFolder -Path $src -Destination $other -Queue
        (Stop-Transfer -Id $stopped.Id -PassThru).Status | Should -Be 'Cancelled'

        # Issue 32's leftover: a sent transfer received by id is queued too (its manifest read now, its SHA-256 checked by the agent).
        $sentFile = New-TestFile -Path (Join-Path $work 'by-id.bin') -Size 40KB -Seed 510
        $sent = Send-Transfer -LiteralPath $sentFile.FullName -Destination (Join-Path $work 'by-id-drop/')
        $byId = Receive-Transfer -TransferId $sent.Id -OutputDir (Join-Path $work 'by-id-out') -Queue
        $byId.Status | Should -Be 'Queued'
        Test-Path (Join-Path $work 'by-id-out/by-id.bin') | Should -BeFalse

        $agent = StartAgent
        (Wait-Transfer -Id $byId.Id -Timeout 120).Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $work 'by-id-out/by-id.bin')).Hash | Should -Be (Get-FileHash $sentFile.FullName).Hash
        $done = Wait-Transfer -Id $q.Id -Timeout 120
        $done.Status | Should -Be 'Completed'
        $done.Summary | Should -BeLike '3 copied, 0 updated, 1 deleted, 0 unchanged, 0 failed*'
        TreeHashes $dst -Skip '*.log' | Should -Be (TreeHashes $src -Skip '*.log')
        Test-Path (Join-Path $dst 'extra.txt') | Should -BeFalse
        Test-Path (Join-Path $dst 'kept.log') | Should -BeTrue
        Test-Path (Join-Path $dst 'sub/skip.log') | Should -BeFalse
        # The stopped one never ran.
        Test-Path $other | Should -BeFalse
        (Get-TransferStatus -Id $stopped.Id).Status | Should -Be 'Cancelled'
        StopAgent $agent
        Get-Content -Raw $agent.Log | Should -BeLike "*Sync $($q.Id.Substring(0, 8))* completed*"

        # Seen from this process, after the agent is gone; piped to Resume-Transfer, a completed sync is no error and the
        # cancelled one says so, as a cancelled file transfer does.
        (Get-TransferStatus -Id $q.Id).Summary | Should -Be $done.Summary
        Get-TransferStatus | Resume-Transfer -ErrorVariable resumeErrors -ErrorAction SilentlyContinue | Out-Null
        @($resumeErrors.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Sort-Object -Unique) | Should -Be @('TransferCancelled')
    }

    It 'is cancelled by Stop-Transfer from another process while the agent runs it' {
        $src = Join-Path $work 'q-slow-src'
        New-Item -ItemType Directory -Force -Path $src | Out-Null
        New-TestFile -Path (Join-Path $src 'slow.bin') -Size 2MB -Seed 520 | Out-Null
        $dst = Join-Path $work 'q-slow-dst'
        $q = Sync-TransferFolder -Path $src -Destination $dst -ChunkSize 64KB -MaxBytesPerSecond 128KB -Queue
        $agent = StartAgent
        WaitUntil { (Get-TransferStatus -Id $q.Id).Status -eq 'Active' -and (Get-ChildItem -LiteralPath $dst -Force -Filter '*.ttpart' -ErrorAction SilentlyContinue) } -What 'the sync to run'
        (Stop-Transfer -Id $q.Id -PassThru).Status | Should -Be 'Cancelled'
        WaitUntil { (Get-Content -Raw $agent.Log) -like '*is cancelled*' } -What 'the agent to see it'
        (Get-TransferStatus -Id $q.Id).Status | Should -Be 'Cancelled'
        Test-Path (Join-Path $dst 'slow.bin') | Should -BeFalse
        StopAgent $agent
    }

    It 'waits while a sync started by hand writes to its destination, then runs' {
        $src = Join-Path $work 'q-busy-src'
        NewTree $src 530
        $dst = Join-Path $work 'q-busy-dst'
        $q = Sync-TransferFolder -Path $src -Destination $dst -Queue
        # What a Sync-TransferFolder running by hand holds (see Sync.Tests.ps1).
        $key = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($dst))).Substring(0, 16).ToLowerInvariant()
        $lock = [IO.File]::Open((Join-Path $home_ "journal/sync-$key.lock"), 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $agent = StartAgent
            WaitUntil { (Get-TransferStatus -Id $q.Id).Status -eq 'TransientError' } -What 'TransientError'
            (Get-TransferStatus -Id $q.Id).Error | Should -BeLike 'Another Sync-TransferFolder is writing*'
            Test-Path $dst | Should -BeFalse
        } finally { $lock.Dispose() }
        (Wait-Transfer -Id $q.Id -Timeout 120).Status | Should -Be 'Completed'
        TreeHashes $dst | Should -Be (TreeHashes $src)
        StopAgent $agent
    }

    It 'waits out an SFTP server that is down and completes once it is up; its password is kept protected' {
        $sshd = Start-TestSshd
        $src = Join-Path $work 'q-sftp-src'
        NewTree $src 600
        $secret = $sshd.Password
        $pass = [pscredential]::new($sshd.PasswordUser, (ConvertTo-SecureString $secret -AsPlainText -Force))
        Stop-Process -Id $sshd.Process.Id -Force
        $sshd.Process.WaitForExit(10000) | Out-Null
        $remote = "sftp://$($sshd.PasswordUser)@127.0.0.1:$($sshd.Port)/~/qsync/"
        $q = Sync-TransferFolder -Path $src -Destination $remote -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint -Queue -RetryTimeout '00:10:00'
        $q.Status | Should -Be 'Queued'
        Get-ChildItem -Recurse -File $home_ | Where-Object { $_.FullName -notlike "$work*" } |
            Select-String -SimpleMatch $secret -List | Should -BeNullOrEmpty

        $agent = StartAgent
        WaitUntil { (Get-TransferStatus -Id $q.Id).Status -eq 'TransientError' } -What 'TransientError'
        (Get-TransferStatus -Id $q.Id).NextAttemptAt | Should -Not -BeNullOrEmpty
        Restart-TestSshd $sshd | Out-Null
        $done = Wait-Transfer -Id $q.Id -Timeout 120
        $done.Status | Should -Be 'Completed'
        TreeHashes (Join-Path $sshd.PasswordUserData 'qsync') | Should -Be (TreeHashes $src)
        StopAgent $agent
    }
}

Describe 'Resume-Transfer on a sync id' -Skip:$IsWindows {
    It 'finishes a sync killed mid-copy as running it again would: done files not re-sent, the file in flight resumed, deletes last' {
        $src = New-Item -ItemType Directory -Path (Join-Path $work 'r-src')
        $dst = Join-Path $work 'r-dst'
        1..5 | ForEach-Object { New-TestFile -Path (Join-Path $src "a$_.txt") -Size 2KB -Seed $_ | Out-Null }
        # Last night's run: its SyncResult's SyncId names this source and destination from now on.
        $first = Sync-TransferFolder -Path $src -Destination $dst -Mirror
        $first.SyncId | Should -Match '^[0-9a-f]{16}$'
        $inodes = 1..5 | ForEach-Object { & stat -c '%i' -- (Join-Path $dst "a$_.txt") }
        Set-Content -LiteralPath (Join-Path $dst 'extra.txt') 'not in the source'
        New-TestFile -Path (Join-Path $src 'b1.txt') -Size 2KB -Seed 21 | Out-Null
        New-TestFile -Path (Join-Path $src 'big.bin') -Size 1536KB -Seed 77 | Out-Null

        $script = Join-Path $work 'r-sync.ps1'
        Set-Content $script @"
`$env:TRANSFERTOOLS_HOME = '$home_'
Import-Module '$(Get-TestModulePath)'
Sync-TransferFolder -Path '$src' -Destination '$dst' -Mirror -ThrottleLimit 1 -ChunkSize 64KB -MaxBytesPerSecond 192KB | Out-Null
"@
        $child = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-File', $script -PassThru
        $deadline = [datetime]::UtcNow.AddSeconds(60)
        $part = $null
        while ([datetime]::UtcNow -lt $deadline -and -not $child.HasExited) {
            $part = Get-ChildItem -LiteralPath $dst -Force -Filter '*.ttpart' -ErrorAction SilentlyContinue | Select-Object -First 1
            if ($part -and $part.Length -ge 256KB) { break }
            Start-Sleep -Milliseconds 100
        }
        $child.Kill($true); $child.WaitForExit()   # SIGKILL: no clean-up runs
        $part | Should -Not -BeNullOrEmpty
        Test-Path (Join-Path $dst 'big.bin') | Should -BeFalse
        # No delete before every copy succeeded.
        Test-Path (Join-Path $dst 'extra.txt') | Should -BeTrue

        # In a new process, as the next morning's runbook would.
        $resume = Join-Path $work 'r-resume.ps1'
        $out = Join-Path $work 'r-resume.xml'
        Set-Content $resume @"
`$env:TRANSFERTOOLS_HOME = '$home_'
Import-Module '$(Get-TestModulePath)'
Resume-Transfer -Id '$($first.SyncId)' -ErrorAction Continue | Export-Clixml -LiteralPath '$out'
"@
        $p = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-File', $resume -PassThru -Wait
        $p.ExitCode | Should -Be 0
        $result = Import-Clixml -LiteralPath $out
        $result.SyncId | Should -Be $first.SyncId
        $result.Failed | Should -Be 0
        $result.Deleted | Should -Be 1
        $result.DeletesDone | Should -BeTrue
        # The big file resumed from its committed chunks.
        $result.BytesMoved | Should -BeLessThan 1536KB
        (Get-TransferStatus | Where-Object { $_.Source -like '*big.bin' } | Select-Object -First 1).ResumedFrom | Should -BeGreaterThan 0
        # The five files of the first run were not sent again.
        (1..5 | ForEach-Object { & stat -c '%i' -- (Join-Path $dst "a$_.txt") }) | Should -Be $inodes
        TreeHashes $dst | Should -Be (TreeHashes $src)
        Get-ChildItem -LiteralPath $dst -Force -Filter '*.ttpart' | Should -BeNullOrEmpty
        # Finished: nothing is left to resume under that id, and the pipe from Get-TransferStatus still works (the only
        # errors are for transfers cancelled by the test above).
        { Resume-Transfer -Id $first.SyncId -ErrorAction Stop } | Should -Throw -ErrorId 'TransferNotFound*'
        Get-TransferStatus | Resume-Transfer -ErrorVariable resumeErrors -ErrorAction SilentlyContinue | Out-Null
        $resumeErrors | Where-Object { $_.FullyQualifiedErrorId -notlike 'TransferCancelled*' } | Should -BeNullOrEmpty
    }
}
