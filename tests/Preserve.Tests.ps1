#Requires -Modules Pester
# Issue 28 item 2: a delivered file keeps its source's modification time and permission bits (as cp -p and Copy-Item),
# -NoPreserve opts out, and the temporary is never readable by more people than the source is.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')
    $script:old = [datetime]::new(2021, 3, 4, 5, 6, 7, [DateTimeKind]::Utc)
    function script:ModeOf([string] $Path) { (& stat -c '%a' -- $Path).Trim() }
    function script:NewSource([string] $Name, [string] $Mode, [int] $Size = 4096) {
        $file = New-TestFile -Path (Join-Path $work $Name) -Size $Size -Seed 7
        & chmod $Mode -- $file
        (Get-Item -LiteralPath $file).LastWriteTimeUtc = $old
        $file
    }
}

AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Local destinations keep time and mode' -Skip:$IsWindows {
    It 'a 0600 key arrives 0600 with its modification time' {
        $key = NewSource 'id_key' '600'
        $dst = New-Item -ItemType Directory -Path (Join-Path $work 'dst-key')
        (Send-Transfer -Path $key -Destination "$dst/").Status | Should -Be 'Completed'
        $got = Join-Path $dst 'id_key'
        ModeOf $got | Should -Be '600'
        [math]::Abs(((Get-Item $got).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
    }

    It 'a 0755 script keeps 0755, sent in chunks through a named temporary too' {
        $script = NewSource 'run.sh' '755' -Size 300KB
        $dst = New-Item -ItemType Directory -Path (Join-Path $work 'dst-script')
        (Send-Transfer -Path $script -Destination "$dst/" -ChunkSize 64KB).Status | Should -Be 'Completed'
        ModeOf (Join-Path $dst 'run.sh') | Should -Be '755'
        [math]::Abs(((Get-Item (Join-Path $dst 'run.sh')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
    }

    It '-NoPreserve gives the delivery time and the default mode, and a resume keeps the choice' {
        $key = NewSource 'nopreserve.key' '600'
        $dst = New-Item -ItemType Directory -Path (Join-Path $work 'dst-nopreserve')
        $default = New-Item -ItemType File -Path (Join-Path $work 'default-mode.txt')
        $before = [datetime]::UtcNow.AddSeconds(-2)
        $t = Send-Transfer -Path $key -Destination "$dst/" -NoPreserve
        $t.Status | Should -Be 'Completed'
        $got = Join-Path $dst 'nopreserve.key'
        ModeOf $got | Should -Be (ModeOf $default)
        (Get-Item $got).LastWriteTimeUtc | Should -BeGreaterThan $before
        $record = Get-Content -Raw (Get-ChildItem -Recurse -File (Join-Path $home_ '*') -Filter "$($t.Id)*.json" | Select-Object -First 1) | ConvertFrom-Json
        $record.NoPreserve | Should -BeTrue
    }

    It 'the .ttpart of a 0600 file is 0600 while it is written' {
        $key = NewSource 'slow.key' '600' -Size 256KB
        $dst = New-Item -ItemType Directory -Path (Join-Path $work 'dst-slow')
        $t = Send-Transfer -Path $key -Destination "$dst/" -MaxBytesPerSecond 64KB -ChunkSize 16KB -Asynchronous
        $part = $null
        $deadline = [datetime]::UtcNow.AddSeconds(10)
        while (-not $part -and [datetime]::UtcNow -lt $deadline) {
            $part = Get-ChildItem -Force -LiteralPath $dst -Filter '*.ttpart' | Select-Object -First 1
            if (-not $part) { Start-Sleep -Milliseconds 20 }
        }
        $part | Should -Not -BeNullOrEmpty
        ModeOf $part.FullName | Should -Be '600'
        (Wait-Transfer -Id $t.Id).Status | Should -Be 'Completed'
        ModeOf (Join-Path $dst 'slow.key') | Should -Be '600'
    }

    It 'receives a local file with its time and mode' {
        $src = NewSource 'pulled.sh' '750'
        $out = Join-Path $work 'received'
        (Receive-Transfer -Source $src -OutputDir $out).Status | Should -Be 'Completed'
        ModeOf (Join-Path $out 'pulled.sh') | Should -Be '750'
        [math]::Abs(((Get-Item (Join-Path $out 'pulled.sh')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
    }
}

Describe 'SFTP keeps time and mode' -Skip:$IsWindows {
    BeforeAll {
        $script:sshd = Start-TestSshd
        $script:keyBase = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)"
        $script:auth = @{ KeyFile = $sshd.KeyFile; HostKeyFingerprint = $sshd.HostKeyFingerprint }
    }

    It 'an upload keeps the mode and time of a 0600 file and of a 0755 one' {
        $key = NewSource 'up.key' '600'
        $script = NewSource 'up.sh' '755' -Size 200KB
        @(Send-Transfer -Path $key, $script -Destination "$keyBase/~/preserve/" @auth).Status | Sort-Object -Unique | Should -Be 'Completed'
        $remote = Join-Path $sshd.KeyUserData 'preserve'
        ModeOf (Join-Path $remote 'up.key') | Should -Be '600'
        ModeOf (Join-Path $remote 'up.sh') | Should -Be '755'
        foreach ($name in 'up.key', 'up.sh') {
            [math]::Abs(((Get-Item (Join-Path $remote $name)).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
        }
    }

    It 'a download keeps the mode and time of the server''s file' {
        $remote = New-Item -ItemType Directory -Force -Path (Join-Path $sshd.KeyUserData 'down')
        $file = New-TestFile -Path (Join-Path $remote 'down.key') -Size 8KB -Seed 3
        & chmod 754 -- $file  # (readable by the server's user, who is not the test's)
        (Get-Item $file).LastWriteTimeUtc = $old
        $out = Join-Path $work 'sftp-down'
        (Receive-Transfer -Source "$keyBase$file" -OutputDir $out @auth).Status | Should -Be 'Completed'
        ModeOf (Join-Path $out 'down.key') | Should -Be '754'
        [math]::Abs(((Get-Item (Join-Path $out 'down.key')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
    }
}

Describe 'Object stores keep time and mode in metadata' -Skip:$IsWindows {
    # storage:// keeps them in the item's metadata (mtime, mode: rclone's format) and gives them back on a receive;
    # a folder sync then compares by the kept time instead of sizes only.

    It 'LocalStore: a 0600 file goes in and comes back 0600 with its modification time' {
        $key = NewSource 'store.key' '600'
        (Send-Transfer -Path $key -Destination 'storage://LocalStore/preserve/').Status | Should -Be 'Completed'
        $item = @(Get-StorageItem -Prefix 'preserve/store.key')
        $item.Count | Should -Be 1
        $item[0].Metadata['mode'] | Should -Be '100600'
        $item[0].Metadata['mtime'] | Should -Be '1614834367.000000000'
        $out = Join-Path $work 'from-store'
        (Receive-Transfer -Source 'storage://LocalStore/preserve/store.key' -OutputDir $out).Status | Should -Be 'Completed'
        ModeOf (Join-Path $out 'store.key') | Should -Be '600'
        [math]::Abs(((Get-Item (Join-Path $out 'store.key')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
    }

    It 'LocalStore: -NoPreserve stores neither, and the receive gets the default mode' {
        $key = NewSource 'store-np.key' '600'
        (Send-Transfer -Path $key -Destination 'storage://LocalStore/preserve-np/' -NoPreserve).Status | Should -Be 'Completed'
        $item = Get-StorageItem -Prefix 'preserve-np/store-np.key'
        $item.Metadata.ContainsKey('mtime') | Should -BeFalse
        $item.Metadata.ContainsKey('mode') | Should -BeFalse
        $out = Join-Path $work 'from-store-np'
        $default = New-Item -ItemType File -Path (Join-Path $work 'default-mode-2.txt')
        (Receive-Transfer -Source 'storage://LocalStore/preserve-np/store-np.key' -OutputDir $out).Status | Should -Be 'Completed'
        ModeOf (Join-Path $out 'store-np.key') | Should -Be (ModeOf $default)
    }

    It 'Save-StorageItem keeps them too, and Export-StorageItem gives them back; -Metadata of its own stands' {
        $key = NewSource 'saved.key' '600'
        $item = Save-StorageItem -Path $key -Name 'saved/saved.key'
        $item.Metadata['mode'] | Should -Be '100600'
        $out = Join-Path $work 'exported.key'
        $item | Export-StorageItem -Destination $out | Out-Null
        ModeOf $out | Should -Be '600'
        [math]::Abs(((Get-Item $out).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
        $own = Save-StorageItem -Path $key -Name 'saved/own.key' -Metadata @{ mode = '100644' }
        $own.Metadata['mode'] | Should -Be '100644'
        $own.Metadata.ContainsKey('mtime') | Should -BeFalse
    }

    It 'SizeAndTime against a store compares by the kept time: a touched source of the same size is an update' {
        $src = New-Item -ItemType Directory -Path (Join-Path $work 'cmp-src')
        $file = New-TestFile -Path (Join-Path $src 'same-size.bin') -Size 2KB -Seed 5
        (Get-Item -LiteralPath $file).LastWriteTimeUtc = $old
        (Sync-TransferFolder -Path $src -Destination 'storage://LocalStore/cmp/').Copied | Should -Be 1
        Compare-TransferFolder -Path $src -Destination 'storage://LocalStore/cmp/' -Quiet | Should -BeTrue
        # Same size, another time: sizes alone would call it equal.
        (Get-Item -LiteralPath $file).LastWriteTimeUtc = $old.AddHours(1)
        $diff = @(Compare-TransferFolder -Path $src -Destination 'storage://LocalStore/cmp/')
        $diff.Count | Should -Be 1
        $diff[0].RelativePath | Should -Be 'same-size.bin'
        (Sync-TransferFolder -Path $src -Destination 'storage://LocalStore/cmp/').Updated | Should -Be 1
        Compare-TransferFolder -Path $src -Destination 'storage://LocalStore/cmp/' -Quiet | Should -BeTrue
    }

    It 'AzureBlob (azurite): a 0600 file comes back 0600 with its modification time' -Skip:(-not $IsLinux -or [bool]$env:TRANSFERTOOLS_SKIP_AZURITE) {
        $azurite = Start-TestAzurite
        try {
            Register-TransferPlugin -Name PreserveBlobs -Type AzureBlob -Configuration @{
                AccountUrl = $azurite.BlobEndpoint; AccountKey = $azurite.AccountKey; Container = 'tt-preserve' } | Out-Null
            $key = NewSource 'blob.key' '600'
            (Send-Transfer -Path $key -Destination 'storage://PreserveBlobs/keys/').Status | Should -Be 'Completed'
            $item = Get-StorageItem -Prefix 'keys/blob.key' -Storage PreserveBlobs
            $item.Metadata['mode'] | Should -Be '100600'
            $out = Join-Path $work 'from-blob'
            (Receive-Transfer -Source 'storage://PreserveBlobs/keys/blob.key' -OutputDir $out).Status | Should -Be 'Completed'
            ModeOf (Join-Path $out 'blob.key') | Should -Be '600'
            [math]::Abs(((Get-Item (Join-Path $out 'blob.key')).LastWriteTimeUtc - $old).TotalSeconds) | Should -BeLessOrEqual 1
        } finally { Stop-TestAzurite $azurite }
    }
}
