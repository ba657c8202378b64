#Requires -Modules Pester
# The transfer agent as a real child process (issue 32): queue with the agent stopped, start it, kill -9 and SIGTERM it,
# a server that comes up later, one agent per home, no password in the home, a bandwidth schedule boundary.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = (New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')).FullName
    $script:sshd = Start-TestSshd
    $script:nginx = Start-TestNginx
    $script:base = "sftp://$($sshd.PasswordUser)@127.0.0.1:$($sshd.Port)"
    $script:keyBase = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)"
    $script:agents = [Collections.Generic.List[object]]::new()

    function Get-Sha([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }

    function Get-ChunkCount([string] $Id) {
        $log = Get-Item -LiteralPath (Join-Path $script:home_ "journal/$Id.chunks") -ErrorAction SilentlyContinue
        if ($log) { [int]($log.Length / 28) } else { 0 }
    }

    # Starts Start-TransferAgent in a new pwsh (the real pwsh, not a dotnet shim, so that signals reach it) on this
    # home; returns when it holds the home's agent lock.
    function Start-Agent([string] $Arguments = '') {
        $n = $script:agents.Count
        $out = Join-Path $script:work "agent$n.out"
        $command = "Import-Module '$(Get-TestModulePath)'; Start-TransferAgent -PollIntervalSeconds 1 -RetryIntervalSeconds 1 $Arguments"
        $p = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $command `
            -RedirectStandardOutput $out -RedirectStandardError "$out.err" -PassThru
        $agent = [pscustomobject]@{ Process = $p; Log = $out }
        $script:agents.Add($agent)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        # (This agent's pid: an agent left running by an earlier test would hold the lock and make this one refuse.)
        while (-not ((Get-TransferAgent) | Where-Object { $_.Running -and $_.ProcessId -eq $p.Id })) {
            if ($p.HasExited) { throw "The agent exited: $(Get-Content -Raw "$out.err") $(Get-Content -Raw $out)" }
            if ([DateTime]::UtcNow -gt $deadline) { throw 'The agent did not start in time.' }
            Start-Sleep -Milliseconds 100
        }
        $agent
    }

    function Stop-Agent([object] $Agent, [switch] $Kill) {
        if ($Kill) { $Agent.Process.Kill() } else { & kill -TERM $Agent.Process.Id }
        $Agent.Process.WaitForExit(60000) | Should -BeTrue
    }

    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 60, [string] $What = 'the condition') {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out waiting for $What." }
            Start-Sleep -Milliseconds 100
        }
    }
}

AfterAll {
    foreach ($a in $script:agents) { if (-not $a.Process.HasExited) { $a.Process.Kill() } }
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Transfer agent' {
    AfterEach {
        # A failed test leaves no agent behind to hold the home's lock for the next.
        foreach ($a in $script:agents) { if (-not $a.Process.HasExited) { $a.Process.Kill(); $a.Process.WaitForExit(10000) | Out-Null } }
    }

    It 'runs 5 transfers queued while it was stopped (local, SFTP, HTTP) to completion, verified; the password stays protected' {
        $src = Join-Path $work 'five'
        New-Item -ItemType Directory $src | Out-Null
        $local = 1..2 | ForEach-Object { New-TestFile -Path (Join-Path $src "local$_.bin") -Size 200KB -Seed $_ }
        $viaPassword = New-TestFile -Path (Join-Path $src 'pass.bin') -Size 300KB -Seed 3
        $viaKey = New-TestFile -Path (Join-Path $src 'key.bin') -Size 300KB -Seed 4
        New-TestFile -Path (Join-Path $nginx.FilesRoot 'agent-http.bin') -Size 250KB -Seed 5 | Out-Null
        $localOut = Join-Path $work 'five-out'
        $httpOut = Join-Path $work 'five-http'
        $secret = $sshd.Password
        $pass = [pscredential]::new($sshd.PasswordUser, (ConvertTo-SecureString $secret -AsPlainText -Force))

        $q = @(
            $local | Send-Transfer -Destination "$localOut/" -Queue -ChunkSize 64KB
            Send-Transfer -LiteralPath $viaPassword.FullName -Destination "$base/~/agent/" -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint -Queue
            Send-Transfer -LiteralPath $viaKey.FullName -Destination "$keyBase/~/agent/" -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint -Queue
            Receive-Transfer -Source "$($nginx.BaseUri)/files/agent-http.bin" -OutputDir $httpOut -Queue
        )
        $q.Count | Should -Be 5
        $q.Status | Sort-Object -Unique | Should -Be 'Queued'
        (Get-TransferStatus -Id $q[2].Id).Status | Should -Be 'Queued'
        # The password is stored protected only: not in any file of the home.
        Get-ChildItem -Recurse -File $home_ | Where-Object { $_.FullName -notlike "$work*" } |
            Select-String -SimpleMatch $secret -List | Should -BeNullOrEmpty

        # The agent's transfers report to the registered monitors, as any transfer does.
        $events = Join-Path $work 'agent-events.jsonl'
        Register-TransferPlugin -Name AgentEvents -Type EventLog -Configuration @{ Path = $events } | Out-Null
        $agent = Start-Agent
        $done = @($q | Wait-Transfer -Timeout 120)
        $done.Count | Should -Be 5
        $done.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($f in $local) { Get-Sha (Join-Path $localOut $f.Name) | Should -Be (Get-Sha $f.FullName) }
        Get-Sha (Join-Path $sshd.PasswordUserData 'agent/pass.bin') | Should -Be (Get-Sha $viaPassword.FullName)
        Get-Sha (Join-Path $sshd.KeyUserData 'agent/key.bin') | Should -Be (Get-Sha $viaKey.FullName)
        Get-Sha (Join-Path $httpOut 'agent-http.bin') | Should -Be (Get-Sha (Join-Path $nginx.FilesRoot 'agent-http.bin'))
        Wait-Until { @(Get-Content $events -ErrorAction SilentlyContinue | ConvertFrom-Json | Where-Object event -eq 'TransferCompleted').Count -ge 5 } -What 'five TransferCompleted events'
        $completed = @(Get-Content $events | ConvertFrom-Json | Where-Object event -eq 'TransferCompleted')
        @($completed.transferId | Sort-Object) | Should -Be @($q.Id | Sort-Object)
        $completed.pid | Sort-Object -Unique | Should -Be $agent.Process.Id
        $info = Get-TransferAgent
        $info.Running | Should -BeTrue
        $info.ProcessId | Should -Be $agent.Process.Id

        # One agent per home: a second one refuses, naming the first one's pid.
        { Start-TransferAgent -ErrorAction Stop } | Should -Throw -ErrorId 'AgentAlreadyRunning*' -ExpectedMessage "*process $($agent.Process.Id)*"
        Stop-Agent $agent
        (Get-TransferAgent).Running | Should -BeFalse
    }

    It 'continues after kill -9 of the agent mid-transfer, byte-identical, re-sending at most one chunk' {
        $src = New-TestFile -Path (Join-Path $work 'killed.bin') -Size 256KB -Seed 11
        $out = Join-Path $work 'killed-out'
        # The transfer's own schedule keeps it slow enough to be caught in the middle.
        $t = Send-Transfer -LiteralPath $src.FullName -Destination "$out/" -Queue -ChunkSize 16KB -BandwidthSchedule '00:00-24:00=32KB'
        $agent = Start-Agent
        Wait-Until { (Get-ChunkCount $t.Id) -ge 3 } -What 'three committed chunks'
        Stop-Agent $agent -Kill
        $committed = (Get-ChunkCount $t.Id) * 16KB
        (Get-TransferStatus -Id $t.Id).Status | Should -Not -Be 'Completed'

        $agent = Start-Agent
        $done = Wait-Transfer -Id $t.Id -Timeout 120
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -BeGreaterOrEqual $committed
        Get-Sha (Join-Path $out 'killed.bin') | Should -Be (Get-Sha $src.FullName)
        Stop-Agent $agent
    }

    It 'suspends its transfers on SIGTERM and continues them at its next start' {
        $src = New-TestFile -Path (Join-Path $work 'termed.bin') -Size 256KB -Seed 12
        $out = Join-Path $work 'termed-out'
        $t = Send-Transfer -LiteralPath $src.FullName -Destination "$out/" -Queue -ChunkSize 16KB -BandwidthSchedule '00:00-24:00=32KB'
        $agent = Start-Agent
        Wait-Until { (Get-ChunkCount $t.Id) -ge 2 } -What 'two committed chunks'
        Stop-Agent $agent
        $agent.Process.ExitCode | Should -Be 0
        $suspended = Get-TransferStatus -Id $t.Id
        $suspended.Status | Should -Be 'Suspended'
        $suspended.Error | Should -Match 'agent stopped'
        Get-Content -Raw $agent.Log | Should -Match 'suspending 1 transfer'

        $agent = Start-Agent
        # (Suspended is a final status for Wait-Transfer: wait for the agent to take it up first.)
        Wait-Until { (Get-TransferStatus -Id $t.Id).Status -ne 'Suspended' } -What 'the agent to pick the transfer up'
        $done = Wait-Transfer -Id $t.Id -Timeout 120
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -BeGreaterThan 0
        Get-Sha (Join-Path $out 'termed.bin') | Should -Be (Get-Sha $src.FullName)
        Stop-Agent $agent
    }

    It 'waits out an SFTP server that is down (TransientError, next attempt) and completes once it is up, with nobody acting' {
        $src = New-TestFile -Path (Join-Path $work 'later.bin') -Size 100KB -Seed 13
        Stop-Process -Id $sshd.Process.Id -Force
        $sshd.Process.WaitForExit(10000) | Out-Null
        $t = Send-Transfer -LiteralPath $src.FullName -Destination "$keyBase/~/later/" -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint -Queue -RetryTimeout '00:10:00'
        $t.RetryUntil | Should -Not -BeNullOrEmpty
        $agent = Start-Agent
        Wait-Until { (Get-TransferStatus -Id $t.Id).Status -eq 'TransientError' } -What 'TransientError'
        $waiting = Get-TransferStatus -Id $t.Id
        $waiting.NextAttemptAt | Should -Not -BeNullOrEmpty
        $waiting.Error | Should -Not -BeNullOrEmpty
        Restart-TestSshd $sshd | Out-Null
        $done = Wait-Transfer -Id $t.Id -Timeout 120
        $done.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $sshd.KeyUserData 'later/later.bin') | Should -Be (Get-Sha $src.FullName)
        Stop-Agent $agent
    }

    It 'fails a transfer at once on a permanent error (authentication), without retrying' {
        $src = New-TestFile -Path (Join-Path $work 'denied.bin') -Size 10KB -Seed 14
        $wrong = [pscredential]::new($sshd.PasswordUser, (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        $t = Send-Transfer -LiteralPath $src.FullName -Destination "$base/~/denied/" -Credential $wrong -HostKeyFingerprint $sshd.HostKeyFingerprint -Queue
        $agent = Start-Agent
        $done = Wait-Transfer -Id $t.Id -Timeout 120
        $done.Status | Should -Be 'Failed'
        $done.ErrorCode | Should -Be 'AuthenticationFailed'
        Stop-Agent $agent
    }

    It 'switches its bandwidth limit at a schedule boundary' {
        $now = Get-Date
        if ($now.TimeOfDay -gt [TimeSpan]'23:58:00') { Set-ItResult -Skipped -Because 'the schedule would cross midnight'; return }
        # Wide enough for a slow agent start (several seconds on a busy machine), short enough for the suite.
        $at = $now.AddSeconds(25)
        $boundary = $at.ToString('HH:mm:ss')
        $src = New-TestFile -Path (Join-Path $work 'scheduled.bin') -Size 2MB -Seed 15
        $out = Join-Path $work 'scheduled-out'
        $t = Send-Transfer -LiteralPath $src.FullName -Destination "$out/" -Queue -ChunkSize 16KB
        $agent = Start-Agent "-BandwidthSchedule '00:00-$($boundary)=16KB; $($boundary)-23:59:59=0'"
        # Before the boundary the agent's total is 16 KiB/s: 2 MiB cannot be done (it would take two minutes).
        Wait-Until { (Get-ChunkCount $t.Id) -ge 1 } -What 'a committed chunk'
        if ((Get-Date) -lt $at) { (Get-TransferStatus -Id $t.Id).Status | Should -Not -Be 'Completed' }
        # After it the limit is lifted for the transfer already running, and it finishes long before two minutes.
        $done = Wait-Transfer -Id $t.Id -Timeout 90
        $done.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $out 'scheduled.bin') | Should -Be (Get-Sha $src.FullName)
        $log = Get-Content -Raw $agent.Log
        $log | Should -Match 'Bandwidth now 16384 bytes/s'
        $log | Should -Match 'Bandwidth now unlimited'
        Stop-Agent $agent
    }

    It 'registers, shows and unregisters a service file for the home (-WhatIf writes nothing)' -Skip:(-not $IsLinux) {
        $fakeHome = Join-Path $work 'userhome'
        New-Item -ItemType Directory $fakeHome | Out-Null
        $saved = $env:HOME
        try {
            $env:HOME = $fakeHome
            Register-TransferAgent -WhatIf | Should -BeNullOrEmpty
            Get-ChildItem -Recurse -File $fakeHome | Should -BeNullOrEmpty
            $r = Register-TransferAgent -NoServiceManager
            $r.Registered | Should -BeTrue
            $r.RegistrationPath | Should -BeLike "$fakeHome/.config/systemd/user/transfertools-agent-*.service"
            $unit = Get-Content -Raw $r.RegistrationPath
            $unit | Should -Match ([regex]::Escape("TRANSFERTOOLS_HOME=$home_"))
            $unit | Should -Match 'Start-TransferAgent'
            (Get-TransferAgent).Registered | Should -BeTrue
            Unregister-TransferAgent -NoServiceManager -Confirm:$false
            (Get-TransferAgent).Registered | Should -BeFalse
            Test-Path $r.RegistrationPath | Should -BeFalse
        }
        finally { $env:HOME = $saved }
    }
}
