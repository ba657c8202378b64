@{
    RootModule             = 'TransferTools.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '5b0f3c52-8e0c-4f4e-9a43-6f1d2f7c9a11'
    Author                 = 'TransferTools contributors'
    CompanyName            = 'TransferTools'
    Copyright              = '(c) 2026 TransferTools contributors. MIT License.'
    Description            = 'Moves files reliably from PowerShell: send, receive, resume after a crash, store, list and watch, over the file system, SFTP, HTTP(S) and storage backends, on a plugin engine (auth, storage, protocol, monitor).'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Core', 'Desktop')
    FormatsToProcess       = @('TransferTools.format.ps1xml')
    TypesToProcess         = @()
    CmdletsToExport        = @(
        'Register-TransferPlugin', 'Unregister-TransferPlugin', 'Get-TransferPlugin',
        'Connect-TransferService', 'Disconnect-TransferService', 'Update-TransferSession', 'Get-TransferSession', 'Test-TransferAccess',
        'New-TransferUser', 'Get-TransferUser', 'Set-TransferUser', 'Remove-TransferUser',
        'Send-Transfer', 'Receive-Transfer', 'Get-TransferStatus', 'Remove-TransferStatus', 'Stop-Transfer', 'Suspend-Transfer', 'Resume-Transfer', 'Wait-Transfer',
        'Save-StorageItem', 'Get-StorageItem', 'Export-StorageItem', 'Remove-StorageItem', 'Measure-StorageItem',
        'Write-TransferMetric',
        'Start-TransferAgent', 'Register-TransferAgent', 'Unregister-TransferAgent', 'Get-TransferAgent',
        'Sync-TransferFolder', 'Compare-TransferFolder'
    )
    FunctionsToExport      = @()
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('transfer', 'sftp', 'http', 'webdav', 'resume', 'azure', 'blob', 'storage', 'file-transfer', 'PSEdition_Core', 'PSEdition_Desktop', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://github.com/transfertools/TransferTools/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/transfertools/TransferTools'
            ReleaseNotes = '0.1.0: first release. Resumable, verified transfers over the file system, SFTP, HTTP(S) and storage backends; local and Azure Blob storage; LocalUsers and OIDC sign-in; EventLog and OpenTelemetry monitors; third-party plugins in isolated load contexts. Full notes: https://github.com/transfertools/TransferTools/blob/main/CHANGELOG.md'
        }
    }
}
