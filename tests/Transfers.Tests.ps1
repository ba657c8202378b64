BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = Join-Path $script:home_ 'work'
    New-Item -ItemType Directory -Path $script:work | Out-Null

    function New-Folder([string] $Name) {
        $p = Join-Path $script:work $Name
        New-Item -ItemType Directory -Path $p -Force | Out-Null
        $p
    }

    function Get-Sha([string] $Path) { (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant() }

    function Get-ChunkCount([string] $Id) {
        # The log goes away when its transfer completes, which can happen between any two looks at it: one look only.
        $log = Get-Item -LiteralPath (Join-Path $script:home_ "journal/$Id.chunks") -ErrorAction SilentlyContinue
        if ($log) { [int]($log.Length / 28) } else { 0 }
    }

    function Wait-Chunks([string] $Id, [int] $Count = 2) {
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ((Get-ChunkCount $Id) -lt $Count) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Transfer $Id committed no $Count chunks in time." }
            Start-Sleep -Milliseconds 50
        }
    }

    # A throttled transfer: 256 KiB in 16 KiB chunks at 32 KiB/s takes about 8 s, long enough to act on mid-way.
    $script:slow = @{ ChunkSize = 16KB; MaxBytesPerSecond = 32KB }

    # A slow producer: emits $FirstInput, then holds back $RestInput until & $Until is true (giving up after 30 s) and
    # tells through $Released whether it became true. A cmdlet that collected its whole input before starting would
    # never make it true, so the producer would give up after its deadline.
    function Invoke-HeldBackInput([object] $FirstInput, [scriptblock] $Until, [object[]] $RestInput, [ref] $Released) {
        $FirstInput
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not (& $Until) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $Released.Value = [bool](& $Until)
        $RestInput
    }
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Send-Transfer' {
    It 'sends a folder with -Recurse: it arrives under its own name with its subfolders, byte-identical' {
        $src = New-Folder 'tree-src'
        $files = New-TestTree -Path $src
        $dest = New-Folder 'tree-dest'
        $t = @(Send-Transfer -Path $src -Recurse -Destination $dest)
        $t.Count | Should -Be $files.Count
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($relative in $files) {
            Get-Sha (Join-Path $dest "tree-src/$relative") | Should -Be (Get-Sha (Join-Path $src $relative)) -Because "$relative keeps its folder"
        }
        # The same name in two folders stays two files; an empty folder is not created; nothing is left half-written.
        (Get-ChildItem -Recurse -File (Join-Path $dest 'tree-src') | Where-Object { $_.FullName -notmatch '[\\/]\.transfertools[\\/]' }).Count | Should -Be $files.Count
        Test-Path (Join-Path $dest 'tree-src/a/empty') | Should -BeFalse
        Get-ChildItem -Recurse -Force $dest -Filter '*.ttpart' | Should -BeNullOrEmpty
    }

    It 'creates a destination folder that does not exist yet for -Recurse, and takes -LiteralPath folders too' {
        $src = New-Folder 'tree-literal[1]'
        $files = New-TestTree -Path $src
        # One missing folder is made, as Copy-Item -Recurse makes its target; a chain of them is refused (Hints.Tests.ps1).
        $dest = Join-Path $script:work 'tree-new/'
        $t = @(Send-Transfer -LiteralPath $src -Recurse -Destination $dest)
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($relative in $files) {
            Test-Path -LiteralPath (Join-Path $dest "tree-literal[1]/$relative") | Should -BeTrue
        }
    }

    It 'refuses a folder without -Recurse, naming the switch, and sends nothing' {
        $src = New-Folder 'tree-norecurse'
        New-TestTree -Path $src | Out-Null
        $dest = New-Folder 'tree-norecurse-dest'
        $err = $null
        $out = Send-Transfer -Path $src -Destination $dest -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceIsFolder*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject | Should -Be $src
        $err[0].Exception.Message | Should -Match '-Recurse'
        Get-ChildItem -Recurse -File $dest | Should -BeNullOrEmpty
    }

    It '-WhatIf with -Recurse names each file and where it would go, and sends nothing' {
        $src = New-Folder 'tree-whatif'
        New-TestTree -Path $src | Out-Null
        $dest = New-Folder 'tree-whatif-dest'
        # What-if lines go to the host, not to a stream: a child pwsh prints them on its standard output.
        $pwsh = Join-Path $PSHOME 'pwsh'
        $said = & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$(Get-TestModulePath)'; Send-Transfer -Path '$src' -Recurse -Destination '$dest' -WhatIf" | Out-String
        $said | Should -Match ([regex]::Escape((Join-Path $src 'a/b/y.bin')))
        $said | Should -Match 'tree-whatif/a/b/'
        Get-ChildItem -Recurse -Force $dest | Should -BeNullOrEmpty
    }

    It 'does not follow a linked folder under a folder sent with -Recurse' -Skip:$IsWindows {
        $src = New-Folder 'tree-link'
        New-TestFile -Path (Join-Path $src 'own.bin') -Size 1KB | Out-Null
        $elsewhere = New-Folder 'tree-link-target'
        New-TestFile -Path (Join-Path $elsewhere 'outside.bin') -Size 1KB | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $src 'linked') -Target $elsewhere | Out-Null
        # A link back up the tree would loop if it were followed.
        New-Item -ItemType SymbolicLink -Path (Join-Path $src 'loop') -Target $src | Out-Null
        $dest = New-Folder 'tree-link-dest'
        $t = @(Send-Transfer -Path $src -Recurse -Destination $dest)
        $t.Count | Should -Be 1
        Test-Path (Join-Path $dest 'tree-link/own.bin') | Should -BeTrue
        Test-Path (Join-Path $dest 'tree-link/linked') | Should -BeFalse
    }

    It 'skips named pipes in a folder sent or received with -Recurse, with a warning, and refuses one given as a file, without waiting on either' -Skip:(-not $IsLinux) {
        $src = New-Folder 'tree-pipe'
        New-TestFile -Path (Join-Path $src 'own.bin') -Size 1KB | Out-Null
        & mkfifo (Join-Path $src 'pipe')
        New-Item -ItemType SymbolicLink -Path (Join-Path $src 'to-pipe') -Target (Join-Path $src 'pipe') | Out-Null
        $dest = New-Folder 'tree-pipe-dest'
        $out = Join-Path $script:work 'tree-pipe-out'
        # In a child process with a time limit: opening a pipe for reading waits for a writer, and would hang this run.
        $command = "`$sent = @(Send-Transfer -Path '$src' -Recurse -Destination '$dest' -WarningVariable sendWarnings 3>`$null); " +
            "`$received = @(Receive-Transfer -Source '$src' -Recurse -OutputDir '$out' -WarningVariable receiveWarnings 3>`$null); " +
            "Send-Transfer -LiteralPath '$src/pipe' -Destination '$dest' -ErrorVariable direct -ErrorAction SilentlyContinue | Out-Null; " +
            "[pscustomobject]@{ Sent = @(`$sent.Name); Received = @(`$received.Name); SendWarnings = @(`$sendWarnings.Message); " +
            "ReceiveWarnings = @(`$receiveWarnings.Message); ErrorId = `$direct[0].FullyQualifiedErrorId; Category = [string]`$direct[0].CategoryInfo.Category; " +
            "Target = [string]`$direct[0].TargetObject; Message = `$direct[0].Exception.Message } | ConvertTo-Json -Compress"
        $run = Invoke-InNewProcessWithTimeLimit -Command $command -Seconds 120
        $run.ExitCode | Should -Be 0 -Because 'timeout kills (124) a child that waits on the pipe'
        $r = $run.Result
        $r.Sent | Should -Be @('own.bin')
        $r.Received | Should -Be @('own.bin')
        $r.SendWarnings | Sort-Object | Should -Be @("'$src/pipe' is a named pipe (FIFO), not a file; skipped.", "'$src/to-pipe' is a named pipe (FIFO), not a file; skipped.")
        $r.ReceiveWarnings | Sort-Object | Should -Be @("'$src/pipe' is a named pipe (FIFO), not a file; skipped.", "'$src/to-pipe' is a named pipe (FIFO), not a file; skipped.")
        $r.ErrorId | Should -BeLike 'NotARegularFile,*'
        $r.Category | Should -Be 'InvalidArgument'
        $r.Target | Should -Be "$src/pipe"
        $r.Message | Should -Match 'is a named pipe \(FIFO\), not a file'
        Get-ChildItem -Recurse -Force $dest, $out | Where-Object Name -in 'pipe', 'to-pipe' | Should -BeNullOrEmpty
    }

    It 'delivers into an existing folder, verified, with a manifest and no temporary left' {
        $src = New-TestFile -Path (Join-Path $script:work 'a.bin') -Size 300KB
        $dest = New-Folder 'd-folder'
        $t = Send-Transfer -Path $src.FullName -Destination $dest -ChunkSize 64KB
        $t.Status | Should -Be 'Completed'
        $t.Progress | Should -Be 100
        $t.BytesTransferred | Should -Be 300KB
        $t.TotalBytes | Should -Be 300KB
        $t.Sha256 | Should -Be (Get-Sha $src.FullName)
        Get-Sha (Join-Path $dest 'a.bin') | Should -Be $t.Sha256
        (Get-ChildItem -Force $dest -Filter '*.ttpart') | Should -BeNullOrEmpty
        $manifest = Get-Content (Join-Path $dest ".transfertools/$($t.Id).json") -Raw | ConvertFrom-Json
        $manifest.name | Should -Be 'a.bin'
        $manifest.size | Should -Be 300KB
        $manifest.sha256 | Should -Be $t.Sha256
        $manifest.senderMachine | Should -Not -BeNullOrEmpty
    }

    It 'treats a destination that is not a folder as the full target name, and a trailing slash as a new folder' {
        $src = New-TestFile -Path (Join-Path $script:work 'b.bin') -Size 10KB
        $dest = New-Folder 'd-name'
        (Send-Transfer $src.FullName (Join-Path $dest 'renamed.dat')).Status | Should -Be 'Completed'
        Get-Sha (Join-Path $dest 'renamed.dat') | Should -Be (Get-Sha $src.FullName)
        (Send-Transfer $src.FullName (Join-Path $dest 'sub/')).Status | Should -Be 'Completed'
        Test-Path (Join-Path $dest 'sub/b.bin') | Should -BeTrue
    }

    It 'sends an empty file' {
        $src = Join-Path $script:work 'empty.txt'
        Set-Content -Path $src -Value $null -NoNewline
        $dest = New-Folder 'd-empty'
        $t = Send-Transfer $src $dest
        $t.Status | Should -Be 'Completed'
        (Get-Item (Join-Path $dest 'empty.txt')).Length | Should -Be 0
        $t.Sha256 | Should -Be 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    }

    It 'refuses to overwrite by default with DestinationExists, leaving the file untouched' {
        $src = New-TestFile -Path (Join-Path $script:work 'c.bin') -Size 20KB -Seed 1
        $dest = New-Folder 'd-conflict'
        $existing = Join-Path $dest 'c.bin'
        Set-Content -Path $existing -Value 'keep me'
        Send-Transfer $src.FullName $dest -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DestinationExists,TransferTools.Commands.SendTransferCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $err[0].TargetObject | Should -Be $existing
        Get-Content $existing | Should -Be 'keep me'
        (Get-ChildItem -Force $dest -Filter '*.ttpart') | Should -BeNullOrEmpty
    }

    It 'applies -Force, -Conflict Skip and -Conflict Rename' {
        $src = New-TestFile -Path (Join-Path $script:work 'e.txt') -Size 5KB -Seed 2
        $dest = New-Folder 'd-policies'
        $existing = Join-Path $dest 'e.txt'
        Set-Content -Path $existing -Value 'old'

        $skipped = Send-Transfer $src.FullName $dest -Conflict Skip
        $skipped.Status | Should -Be 'Completed'
        $skipped.Skipped | Should -BeTrue
        $skipped.BytesTransferred | Should -Be 0
        $skipped.Sha256 | Should -BeNullOrEmpty
        (Get-TransferStatus -Id $skipped.Id).Skipped | Should -BeTrue
        ($skipped | Format-Table | Out-String) | Should -Match '\bskipped\b'
        Get-Content $existing | Should -Be 'old'

        $renamed = Send-Transfer $src.FullName $dest -Conflict Rename
        $renamed.Destination | Should -Be (Join-Path $dest 'e (1).txt')
        $renamed.Skipped | Should -BeFalse
        Get-Sha (Join-Path $dest 'e (1).txt') | Should -Be (Get-Sha $src.FullName)

        (Send-Transfer $src.FullName $dest -Force).Status | Should -Be 'Completed'
        Get-Sha $existing | Should -Be (Get-Sha $src.FullName)
    }

    It 'reports a missing source as a non-terminating ObjectNotFound error and creates nothing' {
        $dest = New-Folder 'd-missing'
        $missing = Join-Path $script:work 'no-such-file.bin'
        $out = Send-Transfer -LiteralPath $missing -Destination $dest -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be $missing
        Get-ChildItem -Force $dest | Should -BeNullOrEmpty
    }

    It 'takes files from Get-ChildItem and writes one Transfer per file, in order' {
        $srcDir = New-Folder 'many'
        1..5 | ForEach-Object { New-TestFile -Path (Join-Path $srcDir "f$_.bin") -Size (1KB * $_) -Seed $_ | Out-Null }
        $dest = New-Folder 'd-many'
        $results = Get-ChildItem -File $srcDir | Send-Transfer -Destination $dest -ThrottleLimit 3
        $results.Count | Should -Be 5
        $results.Name | Should -Be @('f1.bin', 'f2.bin', 'f3.bin', 'f4.bin', 'f5.bin')
        $results.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($r in $results) { Get-Sha (Join-Path $dest $r.Name) | Should -Be $r.Sha256 }
    }

    It 'writes each result as soon as it and the ones before it are done, not after the whole batch' {
        $src = New-Folder 'stream-src'
        1..4 | ForEach-Object { New-TestFile -Path (Join-Path $src "s$_.bin") -Size 32KB -Seed $_ | Out-Null }
        $dest = New-Folder 'stream-dest'
        # One file at a time, each throttled: when the first result reaches the next command, the last file cannot be there yet.
        $seen = Get-ChildItem $src -File | Sort-Object Name |
            Send-Transfer -Destination $dest -ThrottleLimit 1 -ChunkSize 16KB -MaxBytesPerSecond 64KB |
            ForEach-Object { [pscustomobject]@{ Name = $_.Name; Delivered = @(Get-ChildItem $dest -File).Count } }
        $seen.Name | Should -Be @('s1.bin', 's2.bin', 's3.bin', 's4.bin')
        $seen[0].Delivered | Should -BeLessThan 4
    }

    It 'starts the first piped file while the pipeline is still producing the next one' {
        $src = New-Folder 'feed-src'
        $first = New-TestFile -Path (Join-Path $src 'first.bin') -Size 8KB -Seed 1
        $second = New-TestFile -Path (Join-Path $src 'second.bin') -Size 8KB -Seed 2
        $dest = New-Folder 'feed-dest'
        $startedEarly = [ref]$false
        # The producer holds back the second file until the first is delivered.
        $results = Invoke-HeldBackInput $first.FullName { Test-Path (Join-Path $dest 'first.bin') } $second.FullName $startedEarly |
            Send-Transfer -Destination $dest
        $startedEarly.Value | Should -BeTrue
        $results.Name | Should -Be @('first.bin', 'second.bin')
        $results.Status | Sort-Object -Unique | Should -Be 'Completed'
    }

    It 'ends cleanly when a downstream command takes only the first result' {
        $src = New-Folder 'first-src'
        1..3 | ForEach-Object { New-TestFile -Path (Join-Path $src "p$_.bin") -Size 4KB -Seed $_ | Out-Null }
        $dest = New-Folder 'first-dest'
        $one = Get-ChildItem $src -File | Sort-Object Name | Send-Transfer -Destination $dest | Select-Object -First 1
        @($one).Count | Should -Be 1
        $one.Name | Should -Be 'p1.bin'
        $one.Status | Should -Be 'Completed'
        # Whatever did not finish was suspended or cancelled, never left half-delivered under its final name.
        foreach ($f in Get-ChildItem $dest -File) { Get-Sha $f.FullName | Should -Be (Get-Sha (Join-Path $src $f.Name)) }
    }

    It 'does nothing with -WhatIf' {
        $src = New-TestFile -Path (Join-Path $script:work 'w.bin') -Size 1KB
        $dest = New-Folder 'd-whatif'
        $before = @(Get-TransferStatus).Count
        Send-Transfer $src.FullName $dest -WhatIf
        Get-ChildItem -Force $dest | Should -BeNullOrEmpty
        @(Get-TransferStatus).Count | Should -Be $before
    }
}

Describe 'Get-TransferStatus' {
    It 'lists transfers newest first, filters by status, and finds one by id or prefix' {
        $all = @(Get-TransferStatus)
        $all.Count | Should -BeGreaterThan 3
        for ($i = 1; $i -lt $all.Count; $i++) { $all[$i - 1].StartedAt | Should -BeGreaterOrEqual $all[$i].StartedAt }
        (Get-TransferStatus -Status Failed).Status | Sort-Object -Unique | Should -Be 'Failed'
        @(Get-TransferStatus -First 2).Count | Should -Be 2
        (Get-TransferStatus -Id $all[0].Id.Substring(0, 8)).Id | Should -Be $all[0].Id
        ($all[0] | Get-TransferStatus).Id | Should -Be $all[0].Id
    }

    It 'survives a garbled or truncated journal record' {
        $journal = Join-Path $script:home_ 'journal'
        Set-Content -Path (Join-Path $journal ('0' * 31 + '1.json')) -Value '{ "Id": "trunc'
        Set-Content -Path (Join-Path $journal ('0' * 31 + '2.json')) -Value 'garbage'
        { Get-TransferStatus } | Should -Not -Throw
        # Shown as failed and damaged (not hidden), and removed by Stop-Transfer.
        $damaged = @(Get-TransferStatus | Where-Object Id -in ('0' * 31 + '1'), ('0' * 31 + '2'))
        $damaged.Count | Should -Be 2
        $damaged | ForEach-Object { $_.Status | Should -Be 'Failed'; $_.Error | Should -Match 'damaged' }
        ('0' * 31 + '1'), ('0' * 31 + '2') | Stop-Transfer | Out-Null
        (Get-TransferStatus).Id | Should -Not -Contain ('0' * 31 + '1')
    }

    It 'reports an unknown id as ObjectNotFound' {
        Get-TransferStatus -Id 'ffffffffffffffffffffffffffffffff' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TransferNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Transfer control' {
    It 'runs in the background with -Asynchronous and Wait-Transfer waits for it' {
        $src = New-TestFile -Path (Join-Path $script:work 'async.bin') -Size 64KB
        $dest = New-Folder 'd-async'
        $t = Send-Transfer $src.FullName $dest -Asynchronous -ChunkSize 16KB -MaxBytesPerSecond 128KB
        $t.Status | Should -BeIn @('Pending', 'Active')
        $done = $t | Wait-Transfer
        $done.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $dest 'async.bin') | Should -Be $done.Sha256
    }

    It 'Wait-Transfer -Timeout gives up waiting with WaitTimeout, leaving the transfer running' {
        $src = New-TestFile -Path (Join-Path $script:work 'timeout.bin') -Size 256KB
        $dest = New-Folder 'd-timeout'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Transfer $t.Id -Timeout 0 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'WaitTimeout,*'
        (Get-TransferStatus $t.Id).Status | Should -Be 'Active'
        Stop-Transfer $t.Id
    }

    It 'suspends and resumes, keeping the verified part (ResumedFrom) and delivering identical bytes' {
        $src = New-TestFile -Path (Join-Path $script:work 'suspend.bin') -Size 256KB -Seed 3
        $dest = New-Folder 'd-suspend'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Chunks $t.Id 3
        $s = $t | Suspend-Transfer -PassThru
        $s.Status | Should -Be 'Suspended'
        (Get-ChildItem -Force $dest -Filter '*.ttpart').Count | Should -Be 1
        Test-Path (Join-Path $dest 'suspend.bin') | Should -BeFalse

        $r = Resume-Transfer $t.Id -MaxBytesPerSecond 0
        $r.Status | Should -Be 'Completed'
        $r.ResumedFrom | Should -BeGreaterOrEqual (3 * 16KB)
        Get-Sha (Join-Path $dest 'suspend.bin') | Should -Be (Get-Sha $src.FullName)
        $r.Sha256 | Should -Be (Get-Sha $src.FullName)
    }

    It 'Stop-Transfer cancels, removes the temporary file and leaves status cancelled' {
        $src = New-TestFile -Path (Join-Path $script:work 'stop.bin') -Size 256KB
        $dest = New-Folder 'd-stop'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Chunks $t.Id 2
        Stop-Transfer $t.Id
        (Get-TransferStatus $t.Id).Status | Should -Be 'Cancelled'
        Get-ChildItem -Force $dest | Where-Object Name -ne '.transfertools' | Should -BeNullOrEmpty
        Resume-Transfer $t.Id -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TransferCancelled,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 're-sends from the first corrupted chunk of a partial' {
        $src = New-TestFile -Path (Join-Path $script:work 'corrupt.bin') -Size 256KB -Seed 4
        $dest = New-Folder 'd-corrupt'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Chunks $t.Id 4
        Suspend-Transfer $t.Id
        $part = (Get-ChildItem -Force $dest -Filter '*.ttpart').FullName
        $stream = [IO.File]::OpenWrite($part)
        try { $stream.Position = 16KB + 100; $stream.WriteByte(0xAA); $stream.WriteByte(0x55) } finally { $stream.Dispose() }

        $r = Resume-Transfer $t.Id -MaxBytesPerSecond 0 -WarningVariable warn -WarningAction SilentlyContinue
        $r.Status | Should -Be 'Completed'
        $r.ResumedFrom | Should -Be 16KB
        "$warn" | Should -Match 'intact chunk'
        Get-Sha (Join-Path $dest 'corrupt.bin') | Should -Be (Get-Sha $src.FullName)
    }

    It 'refuses to resume when the source changed, with SourceChanged' {
        $src = New-TestFile -Path (Join-Path $script:work 'changed.bin') -Size 256KB -Seed 5
        $dest = New-Folder 'd-changed'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Chunks $t.Id 2
        Suspend-Transfer $t.Id
        [IO.File]::AppendAllText($src.FullName, 'more')
        Resume-Transfer $t.Id -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceChanged,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].TargetObject | Should -Be $src.FullName
        Test-Path (Join-Path $dest 'changed.bin') | Should -BeFalse
    }

    It 'refuses a resume with another -ChunkSize (ChunkSizeFixed), leaving the transfer resumable with its own' {
        $src = New-TestFile -Path (Join-Path $script:work 'chunked.bin') -Size 64KB -Seed 8
        $dest = New-Folder 'd-chunked'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Chunks $t.Id 2
        Suspend-Transfer $t.Id
        Resume-Transfer $t.Id -ChunkSize 64KB -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ChunkSizeFixed,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject | Should -Be $t.Id
        (Get-TransferStatus -Id $t.Id).Status | Should -Be 'Suspended'
        Test-Path (Join-Path $dest 'chunked.bin') | Should -BeFalse
        $done = Resume-Transfer $t.Id -ChunkSize $script:slow.ChunkSize -MaxBytesPerSecond 0
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -BeGreaterThan 0
        Get-Sha (Join-Path $dest 'chunked.bin') | Should -Be (Get-Sha $src.FullName)
    }

    It 'fails clearly when the destination folder vanishes mid-way, delivering nothing' {
        $src = New-TestFile -Path (Join-Path $script:work 'vanish.bin') -Size 96KB -Seed 6
        $dest = New-Folder 'd-vanish'
        $t = Send-Transfer $src.FullName $dest -Asynchronous @script:slow
        Wait-Chunks $t.Id 2
        Remove-Item $dest -Recurse -Force
        $done = Wait-Transfer $t.Id
        $done.Status | Should -Be 'Failed'
        $done.ErrorCode | Should -Be 'NotFound'
        Test-Path $dest | Should -BeFalse
        Resume-Transfer $t.Id -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationFolderNotFound,*'
    }

    It 'fails with PermissionDenied on a read-only destination folder' -Skip:($IsWindows -or (& id -u) -eq '0') {
        $src = New-TestFile -Path (Join-Path $script:work 'ro.bin') -Size 8KB
        $dest = New-Folder 'd-readonly'
        chmod 0555 $dest
        try {
            Send-Transfer $src.FullName $dest -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationAccessDenied,*'
        } finally { chmod 0755 $dest }
    }

    It 'suspends the transfer when the waiting command is stopped (Ctrl+C), leaving it resumable' {
        $src = New-TestFile -Path (Join-Path $script:work 'ctrlc.bin') -Size 256KB -Seed 7
        $dest = New-Folder 'd-ctrlc'
        $runspace = [RunspaceFactory]::CreateRunspace()
        $runspace.Open()
        $ps = [PowerShell]::Create()
        $ps.Runspace = $runspace
        try {
            $null = $ps.AddScript("Import-Module '$(Get-TestModulePath)'; Send-Transfer -LiteralPath '$($src.FullName)' -Destination '$dest' -ChunkSize 16KB -MaxBytesPerSecond 32KB")
            $null = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            $t = $null
            while (-not $t -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 100
                $t = Get-TransferStatus | Where-Object { $_.Source -eq $src.FullName } | Select-Object -First 1
            }
            Wait-Chunks $t.Id 2
            $ps.Stop()
            # Checked before the runspace closes: closing a session would suspend its transfers too.
            (Get-TransferStatus $t.Id).Status | Should -Be 'Suspended'
        } finally { $ps.Dispose(); $runspace.Dispose() }
        $r = Resume-Transfer $t.Id -MaxBytesPerSecond 0
        $r.Status | Should -Be 'Completed'
        $r.ResumedFrom | Should -BeGreaterThan 0
        Get-Sha (Join-Path $dest 'ctrlc.bin') | Should -Be (Get-Sha $src.FullName)
    }
}

Describe 'A piped batch of small files' {
    BeforeAll {
        $script:batchSource = New-Folder 'batch-src'
        foreach ($i in 1..6) { New-TestFile -Path (Join-Path $script:batchSource "s$i.bin") -Size (1KB * $i) -Seed (40 + $i) | Out-Null }
    }

    It 'journals the batch in one file, and every member is listed, found by id and received by id through the batch manifest' {
        $dest = New-Folder 'batch-dest'
        $journal = Join-Path $script:home_ 'journal'
        $before = @(Get-ChildItem $journal -Filter '*.json').Count
        $sent = Get-ChildItem $script:batchSource -File | Send-Transfer -Destination "$dest/" -ThrottleLimit 3
        $sent.Count | Should -Be 6
        $sent.Name | Should -Be @('s1.bin', 's2.bin', 's3.bin', 's4.bin', 's5.bin', 's6.bin')
        $sent.Status | Select-Object -Unique | Should -Be 'Completed'
        # One batch journal, no record file, no lock file and no manifest file per transfer.
        @(Get-ChildItem $journal -Filter '*.json').Count | Should -Be $before
        $batchId = $sent[0].Id.Substring(16)
        $sent.Id | ForEach-Object { $_.Substring(16) } | Select-Object -Unique | Should -Be $batchId
        # The batch lock is gone with the batch; only its journal stays.
        @(Get-ChildItem $journal | Where-Object Name -like "*$batchId*").Name | Should -Be "$batchId.batch"
        @(Get-ChildItem -Force (Join-Path $dest '.transfertools')).Name | Should -Be "$batchId.batch.json"
        foreach ($t in $sent) {
            Get-Sha (Join-Path $dest $t.Name) | Should -Be $t.Sha256
            (Get-TransferStatus $t.Id).Status | Should -Be 'Completed'
            (Get-TransferStatus $t.Id.Substring(0, 8)).Id | Should -Be $t.Id
        }
        (Invoke-InNewProcess { Get-TransferStatus }).Id | Should -Contain $sent[3].Id

        $out = Join-Path $script:work 'batch-inbox'
        $r = Receive-Transfer -TransferId $sent[3].Id -OutputDir $out
        $r.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $out 's4.bin') | Should -Be $sent[3].Sha256
    }

    It 'tolerates a torn last line in the batch journal and in the batch manifest' {
        $dest = New-Folder 'batch-torn'
        $sent = Get-ChildItem $script:batchSource -File | Select-Object -First 3 | Send-Transfer -Destination "$dest/"
        $batchId = $sent[0].Id.Substring(16)
        [IO.File]::AppendAllText((Join-Path $script:home_ "journal/$batchId.batch"), '{"FormatVersion":1,"Id":"' + $sent[1].Id + '","Status":"Fai')
        [IO.File]::AppendAllText((Join-Path $dest ".transfertools/$batchId.batch.json"), '{"formatVersion":1,"id":"' + $sent[2].Id + '","name":"evil')
        (Get-TransferStatus $sent[1].Id).Status | Should -Be 'Completed'
        (Get-TransferStatus | Where-Object Id -in $sent.Id).Count | Should -Be 3
        $out = Join-Path $script:work 'batch-torn-inbox'
        (Receive-Transfer -TransferId $sent[2].Id -Source $dest -OutputDir $out).Status | Should -Be 'Completed'
        Get-Sha (Join-Path $out 's3.bin') | Should -Be $sent[2].Sha256
    }

    It 'delivers the same bytes and, with -NoPreserve, permissions 0666 less the umask, through an unnamed file and through the forced fallback' -Skip:$IsWindows {
        # (Without -NoPreserve a file gets its source's permission bits: tests/Preserve.Tests.ps1.)
        $module = Get-TestModulePath
        $pwsh = Join-Path $PSHOME 'pwsh'
        foreach ($mode in 'unnamed', 'fallback') {
            $dest = New-Folder "batch-umask-$mode"
            $flag = if ($mode -eq 'fallback') { '1' } else { '' }
            $command = "Import-Module '$module'; `$r = Get-ChildItem '$($script:batchSource)' -File | Send-Transfer -Destination '$dest/' -ThrottleLimit 4 -NoPreserve; @(`$r | Where-Object Status -eq 'Completed').Count"
            $out = & sh -c "umask 027; TRANSFERTOOLS_NO_TMPFILE='$flag' exec '$pwsh' -NoProfile -NonInteractive -Command `"`$0`"" $command
            $out | Select-Object -Last 1 | Should -Be '6'
            @(Get-ChildItem -Force $dest -File).Name | Should -Be @('s1.bin', 's2.bin', 's3.bin', 's4.bin', 's5.bin', 's6.bin')
            foreach ($file in Get-ChildItem $dest -File) {
                Get-Sha $file.FullName | Should -Be (Get-Sha (Join-Path $script:batchSource $file.Name))
                $file.UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite, GroupRead')
            }
        }
    }

    It 'reports a failing member as a non-terminating error in order and delivers the rest' {
        $dest = New-Folder 'batch-conflict'
        Set-Content -Path (Join-Path $dest 's2.bin') -Value 'keep me'
        $sent = Get-ChildItem $script:batchSource -File | Select-Object -First 3 | Send-Transfer -Destination "$dest/" -ErrorVariable err -ErrorAction SilentlyContinue
        $sent.Name | Should -Be @('s1.bin', 's3.bin')
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationExists,*'
        Get-Content (Join-Path $dest 's2.bin') | Should -Be 'keep me'
        $failed = Get-TransferStatus | Where-Object { $_.Name -eq 's2.bin' -and $_.Destination -like "$dest*" }
        $failed.Status | Should -Be 'Failed'
        $r = Resume-Transfer $failed.Id -Force
        $r.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $dest 's2.bin') | Should -Be (Get-Sha (Join-Path $script:batchSource 's2.bin'))
        # Resumed, it has a record of its own, which the listing prefers over the batch line.
        Test-Path (Join-Path $script:home_ "journal/$($failed.Id).json") | Should -BeTrue
        (Get-TransferStatus $failed.Id).Status | Should -Be 'Completed'
    }
}

Describe 'Receive-Transfer' {
    It 'receives a local folder with -Recurse, as Send-Transfer -Recurse sends one, and -WhatIf receives nothing' {
        $src = New-Folder 'recv-tree'
        $files = New-TestTree -Path $src
        $out = Join-Path $script:work 'recv-tree-out'
        $pwsh = Join-Path $PSHOME 'pwsh'
        $said = & $pwsh -NoProfile -NonInteractive -Command "Import-Module '$(Get-TestModulePath)'; Receive-Transfer -Source '$src' -Recurse -OutputDir '$out' -WhatIf" | Out-String
        $said | Should -Match ([regex]::Escape((Join-Path $out 'recv-tree/a/b')))
        Test-Path $out | Should -BeFalse

        $t = @(Receive-Transfer -Source $src -Recurse -OutputDir $out)
        $t.Count | Should -Be $files.Count
        foreach ($relative in $files) {
            Get-Sha (Join-Path $out "recv-tree/$relative") | Should -Be (Get-Sha (Join-Path $src $relative))
        }
        Test-Path (Join-Path $out 'recv-tree/a/empty') | Should -BeFalse

        # Again with -Conflict Skip after one file changed there: only the files not there move, and the rest say so.
        Remove-Item (Join-Path $out "recv-tree/$($files[0])")
        $again = @(Receive-Transfer -Source $src -Recurse -OutputDir $out -Conflict Skip)
        $again.Count | Should -Be $files.Count
        @($again | Where-Object Skipped).Count | Should -Be ($files.Count - 1)
        $moved = @($again | Where-Object { -not $_.Skipped })
        $moved.Destination | Should -Be (Join-Path $out "recv-tree/$($files[0])")
        $moved.BytesTransferred | Should -Be (Get-Item $moved.Destination).Length
        $again | Where-Object Skipped | ForEach-Object { $_.BytesTransferred | Should -Be 0; $_.Progress | Should -Be 100 }
    }

    It 'takes -Recurse only with -Source, not with -TransferId' {
        { Receive-Transfer -TransferId 0123456789abcdef0123456789abcdef -Recurse -OutputDir $script:work -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousParameterSet,TransferTools.Commands.ReceiveTransferCommand'
    }

    It 'receives a sent transfer by id through its manifest, the journal supplying the source' {
        $src = New-TestFile -Path (Join-Path $script:work 'handoff.bin') -Size 100KB -Seed 8
        $sent = Send-Transfer $src.FullName (New-Folder 'drop')
        $out = Join-Path $script:work 'inbox'
        $r = Receive-Transfer -TransferId $sent.Id -OutputDir $out
        $r.Status | Should -Be 'Completed'
        $r.Direction | Should -Be 'Receive'
        $r.Sha256 | Should -Be $sent.Sha256
        Get-Sha (Join-Path $out 'handoff.bin') | Should -Be $sent.Sha256
    }

    It 'receives by id from an explicit -Source, and refuses a file that does not match its manifest' {
        $src = New-TestFile -Path (Join-Path $script:work 'tamper.bin') -Size 40KB -Seed 9
        $drop = New-Folder 'drop2'
        $sent = Send-Transfer $src.FullName $drop
        $out = Join-Path $script:work 'inbox2'
        (Receive-Transfer -TransferId $sent.Id -Source $drop -OutputDir $out).Status | Should -Be 'Completed'

        $bytes = [IO.File]::ReadAllBytes((Join-Path $drop 'tamper.bin')); $bytes[10] = $bytes[10] -bxor 0xFF
        [IO.File]::WriteAllBytes((Join-Path $drop 'tamper.bin'), $bytes)
        $out3 = Join-Path $script:work 'inbox3'
        Receive-Transfer -TransferId $sent.Id -Source $drop -OutputDir $out3 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ChecksumMismatch,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        Get-ChildItem -Force $out3 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'pulls a plain file with -Source' {
        $src = New-TestFile -Path (Join-Path $script:work 'plain.bin') -Size 12KB -Seed 10
        $out = Join-Path $script:work 'inbox4'
        $r = Receive-Transfer -Source ([Uri]::new($src.FullName).AbsoluteUri) -OutputDir $out
        $r.Status | Should -Be 'Completed'
        Get-Sha (Join-Path $out 'plain.bin') | Should -Be (Get-Sha $src.FullName)
    }

    It 'refuses a folder as -Source, naming it by its path' {
        $folder = New-Folder 'not-a-file'
        $out = Join-Path $script:work 'inbox-folder'
        Receive-Transfer -Source ($folder + [IO.Path]::DirectorySeparatorChar) -OutputDir $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceIsFolder,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -BeLike "*'$folder*' is a folder;*-Recurse*"
        Get-ChildItem -Force $out -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'reports an unknown transfer id without a source as TransferSourceUnknown' {
        Receive-Transfer -TransferId ('a' * 32) -OutputDir (Join-Path $script:work 'inbox5') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TransferSourceUnknown,*'
    }

    It 'receives the first piped source while the pipeline is still producing the next one' {
        $src = New-Folder 'rfeed-src'
        $a = New-TestFile -Path (Join-Path $src 'ra.bin') -Size 8KB -Seed 11
        $b = New-TestFile -Path (Join-Path $src 'rb.bin') -Size 8KB -Seed 12
        $out = Join-Path $script:work 'rfeed-inbox'
        $startedEarly = [ref]$false
        # The producer holds back the second source until the first is delivered.
        $results = Invoke-HeldBackInput $a.FullName { Test-Path (Join-Path $out 'ra.bin') } $b.FullName $startedEarly |
            Receive-Transfer -OutputDir $out
        $startedEarly.Value | Should -BeTrue
        $results.Name | Should -Be @('ra.bin', 'rb.bin')
        $results.Status | Sort-Object -Unique | Should -Be 'Completed'
        Get-Sha (Join-Path $out 'rb.bin') | Should -Be (Get-Sha $b.FullName)
    }

    It 'writes piped results in input order as one batch, with a bad source reported in its place and the others delivered' {
        $src = New-Folder 'rorder-src'
        # The first is the biggest and throttled, so the small ones after it finish first and must wait their turn.
        $files = foreach ($i in 1, 2, 4, 5) { New-TestFile -Path (Join-Path $src "o$i.bin") -Size $(if ($i -eq 1) { 128KB } else { 4KB }) -Seed (20 + $i) }
        $missing = Join-Path $src 'o3.bin'
        $out = Join-Path $script:work 'rorder-inbox'
        $all = $files[0].FullName, $files[1].FullName, $missing, $files[2].FullName, $files[3].FullName |
            Receive-Transfer -OutputDir $out -ThrottleLimit 3 -ChunkSize 16KB -MaxBytesPerSecond 256KB -ErrorAction Continue 2>&1
        $all.Count | Should -Be 5
        $all[2] | Should -BeOfType ([System.Management.Automation.ErrorRecord])
        $all[2].FullyQualifiedErrorId | Should -Be 'SourceNotFound,TransferTools.Commands.ReceiveTransferCommand'
        $all[2].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        # The offending object is the source that was piped in, not the file it would have become.
        $all[2].TargetObject | Should -Be $missing
        $received = $all[0, 1, 3, 4]
        $received.Name | Should -Be @('o1.bin', 'o2.bin', 'o4.bin', 'o5.bin')
        $received.Status | Sort-Object -Unique | Should -Be 'Completed'
        # Several inputs in quick succession: one batch, as before.
        $received.Id | ForEach-Object { $_.Substring(16) } | Select-Object -Unique | Should -HaveCount 1
        foreach ($f in $files) { Get-Sha (Join-Path $out $f.Name) | Should -Be (Get-Sha $f.FullName) }
        Test-Path (Join-Path $out 'o3.bin') | Should -BeFalse
    }

    It 'stops early under Select-Object -First 1: the source in flight is suspended (resumable), the next one never starts' {
        $src = New-Folder 'rfirst-src'
        $small = New-TestFile -Path (Join-Path $src 'f1.bin') -Size 16KB -Seed 31
        $big = foreach ($i in 2, 3) { New-TestFile -Path (Join-Path $src "f$i.bin") -Size 256KB -Seed (30 + $i) }
        $out = Join-Path $script:work 'rfirst-inbox'
        $one = $small.FullName, $big[0].FullName, $big[1].FullName |
            Receive-Transfer -OutputDir $out -ThrottleLimit 1 @script:slow | Select-Object -First 1
        @($one).Count | Should -Be 1
        $one.Name | Should -Be 'f1.bin'
        $one.Status | Should -Be 'Completed'
        Test-Path (Join-Path $out 'f2.bin') | Should -BeFalse
        Test-Path (Join-Path $out 'f3.bin') | Should -BeFalse
        @(Get-TransferStatus | Where-Object Source -eq $big[1].FullName) | Should -BeNullOrEmpty
        foreach ($t in @(Get-TransferStatus | Where-Object Source -eq $big[0].FullName)) {
            (Get-TransferStatus $t.Id).Status | Should -Be 'Suspended'
            $r = Resume-Transfer $t.Id -MaxBytesPerSecond 0
            $r.Status | Should -Be 'Completed'
            Get-Sha (Join-Path $out 'f2.bin') | Should -Be (Get-Sha $big[0].FullName)
        }
    }
}

Describe 'Resume-Transfer of piped ids' {
    BeforeAll {
        # Sends each file throttled (@script:slow) and suspends it once two chunks are committed; returns the transfers.
        function New-SuspendedSends([string] $Name, [int[]] $Sizes) {
            $src = New-Folder "$Name-src"
            $dest = New-Folder "$Name-dest"
            $sent = for ($i = 0; $i -lt $Sizes.Count; $i++) {
                $file = New-TestFile -Path (Join-Path $src "$Name$i.bin") -Size $Sizes[$i] -Seed (60 + $i)
                Send-Transfer $file.FullName $dest -Asynchronous @script:slow
            }
            foreach ($t in $sent) { Wait-Chunks $t.Id 2 }
            # Suspended, each reports its resolved destination file (the asynchronous start still showed the folder).
            foreach ($t in $sent) {
                $suspended = Suspend-Transfer $t.Id -PassThru
                $suspended.Status | Should -Be 'Suspended'
                $suspended.Destination | Should -Be (Join-Path $dest (Split-Path $t.Source -Leaf))
                $suspended
            }
        }
    }

    It 'resumes the first piped id while the pipeline is still producing the next one' {
        $t = New-SuspendedSends 'hb' 96KB, 96KB
        $startedEarly = [ref]$false
        # The producer holds back the second id until the first transfer is delivered.
        $results = Invoke-HeldBackInput $t[0].Id { Test-Path $t[0].Destination } $t[1].Id $startedEarly |
            Resume-Transfer -MaxBytesPerSecond 0
        $startedEarly.Value | Should -BeTrue
        $results.Id | Should -Be $t.Id
        $results.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($r in $results) { Get-Sha $r.Destination | Should -Be (Get-Sha $r.Source) }
    }

    It 'writes results in input order, with an unknown id reported in its place and the others completed' {
        # The first has the most left to send, so the second finishes first and must wait its turn.
        $t = New-SuspendedSends 'ord' 256KB, 96KB
        $all = $t[0].Id, ('f' * 32), $t[1].Id | Resume-Transfer -MaxBytesPerSecond 256KB -ThrottleLimit 3 -ErrorAction Continue 2>&1
        $all.Count | Should -Be 3
        $all[1] | Should -BeOfType ([System.Management.Automation.ErrorRecord])
        $all[1].FullyQualifiedErrorId | Should -Be 'TransferNotFound,TransferTools.Commands.ResumeTransferCommand'
        $all[1].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $all[0, 2].Id | Should -Be $t.Id
        $all[0, 2].Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($r in $all[0, 2]) {
            $r.ResumedFrom | Should -BeGreaterThan 0
            Get-Sha $r.Destination | Should -Be (Get-Sha $r.Source)
        }
    }

    It 'resumes nothing with -WhatIf, and stops early under Select-Object -First 1, leaving the rest suspended and resumable' {
        $t = New-SuspendedSends 'sel' 96KB, 256KB, 256KB
        $t.Id | Resume-Transfer -WhatIf
        foreach ($x in $t) { (Get-TransferStatus $x.Id).Status | Should -Be 'Suspended' }

        # One at a time at the journaled 32 KiB/s: the second is mid-way when the first result reaches Select-Object.
        $one = $t.Id | Resume-Transfer -ThrottleLimit 1 | Select-Object -First 1
        @($one).Count | Should -Be 1
        $one.Id | Should -Be $t[0].Id
        $one.Status | Should -Be 'Completed'
        # Suspended by the time the pipeline returned, not still suspending.
        (Get-TransferStatus $t[1].Id).Status | Should -Be 'Suspended'
        (Get-TransferStatus $t[2].Id).Status | Should -Be 'Suspended'
        Test-Path $t[1].Destination | Should -BeFalse
        Test-Path $t[2].Destination | Should -BeFalse

        $rest = $t[1].Id, $t[2].Id | Resume-Transfer -MaxBytesPerSecond 0
        $rest.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($r in $rest) { Get-Sha $r.Destination | Should -Be (Get-Sha $r.Source) }
    }
}
