# LocalUsers, the session cmdlets and enforcement, against the built module.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    function New-Cred([string] $Name, [string] $Password) {
        [pscredential]::new($Name, (ConvertTo-SecureString $Password -AsPlainText -Force))
    }
    $script:adminPassword = 'Adm1n-Sekr1t-Pa55'
    $script:readerPassword = 'Rdr-Sekr1t-Pa55-77'
    $script:admin = New-Cred 'admin' $script:adminPassword
    $script:reader = New-Cred 'runbook' $script:readerPassword
    $script:helper = New-Cred 'helper' 'Helper-Sekr1t-Pa55'
    $script:eventLog = Join-Path $script:home_ 'auth-events.jsonl'
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Bootstrap: Register LocalUsers, create the first Admin, connect' {
    It 'registers LocalUsers as the local user while no auth plugin exists' {
        Register-TransferPlugin -Type LocalUsers -Configuration @{ MaxFailedSignIns = 3; LockoutSeconds = 600 } | Select-Object -ExpandProperty State | Should -Be 'Active'
    }

    It 'now refuses operations without a session, telling the user to connect' {
        { Write-TransferMetric -Name 'm' -Value 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'NotConnected,TransferTools.Commands.WriteTransferMetricCommand'
        $err = $null
        Write-TransferMetric -Name 'm' -Value 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].Exception.Message | Should -Match 'Connect-TransferService'
    }

    It 'still shows plugins and the session without sign-in (read-only metadata)' {
        (Get-TransferPlugin -Name LocalUsers).Kind | Should -Be 'Auth'
        $s = Get-TransferSession
        $s.IsAuthenticated | Should -BeFalse
        $s.AuthPlugins | Should -Contain 'LocalUsers'
    }

    It 'refuses a non-Admin first user' {
        { New-TransferUser -Credential $script:reader -Role Reader -ErrorAction Stop } |
            Should -Throw -ErrorId 'FirstUserMustBeAdmin,TransferTools.Commands.NewTransferUserCommand'
    }

    It 'creates the first Admin without a session, then requires one for the next user' {
        $u = New-TransferUser -Credential $script:admin -Role Admin
        $u.Name | Should -Be 'admin'
        $u.Roles | Should -Be @('Admin')
        { New-TransferUser -Credential $script:reader -Role Reader -ErrorAction Stop } |
            Should -Throw -ErrorId 'NotConnected,TransferTools.Commands.NewTransferUserCommand'
    }

    It 'stores a salted PBKDF2-SHA256 hash with at least 600,000 iterations, never the password' {
        $file = Join-Path $script:home_ 'plugins/LocalUsers/users.json'
        $text = Get-Content $file -Raw
        $text | Should -Not -Match ([regex]::Escape($script:adminPassword))
        $hash = ($text | ConvertFrom-Json).Users[0].PasswordHash
        $hash -match '^pbkdf2-sha256\$(\d+)\$[A-Za-z0-9+/=]{20,}\$[A-Za-z0-9+/=]{40,}$' | Should -BeTrue
        [int]$Matches[1] | Should -BeGreaterOrEqual 600000
        if (-not $IsWindows) { (Get-Item $file).UnixMode | Should -Be '-rw-------' }
    }

    It 'signs in with a password and shows user, roles, plugin and expiry, never the token' {
        $s = Connect-TransferService -Credential $script:admin
        $s.User | Should -Be 'admin'
        $s.Plugin | Should -Be 'LocalUsers'
        $s.Roles | Should -Contain 'Admin'
        $s.ExpiresAt | Should -BeGreaterThan ([DateTimeOffset]::UtcNow)
        $s.CanRefresh | Should -BeTrue
        $s.PSObject.Properties.Name | Should -Not -Contain 'Token'
        (Get-TransferSession).User | Should -Be 'admin'
    }
}

Describe 'User administration' {
    It 'creates a scoped read-only user and lists users without secrets' {
        $u = New-TransferUser -Credential $script:reader -Role Reader -Scope 'storage/LocalStore/reports/', 'metrics/runbook.*'
        $u.Scopes | Should -Be @('storage/LocalStore/reports/', 'metrics/runbook.*')
        $users = Get-TransferUser
        $users.Name | Should -Be @('admin', 'runbook')
        ($users | Out-String) | Should -Not -Match 'pbkdf2'
        (Get-TransferUser -Name 'run*').Name | Should -Be 'runbook'
    }

    It 'refuses a duplicate, a bad name, a bad scope and a short password' {
        { New-TransferUser -Credential $script:reader -Role Reader -ErrorAction Stop } | Should -Throw -ErrorId 'UserExists,TransferTools.Commands.NewTransferUserCommand'
        { New-TransferUser -Credential (New-Cred '../etc' 'Long-Enough-Pass1') -Role Reader -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidUserName,TransferTools.Commands.NewTransferUserCommand'
        { New-TransferUser -Credential (New-Cred 'x1' 'Long-Enough-Pass1') -Role Reader -Scope 'storage/LocalStore/../' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidScope,TransferTools.Commands.NewTransferUserCommand'
        { New-TransferUser -Credential (New-Cred 'x2' 'short') -Role Reader -ErrorAction Stop } | Should -Throw -ErrorId 'PasswordTooShort,TransferTools.Commands.NewTransferUserCommand'
        Get-TransferUser -Name 'x1', 'x2' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'refuses to remove or demote the last Admin' {
        { Remove-TransferUser -Name admin -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'LastAdmin,TransferTools.Commands.RemoveTransferUserCommand'
        { Set-TransferUser -Name admin -Role Reader -ErrorAction Stop } | Should -Throw -ErrorId 'LastAdmin,TransferTools.Commands.SetTransferUserCommand'
    }

    It 'creates a second Admin' {
        (New-TransferUser -Credential $script:helper -Role Admin).Roles | Should -Be @('Admin')
    }

    It 'changes roles through the pipeline and honours -WhatIf' {
        Get-TransferUser -Name runbook | Set-TransferUser -Role Contributor -WhatIf
        (Get-TransferUser -Name runbook).Roles | Should -Be @('Reader')
        $u = Set-TransferUser -Name runbook -Role Reader -PassThru
        $u.Roles | Should -Be @('Reader')
    }
}

Describe 'A read-only runbook identity' {
    BeforeAll {
        Register-TransferPlugin -Name Events -Type EventLog -Configuration @{ Path = $script:eventLog } | Out-Null
        Connect-TransferService -Credential $script:reader | Out-Null
    }

    It 'may read inside its scope but not write, delete or administer' {
        Test-TransferAccess -Resource 'storage/LocalStore/reports/2026/q1.csv' -Action Read | Should -BeTrue
        Test-TransferAccess -Resource 'storage/LocalStore/reports/q1.csv' -Action Write | Should -BeFalse
        Test-TransferAccess -Resource 'storage/LocalStore/reports/q1.csv' -Action Delete | Should -BeFalse
        Test-TransferAccess -Resource 'storage/LocalStore/private/q1.csv' -Action Read | Should -BeFalse
        Test-TransferAccess -Resource 'plugins/Events' -Action Admin | Should -BeFalse
    }

    It 'is not fooled by resource names that try path traversal' {
        'storage/LocalStore/reports/../private/x', 'storage/LocalStore/reports/..\private', 'storage/LocalStore/reports/%2e%2e/private',
        'storage/LocalStore/reports/./../x' | Test-TransferAccess -Action Read | Should -Not -Contain $true
    }

    It 'gets a PermissionDenied error naming action and resource for every refusal' {
        $err = $null
        Write-TransferMetric -Name 'other.metric' -Value 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'PermissionDenied,TransferTools.Commands.WriteTransferMetricCommand'
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err[0].TargetObject | Should -Be 'metrics/other.metric'
        $err[0].Exception.Message | Should -Match "'runbook' may not write 'metrics/other.metric'"
        $err[0].Exception.Message | Should -Match 'Reader'

        { Register-TransferPlugin -Name Evil -Type EventLog -Configuration @{ Path = 'x.jsonl' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'PermissionDenied,TransferTools.Commands.RegisterTransferPluginCommand'
        { Unregister-TransferPlugin -Name LocalUsers -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'PermissionDenied,TransferTools.Commands.UnregisterTransferPluginCommand'
        { Get-TransferUser -ErrorAction Stop } | Should -Throw -ErrorId 'PermissionDenied,TransferTools.Commands.GetTransferUserCommand'
        { New-TransferUser -Credential (New-Cred 'sneaky' 'Long-Enough-Pass1') -Role Admin -ErrorAction Stop } |
            Should -Throw -ErrorId 'PermissionDenied,TransferTools.Commands.NewTransferUserCommand'
    }

    It 'carries the signed-in UserId and a RequestId to monitor events' {
        $s = Connect-TransferService -Credential $script:helper
        Write-TransferMetric -Name 'runbook.files' -Value 3
        # Monitors are fed from an asynchronous queue: wait (bounded) for the line to land.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            $event = Get-Content $script:eventLog -ErrorAction SilentlyContinue | ForEach-Object { $_ | ConvertFrom-Json } |
                Where-Object name -eq 'runbook.files' | Select-Object -Last 1
            if (-not $event) { Start-Sleep -Milliseconds 100 }
        } while (-not $event -and [DateTime]::UtcNow -lt $deadline)
        $event.userId | Should -Be $s.UserId
        $event.userId | Should -Not -BeNullOrEmpty
        $event.requestId | Should -Match '^[0-9a-f]{32}$'
        Connect-TransferService -Credential $script:reader | Out-Null
    }

    It 'refreshes, and is signed out (tokens revoked) by Disconnect-TransferService' {
        $before = (Get-TransferSession).SignedInAt
        $s = Update-TransferSession
        $s.User | Should -Be 'runbook'
        $s.SignedInAt | Should -BeGreaterOrEqual $before
        Disconnect-TransferService
        (Get-TransferSession).IsAuthenticated | Should -BeFalse
        { Test-TransferAccess -Resource 'storage/LocalStore/reports/x' -Action Read -ErrorAction Stop } |
            Should -Throw -ErrorId 'NotConnected,TransferTools.Commands.TestTransferAccessCommand'
    }
}

Describe 'Security' {
    It 'refuses a wrong password with one message for unknown users and wrong passwords' {
        $e1 = $null; $e2 = $null
        Connect-TransferService -Credential (New-Cred 'admin' 'wrong-password-1') -ErrorVariable e1 -ErrorAction SilentlyContinue
        Connect-TransferService -Credential (New-Cred 'nobody' 'wrong-password-1') -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e1[0].FullyQualifiedErrorId | Should -Be 'InvalidCredentials,TransferTools.Commands.ConnectTransferServiceCommand'
        $e1[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $e2[0].Exception.Message | Should -Be $e1[0].Exception.Message
        (Get-TransferSession).IsAuthenticated | Should -BeFalse
    }

    It 'throttles repeated failed sign-ins, even with the right password, until an Admin unlocks' {
        $bad = New-Cred 'admin' 'wrong-password-2'
        Connect-TransferService -Credential $bad -ErrorAction SilentlyContinue
        Connect-TransferService -Credential $bad -ErrorAction SilentlyContinue   # third failure (MaxFailedSignIns = 3): locked
        $err = $null
        Connect-TransferService -Credential $script:admin -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'SignInThrottled,TransferTools.Commands.ConnectTransferServiceCommand'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        (Get-TransferSession).IsAuthenticated | Should -BeFalse

        # The lockout is per user: the second Admin signs in and unlocks the first.
        (Connect-TransferService -Credential $script:helper).User | Should -Be 'helper'
        $locked = Get-TransferUser -Name admin
        $locked.LockedUntil | Should -Not -BeNullOrEmpty
        $locked.FailedSignIns | Should -Be 3
        Set-TransferUser -Name admin -Unlock
        (Connect-TransferService -Credential $script:admin).User | Should -Be 'admin'
    }

    It 'refuses a malformed or forged token' {
        $forged = 'ttl1.eyJ0eXAiOiJhY2Nlc3MiLCJzdWIiOiJ4In0.AAAA'
        foreach ($t in 'not-a-token', $forged) {
            $err = $null
            Connect-TransferService -Token (ConvertTo-SecureString $t -AsPlainText -Force) -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be 'InvalidToken,TransferTools.Commands.ConnectTransferServiceCommand'
            $err[0].Exception.Message | Should -Not -Match ([regex]::Escape($t))
        }
    }

    It 'ends a user''s sessions when another process changes the password, and refuses a removed user' {
        Connect-TransferService -Credential $script:admin | Out-Null
        New-TransferUser -Credential (New-Cred 'temp' 'Temp-Sekr1t-Pa55') -Role Contributor | Out-Null
        Connect-TransferService -Credential (New-Cred 'temp' 'Temp-Sekr1t-Pa55') | Out-Null
        Test-TransferAccess -Resource 'storage/LocalStore/x' -Action Write | Should -BeTrue
        Invoke-InNewProcess -ScriptBlock {
            Connect-TransferService -Credential ([pscredential]::new('admin', (ConvertTo-SecureString 'Adm1n-Sekr1t-Pa55' -AsPlainText -Force))) | Out-Null
            Set-TransferUser -Name temp -Password (ConvertTo-SecureString 'Temp-Sekr1t-Pa55-2' -AsPlainText -Force)
            'done'
        } | Should -Be 'done'
        { Test-TransferAccess -Resource 'storage/LocalStore/x' -Action Write -ErrorAction Stop } |
            Should -Throw -ErrorId 'TokenRevoked,TransferTools.Commands.TestTransferAccessCommand'
        { Update-TransferSession -ErrorAction Stop } | Should -Throw -ErrorId 'TokenRevoked,TransferTools.Commands.UpdateTransferSessionCommand'

        Connect-TransferService -Credential $script:admin | Out-Null
        Remove-TransferUser -Name temp -Confirm:$false
        Get-TransferUser -Name temp -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        { Connect-TransferService -Credential (New-Cred 'temp' 'Temp-Sekr1t-Pa55-2') -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidCredentials,TransferTools.Commands.ConnectTransferServiceCommand'
    }

    It 'keeps passwords and tokens out of every output stream and every file under the home' {
        $all = & {
            Connect-TransferService -Credential $script:admin -Verbose -Debug
            Get-TransferSession | Format-List * | Out-String
            Update-TransferSession -Verbose -Debug | Format-List * | Out-String
            Test-TransferAccess -Resource 'storage/LocalStore/x' -Action Read -Verbose -Debug
            Connect-TransferService -Credential (New-Cred 'admin' 'Wrong-Pa55-Xyz') -Verbose -Debug -ErrorAction Continue
            Connect-TransferService -Credential $script:admin -Verbose -Debug
            Get-TransferUser -Verbose -Debug | Format-List * | Out-String
            Disconnect-TransferService -Verbose -Debug
        } *>&1 | Out-String -Width 500
        $all | Should -Not -BeNullOrEmpty
        foreach ($secret in $script:adminPassword, $script:readerPassword, 'Wrong-Pa55-Xyz', 'Helper-Sekr1t-Pa55') {
            $all | Should -Not -Match ([regex]::Escape($secret))
        }
        $all | Should -Not -Match 'ttl1\.'
        $files = Get-ChildItem $script:home_ -Recurse -File | ForEach-Object { [IO.File]::ReadAllText($_.FullName) }
        foreach ($secret in $script:adminPassword, $script:readerPassword, 'Wrong-Pa55-Xyz', 'Helper-Sekr1t-Pa55') {
            $files | Where-Object { $_.Contains($secret) } | Should -BeNullOrEmpty
        }
        $files | Where-Object { $_ -match 'ttl1\.' } | Should -BeNullOrEmpty
    }

    It 'returns to local-user mode when the last auth plugin is unregistered by an Admin' {
        Connect-TransferService -Credential $script:admin | Out-Null
        Unregister-TransferPlugin -Name LocalUsers -Confirm:$false
        $s = Get-TransferSession
        $s.IsAuthenticated | Should -BeTrue
        $s.User | Should -Be ([Environment]::UserName)
    }
}
