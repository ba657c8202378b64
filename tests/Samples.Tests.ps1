# The sample plugins under samples/ build with dotnet build, register with Register-TransferPlugin -Path and work
# through the cmdlets, as docs/plugin-authoring.md tells a new author.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $repo = Split-Path $PSScriptRoot
    $log = & dotnet build (Join-Path $repo 'samples/samples.sln') -c Release --nologo -v quiet -clp:ErrorsOnly 2>&1
    if ($LASTEXITCODE -ne 0) { throw "dotnet build samples failed: $($log -join "`n")" }
    function Get-SamplePath([string] $Name) { Join-Path $repo "samples/$Name/bin/Release/netstandard2.0/$Name.dll" }
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Sample plugins' {
    It 'CsvMonitor records metrics as CSV rows' {
        $csv = Join-Path $home_ 'metrics.csv'
        $info = Register-TransferPlugin -Path (Get-SamplePath CsvMonitor) -Configuration @{ Path = $csv }
        $info.Name | Should -Be 'CsvMonitorPlugin'
        $info.Kind | Should -Be 'Monitor'
        $info.State | Should -Be 'Active'
        Write-TransferMetric -Name samples.check -Value 7 -Tag @{ job = 'pester' }
        Unregister-TransferPlugin -Name CsvMonitorPlugin -Confirm:$false   # Shutdown flushes and closes the file
        $rows = Import-Csv $csv
        $row = $rows | Where-Object name -eq 'samples.check'
        $row.event | Should -Be 'metric'
        $row.value | Should -Be '7'
        $row.detail | Should -Be 'job=pester'
    }

    It 'FolderStore and MemoryProtocol register and load' {
        (Register-TransferPlugin -Name Folder -Path (Get-SamplePath FolderStore) -Configuration @{ Root = (Join-Path $home_ 'folder-store') }).Kind | Should -Be 'Storage'
        (Register-TransferPlugin -Name Memory -Path (Get-SamplePath MemoryProtocol)).Kind | Should -Be 'Protocol'
        (Get-TransferPlugin -Name Folder, Memory -Load).State | Should -Be @('Active', 'Active')
    }

    It 'a bad configuration is refused with the plugin''s own error id' {
        Register-TransferPlugin -Name NoRoot -Path (Get-SamplePath FolderStore) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FolderStoreRootMissing,*'
    }

    It 'ApiKeyAuth signs in with an API key, authorizes by role and signs out' {
        Register-TransferPlugin -Name Keys -Path (Get-SamplePath ApiKeyAuth) -Configuration @{ ApiKeys = 'alice:Reader:alice-key-0001' } | Out-Null
        (Get-Content (Join-Path $home_ 'plugins.json') -Raw) | Should -Not -Match 'alice-key-0001'
        $session = Connect-TransferService -Token (ConvertTo-SecureString 'alice-key-0001' -AsPlainText -Force)
        $session.User | Should -Be 'alice'
        Test-TransferAccess -Resource 'storage/LocalStore/a' -Action Read | Should -BeTrue
        Test-TransferAccess -Resource 'storage/LocalStore/a' -Action Delete | Should -BeFalse
        Disconnect-TransferService -Confirm:$false
        (Get-TransferSession).IsAuthenticated | Should -BeFalse
    }
}
