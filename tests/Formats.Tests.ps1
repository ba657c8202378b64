# Format views: every public output type of every cmdlet ([OutputType]) has a default table view, and that table
# shows all its columns within 80 and within 120 characters (logs of runbooks and cron jobs are formatted at 80), with
# sizes in human units and the file names of deep paths visible. Data-driven over the module's cmdlets:
# a new output type without a view, or without a sample below, fails here.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-TestModulePath) -Force
    # Types PowerShell formats itself.
    $builtIn = '^System\.(Boolean|String|Void|IO\.FileInfo|IO\.FileSystemInfo|Object)$'
    $script:outputTypes = @(Get-Command -Module TransferTools -CommandType Cmdlet | ForEach-Object OutputType |
        ForEach-Object Name | Where-Object { $_ -notmatch $builtIn } | Sort-Object -Unique | ForEach-Object { @{ TypeName = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $ProgressPreference = 'SilentlyContinue'
    $files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $files, (Join-Path $script:home_ 'inbox') | Out-Null
    $long = 'a-rather-long-folder-name-for-reports/' * 3
    $file = New-TestFile -Path (Join-Path $files 'quarterly-report-with-a-long-name.csv') -Size 1536KB

    # One real object per output type, made the way users make them, in this order; long values on purpose.
    $script:samples = [ordered]@{
        'TransferTools.Abstractions.Transfer'       = { Send-Transfer -Path $file -Destination (Join-Path $script:home_ 'inbox') }
        'TransferTools.Engine.Hosting.PluginInfo'   = { Get-TransferPlugin }
        'TransferTools.Engine.Auth.SessionInfo'     = { Get-TransferSession }
        'TransferTools.Engine.Storage.StorageItem'  = { Save-StorageItem -Path $file -Name ($long + 'q3.csv') -Metadata @{ owner = 'finance' } }
        'TransferTools.Engine.Storage.StorageStatistics' = { Measure-StorageItem }
        'TransferTools.Engine.Agent.TransferAgentInfo' = { Get-TransferAgent }
        'TransferTools.Engine.Sync.SyncResult'      = { Sync-TransferFolder -Path $files -Destination (Join-Path $script:home_ ('mirror/' + $long)) }
        'TransferTools.Engine.Sync.FolderDifference' = { Compare-TransferFolder -Path $files -Destination (Join-Path $script:home_ 'compared') }
        # Last: registering an auth plugin makes every later command need a session.
        'TransferTools.Abstractions.UserInfo'        = {
            Register-TransferPlugin -Type LocalUsers | Out-Null
            $cred = [pscredential]::new('administrator-with-long-name', (ConvertTo-SecureString 'Adm1n-Sekr1t-Pa55' -AsPlainText -Force))
            New-TransferUser -Credential $cred -Role Admin
            Connect-TransferService -Credential $cred | Out-Null
            $runbook = [pscredential]::new('nightly-backup-runbook', (ConvertTo-SecureString 'Rdr-Sekr1t-Pa55-77' -AsPlainText -Force))
            New-TransferUser -Credential $runbook -Role Reader, Contributor -Scope 'storage/LocalStore/reports/*', 'transfer/sftp://files.example.com/inbox/*'
        }
    }
    $script:objects = @{}
    foreach ($name in @($script:samples.Keys)) {
        $script:objects[$name] = @(& $script:samples[$name])
    }
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Format view for <TypeName>' -ForEach $script:outputTypes {
    BeforeDiscovery { $script:widths = @(80, 120) }

    It 'has a default table view' {
        $views = @(Get-FormatData -TypeName $TypeName -PowerShellVersion $PSVersionTable.PSVersion)
        $views | Should -Not -BeNullOrEmpty -Because "$TypeName needs a view in src/TransferTools/Formats/<Area>.format.ps1xml"
        $first = $views[0].FormatViewDefinition | Select-Object -First 1
        $first.Control.GetType().Name | Should -Be 'TableControl' -Because 'the first view of a type is its default, and it should be a table'
    }

    It 'renders a real object in <_> columns with every column shown' -ForEach $script:widths {
        $width = $_
        $samples.Contains($TypeName) | Should -BeTrue -Because "add a sample $TypeName to tests/Formats.Tests.ps1"
        $objects = $objects[$TypeName]
        $objects | Should -Not -BeNullOrEmpty
        $text = $objects | Format-Table | Out-String -Width $width
        $lines = $text -split "`r?`n" | Where-Object { $_.Trim() }
        foreach ($line in $lines) { $line.TrimEnd().Length | Should -BeLessOrEqual $width -Because "'$line' is too wide" }
        $table = (Get-FormatData -TypeName $TypeName -PowerShellVersion $PSVersionTable.PSVersion)[0].FormatViewDefinition[0].Control
        $headers = @($table.Headers | ForEach-Object Label | Where-Object { $_ })
        $headerLine = $lines | Select-Object -First 1
        foreach ($h in $headers) { $headerLine | Should -Match ([regex]::Escape($h)) -Because "column '$h' must fit in $width columns" }
        # A header squeezed into a narrow column is stacked one letter a line: the line under the headers is the rule.
        $lines[1] | Should -Match '^[-\s]+$' -Because "every header fits on one line at $width columns"
    }
}

Describe 'File names at 80 and 120 columns' {
    BeforeAll {
        $deep = Join-Path $script:home_ 'files/projects/finance/2026/sub1/deep'
        $into = Join-Path $script:home_ 'inbox/archive/2026/'
        New-Item -ItemType Directory -Path $deep, $into -Force | Out-Null
        $script:deepTransfers = @((New-TestFile -Path (Join-Path $deep 't3.txt') -Size 2KB),
            (New-TestFile -Path (Join-Path $deep 'report 2026.csv') -Size 3KB) | Send-Transfer -Destination $into)
        $script:deepItem = Save-StorageItem -Path (Join-Path $deep 't3.txt') -Name 'reports/finance/2026/sub1/deep/t3.txt'
    }

    It 'shows where each file came from and went, by name, at <_> columns' -ForEach 80, 120 {
        $script:deepTransfers.Count | Should -Be 2
        $lines = ($script:deepTransfers | Out-String -Width $_) -split "`r?`n"
        foreach ($name in 't3.txt', 'report 2026.csv') {
            $row = @($lines | Where-Object { $_.Contains($name) })
            $row.Count | Should -Be 1 -Because "one row names $name"
            ([regex]::Matches($row[0], [regex]::Escape($name))).Count | Should -Be 2 -Because "'$($row[0])' shows $name as source and destination"
        }
        ($lines -join "`n") | Should -Match ([regex]::Escape('archive')) -Because 'the destination folder shows as far as it fits'
    }

    It 'shows a stored item by name at <_> columns' -ForEach 80, 120 {
        ($script:deepItem | Out-String -Width $_) | Should -Match ([regex]::Escape('/deep/t3.txt'))
    }
}

Describe 'Human units' {
    It 'shows sizes of transfers, items and stores in units, not bytes' {
        foreach ($type in 'TransferTools.Abstractions.Transfer', 'TransferTools.Engine.Storage.StorageItem', 'TransferTools.Engine.Storage.StorageStatistics') {
            $text = $objects[$type] | Format-Table | Out-String -Width 120
            $text | Should -Match '\d(\.\d+)? (KiB|MiB|KB|MB)\b' -Because "$type shows its size in human units"
            $text | Should -Not -Match '\b1572864\b' -Because "$type does not show a raw byte count"
        }
    }
}
