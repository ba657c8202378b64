#Requires -Modules Pester
# Issue 29: Sync-TransferFolder and Compare-TransferFolder, end to end against local folders, sshd, nginx listings and
# storage://. Trees are small (tens of files); the benchmark has the big ones.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')
    $script:old = [datetime]::new(2022, 5, 6, 7, 8, 9, [DateTimeKind]::Utc)

    # A tree of a dozen files: nested folders, spaces, non-ASCII names, a log to filter. Returns the relative paths.
    function script:NewTree([string] $Path) {
        $files = [ordered]@{
            'top.txt' = 3KB; 'a/one.bin' = 20KB; 'a/b/two.bin' = 5KB; 'a/b/deep.log' = 1KB; 'c d/e f.bin' = 4KB
            'ünï/çødé €.txt' = 2KB; 'logs/x.log' = 1KB; 'logs/old/y.log' = 1KB; 'z.bin' = 70KB
        }
        $seed = 300
        foreach ($relative in $files.Keys) {
            $full = Join-Path $Path $relative
            New-Item -ItemType Directory -Force -Path (Split-Path $full) | Out-Null
            New-TestFile -Path $full -Size $files[$relative] -Seed ($seed++) | Out-Null
            (Get-Item -LiteralPath $full).LastWriteTimeUtc = $old
        }
        @($files.Keys)
    }

    # Every file under $Path as 'relative=sha256', sorted: two trees are byte-identical when these are equal.
    function script:TreeHashes([string] $Path) {
        $root = (Resolve-Path -LiteralPath $Path).ProviderPath.TrimEnd('/') + '/'
        @(Get-ChildItem -LiteralPath $Path -Recurse -File -Force | ForEach-Object {
                $_.FullName.Substring($root.Length) + '=' + (Get-FileHash -LiteralPath $_.FullName).Hash
            } | Sort-Object)
    }

    function script:NewPair([string] $Name) {
        $src = New-Item -ItemType Directory -Path (Join-Path $work "$Name-src")
        $files = NewTree $src
        [pscustomobject]@{ Src = $src.FullName; Dst = (Join-Path $work "$Name-dst"); Files = $files }
    }
}

AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Sync-TransferFolder, local to local' {
    It 'copies a tree byte for byte, with times and modes, and a second sync moves nothing' {
        $p = NewPair 'basic'
        & chmod 640 -- (Join-Path $p.Src 'top.txt')
        & chmod 755 -- (Join-Path $p.Src 'a/one.bin')
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst
        $r.Copied | Should -Be $p.Files.Count
        $r.Failed | Should -Be 0
        TreeHashes $p.Dst | Should -Be (TreeHashes $p.Src)
        (& stat -c '%a' -- (Join-Path $p.Dst 'top.txt')) | Should -Be '640'
        (& stat -c '%a' -- (Join-Path $p.Dst 'a/one.bin')) | Should -Be '755'
        [math]::Abs(((Get-Item (Join-Path $p.Dst 'a/b/two.bin')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
        # A sync leaves no manifest, no temporary.
        Get-ChildItem -LiteralPath $p.Dst -Recurse -Force -Filter '.transfertools' | Should -BeNullOrEmpty
        Get-ChildItem -LiteralPath $p.Dst -Recurse -Force -Filter '*.ttpart' | Should -BeNullOrEmpty

        $again = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -PassThru
        $again | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] } | Should -BeNullOrEmpty
        $result = $again | Where-Object { $_ -is [TransferTools.Engine.Sync.SyncResult] }
        $result.Copied + $result.Updated | Should -Be 0
        $result.BytesMoved | Should -Be 0
        $result.Unchanged | Should -Be $p.Files.Count
    }

    It 'takes the source from the pipeline (Get-Item ./dir | Sync-TransferFolder)' {
        $p = NewPair 'piped'
        $r = Get-Item -LiteralPath $p.Src | Sync-TransferFolder -Destination $p.Dst
        $r.Copied | Should -Be $p.Files.Count
        TreeHashes $p.Dst | Should -Be (TreeHashes $p.Src)
    }

    It 'updates a changed file, replaces a newer destination file, and keeps it with -Update' {
        $p = NewPair 'update'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        Set-Content -LiteralPath (Join-Path $p.Src 'top.txt') -Value 'changed at the source'
        $newer = Join-Path $p.Dst 'z.bin'
        New-TestFile -Path $newer -Size 70KB -Seed 999 | Out-Null   # same size, other bytes, a newer time
        $kept = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Update
        $kept.Updated | Should -Be 1
        (Get-FileHash $newer).Hash | Should -Not -Be (Get-FileHash (Join-Path $p.Src 'z.bin')).Hash
        $replaced = Sync-TransferFolder -Path $p.Src -Destination $p.Dst
        $replaced.Updated | Should -Be 1
        TreeHashes $p.Dst | Should -Be (TreeHashes $p.Src)
    }

    It '-Mirror deletes exactly the extra files and folders; without it nothing is deleted' {
        $p = NewPair 'mirror'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        New-Item -ItemType Directory -Path (Join-Path $p.Dst 'extra/inner') -Force | Out-Null
        Set-Content (Join-Path $p.Dst 'extra/inner/e.txt') 'e'
        Set-Content (Join-Path $p.Dst 'a/stale.txt') 's'
        $plain = Sync-TransferFolder -Path $p.Src -Destination $p.Dst
        $plain.Deleted | Should -Be 0
        Test-Path (Join-Path $p.Dst 'a/stale.txt') | Should -BeTrue

        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror
        $r.Deleted | Should -Be 2
        $r.DeletesDone | Should -BeTrue
        TreeHashes $p.Dst | Should -Be (TreeHashes $p.Src)
        Test-Path (Join-Path $p.Dst 'extra') | Should -BeFalse
    }

    It '-WhatIf shows every copy, update and delete with its reason and changes nothing' {
        $p = NewPair 'whatif'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        Set-Content (Join-Path $p.Dst 'gone.txt') 'g'
        Set-Content (Join-Path $p.Src 'top.txt') 'different'
        New-TestFile -Path (Join-Path $p.Src 'new.bin') -Size 1KB | Out-Null
        $before = TreeHashes $p.Dst
        # What-if lines go to the host: a transcript catches them.
        $log = Join-Path $work 'whatif.log'
        Start-Transcript -LiteralPath $log | Out-Null
        try { Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror -WhatIf | Out-Null } finally { Stop-Transcript | Out-Null }
        # (Without white space: the host may wrap a long line anywhere.)
        $lines = (Get-Content -Raw $log) -replace '\s', ''
        TreeHashes $p.Dst | Should -Be $before
        $lines | Should -Match 'Copyfrom.*new\.bin.*missingatthedestination'
        $lines | Should -Match 'Updatefrom.*top\.txt.*sizediffers'
        $lines | Should -Match 'Delete\(notinthesource\).*gone\.txt'
    }

    It '-MaxDelete refuses the whole delete phase' {
        $p = NewPair 'maxdelete'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        1..3 | ForEach-Object { Set-Content (Join-Path $p.Dst "extra$_.txt") $_ }
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror -MaxDelete 2 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SyncMaxDeleteExceeded*'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $r.Deleted | Should -Be 0
        @(Get-ChildItem $p.Dst -Filter 'extra*').Count | Should -Be 3
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror -MaxDelete 3).Deleted | Should -Be 3
    }

    It 'refuses to mirror an empty source unless -AllowEmptySource' {
        $src = New-Item -ItemType Directory -Path (Join-Path $work 'empty-src')
        $dst = New-Item -ItemType Directory -Path (Join-Path $work 'empty-dst')
        Set-Content (Join-Path $dst 'keep.txt') 'k'
        $r = Sync-TransferFolder -Path $src -Destination $dst -Mirror -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SyncSourceEmpty*'
        Test-Path (Join-Path $dst 'keep.txt') | Should -BeTrue
        (Sync-TransferFolder -Path $src -Destination $dst -Mirror -AllowEmptySource).Deleted | Should -Be 1
    }

    It 'filters with ** neither copy nor delete excluded files; -DeleteExcluded deletes them' {
        $p = NewPair 'filters'
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Exclude '**/*.log' -ExcludeFolder 'c d'
        $r.Copied | Should -Be ($p.Files.Count - 4)
        Test-Path (Join-Path $p.Dst 'a/b/deep.log') | Should -BeFalse
        Test-Path (Join-Path $p.Dst 'logs') | Should -BeFalse
        Test-Path (Join-Path $p.Dst 'c d') | Should -BeFalse
        # An excluded file at the destination is kept by -Mirror ...
        New-Item -ItemType Directory -Force (Join-Path $p.Dst 'logs') | Out-Null
        Set-Content (Join-Path $p.Dst 'logs/local.log') 'l'
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Exclude '**/*.log' -ExcludeFolder 'c d' -Mirror).Deleted | Should -Be 0
        Test-Path (Join-Path $p.Dst 'logs/local.log') | Should -BeTrue
        # ... and deleted with -DeleteExcluded.
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Exclude '**/*.log' -ExcludeFolder 'c d' -Mirror -DeleteExcluded).Deleted | Should -Be 1
        Test-Path (Join-Path $p.Dst 'logs/local.log') | Should -BeFalse
        # Includes, anchored at the root, and sizes.
        $only = Join-Path $work 'filters-only'
        (Sync-TransferFolder -Path $p.Src -Destination $only -Include '/a/**' -MinSize 5KB).Copied | Should -Be 2
        (TreeHashes $only) -replace '=.*' | Should -Be @('a/b/two.bin', 'a/one.bin')
    }

    It '-BackupPath keeps what -Mirror deletes' {
        $p = NewPair 'backup'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        New-Item -ItemType Directory -Force (Join-Path $p.Dst 'old') | Out-Null
        Set-Content (Join-Path $p.Dst 'old/report.txt') 'r'
        $backup = Join-Path $work 'backup-kept'
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror -BackupPath $backup).Deleted | Should -Be 1
        Get-Content (Join-Path $backup 'old/report.txt') | Should -Be 'r'
        TreeHashes $p.Dst | Should -Be (TreeHashes $p.Src)
    }

    It 'creates empty folders with -IncludeEmptyFolders' {
        $p = NewPair 'emptyfolders'
        New-Item -ItemType Directory -Path (Join-Path $p.Src 'hollow/inside') | Out-Null
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        Test-Path (Join-Path $p.Dst 'hollow') | Should -BeFalse
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst -IncludeEmptyFolders | Out-Null
        Test-Path (Join-Path $p.Dst 'hollow/inside') -PathType Container | Should -BeTrue
    }

    It 'compares by checksum where sizes and times agree' {
        $p = NewPair 'checksum'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        $victim = Join-Path $p.Dst 'a/one.bin'
        New-TestFile -Path $victim -Size 20KB -Seed 1 | Out-Null
        (Get-Item $victim).LastWriteTimeUtc = $old
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst).Updated | Should -Be 0
        $diff = @(Compare-TransferFolder -Path $p.Src -Destination $p.Dst -Compare Checksum)
        $diff.Count | Should -Be 1
        $diff[0].Difference | Should -Be 'Changed'
        $diff[0].SourceSha256 | Should -Be (Get-FileHash (Join-Path $p.Src 'a/one.bin')).Hash.ToLowerInvariant()
        $diff[0].DestinationSha256 | Should -Be (Get-FileHash $victim).Hash.ToLowerInvariant()
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Compare Checksum).Updated | Should -Be 1
        TreeHashes $p.Dst | Should -Be (TreeHashes $p.Src)
    }
}

Describe 'Compare-TransferFolder' {
    It 'returns one object per difference, -IncludeEqual for all, and -Quiet as a runbook test' {
        $p = NewPair 'compare'
        Compare-TransferFolder -Path $p.Src -Destination $p.Dst -Quiet | Should -BeFalse
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        Compare-TransferFolder -Path $p.Src -Destination $p.Dst | Should -BeNullOrEmpty
        Compare-TransferFolder -Path $p.Src -Destination $p.Dst -Quiet | Should -BeTrue
        @(Compare-TransferFolder -Path $p.Src -Destination $p.Dst -IncludeEqual).Count | Should -Be $p.Files.Count

        Set-Content (Join-Path $p.Dst 'only-here.txt') 'x'
        Remove-Item -LiteralPath (Join-Path $p.Dst 'c d/e f.bin')
        Set-Content (Join-Path $p.Src 'top.txt') 'now different'
        $diff = Compare-TransferFolder -Path $p.Src -Destination $p.Dst | Sort-Object RelativePath
        ($diff | ForEach-Object { "$($_.Difference):$($_.RelativePath)" }) |
            Should -Be @('SourceOnly:c d/e f.bin', 'DestinationOnly:only-here.txt', 'Changed:top.txt')
        $diff[2].SourceSize | Should -Be (Get-Item (Join-Path $p.Src 'top.txt')).Length
        $diff[2].DestinationSize | Should -Be 3KB
        Compare-TransferFolder -Path $p.Src -Destination $p.Dst -Quiet | Should -BeFalse
        # Nothing changed by comparing.
        Test-Path (Join-Path $p.Dst 'only-here.txt') | Should -BeTrue
    }

    It 'renders its views within 80 columns' {
        $p = NewPair 'views'
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst
        Set-Content (Join-Path $p.Dst 'a/b/a rather long name that must be cut at its beginning.txt') 'x'
        $d = Compare-TransferFolder -Path $p.Src -Destination $p.Dst
        foreach ($text in ($r | Out-String -Width 80), ($d | Out-String -Width 80)) {
            $text -split "`n" | ForEach-Object { $_.TrimEnd().Length | Should -BeLessOrEqual 80 }
        }
        ($d | Out-String -Width 80) | Should -Match 'beginning\.txt'
    }
}

Describe 'Sync errors' {
    It 'refuses a missing source, a destination that is a file, and a destination inside the source' {
        $p = NewPair 'errors'
        Sync-TransferFolder -LiteralPath (Join-Path $work 'no-such-folder') -Destination $p.Dst -ErrorVariable e1 -ErrorAction SilentlyContinue | Out-Null
        $e1[0].FullyQualifiedErrorId | Should -BeLike 'SyncSourceNotFound*'
        $e1[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'

        $file = New-TestFile -Path (Join-Path $work 'a-file.bin') -Size 10
        Sync-TransferFolder -Path $p.Src -Destination $file.FullName -ErrorVariable e2 -ErrorAction SilentlyContinue | Out-Null
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'SyncDestinationNotAFolder*'

        Sync-TransferFolder -Path $p.Src -Destination (Join-Path $p.Src 'a/inner') -ErrorVariable e3 -ErrorAction SilentlyContinue | Out-Null
        $e3[0].FullyQualifiedErrorId | Should -BeLike 'SyncDestinationInsideSource*'
        Test-Path (Join-Path $p.Src 'a/inner') | Should -BeFalse
    }

    It 'refuses a UNC path where there are none, as source or destination, and writes nothing' -Skip:$IsWindows {
        $p = NewPair 'unc'
        New-Item -ItemType Directory -Path $p.Dst | Out-Null
        $processDir = [Environment]::CurrentDirectory
        Push-Location $p.Dst
        try {
            $e = { Sync-TransferFolder -Path $p.Src -Destination '\\server\share\' -ErrorAction Stop } | Should -Throw -ErrorId 'UncPathNotSupported,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.TargetObject | Should -Be '\\server\share\'
            { Compare-TransferFolder -Path $p.Src -Destination '\\server\share' -ErrorAction Stop } | Should -Throw -ErrorId 'UncPathNotSupported,*'
            Sync-TransferFolder -Path '\\server\share' -Destination $p.Dst -ErrorVariable e2 -ErrorAction SilentlyContinue | Out-Null
            $e2[0].FullyQualifiedErrorId | Should -BeLike 'UncPathNotSupported*'
            Sync-TransferFolder -LiteralPath '\\server\share' -Destination $p.Dst -ErrorVariable e3 -ErrorAction SilentlyContinue | Out-Null
            $e3[0].FullyQualifiedErrorId | Should -BeLike 'UncPathNotSupported*'
        } finally { Pop-Location }
        @(Get-ChildItem -LiteralPath $p.Dst -Force).Count | Should -Be 0
        Test-Path -LiteralPath (Join-Path $processDir 'server') | Should -BeFalse
    }

    It 'reports a name that cannot exist on every destination, skips it and syncs the rest' -Skip:$IsWindows {
        $p = NewPair 'badname'
        [IO.File]::WriteAllText($p.Src + '/back\slash.txt', 'b')   # Join-Path would turn the backslash into a separator
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceNameUnsafe*'
        $r.Copied | Should -Be $p.Files.Count
        $r.Failed | Should -Be 1
    }

    It 'a skipped name keeps that run from deleting; excluding the name lets the deletes run' -Skip:$IsWindows {
        $p = NewPair 'badname-mirror'
        Sync-TransferFolder -Path $p.Src -Destination $p.Dst | Out-Null
        Set-Content (Join-Path $p.Dst 'extra.txt') 'x'
        [IO.File]::WriteAllText($p.Src + '/back\slash.txt', 'b')
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror -ErrorVariable err -ErrorAction SilentlyContinue
        ($err.FullyQualifiedErrorId -like 'SourceNameUnsafe*') | Should -Not -BeNullOrEmpty
        ($err.FullyQualifiedErrorId -like 'SyncDeletesSkipped*') | Should -Not -BeNullOrEmpty
        $r.Deleted | Should -Be 0
        Test-Path (Join-Path $p.Dst 'extra.txt') | Should -BeTrue
        $r = Sync-TransferFolder -Path $p.Src -Destination $p.Dst -Mirror -Exclude 'back?slash.txt'
        $r.Failed | Should -Be 0
        $r.Deleted | Should -Be 1
        Test-Path (Join-Path $p.Dst 'extra.txt') | Should -BeFalse
    }

    It 'refuses a second sync of the same destination while one runs' {
        $p = NewPair 'locked'
        $key = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($p.Dst))).Substring(0, 16).ToLowerInvariant()
        $lock = [IO.File]::Open((Join-Path $home_ "journal/sync-$key.lock"), 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            Sync-TransferFolder -Path $p.Src -Destination $p.Dst -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
            $err[0].FullyQualifiedErrorId | Should -BeLike 'SyncInProgress*'
            Test-Path $p.Dst | Should -BeFalse
        } finally { $lock.Dispose() }
        (Sync-TransferFolder -Path $p.Src -Destination $p.Dst).Copied | Should -Be $p.Files.Count
    }
}

Describe 'A killed sync' -Skip:$IsWindows {
    It 'finishes when run again: byte-identical, completed files not sent again, the file in flight resumed' {
        $src = New-Item -ItemType Directory -Path (Join-Path $work 'killed-src')
        $dst = Join-Path $work 'killed-dst'
        1..5 | ForEach-Object { New-TestFile -Path (Join-Path $src "a$_.txt") -Size 2KB -Seed $_ | Out-Null }
        New-TestFile -Path (Join-Path $src 'big.bin') -Size 1536KB -Seed 77 | Out-Null
        $script = Join-Path $work 'killed-sync.ps1'
        Set-Content $script @"
`$env:TRANSFERTOOLS_HOME = '$home_'
Import-Module '$(Get-TestModulePath)'
Sync-TransferFolder -Path '$src' -Destination '$dst' -ThrottleLimit 1 -ChunkSize 64KB -MaxBytesPerSecond 192KB | Out-Null
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
        $inodes = 1..5 | ForEach-Object { & stat -c '%i' -- (Join-Path $dst "a$_.txt") }

        $again = Sync-TransferFolder -Path $src -Destination $dst -PassThru
        $result = $again | Where-Object { $_ -is [TransferTools.Engine.Sync.SyncResult] }
        $result.Failed | Should -Be 0
        # The five small files were complete: not sent again (same inodes, no transfer for them).
        $again | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] } | Should -BeNullOrEmpty
        (1..5 | ForEach-Object { & stat -c '%i' -- (Join-Path $dst "a$_.txt") }) | Should -Be $inodes
        # The big file resumed from its committed chunks: fewer bytes moved than it holds.
        $result.BytesMoved | Should -BeLessThan 1536KB
        $resumed = Get-TransferStatus | Where-Object { $_.Source -like '*big.bin' }
        $resumed.ResumedFrom | Should -BeGreaterThan 0
        TreeHashes $dst | Should -Be (TreeHashes $src)
        Get-ChildItem -LiteralPath $dst -Force -Filter '*.ttpart' | Should -BeNullOrEmpty
    }
}

Describe 'Sync over SFTP' {
    BeforeAll {
        $script:sshd = Start-TestSshd
        $script:keyBase = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)"
        $script:ssh = @{ KeyFile = $sshd.KeyFile; HostKeyFingerprint = $sshd.HostKeyFingerprint }
    }

    It 'local to sftp: copies, a second sync moves nothing, -Mirror deletes the extra' {
        $p = NewPair 'to-sftp'
        $remote = Join-Path $sshd.KeyUserData 'synced'
        $r = Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" @ssh
        $r.Copied | Should -Be $p.Files.Count
        TreeHashes $remote | Should -Be (TreeHashes $p.Src)
        [math]::Abs(((Get-Item (Join-Path $remote 'a/one.bin')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
        Get-ChildItem -LiteralPath $remote -Recurse -Force -Filter '.transfertools' | Should -BeNullOrEmpty
        $again = Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" @ssh
        $again.Copied + $again.Updated | Should -Be 0
        $again.BytesMoved | Should -Be 0
        Set-Content (Join-Path $remote 'a/extra.txt') 'x'
        (Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" -Mirror @ssh).Deleted | Should -Be 1
        TreeHashes $remote | Should -Be (TreeHashes $p.Src)
    }

    It '-Mirror deletes many sftp files at once, and reports each one it cannot delete' -Skip:$IsWindows {
        $p = NewPair 'to-sftp-many'
        $remote = Join-Path $sshd.KeyUserData 'synced-many'
        (Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" @ssh).Failed | Should -Be 0
        1..40 | ForEach-Object { Set-Content (Join-Path $remote "a/extra-$_.txt") 'x' }
        # A folder of root's (the test runs as root) in which the SFTP user cannot delete.
        $locked = New-Item -ItemType Directory -Path (Join-Path $remote 'locked')
        Set-Content (Join-Path $locked 'stuck.txt') 'x'
        $err = $null
        $r = Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" -Mirror @ssh -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Deleted | Should -Be 40
        $r.Failed | Should -Be 1
        $r.DeletesDone | Should -BeFalse
        @($err | Where-Object { "$($_.TargetObject)" -like '*locked/stuck.txt' }) | Should -HaveCount 1
        Test-Path (Join-Path $locked 'stuck.txt') | Should -BeTrue
        @(Get-ChildItem -LiteralPath (Join-Path $remote 'a') -Filter 'extra-*') | Should -HaveCount 0
        Test-Path (Join-Path $remote 'a/one.bin') | Should -BeTrue
    }

    It 'sftp to local: copies, a second sync moves nothing' {
        $remote = Join-Path $sshd.KeyUserData 'pull-src'
        New-Item -ItemType Directory -Path $remote | Out-Null
        $files = NewTree $remote
        $dst = Join-Path $work 'from-sftp'
        $r = Sync-TransferFolder -Path "$keyBase$remote/" -Destination $dst @ssh
        $r.Copied | Should -Be $files.Count
        TreeHashes $dst | Should -Be (TreeHashes $remote)
        $again = Sync-TransferFolder -Path "$keyBase$remote/" -Destination $dst @ssh
        $again.Copied + $again.Updated | Should -Be 0
        Compare-TransferFolder -Path "$keyBase$remote/" -Destination $dst -Quiet @ssh | Should -BeTrue
    }

    It 'sftp to storage://LocalStore (remote to remote, streamed through): copies, a second sync moves nothing, -Mirror deletes' {
        $remote = Join-Path $sshd.KeyUserData 'relay-src'
        New-Item -ItemType Directory -Path $remote | Out-Null
        $files = NewTree $remote
        $r = Sync-TransferFolder -Path "$keyBase$remote/" -Destination 'storage://LocalStore/relayed/' @ssh -PassThru
        $summary = $r | Where-Object { $_ -is [TransferTools.Engine.Sync.SyncResult] }
        $summary.Copied | Should -Be $files.Count
        $summary.Failed | Should -Be 0
        # Each copy was hashed from the source's bytes in the one pass that moved them.
        $expected = @(Get-ChildItem -LiteralPath $remote -Recurse -File | ForEach-Object { (Get-FileHash -LiteralPath $_.FullName).Hash.ToLowerInvariant() } | Sort-Object)
        @($r | Where-Object { $_ -is [TransferTools.Abstractions.Transfer] } | ForEach-Object Sha256 | Sort-Object) | Should -Be $expected
        $items = @(Get-StorageItem -Prefix 'relayed/')
        ($items.Name | Sort-Object) | Should -Be ($files | ForEach-Object { "relayed/$_" } | Sort-Object)
        foreach ($item in $items) {
            $item.Sha256 | Should -Be (Get-FileHash -LiteralPath (Join-Path $remote $item.Name.Substring('relayed/'.Length))).Hash.ToLowerInvariant()
        }
        $again = Sync-TransferFolder -Path "$keyBase$remote/" -Destination 'storage://LocalStore/relayed/' @ssh
        $again.Copied + $again.Updated | Should -Be 0
        $again.BytesMoved | Should -Be 0
        Compare-TransferFolder -Path "$keyBase$remote/" -Destination 'storage://LocalStore/relayed/' -Compare Checksum -Quiet @ssh | Should -BeTrue
        Remove-Item -LiteralPath (Join-Path $remote 'z.bin')
        (Sync-TransferFolder -Path "$keyBase$remote/" -Destination 'storage://LocalStore/relayed/' -Mirror @ssh).Deleted | Should -Be 1
        @(Get-StorageItem -Prefix 'relayed/z.bin').Count | Should -Be 0
    }

    It 'a source folder that cannot be listed, or a file that cannot be read, prevents every delete' {
        $remote = Join-Path $sshd.KeyUserData 'denied-src'
        New-Item -ItemType Directory -Path $remote | Out-Null
        $null = NewTree $remote
        $dst = Join-Path $work 'denied-dst'
        Sync-TransferFolder -Path "$keyBase$remote/" -Destination $dst @ssh | Out-Null
        Set-Content (Join-Path $dst 'extra.txt') 'x'
        # sshd serves the key user without root's rights: mode 000 denies it the folder.
        & chmod 000 -- (Join-Path $remote 'logs')
        try {
            $r = Sync-TransferFolder -Path "$keyBase$remote/" -Destination $dst -Mirror @ssh -ErrorVariable err -ErrorAction SilentlyContinue
            ($err.FullyQualifiedErrorId -like 'SourceFolderUnreadable*') | Should -Not -BeNullOrEmpty
            ($err.FullyQualifiedErrorId -like 'SyncDeletesSkipped*') | Should -Not -BeNullOrEmpty
            $r.Deleted | Should -Be 0
            Test-Path (Join-Path $dst 'extra.txt') | Should -BeTrue
            Test-Path (Join-Path $dst 'logs/x.log') | Should -BeTrue
        } finally { & chmod 755 -- (Join-Path $remote 'logs') }

        Set-Content (Join-Path $remote 'top.txt') 'changed, and unreadable'
        & chmod 000 -- (Join-Path $remote 'top.txt')
        try {
            $r = Sync-TransferFolder -Path "$keyBase$remote/" -Destination $dst -Mirror -RetryCount 0 @ssh -ErrorVariable err -ErrorAction SilentlyContinue
            $r.Failed | Should -BeGreaterThan 0
            # The one file is reported with its own id, category and path; the rest of the tree goes on.
            $denied = @($err | Where-Object FullyQualifiedErrorId -like 'SftpPermissionDenied*')
            $denied | Should -HaveCount 1
            $denied[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            "$($denied[0].TargetObject)" | Should -BeLike '*/top.txt'
            ($err.FullyQualifiedErrorId -like 'SyncDeletesSkipped*') | Should -Not -BeNullOrEmpty
            Test-Path (Join-Path $dst 'extra.txt') | Should -BeTrue
        } finally { & chmod 644 -- (Join-Path $remote 'top.txt') }
    }

    It '-Mirror -BackupPath on sftp:// moves deleted files into a backup folder there and removes emptied folders' {
        $p = NewPair 'sftp-backup'
        $remote = Join-Path $sshd.KeyUserData 'sftp-mirror'
        $backup = Join-Path $sshd.KeyUserData 'sftp-mirror-backup'
        Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" @ssh | Out-Null
        New-Item -ItemType Directory -Path (Join-Path $remote 'gone/deeper') | Out-Null
        Set-Content (Join-Path $remote 'gone/deeper/old.txt') 'keep me'
        & chown -R "$($sshd.KeyUser):$($sshd.KeyUser)" (Join-Path $remote 'gone')   # made here as root; the server's user owns the rest
        $r = Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" -Mirror -BackupPath "$keyBase$backup/" @ssh
        $r.Deleted | Should -Be 1
        $r.Failed | Should -Be 0
        Get-Content (Join-Path $backup 'gone/deeper/old.txt') | Should -Be 'keep me'
        # The folders it emptied are removed on the server (rmdir), and the tree equals the source again.
        Test-Path (Join-Path $remote 'gone') | Should -BeFalse
        TreeHashes $remote | Should -Be (TreeHashes $p.Src)
        # A backup folder elsewhere would need a transfer between two remote ends: refused before anything is done.
        Set-Content (Join-Path $remote 'extra.txt') 'x'
        $r = Sync-TransferFolder -Path $p.Src -Destination "$keyBase$remote/" -Mirror -BackupPath (Join-Path $work 'local-backup') @ssh -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SyncBackupElsewhere*'
        Test-Path (Join-Path $remote 'extra.txt') | Should -BeTrue
    }
}

Describe 'Sync into storage:// and from an HTTP listing' {
    It 'local to storage://LocalStore: copies, a second sync moves nothing, -Mirror deletes the extra item' {
        $p = NewPair 'to-store'
        $r = Sync-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/synced/'
        $r.Copied | Should -Be $p.Files.Count
        $items = @(Get-StorageItem -Prefix 'synced/')
        ($items.Name | Sort-Object) | Should -Be ($p.Files | ForEach-Object { "synced/$_" } | Sort-Object)
        $again = Sync-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/synced/'
        $again.Copied + $again.Updated | Should -Be 0
        # The index keeps each item's SHA-256: a checksum compare reads only the source.
        Compare-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/synced/' -Compare Checksum -Quiet | Should -BeTrue
        Remove-Item -LiteralPath (Join-Path $p.Src 'a/one.bin')
        (Sync-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/synced/' -Mirror).Deleted | Should -Be 1
        @(Get-StorageItem -Prefix 'synced/a/one.bin').Count | Should -Be 0
    }

    It '-Mirror -BackupPath on storage://LocalStore moves deleted items below the backup prefix (copy, then delete)' {
        $p = NewPair 'store-backup'
        Sync-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/mirrored/' | Out-Null
        Remove-Item -LiteralPath (Join-Path $p.Src 'a/b/two.bin')
        $r = Sync-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/mirrored/' -Mirror -BackupPath 'storage://LocalStore/mirrored-backup/'
        $r.Deleted | Should -Be 1
        $r.Failed | Should -Be 0
        @(Get-StorageItem -Prefix 'mirrored/a/b/two.bin').Count | Should -Be 0
        $kept = @(Get-StorageItem -Prefix 'mirrored-backup/')
        $kept.Name | Should -Be 'mirrored-backup/a/b/two.bin'
        $kept[0].Size | Should -Be 5KB
        Compare-TransferFolder -Path $p.Src -Destination 'storage://LocalStore/mirrored/' -Quiet | Should -BeTrue
    }

    It 'local to storage:// on AzureBlob (azurite): copies, a second sync moves nothing, checksums agree' -Skip:(-not $IsLinux -or [bool]$env:TRANSFERTOOLS_SKIP_AZURITE) {
        $azurite = Start-TestAzurite
        Register-TransferPlugin -Name SyncBlobs -Type AzureBlob -Configuration @{
            AccountUrl = $azurite.BlobEndpoint; AccountKey = $azurite.AccountKey; Container = 'tt-sync' } | Out-Null
        $p = NewPair 'to-blob'
        $r = Sync-TransferFolder -Path $p.Src -Destination 'storage://SyncBlobs/tree/'
        $r.Copied | Should -Be $p.Files.Count
        (@(Get-StorageItem -Prefix 'tree/' -Storage SyncBlobs).Name | Sort-Object) | Should -Be ($p.Files | ForEach-Object { "tree/$_" } | Sort-Object)
        $again = Sync-TransferFolder -Path $p.Src -Destination 'storage://SyncBlobs/tree/'
        $again.Copied + $again.Updated | Should -Be 0
        Compare-TransferFolder -Path $p.Src -Destination 'storage://SyncBlobs/tree/' -Compare Checksum -Quiet | Should -BeTrue
        $back = Join-Path $work 'from-blob'
        (Sync-TransferFolder -Path 'storage://SyncBlobs/tree/' -Destination $back).Copied | Should -Be $p.Files.Count
        TreeHashes $back | Should -Be (TreeHashes $p.Src)
    }

    It 'http listing to local: copies, a second sync moves nothing' {
        $nginx = Start-TestNginx
        $root = Join-Path $nginx.FilesRoot 'synctree'
        New-Item -ItemType Directory -Path $root | Out-Null
        $files = NewTree $root
        $dst = Join-Path $work 'from-http'
        $r = Sync-TransferFolder -Path "$($nginx.BaseUri)/index/synctree/" -Destination $dst
        $r.Copied | Should -Be $files.Count
        TreeHashes $dst | Should -Be (TreeHashes $root)
        $again = Sync-TransferFolder -Path "$($nginx.BaseUri)/index/synctree/" -Destination $dst
        $again.Copied + $again.Updated | Should -Be 0
    }
}
