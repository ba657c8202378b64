#Requires -Modules Pester
# Issue 28 item 11: pruning the transfer history with Remove-TransferStatus.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $ProgressPreference = 'SilentlyContinue'
    $script:work = Join-Path $script:home_ 'work'
    New-Item -ItemType Directory -Path $script:work | Out-Null
    $script:small = New-TestFile -Path (Join-Path $script:work 'small.bin') -Size 2000
    $script:big = New-TestFile -Path (Join-Path $script:work 'big.bin') -Size 300000
    $script:journal = Join-Path $script:home_ 'journal'

    function Ids { @(Get-TransferStatus).Id }
    function Slow([string] $Into) {
        # Slow enough to stay running until stopped, and small enough for the suite.
        Send-Transfer -LiteralPath $script:big.FullName -Destination $Into -MaxBytesPerSecond 20KB -ChunkSize 64KB -Asynchronous
    }
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Remove-TransferStatus' {
    It 'removes a completed transfer by id: gone from the history and the journal, its delivered file kept' {
        $into = Join-Path $script:work 'done/'
        $t = Send-Transfer -LiteralPath $script:small.FullName -Destination $into
        $removed = Remove-TransferStatus -Id $t.Id -PassThru -Confirm:$false
        $removed.Id | Should -Be $t.Id
        $removed.Status | Should -Be 'Completed'
        Ids | Should -Not -Contain $t.Id
        { Get-TransferStatus -Id $t.Id -ErrorAction Stop } | Should -Throw -ErrorId 'TransferNotFound,*'
        @(Get-ChildItem -LiteralPath $script:journal -Filter "$($t.Id)*" -Force).Count | Should -Be 0
        Test-Path -LiteralPath (Join-Path $into 'small.bin') | Should -BeTrue
    }

    It 'removes a suspended transfer with its partial file, so nothing is left to resume' {
        $into = Join-Path $script:work 'suspended/'
        $t = Slow $into
        # Suspended once its partial holds some bytes (a wait, not a timed assertion).
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ((Get-TransferStatus -Id $t.Id).BytesTransferred -eq 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Suspend-Transfer -Id $t.Id -PassThru).Status | Should -Be 'Suspended'
        @(Get-ChildItem -LiteralPath $into -Filter '*.ttpart' -Force).Count | Should -Be 1
        Get-TransferStatus -Id $t.Id | Remove-TransferStatus -Confirm:$false
        Ids | Should -Not -Contain $t.Id
        @(Get-ChildItem -LiteralPath $into -Force | Where-Object Name -ne '.transfertools').Count | Should -Be 0
        @(Get-ChildItem -LiteralPath $script:journal -Filter "$($t.Id)*" -Force).Count | Should -Be 0
    }

    It 'never removes a running transfer: TransferRunning by id, passed over by -Before' {
        $t = Slow (Join-Path $script:work 'running/')
        try {
            $err = $null
            Remove-TransferStatus -Id $t.Id -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'TransferRunning,*'
            $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
            Remove-TransferStatus -Before (Get-Date).AddMinutes(1) -Confirm:$false -ErrorVariable err2 -ErrorAction SilentlyContinue
            $err2.Count | Should -Be 0
            (Get-TransferStatus -Id $t.Id).Status | Should -BeIn 'Active', 'Pending'
        } finally {
            Stop-Transfer -Id $t.Id -Confirm:$false | Out-Null
        }
        (Get-TransferStatus -Id $t.Id).Status | Should -Be 'Cancelled'
    }

    It 'removes by -Status only the transfers with that status, and by -Before only older ones' {
        $failed = Receive-Transfer -Source (Join-Path $script:work 'missing.bin') -OutputDir (Join-Path $script:work 'failed') -RetryCount 0 -ErrorAction SilentlyContinue
        $ok = Send-Transfer -LiteralPath $script:small.FullName -Destination (Join-Path $script:work 'by-status/')
        $failedIds = @(Get-TransferStatus -Status Failed).Id
        $failedIds.Count | Should -BeGreaterThan 0
        Remove-TransferStatus -Status Failed -Confirm:$false
        @(Get-TransferStatus -Status Failed).Count | Should -Be 0
        Ids | Should -Contain $ok.Id

        $cutoff = (Get-TransferStatus -Id $ok.Id).StartedAt
        $later = Send-Transfer -LiteralPath $script:small.FullName -Destination (Join-Path $script:work 'later/')
        Remove-TransferStatus -Before $cutoff.AddTicks(1).LocalDateTime -Confirm:$false
        Ids | Should -Not -Contain $ok.Id
        Ids | Should -Contain $later.Id
    }

    It 'removes members of a batch one by one, the others kept as they were' {
        $a = New-TestFile -Path (Join-Path $script:work 'm1.bin') -Size 1000 -Seed 1
        $b = New-TestFile -Path (Join-Path $script:work 'm2.bin') -Size 1000 -Seed 2
        $sent = @($a, $b | Send-Transfer -Destination (Join-Path $script:work 'batch/'))
        $sent.Count | Should -Be 2
        # Both in one batch journal: their ids end with the batch id.
        $sent[0].Id.Substring(16) | Should -Be $sent[1].Id.Substring(16)
        Remove-TransferStatus -Id $sent[0].Id -Confirm:$false
        Ids | Should -Not -Contain $sent[0].Id
        (Get-TransferStatus -Id $sent[1].Id).Status | Should -Be 'Completed'
        Remove-TransferStatus -Id $sent[1].Id -Confirm:$false
        Ids | Should -Not -Contain $sent[1].Id
        @(Get-ChildItem -LiteralPath $script:journal -Filter "$($sent[1].Id.Substring(16))*" -Force).Count | Should -Be 0
    }

    It 'refuses to run without -Id, -Before or -Status' {
        { Remove-TransferStatus -PassThru -ErrorAction Stop } | Should -Throw -ErrorId 'RemoveFilterMissing,*'
    }
}

Describe 'Transfer history as JSON' {
    It 'writes statuses and other enums by name, not by number' {
        $t = Send-Transfer -LiteralPath $script:small.FullName -Destination (Join-Path $script:work 'json/')
        $json = Get-TransferStatus -Id $t.Id | ConvertTo-Json -Depth 2
        $json | Should -Match '"Status":\s*"Completed"'
        $json | Should -Match '"Direction":\s*"\w+"'
        $back = $json | ConvertFrom-Json
        $back.Status | Should -Be 'Completed'
    }
}
