# storage:// as a transfer endpoint: Send-Transfer into a store and Receive-Transfer out of it, through the engine.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $script:files | Out-Null
    $script:src = New-TestFile -Path (Join-Path $script:files 'report.bin') -Size (3MB + 17) -Seed 21
    $script:hash = (Get-FileHash $script:src).Hash.ToLowerInvariant()
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'storage:// endpoint' {
    It 'sends a file into the local store under a prefix, verified, with a manifest item beside it' {
        $t = Send-Transfer -Path $script:src -Destination 'storage://LocalStore/incoming/' -ChunkSize 1MB
        $t.Status | Should -Be 'Completed'
        $t.Sha256 | Should -Be $script:hash
        $item = Get-StorageItem -Prefix 'incoming/report.bin'
        @($item).Count | Should -Be 1
        $item.Sha256 | Should -Be $script:hash
        $item.Size | Should -Be (3MB + 17)
        Get-StorageItem -Prefix 'incoming/.transfertools/' | Should -Not -BeNullOrEmpty
        Get-ChildItem (Join-Path $script:home_ 'plugins/Storage/staging') -File -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $script:sent = $t
    }

    It 'refuses to replace an existing item unless asked' {
        Send-Transfer -Path $script:src -Destination 'storage://LocalStore/incoming/' -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        (Send-Transfer -Path $script:src -Destination 'storage://LocalStore/incoming/' -Conflict Overwrite).Status | Should -Be 'Completed'
        @(Get-StorageItem -Prefix 'incoming/report.bin').Count | Should -Be 1
    }

    It 'receives an item by id and by name, verified' {
        $item = Get-StorageItem -Prefix 'incoming/report.bin'
        $out = New-Item -ItemType Directory (Join-Path $script:files 'by-id')
        $r = Receive-Transfer -Source "storage://LocalStore/$($item.Id)" -OutputDir $out.FullName
        $r.Status | Should -Be 'Completed'
        $r.Sha256 | Should -Be $script:hash
        Split-Path $r.Destination -Leaf | Should -Be 'report.bin' -Because 'an item received by id keeps its own name'
        (Get-FileHash $r.Destination).Hash.ToLowerInvariant() | Should -Be $script:hash

        $out2 = New-Item -ItemType Directory (Join-Path $script:files 'by-name')
        $r2 = Receive-Transfer -Source 'storage://LocalStore/incoming/report.bin' -OutputDir $out2.FullName
        $r2.Status | Should -Be 'Completed'
        Split-Path $r2.Destination -Leaf | Should -Be 'report.bin'
        (Get-FileHash $r2.Destination).Hash.ToLowerInvariant() | Should -Be $script:hash
    }

    It 'receives a sent transfer by its id through the manifest in the store' {
        $first = Send-Transfer -Path $script:src -Destination 'storage://LocalStore/by-transfer/'
        $out = New-Item -ItemType Directory (Join-Path $script:files 'by-transfer')
        $r = Receive-Transfer -TransferId $first.Id -Source 'storage://LocalStore/by-transfer/' -OutputDir $out.FullName
        $r.Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $out.FullName 'report.bin')).Hash.ToLowerInvariant() | Should -Be $script:hash
    }

    It 'reports a missing item and an unknown storage clearly' {
        $out = New-Item -ItemType Directory (Join-Path $script:files 'missing')
        Receive-Transfer -Source 'storage://LocalStore/no/such/item' -OutputDir $out.FullName -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        ($err | Select-Object -First 1).CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Send-Transfer -Path $script:src -Destination 'storage://NoSuchStore/x/' -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        ($err | Select-Object -First 1).CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}
