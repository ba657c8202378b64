# The storage cmdlets against every backend, like rclone's shared backend suite: the same scenarios run unchanged
# against the embedded LocalStore and an AzureBlob registration on Azurite.
BeforeDiscovery {
    $script:Backends = @(@{ Storage = 'LocalStore' })
    if ($IsLinux -and -not $env:TRANSFERTOOLS_SKIP_AZURITE) { $script:Backends += @{ Storage = 'Azure' } }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $script:files | Out-Null
    $script:azurite = $null
}

AfterAll {
    if ($script:azurite) { Stop-TestAzurite $script:azurite }
    Remove-TransferToolsTest $script:home_
}

Describe 'Storage cmdlets on <Storage>' -ForEach $script:Backends {
    BeforeAll {
        if ($Storage -eq 'Azure' -and -not (Get-TransferPlugin -Name Azure -ErrorAction SilentlyContinue)) {
            Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
            $script:azurite = Start-TestAzurite
            Register-TransferPlugin -Name Azure -Type AzureBlob -Configuration @{
                ConnectionString = $script:azurite.ConnectionString; Container = 'tt-suite' } | Out-Null
        }
        $dir = Join-Path $script:files $Storage
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        $a = New-TestFile -Path (Join-Path $dir 'a.bin') -Size 70000 -Seed 1
        $b = New-TestFile -Path (Join-Path $dir 'b.csv') -Size 10 -Seed 2
    }

    It 'saves piped files, with metadata and a guessed MIME type, and outputs items' {
        $items = Get-ChildItem $dir -File | Save-StorageItem -Storage $Storage -Prefix 'suite/' -Metadata @{ owner = 'ops'; 'spaced key' = 'ä value' }
        $items.Count | Should -Be 2
        $items[0].Storage | Should -Be $Storage
        $items.Name | Should -Be @('suite/a.bin', 'suite/b.csv')
        $items[1].MimeType | Should -Be 'text/csv'
        $items[0].Size | Should -Be 70000
        $items[0].Sha256 | Should -Be (Get-FileHash $a).Hash.ToLowerInvariant()
        $items[0].Metadata['spaced key'] | Should -Be 'ä value'
        $script:saved = $items
    }

    It 'gets items by id with their metadata, and by prefix in name order' {
        $one = Get-StorageItem -Id $script:saved[0].Id -Storage $Storage
        $one.Name | Should -Be 'suite/a.bin'
        $one.Metadata['owner'] | Should -Be 'ops'
        (Get-StorageItem -Prefix 'suite/' -Storage $Storage).Name | Should -Be @('suite/a.bin', 'suite/b.csv')
        (Get-StorageItem -Prefix 'suite/b' -Storage $Storage).Name | Should -Be 'suite/b.csv'
        Get-StorageItem -Prefix 'nothing-here/' -Storage $Storage | Should -BeNullOrEmpty
    }

    It 'pages with -First and -Skip across many items in (Name, Id) order' {
        1..25 | ForEach-Object { [IO.File]::WriteAllText((Join-Path $dir "p$_.txt"), "page $_") }
        $saved = 1..25 | ForEach-Object { Join-Path $dir "p$_.txt" } | Save-StorageItem -Storage $Storage -Prefix 'pages/'
        $saved.Count | Should -Be 25
        $all = Get-StorageItem -Prefix 'pages/' -Storage $Storage
        $all.Count | Should -Be 25
        $sorted = [string[]]($all.Name); [Array]::Sort($sorted, [StringComparer]::Ordinal)
        $all.Name | Should -Be $sorted
        $firstThree = Get-StorageItem -Prefix 'pages/' -First 3 -Storage $Storage
        $firstThree.Name | Should -Be $sorted[0..2]
        (Get-StorageItem -Prefix 'pages/' -Skip 23 -Storage $Storage).Name | Should -Be $sorted[23..24]
        $last = $firstThree[-1]
        (Get-StorageItem -Prefix 'pages/' -StartAfterName $last.Name -StartAfterId $last.Id -First 2 -Storage $Storage).Name | Should -Be $sorted[3..4]
    }

    It 'exports by pipeline, verified, atomically, refusing to overwrite without -Force' {
        $out = Join-Path $script:files "$Storage-out"
        New-Item -ItemType Directory -Path $out -Force | Out-Null
        $files = Get-StorageItem -Prefix 'suite/' -Storage $Storage | Export-StorageItem -Destination $out
        $files.Count | Should -Be 2
        $files[0] | Should -BeOfType [IO.FileInfo]
        (Get-FileHash $files[0].FullName).Hash | Should -Be (Get-FileHash $a).Hash
        Get-StorageItem -Prefix 'suite/a' -Storage $Storage | Export-StorageItem -Destination $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExportDestinationExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Get-StorageItem -Prefix 'suite/a' -Storage $Storage | Export-StorageItem -Destination (Join-Path $out 'renamed.bin') -Force |
            ForEach-Object Length | Should -Be 70000
        Get-ChildItem $out -Force -Filter '*.ttpart' | Should -BeNullOrEmpty

        # A trailing separator names a folder that is created when missing; a missing folder without one is an error.
        $fresh = Join-Path $script:files "$Storage-fresh"
        (Get-StorageItem -Prefix 'suite/a' -Storage $Storage | Export-StorageItem -Destination "$fresh/").Directory.FullName | Should -Be $fresh
        Get-StorageItem -Prefix 'suite/a' -Storage $Storage | Export-StorageItem -Destination (Join-Path $script:files "$Storage-nope/x.bin") -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExportFolderNotFound,*'
    }

    It 'measures the store' {
        $m = Measure-StorageItem -Storage $Storage
        $m.Storage | Should -Be $Storage
        $m.TotalItems | Should -Be 27
        $m.TotalSize | Should -Be (70000 + 10 + ((1..25 | ForEach-Object { "page $_".Length } | Measure-Object -Sum).Sum))
    }

    It 'reports unknown ids as ObjectNotFound and refuses unsafe ids as InvalidArgument, naming the id' {
        Get-StorageItem -Id '01AAAAAAAAAAAAAAAAAAAAAAAA' -Storage $Storage -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be '01AAAAAAAAAAAAAAAAAAAAAAAA'
        foreach ($bad in @('../../etc/passwd', "a`tb", ('x' * 300), '..', 'a\b')) {
            Get-StorageItem -Id $bad -Storage $Storage -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidItemId,*'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].TargetObject | Should -Be $bad
            Remove-StorageItem -Id $bad -Storage $Storage -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidItemId,*'
        }
        { Get-StorageItem -Prefix '../' -Storage $Storage -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidPrefix,TransferTools.Commands.GetStorageItemCommand'
        Save-StorageItem -Path $a -Name '../escape' -Storage $Storage -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidItemName,*'
    }

    It 'reports a missing file as non-terminating ObjectNotFound and stores nothing for it' {
        $before = (Measure-StorageItem -Storage $Storage).TotalItems
        $result = Save-StorageItem -LiteralPath (Join-Path $dir 'missing.txt'), $b -Storage $Storage -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        @($result).Count | Should -Be 1
        (Measure-StorageItem -Storage $Storage).TotalItems | Should -Be ($before + 1)
        $result | Remove-StorageItem -Confirm:$false
    }

    It 'refuses a named pipe as NotARegularFile instead of waiting for a writer, and stores the other files' -Skip:(-not $IsLinux -or $Storage -ne 'LocalStore') {
        $pipe = Join-Path $dir 'pipe'
        & mkfifo $pipe
        try {
            # In a child process with a time limit: opening a pipe for reading waits for a writer, and would hang this run.
            $command = "`$saved = @(Save-StorageItem -LiteralPath '$pipe', '$($b.FullName)' -Prefix 'pipes/' -ErrorVariable err -ErrorAction SilentlyContinue); " +
                "[pscustomobject]@{ Saved = @(`$saved.Name); ErrorId = `$err[0].FullyQualifiedErrorId; Category = [string]`$err[0].CategoryInfo.Category; " +
                "Target = [string]`$err[0].TargetObject; Message = `$err[0].Exception.Message } | ConvertTo-Json -Compress; `$saved | Remove-StorageItem -Confirm:`$false"
            $run = Invoke-InNewProcessWithTimeLimit -Command $command -Seconds 120
            $run.ExitCode | Should -Be 0 -Because 'timeout kills (124) a child that waits on the pipe'
            $r = $run.Result
            $r.Saved | Should -Be @('pipes/b.csv')
            $r.ErrorId | Should -BeLike 'NotARegularFile,*'
            $r.Category | Should -Be 'InvalidArgument'
            $r.Target | Should -Be $pipe
            $r.Message | Should -Be "'$pipe' is a named pipe (FIFO), not a file: only files are stored."
        } finally {
            Remove-Item $pipe
        }
    }

    It 'removes by pipeline, honours -WhatIf, and reports a second removal as ObjectNotFound' {
        $items = Get-StorageItem -Prefix 'pages/' -Storage $Storage
        $items | Remove-StorageItem -WhatIf
        (Get-StorageItem -Prefix 'pages/' -Storage $Storage).Count | Should -Be 25
        $items | Remove-StorageItem -Confirm:$false
        Get-StorageItem -Prefix 'pages/' -Storage $Storage | Should -BeNullOrEmpty
        Remove-StorageItem -Id $items[0].Id -Storage $Storage -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        (Measure-StorageItem -Storage $Storage).TotalItems | Should -Be 2
    }
}
