# LocalStore specifics: deduplication, concurrency across runspaces and processes, crash leftovers and the sweep.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $script:files | Out-Null
    $script:store = Join-Path $script:home_ 'store'
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'LocalStore' {
    It 'stores content once however often it is saved, and keeps it until the last item goes' {
        $f = New-TestFile -Path (Join-Path $script:files 'same.bin') -Size 5000 -Seed 7
        $one = Save-StorageItem $f -Name 'dup/one'
        $two = Save-StorageItem $f -Name 'dup/two'
        $one.Id | Should -Not -Be $two.Id
        $one.Sha256 | Should -Be $two.Sha256
        @(Get-ChildItem (Join-Path $script:store 'blobs') -Recurse -File).Count | Should -Be 1
        $one | Remove-StorageItem -Confirm:$false
        @(Get-ChildItem (Join-Path $script:store 'blobs') -Recurse -File).Count | Should -Be 1
        $out = Join-Path $script:files 'two.out'
        $two | Export-StorageItem -Destination $out | Out-Null
        (Get-FileHash $out).Hash | Should -Be (Get-FileHash $f).Hash
        $two | Remove-StorageItem -Confirm:$false
        @(Get-ChildItem (Join-Path $script:store 'blobs') -Recurse -File).Count | Should -Be 0
    }

    It 'saves and exports an item large enough to be written behind, intact' {
        # Past 64 MiB the store's temporary and the exported file are written behind (Linux): handed to the disk as they
        # are written and dropped from the page cache; the bytes must not notice.
        $f = New-TestFile -Path (Join-Path $script:files 'large.bin') -Size (70MB + 123) -Seed 11
        $item = Save-StorageItem $f -Name 'large/one'
        $item.Sha256 | Should -Be (Get-FileHash $f).Hash.ToLowerInvariant()
        $out = Join-Path $script:files 'large.out'
        $item | Export-StorageItem -Destination $out | Out-Null
        (Get-FileHash $out).Hash | Should -Be (Get-FileHash $f).Hash
        $item | Remove-StorageItem -Confirm:$false
        Remove-Item $f, $out
    }

    It 'loses nothing when four runspaces save at once' {
        $module = Get-TestModulePath
        $dir = Join-Path $script:files 'rs'
        New-Item -ItemType Directory -Path $dir | Out-Null
        $jobs = foreach ($r in 1..4) {
            $ps = [PowerShell]::Create()
            $null = $ps.AddScript({
                param($Module, $Dir, $R)
                Import-Module $Module
                foreach ($i in 1..40) {
                    $p = Join-Path $Dir "r$R-$i.txt"
                    # Runspaces 1 and 2 save the same content too, to race deduplication.
                    [IO.File]::WriteAllText($p, $(if ($R -le 2) { "shared $i" } else { "runspace $R item $i" }))
                    Save-StorageItem -LiteralPath $p -Name "rs/$R/$i" -ErrorAction Stop | Out-Null
                }
            }).AddArgument($module).AddArgument($dir).AddArgument($r)
            [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke() }
        }
        foreach ($j in $jobs) {
            $j.PowerShell.EndInvoke($j.Handle)
            $j.PowerShell.Streams.Error | Should -BeNullOrEmpty
            $j.PowerShell.Dispose()
        }
        $items = Get-StorageItem -Prefix 'rs/'
        $items.Count | Should -Be 160
        (Measure-StorageItem).TotalItems | Should -Be 160
        @(Get-ChildItem (Join-Path $script:store 'blobs') -Recurse -File).Count | Should -Be 120
        $items | Where-Object Name -like 'rs/1/*' | Select-Object -First 3 | ForEach-Object {
            $out = Join-Path $script:files "$($_.Id).out"
            $_ | Export-StorageItem -Destination $out | Out-Null
            Get-Content $out -Raw | Should -Match '^shared \d+$'
        }
    }

    It 'stays consistent when two processes save and delete at once' {
        $script = {
            param($Module, $Tag, $Dir)
            Import-Module $Module
            $saved = foreach ($i in 1..30) {
                $p = Join-Path $Dir "$Tag-$i.txt"
                [IO.File]::WriteAllText($p, "common $($i % 5)")
                Save-StorageItem -LiteralPath $p -Name "proc/$Tag/$i" -ErrorAction Stop
            }
            # Each process deletes half of what it saved while the other still saves the same contents.
            $saved | Select-Object -First 15 | Remove-StorageItem -Confirm:$false -ErrorAction Stop
            'done'
        }
        $dir = Join-Path $script:files 'procs'
        New-Item -ItemType Directory -Path $dir | Out-Null
        $pwsh = Join-Path $PSHOME 'pwsh'
        $module = Get-TestModulePath
        $scriptFile = Join-Path $dir 'worker.ps1'
        Set-Content -Path $scriptFile -Value $script.ToString()
        $procs = foreach ($tag in 'A', 'B') {
            Start-Process -FilePath $pwsh -ArgumentList '-NoProfile', '-NonInteractive', '-File', $scriptFile, $module, $tag, $dir -PassThru `
                -RedirectStandardOutput (Join-Path $dir "$tag.out") -RedirectStandardError (Join-Path $dir "$tag.err")
        }
        $procs | Wait-Process -Timeout 120
        foreach ($tag in 'A', 'B') {
            Get-Content (Join-Path $dir "$tag.out") -Raw | Should -Match 'done'
            Get-Content (Join-Path $dir "$tag.err") -Raw | Should -BeNullOrEmpty
        }
        $items = Get-StorageItem -Prefix 'proc/'
        $items.Count | Should -Be 30
        (Measure-StorageItem).TotalItems | Should -Be ((Get-StorageItem).Count)
        # Every remaining item's blob is there and verifies.
        foreach ($item in $items) {
            $out = Join-Path $dir "$($item.Id).out"
            $item | Export-StorageItem -Destination $out | Out-Null
            Get-Content $out -Raw | Should -Match '^common \d$'
        }
    }

    It 'sweeps temporary files and unreferenced blobs left by a crash, and nothing else' {
        Reset-TransferToolsSession
        $tmp = Join-Path $script:store 'tmp/crashed.tmp'
        Set-Content $tmp 'partial'
        $orphanDir = Join-Path $script:store 'blobs/00/00'
        New-Item -ItemType Directory -Path $orphanDir -Force | Out-Null
        $orphan = Join-Path $orphanDir ('0000' + ('a' * 60))
        Set-Content $orphan 'orphan'
        foreach ($f in $tmp, $orphan) { (Get-Item $f).LastWriteTimeUtc = [DateTime]::UtcNow.AddHours(-3) }
        $before = (Get-StorageItem).Count
        $plugin = [TransferTools.Engine.BuiltIn.LocalStore.LocalStorePlugin]::new()
        $config = [Collections.Generic.Dictionary[string, string]]::new()
        $config['Path'] = $script:store
        $config['SweepIntervalHours'] = '0'
        $plugin.InitAsync([TransferTools.Abstractions.OperationContext]::new(), $config).GetAwaiter().GetResult()
        try {
            $result = $plugin.SweepAsync([TimeSpan]::FromMinutes(30), [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        } finally { $plugin.Dispose() }
        $result.TempFilesRemoved | Should -Be 1
        $result.OrphanBlobsRemoved | Should -Be 1
        Test-Path $tmp | Should -BeFalse
        Test-Path $orphan | Should -BeFalse
        (Get-StorageItem).Count | Should -Be $before
        Get-StorageItem | Select-Object -First 5 | Export-StorageItem -Destination (New-Item -ItemType Directory (Join-Path $script:files 'after-sweep')).FullName | Should -HaveCount 5
    }
}
