#Requires -Modules Pester
# Manifests do not litter or travel (issue 28, item 3): one manifest folder per command at the destination root, none
# in the subfolders of a tree, never sent on as data, none at all with -NoManifest; still found by Receive -TransferId.

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

    # Every .transfertools folder under $Path, relative to it ('/'-separated, '.' for $Path's own).
    function Get-ManifestFolder([string] $Path) {
        $root = (Resolve-Path -LiteralPath $Path).ProviderPath.TrimEnd('/', '\')
        @(Get-ChildItem -LiteralPath $Path -Recurse -Force -Directory | Where-Object Name -eq '.transfertools' | ForEach-Object {
                $parent = $_.Parent.FullName.TrimEnd('/', '\')
                if ($parent -eq $root) { '.' } else { $parent.Substring($root.Length + 1).Replace('\', '/') }
            })
    }

    $script:src = New-Folder 'tree'
    $script:files = New-TestTree -Path $script:src
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Manifests of a tree sent with -Recurse' {
    It 'leaves .transfertools only in the destination folder, and every file is received by id from the root, its own folder or the journal' {
        $dest = New-Folder 'recurse-dest'
        $sent = @(Send-Transfer -Path $script:src -Recurse -Destination $dest)
        $sent.Status | Sort-Object -Unique | Should -Be 'Completed'
        Get-ManifestFolder $dest | Should -Be @('.')
        # One manifest file for the whole command, naming each file by its path below the root.
        $manifests = @(Get-ChildItem -Force (Join-Path $dest '.transfertools'))
        $manifests.Count | Should -Be 1
        $lines = @(Get-Content -LiteralPath $manifests[0].FullName | ConvertFrom-Json)
        $lines.name | Sort-Object | Should -Be @($script:files | ForEach-Object { "tree/$_" } | Sort-Object)

        $deep = $sent | Where-Object Source -eq (Join-Path $script:src 'a/b/y.bin')
        $deep | Should -Not -BeNullOrEmpty
        $expected = Get-Sha (Join-Path $script:src 'a/b/y.bin')
        foreach ($case in @(
                @{ Source = $dest; Out = 'inbox-root' }
                @{ Source = (Join-Path $dest 'tree/a/b'); Out = 'inbox-own' }
                @{ Source = $null; Out = 'inbox-journal' })) {
            $out = Join-Path $script:work $case.Out
            $source = if ($case.Source) { @{ Source = $case.Source } } else { @{} }
            $r = Receive-Transfer -TransferId $deep.Id @source -OutputDir $out
            $r.Status | Should -Be 'Completed' -Because "received with -Source '$($case.Source)'"
            Get-Sha (Join-Path $out 'y.bin') | Should -Be $expected
        }
    }

    It 'does not send .transfertools on when a received tree is forwarded, nor nest .transfertools/.transfertools' {
        $first = New-Folder 'hop1'
        Send-Transfer -Path $script:src -Recurse -Destination $first | Out-Null
        # The first hop's destination, with its manifest folder, is the next hop's source.
        $second = New-Folder 'hop2'
        $sent = @(Send-Transfer -Path $first -Recurse -Destination $second)
        $sent.Count | Should -Be $script:files.Count -Because 'only the files of the tree travel'
        Get-ManifestFolder $second | Should -Be @('.')
        Get-ChildItem -LiteralPath $second -Recurse -Force -Directory | Where-Object { $_.FullName -match '\.transfertools[\\/]\.transfertools' } | Should -BeNullOrEmpty
        foreach ($relative in $script:files) {
            Get-Sha (Join-Path $second "hop1/tree/$relative") | Should -Be (Get-Sha (Join-Path $script:src $relative))
        }
    }

    It 'leaves no manifest with -NoManifest, piped, with -Recurse or alone' {
        $dest = New-Folder 'none'
        (Send-Transfer -Path $script:src -Recurse -Destination $dest -NoManifest).Status | Sort-Object -Unique | Should -Be 'Completed'
        (Get-ChildItem -File -Recurse $script:src -Filter '*r*' | Send-Transfer -Destination "$dest/piped/" -NoManifest).Status | Sort-Object -Unique | Should -Be 'Completed'
        $one = Send-Transfer -Path (Join-Path $script:src 'x.bin') -Destination "$dest/one/" -NoManifest
        $one.Status | Should -Be 'Completed'
        Get-ManifestFolder $dest | Should -BeNullOrEmpty
        { Receive-Transfer -TransferId $one.Id -Source "$dest/one/" -OutputDir (Join-Path $script:work 'none-inbox') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ManifestNotFound*'
    }

    It 'keeps -NoManifest for a resumed send' {
        $big = New-TestFile -Path (Join-Path $script:work 'big.bin') -Size 256KB -Seed 9
        $dest = New-Folder 'none-resumed'
        $t = Send-Transfer -Path $big -Destination "$dest/" -NoManifest -ChunkSize 16KB -MaxBytesPerSecond 32KB -Asynchronous
        Start-Sleep -Milliseconds 500
        Suspend-Transfer -Id $t.Id | Out-Null
        (Resume-Transfer -Id $t.Id -MaxBytesPerSecond 0).Status | Should -Be 'Completed'
        Get-ManifestFolder $dest | Should -BeNullOrEmpty
    }
}
