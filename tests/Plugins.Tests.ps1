BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Get-TransferPlugin' {
    It 'lists the built-in defaults without any registration' {
        $names = (Get-TransferPlugin).Name
        $names | Should -Contain 'FileSystem'
        $names | Should -Contain 'LocalStore'
        $names | Should -Contain 'Progress'
    }

    It 'filters by kind and by wildcard name' {
        (Get-TransferPlugin -Kind Storage).Name | Should -Contain 'LocalStore'
        (Get-TransferPlugin -Name 'File*').Name | Should -Be 'FileSystem'
    }

    It 'reports an unknown name as a non-terminating ObjectNotFound error' {
        Get-TransferPlugin -Name 'NoSuchPlugin' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'PluginNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'NoSuchPlugin'
    }
}

Describe 'Register-TransferPlugin' {
    It 'registers a built-in type, persists it, and a new session finds it' {
        $log = Join-Path $script:home_ 'events.jsonl'
        $info = Register-TransferPlugin -Name Events -Type EventLog -Configuration @{ Path = $log }
        $info.Name | Should -Be 'Events'
        $info.Kind | Should -Be 'Monitor'
        $info.State | Should -Be 'Active'

        Reset-TransferToolsSession
        (Get-TransferPlugin -Name Events).Type | Should -Be 'EventLog'
    }

    It 'refuses a duplicate name with ResourceExists and leaves the registry unchanged' {
        $before = Get-Content (Join-Path $script:home_ 'plugins.json') -Raw
        { Register-TransferPlugin -Name events -Type EventLog -Configuration @{ Path = 'x.jsonl' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'PluginNameInUse,TransferTools.Commands.RegisterTransferPluginCommand'
        Get-Content (Join-Path $script:home_ 'plugins.json') -Raw | Should -Be $before
    }

    It 'refuses an unknown type with ObjectNotFound naming the built-in types' {
        Register-TransferPlugin -Name X -Type NoSuchType -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UnknownPluginType,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -Match 'LocalStore'
        Get-TransferPlugin -Name X -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'refuses a bad configuration at Init, naming plugin and stage, and persists nothing' {
        Register-TransferPlugin -Name NoPath -Type EventLog -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'EventLogPathMissing,*'
        $err[0].Exception.Message | Should -Match 'NoPath \(Init\)'
        (Get-Content (Join-Path $script:home_ 'plugins.json') -Raw) | Should -Not -Match 'NoPath'
    }

    It 'stores secret configuration values protected, never in plain text' {
        $log = Join-Path $script:home_ 'secret-events.jsonl'
        $info = Register-TransferPlugin -Name SecretEvents -Type EventLog -Configuration @{ Path = $log; ApiToken = 'pa55-w0rd-xyz' }
        $info.Configuration['ApiToken'] | Should -Be '********'
        Get-ChildItem $script:home_ -Recurse -File | ForEach-Object { Get-Content $_.FullName -Raw } | Should -Not -Match 'pa55-w0rd-xyz'
    }

    It 'honours -WhatIf' {
        Register-TransferPlugin -Name WhatIfEvents -Type EventLog -Configuration @{ Path = 'w.jsonl' } -WhatIf
        Get-TransferPlugin -Name WhatIfEvents -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Unregister-TransferPlugin' {
    It 'removes a registration (by pipeline) and refuses a built-in default' {
        Get-TransferPlugin -Name SecretEvents | Unregister-TransferPlugin -Confirm:$false
        Get-TransferPlugin -Name SecretEvents -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        Unregister-TransferPlugin -Name LocalStore -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DefaultPluginNotRemovable,*'
    }
}

Describe 'Write-TransferMetric' {
    It 'reaches a registered EventLog monitor' {
        Write-TransferMetric -Name 'backup.files' -Value 42 -Tag @{ job = 'nightly' }
        $line = Get-Content (Join-Path $script:home_ 'events.jsonl') | Where-Object { $_ -match 'backup.files' } | Select-Object -Last 1
        $event = $line | ConvertFrom-Json
        $event.value | Should -Be 42
        $event.tags.job | Should -Be 'nightly'
        $event.requestId | Should -Not -BeNullOrEmpty
    }
}

Describe 'Sessions' {
    It 'acts as the local user with full rights when no auth plugin is registered' {
        $s = Get-TransferSession
        $s.IsAuthenticated | Should -BeTrue
        $s.User | Should -Be ([Environment]::UserName)
        Test-TransferAccess -Resource 'storage/LocalStore/x' -Action Delete | Should -BeTrue
    }

    It 'Connect-TransferService without an auth plugin explains what to do' {
        $cred = [pscredential]::new('u', (ConvertTo-SecureString 'p' -AsPlainText -Force))
        { Connect-TransferService -Credential $cred -ErrorAction Stop } | Should -Throw -ErrorId 'NoAuthPlugin,TransferTools.Commands.ConnectTransferServiceCommand'
    }
}
