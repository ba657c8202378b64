# Transfers across processes: kill -9 mid-transfer and resume elsewhere, two processes at once, control from another process.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = Join-Path $script:home_ 'work'
    New-Item -ItemType Directory -Path $script:work | Out-Null

    function Get-Sha([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }

    function Get-ChunkCount([string] $Id) {
        # The log goes away when its transfer completes, which can happen between any two looks at it: one look only.
        $log = Get-Item -LiteralPath (Join-Path $script:home_ "journal/$Id.chunks") -ErrorAction SilentlyContinue
        if ($log) { [int]($log.Length / 28) } else { 0 }
    }

    # Starts "Send-Transfer $Source $Destination <slow>" in another pwsh and returns the process and the transfer id.
    function Start-SendProcess([string] $Source, [string] $Destination, [int] $Chunks = 2) {
        $pwsh = Join-Path $PSHOME 'pwsh'
        $command = "Import-Module '$(Get-TestModulePath)'; Send-Transfer -LiteralPath '$Source' -Destination '$Destination' -ChunkSize 16KB -MaxBytesPerSecond 32KB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new($pwsh)
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        $id = $null
        while ([DateTime]::UtcNow -lt $deadline) {
            $id = (Get-TransferStatus | Where-Object { $_.Source -eq $Source } | Select-Object -First 1).Id
            if ($id -and (Get-ChunkCount $id) -ge $Chunks) { break }
            if ($process.HasExited) { throw "The sending process exited early: $($process.StandardError.ReadToEnd())" }
            Start-Sleep -Milliseconds 100
        }
        if (-not $id -or (Get-ChunkCount $id) -lt $Chunks) { $process.Kill(); throw 'The sending process committed no chunks in time.' }
        [pscustomobject]@{ Process = $process; Id = $id }
    }
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'A transfer whose process is killed' {
    It 'shows as interrupted and resumes from a new process with identical bytes, re-sending at most one chunk' {
        $src = New-TestFile -Path (Join-Path $script:work 'killed.bin') -Size 512KB -Seed 11
        $dest = Join-Path $script:work 'd-killed'
        New-Item -ItemType Directory $dest | Out-Null
        $run = Start-SendProcess $src.FullName $dest -Chunks 3
        (Get-TransferStatus $run.Id).Status | Should -Be 'Active'
        $run.Process.Kill()   # SIGKILL on Unix: no cleanup code runs
        $run.Process.WaitForExit()
        $committed = (Get-ChunkCount $run.Id) * 16KB

        $seen = Get-TransferStatus $run.Id
        $seen.Status | Should -Be 'Failed'
        $seen.Error | Should -Match 'Interrupted'
        Test-Path (Join-Path $dest 'killed.bin') | Should -BeFalse

        $id = $run.Id
        $resumed = Invoke-InNewProcess ([scriptblock]::Create("Resume-Transfer -Id $id -MaxBytesPerSecond 0"))
        [TransferTools.Abstractions.TransferStatus]$resumed.Status | Should -Be 'Completed'
        $resumed.ResumedFrom | Should -BeGreaterOrEqual $committed
        $resumed.ResumedFrom | Should -BeGreaterThan 0
        Get-Sha (Join-Path $dest 'killed.bin') | Should -Be (Get-Sha $src.FullName)
        (Get-ChildItem -Force $dest -Filter '*.ttpart') | Should -BeNullOrEmpty
        (Get-TransferStatus $id).Status | Should -Be 'Completed'
    }
}

Describe 'A piped batch whose process is killed' {
    It 'shows the members in flight as interrupted, and Resume-Transfer in a new process finishes exactly those' {
        $src = Join-Path $script:work 'batch-kill'
        New-Item -ItemType Directory $src | Out-Null
        foreach ($i in 1..8) { New-TestFile -Path (Join-Path $src "k$i.bin") -Size 64KB -Seed (60 + $i) | Out-Null }
        $dest = Join-Path $script:work 'd-batch-kill'
        New-Item -ItemType Directory $dest | Out-Null
        # Two at a time, 2 s per file: the kill lands while some members are done, two are moving and some wait.
        $command = "Import-Module '$(Get-TestModulePath)'; Get-ChildItem '$src' -File | Send-Transfer -Destination '$dest/' -ThrottleLimit 2 -ChunkSize 16KB -MaxBytesPerSecond 32KB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            do {
                Start-Sleep -Milliseconds 100
                $mine = @(Get-TransferStatus | Where-Object { $_.Source -like "$src*" })
                $done = @($mine | Where-Object Status -eq 'Completed').Count
                $moving = @($mine | Where-Object { $_.Status -eq 'Active' -and (Get-ChunkCount $_.Id) -ge 1 }).Count
                if ($process.HasExited) { throw "The sending process exited early: $($process.StandardError.ReadToEnd())" }
            } until (($done -ge 2 -and $moving -ge 1) -or [DateTime]::UtcNow -gt $deadline)
            $done | Should -BeGreaterOrEqual 2
        } finally { $process.Kill(); $process.WaitForExit() }

        $seen = @(Get-TransferStatus | Where-Object { $_.Source -like "$src*" })
        $completed = @($seen | Where-Object Status -eq 'Completed')
        $interrupted = @($seen | Where-Object Status -eq 'Failed')
        $interrupted.Count | Should -BeGreaterOrEqual 1
        ($completed.Count + $interrupted.Count) | Should -Be $seen.Count
        $interrupted | ForEach-Object { $_.Error | Should -Match 'Interrupted' }
        foreach ($t in $interrupted) { Test-Path (Join-Path $dest $t.Name) | Should -BeFalse }

        $ids = $interrupted.Id -join ','
        $resumed = @(Invoke-InNewProcess ([scriptblock]::Create("Resume-Transfer -Id $ids -MaxBytesPerSecond 0")))
        $resumed.Count | Should -Be $interrupted.Count
        foreach ($r in $resumed) { [TransferTools.Abstractions.TransferStatus]$r.Status | Should -Be 'Completed' }
        foreach ($t in $completed + $interrupted) {
            Get-Sha (Join-Path $dest $t.Name) | Should -Be (Get-Sha (Join-Path $src $t.Name))
            (Get-TransferStatus $t.Id).Status | Should -Be 'Completed'
        }
        (Get-ChildItem -Force $dest -Filter '*.ttpart') | Should -BeNullOrEmpty
        # Members never started before the kill have no record; the files delivered are exactly those with one.
        @(Get-ChildItem $dest -File).Count | Should -Be $seen.Count
    }
}

Describe 'Several processes' {
    It 'move two transfers at once into one folder, and every process sees both' {
        $a = New-TestFile -Path (Join-Path $script:work 'p1.bin') -Size 96KB -Seed 12
        $b = New-TestFile -Path (Join-Path $script:work 'p2.bin') -Size 96KB -Seed 13
        $dest = Join-Path $script:work 'd-two'
        New-Item -ItemType Directory $dest | Out-Null
        $one = Start-SendProcess $a.FullName $dest -Chunks 1
        $two = Start-SendProcess $b.FullName $dest -Chunks 1
        $listed = Invoke-InNewProcess { Get-TransferStatus }
        $listed.Id | Should -Contain $one.Id
        $listed.Id | Should -Contain $two.Id
        $one.Process.WaitForExit(60000) | Should -BeTrue
        $two.Process.WaitForExit(60000) | Should -BeTrue
        (Wait-Transfer $one.Id, $two.Id).Status | Should -Be @('Completed', 'Completed')
        Get-Sha (Join-Path $dest 'p1.bin') | Should -Be (Get-Sha $a.FullName)
        Get-Sha (Join-Path $dest 'p2.bin') | Should -Be (Get-Sha $b.FullName)
    }

    It 'stops a transfer running in another process' {
        $src = New-TestFile -Path (Join-Path $script:work 'remote-stop.bin') -Size 256KB -Seed 14
        $dest = Join-Path $script:work 'd-remote-stop'
        New-Item -ItemType Directory $dest | Out-Null
        $run = Start-SendProcess $src.FullName $dest -Chunks 1
        try {
            (Stop-Transfer $run.Id -PassThru).Status | Should -Be 'Cancelled'
            $run.Process.WaitForExit(30000) | Should -BeTrue
            Get-ChildItem -Force $dest | Where-Object Name -ne '.transfertools' | Should -BeNullOrEmpty
        } finally { if (-not $run.Process.HasExited) { $run.Process.Kill() } }
    }
}

Describe 'A batch of small files whose process is killed' {
    It 'keeps every delivered file whole, and the re-run sends again only the files not committed before the kill' {
        # A few hundred files of one chunk each (the one-piece path: no chunk log, one journal line group per file).
        $src = Join-Path $script:work 'small-kill'
        New-Item -ItemType Directory $src | Out-Null
        $random = [Random]::new(5); $buffer = [byte[]]::new(4096)
        foreach ($i in 1..300) { $random.NextBytes($buffer); [IO.File]::WriteAllBytes((Join-Path $src ('s{0:D3}.bin' -f $i)), $buffer) }
        $dest = Join-Path $script:work 'd-small-kill'
        New-Item -ItemType Directory $dest | Out-Null
        # The producer holds back the last files, so the kill lands while the batch is open whatever the machine's speed.
        $command = "Import-Module '$(Get-TestModulePath)'; Get-ChildItem '$src' -File | ForEach-Object -Begin { `$n = 0 } -Process { if (++`$n -eq 200) { Start-Sleep -Seconds 60 }; `$_ } | Send-Transfer -Destination '$dest/' -ThrottleLimit 4 | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new((Join-Path $PSHOME 'pwsh'))
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            while (@(Get-ChildItem $dest -File).Count -lt 60 -and [DateTime]::UtcNow -lt $deadline) {
                if ($process.HasExited) { throw "The sending process exited early: $($process.StandardError.ReadToEnd())" }
                Start-Sleep -Milliseconds 10
            }
        } finally { $process.Kill(); $process.WaitForExit() }

        # What the journal says was committed before the kill, and what the destination holds.
        $committed = @(Get-TransferStatus | Where-Object { $_.Source -like "$src*" -and $_.Status -eq 'Completed' })
        $present = @(Get-ChildItem $dest -File)
        $committed.Count | Should -BeGreaterThan 0
        $present.Count | Should -BeLessThan 300
        foreach ($t in $committed) { $present.Name | Should -Contain $t.Name }
        # No half-written file under a final name, and no temporary left behind.
        foreach ($f in $present) { Get-Sha $f.FullName | Should -Be (Get-Sha (Join-Path $src $f.Name)) -Because "$($f.Name) is whole or absent" }
        Get-ChildItem -Force $dest -Filter '*.ttpart' | Should -BeNullOrEmpty

        $rerun = @(Invoke-InNewProcess ([scriptblock]::Create("Get-ChildItem '$src' -File | Send-Transfer -Destination '$dest/' -Conflict Skip")))
        $rerun.Count | Should -Be 300
        foreach ($r in $rerun) { [TransferTools.Abstractions.TransferStatus]$r.Status | Should -Be 'Completed' }
        $sentAgain = @($rerun | Where-Object { -not $_.Skipped })
        $sentAgain.Count | Should -Be (300 - $present.Count)
        foreach ($t in $sentAgain) { $committed.Name | Should -Not -Contain $t.Name -Because 'a committed file is not sent again' }
        foreach ($f in Get-ChildItem $src -File) { Get-Sha (Join-Path $dest $f.Name) | Should -Be (Get-Sha $f.FullName) }
        @(Get-ChildItem $dest -File).Count | Should -Be 300
    }
}
