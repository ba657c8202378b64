# Tab completion, as a user meets it: TabExpansion2 on a command line, against a real home with plugins, stored
# items and transfers.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
    $files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $files | Out-Null
    $a = New-TestFile -Path (Join-Path $files 'a.csv') -Size 100
    Save-StorageItem -Path $a -Name 'reports/2026/q1.csv' | Out-Null
    Save-StorageItem -Path $a -Name 'reports/2026/q2.csv' | Out-Null
    Save-StorageItem -Path $a -Name 'reports/summary.txt' | Out-Null
    $script:item = Save-StorageItem -Path $a -Name 'logs/app.log'
    Register-TransferPlugin -Name Events -Type EventLog -Configuration @{ Path = (Join-Path $script:home_ 'events.jsonl') } | Out-Null
    $script:transfer = Send-Transfer -Path $a -Destination (Join-Path $script:home_ 'inbox')
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Tab completion' {
    It 'completes plugin names' {
        (Complete 'Get-TransferPlugin -Name Ev').CompletionText | Should -Be 'Events'
        (Complete 'Get-TransferPlugin Lo').CompletionText | Should -Be 'LocalStore'
        (Complete 'Unregister-TransferPlugin -Name ').CompletionText | Should -Contain 'Events'
    }

    It 'completes plugin types with descriptions, and not with -Path' {
        $types = Complete 'Register-TransferPlugin -Name X -Type '
        $types.CompletionText | Should -Contain 'AzureBlob'
        $types.CompletionText | Should -Contain 'OpenTelemetry'
        $types.Count | Should -Be 13 # the built-in types, S3 and S3Bucket included
        ($types | Where-Object CompletionText -eq 'Sftp').ToolTip | Should -Match 'SFTP'
        (Complete 'Register-TransferPlugin -Type Loc').CompletionText | Should -Be @('LocalStore', 'LocalUsers')
        Complete 'Register-TransferPlugin -Path ./p.dll -Type ' | Should -BeNullOrEmpty
    }

    It 'completes storage names with storage plugins only' {
        $names = (Complete 'Get-StorageItem -Storage ').CompletionText
        $names | Should -Contain 'LocalStore'
        $names | Should -Not -Contain 'Events'
        $names | Should -Not -Contain 'FileSystem'
    }

    It 'completes storage prefixes one level at a time' {
        (Complete 'Get-StorageItem -Prefix rep').CompletionText | Should -Be 'reports/'
        (Complete 'Get-StorageItem -Prefix reports/').CompletionText | Should -Be @('reports/2026/', 'reports/summary.txt')
        (Complete 'Get-StorageItem ').CompletionText | Should -Be @('logs/', 'reports/')
    }

    It 'completes storage ids with the item name as tooltip' {
        $id = $script:item.Id
        $match = Complete "Remove-StorageItem -Id $($id.Substring(0, 6))"
        $match.CompletionText | Should -Contain $id
        ($match | Where-Object CompletionText -eq $id).ToolTip | Should -Match 'logs/app.log'
        (Complete "Export-StorageItem -Storage LocalStore -Id $($id.Substring(0, 6))").CompletionText | Should -Contain $id
    }

    It 'completes transfer ids, with name and status as tooltip' {
        $id = $script:transfer.Id
        $match = Complete "Get-TransferStatus -Id $($id.Substring(0, 4))"
        $match.CompletionText | Should -Contain $id
        ($match | Where-Object CompletionText -eq $id).ToolTip | Should -Match 'a\.csv.*Completed'
        (Complete "Wait-Transfer $($id.Substring(0, 4))").CompletionText | Should -Contain $id
        (Complete "Resume-Transfer -Id $($id.Substring(0, 4))").CompletionText | Should -Not -Contain $id -Because 'a completed transfer cannot be resumed'
    }

    It 'completes roles' {
        (Complete 'New-TransferUser -Credential $c -Role Con').CompletionText | Should -Be 'Contributor'
        (Complete 'Set-TransferUser -Name bob -Role ').CompletionText | Should -Be @('Admin', 'Contributor', 'Owner', 'Reader')
    }

    It 'completes auth plugin names only where an auth plugin is asked for' {
        # Last: once an auth plugin is registered, everything else here would need Connect-TransferService.
        Register-TransferPlugin -Name Users -Type LocalUsers | Out-Null
        (Complete 'Connect-TransferService -Plugin ').CompletionText | Should -Be 'Users'
        (Complete 'Get-TransferUser -Plugin U').CompletionText | Should -Be 'Users'
    }
}
