# The Oidc auth plugin against a real OpenID provider (node-oidc-provider on 127.0.0.1).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:op = Start-TestOidcProvider
    $script:runbook = [pscredential]::new($script:op.ClientId, (ConvertTo-SecureString $script:op.ClientSecret -AsPlainText -Force))
    function Get-ProviderToken([string] $Scope = 'transfer.read') {
        $basic = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("$($script:op.ClientId):$($script:op.ClientSecret)"))
        (Invoke-RestMethod -Method Post -Uri $script:op.TokenEndpoint -Headers @{ Authorization = "Basic $basic" } `
            -Body @{ grant_type = 'client_credentials'; scope = $Scope }).access_token
    }
    function Start-DeviceSignIn([string] $Scope) {
        $module = Get-TestModulePath
        Start-ThreadJob -ArgumentList $module, $Scope -ScriptBlock {
            param($module, $scope)
            Import-Module $module
            $s = Connect-TransferService -Plugin Op -DeviceCode -Scope $scope -ErrorAction Stop
            [pscustomobject]@{
                User = $s.User; Roles = $s.Roles; CanRefresh = $s.CanRefresh
                Read = Test-TransferAccess -Resource 'storage/LocalStore/a' -Action Read
                Write = Test-TransferAccess -Resource 'storage/LocalStore/a' -Action Write
                Admin = Test-TransferAccess -Resource 'plugins/Op' -Action Admin
                Refreshed = (Update-TransferSession).CanRefresh
                Disconnected = $(Disconnect-TransferService; -not (Get-TransferSession).IsAuthenticated)
            }
        }
    }
    function Wait-DeviceCode($Job) {
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ([DateTime]::UtcNow -lt $deadline) {
            $w = @($Job.Warning) | Where-Object { "$_" -match 'enter the code ([A-Z0-9-]+)' } | Select-Object -First 1
            if ($w) { return @{ Code = $Matches[1]; Text = "$w" } }
            if ($Job.State -in "Failed", "Completed") { throw "The sign-in job ended early: $($Job.JobStateInfo.Reason) $($Job.Error)" }
            Start-Sleep -Milliseconds 100
        }
        throw 'No device code was shown.'
    }
}
AfterAll {
    Get-Job | Remove-Job -Force -ErrorAction SilentlyContinue
    Stop-AllTestServices
    Remove-TransferToolsTest $script:home_
}

Describe 'Register-TransferPlugin -Type Oidc' {
    It 'refuses a plain-http authority that is not loopback, and an unreachable provider, persisting nothing' {
        { Register-TransferPlugin -Name Bad1 -Type Oidc -Configuration @{ Authority = 'http://idp.example.com'; Audience = 'x' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidOidcSetting,TransferTools.Commands.RegisterTransferPluginCommand'
        $port = Get-FreeTcpPort
        $err = $null
        Register-TransferPlugin -Name Bad2 -Type Oidc -Configuration @{ Authority = "http://127.0.0.1:$port"; Audience = 'x' } -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'Oidc*,*'
        Get-TransferPlugin -Name Bad1, Bad2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'registers with discovery as the first auth plugin, without a session' {
        $info = Register-TransferPlugin -Name Op -Type Oidc -Configuration @{
            Authority = $script:op.Issuer; Audience = $script:op.Audience; ClientId = $script:op.DeviceClientId
            Scope = 'openid offline_access transfer.read'; RoleClaim = 'roles'
        }
        $info.State | Should -Be 'Active'
        (Get-TransferSession).IsAuthenticated | Should -BeFalse
    }
}

Describe 'Client credentials: a read-only runbook identity' {
    It 'refuses a wrong client secret as an AuthenticationError' {
        $bad = [pscredential]::new($script:op.ClientId, (ConvertTo-SecureString 'not-the-secret' -AsPlainText -Force))
        $err = $null
        Connect-TransferService -Plugin Op -Credential $bad -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidCredentials,TransferTools.Commands.ConnectTransferServiceCommand'
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
    }

    It 'signs in with the client id and secret, may read, and every write, delete or admin is refused with a reason' {
        $s = Connect-TransferService -Plugin Op -Credential $script:runbook -Scope 'transfer.read'
        $s.User | Should -Be $script:op.ClientId
        $s.Roles | Should -Be @('transfer.read')
        $s.ExpiresAt | Should -BeGreaterThan ([DateTimeOffset]::UtcNow)
        Test-TransferAccess -Resource 'storage/LocalStore/reports/a' -Action Read | Should -BeTrue
        Test-TransferAccess -Resource 'storage/LocalStore/reports/a' -Action Write | Should -BeFalse
        Test-TransferAccess -Resource 'storage/LocalStore/reports/a' -Action Delete | Should -BeFalse
        $err = $null
        Write-TransferMetric -Name 'runbook.files' -Value 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'PermissionDenied,TransferTools.Commands.WriteTransferMetricCommand'
        $err[0].Exception.Message | Should -Match "may not write 'metrics/runbook.files'"
        $err[0].Exception.Message | Should -Match 'transfer.read'
        { Register-TransferPlugin -Name X -Type EventLog -Configuration @{ Path = 'x.jsonl' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'PermissionDenied,TransferTools.Commands.RegisterTransferPluginCommand'
    }

    It 'renews a client-credentials session on Update-TransferSession, and signs out' {
        $before = Get-TransferSession
        Start-Sleep -Milliseconds 1100   # a new token has a later iat/exp
        $after = Update-TransferSession
        $after.User | Should -Be $before.User
        $after.ExpiresAt | Should -BeGreaterThan $before.ExpiresAt
        Disconnect-TransferService
        (Get-TransferSession).IsAuthenticated | Should -BeFalse
    }

    It 'accepts the provider''s access token with -Token, and refuses a tampered or foreign-audience one' {
        $token = Get-ProviderToken
        (Connect-TransferService -Plugin Op -Token (ConvertTo-SecureString $token -AsPlainText -Force)).User | Should -Be $script:op.ClientId
        Disconnect-TransferService -ErrorAction SilentlyContinue

        $parts = $token.Split('.')
        $payload = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($parts[1].Replace('-', '+').Replace('_', '/').PadRight([Math]::Ceiling($parts[1].Length / 4) * 4, '=')))
        $forged = $payload -replace '"transfer.read"', '"transfer.read transfer.write transfer.delete"' -replace '"scope":"transfer.read"', '"scope":"transfer.read transfer.write transfer.delete"'
        $forged | Should -Not -Be $payload
        $b64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($forged)).TrimEnd('=').Replace('+', '-').Replace('/', '_')
        $tampered = "$($parts[0]).$b64.$($parts[2])"
        $err = $null
        Connect-TransferService -Plugin Op -Token (ConvertTo-SecureString $tampered -AsPlainText -Force) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidToken,TransferTools.Commands.ConnectTransferServiceCommand'
        $err[0].Exception.Message | Should -Match 'signature'
        $err[0].Exception.Message | Should -Not -Match ([regex]::Escape($parts[2]))

    }

    It 'refuses a genuine token issued for another audience (a registration that expects another one)' {
        $otherHome = Join-Path ([IO.Path]::GetTempPath()) ("tt-oidc-aud-" + [guid]::NewGuid().ToString('n'))
        $script = [scriptblock]::Create(@"
`$env:TRANSFERTOOLS_HOME = '$otherHome'
Register-TransferPlugin -Name OpOther -Type Oidc -Configuration @{ Authority = '$($script:op.Issuer)'; Audience = 'another-api' } | Out-Null
`$c = [pscredential]::new('$($script:op.ClientId)', (ConvertTo-SecureString '$($script:op.ClientSecret)' -AsPlainText -Force))
Connect-TransferService -Credential `$c -Scope transfer.read -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
"`$(`$e[0].FullyQualifiedErrorId) `$(`$e[0].Exception.Message)"
"@)
        try {
            $result = Invoke-InNewProcess -ScriptBlock $script
            $result | Should -Match '^InvalidToken,'
            $result | Should -Match 'another audience'
        } finally { Remove-Item $otherHome -Recurse -Force -ErrorAction SilentlyContinue }
    }
}

Describe 'Device code' {
    It 'shows the code and URL as a warning (runbook log), waits for approval, then acts as the approved user' {
        $job = Start-DeviceSignIn -Scope 'openid offline_access transfer.read'
        $prompt = Wait-DeviceCode $job
        $prompt.Text | Should -Match ([regex]::Escape($script:op.Issuer))
        Approve-TestOidcDevice $script:op $prompt.Code -AccountId bob | Out-Null
        $r = $job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop
        $r.User | Should -Be 'bob'
        $r.Roles | Should -Contain 'transfer.reader'
        $r.CanRefresh | Should -BeTrue
        $r.Read | Should -BeTrue
        $r.Write | Should -BeFalse
        $r.Admin | Should -BeFalse
        $r.Refreshed | Should -BeTrue
        $r.Disconnected | Should -BeTrue
    }

    It 'gives a Reader who asks for the write scope only what both the scope and the role allow' {
        $job = Start-DeviceSignIn -Scope 'openid offline_access transfer.read transfer.write'
        $prompt = Wait-DeviceCode $job
        Approve-TestOidcDevice $script:op $prompt.Code -AccountId bob -Scope 'openid offline_access transfer.read transfer.write' | Out-Null
        $r = $job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop
        $r.User | Should -Be 'bob'
        $r.Read | Should -BeTrue
        $r.Write | Should -BeFalse

        # The same scopes for an Admin do allow writing: the write scope was granted, the Reader role withheld it.
        $job = Start-DeviceSignIn -Scope 'openid offline_access transfer.read transfer.write'
        $prompt = Wait-DeviceCode $job
        Approve-TestOidcDevice $script:op $prompt.Code -AccountId alice -Scope 'openid offline_access transfer.read transfer.write' | Out-Null
        $r = $job | Wait-Job -Timeout 60 | Receive-Job -ErrorAction Stop
        $r.User | Should -Be 'alice'
        $r.Write | Should -BeTrue
    }

    It 'reports a denied sign-in' {
        $job = Start-DeviceSignIn -Scope 'openid transfer.read'
        $prompt = Wait-DeviceCode $job
        Approve-TestOidcDevice $script:op $prompt.Code -Deny | Out-Null
        $job | Wait-Job -Timeout 60 | Out-Null
        $reason = $job.JobStateInfo.Reason
        "$($reason.ErrorRecord.FullyQualifiedErrorId) $reason" | Should -Match 'DeviceCodeDenied'
    }
}

Describe 'Secrets with Oidc' {
    It 'keeps the client secret and tokens out of every output stream and every file under the home' {
        $token = Get-ProviderToken
        $all = & {
            Connect-TransferService -Plugin Op -Credential $script:runbook -Scope 'transfer.read' -Verbose -Debug
            Get-TransferSession | Format-List * | Out-String
            Test-TransferAccess -Resource 'storage/LocalStore/x' -Action Write -Verbose -Debug
            Update-TransferSession -Verbose -Debug | Format-List * | Out-String
            Connect-TransferService -Plugin Op -Token (ConvertTo-SecureString ($token + 'x') -AsPlainText -Force) -Verbose -Debug -ErrorAction Continue
            Get-TransferPlugin -Name Op | Format-List * | Out-String
            Disconnect-TransferService -Verbose -Debug
        } *>&1 | Out-String -Width 2000
        $all | Should -Not -Match ([regex]::Escape($script:op.ClientSecret))
        $all | Should -Not -Match 'eyJ[A-Za-z0-9_-]{10,}\.'
        foreach ($file in Get-ChildItem $script:home_ -Recurse -File) {
            $text = [IO.File]::ReadAllText($file.FullName)
            $text.Contains($script:op.ClientSecret) | Should -BeFalse -Because $file.FullName
            $text | Should -Not -Match 'eyJ[A-Za-z0-9_-]{10,}\.' -Because $file.FullName
        }
    }

    It 'stores a ClientSecret in the registration protected, never in plain text' {
        $otherHome = Join-Path ([IO.Path]::GetTempPath()) ("tt-oidc-sec-" + [guid]::NewGuid().ToString('n'))
        $script = [scriptblock]::Create(@"
`$env:TRANSFERTOOLS_HOME = '$otherHome'
(Register-TransferPlugin -Name OpConfidential -Type Oidc -Configuration @{ Authority = '$($script:op.Issuer)'; Audience = '$($script:op.Audience)'; ClientId = '$($script:op.ClientId)'; ClientSecret = '$($script:op.ClientSecret)' }).Configuration['ClientSecret']
"@)
        try {
            Invoke-InNewProcess -ScriptBlock $script | Should -Be '********'
            $registry = Get-Content (Join-Path $otherHome 'plugins.json') -Raw
            $registry | Should -Match 'OpConfidential'
            $registry | Should -Match '"ClientSecret": "tt1:'
            foreach ($file in Get-ChildItem $otherHome -Recurse -File) {
                [IO.File]::ReadAllText($file.FullName).Contains($script:op.ClientSecret) | Should -BeFalse -Because $file.FullName
            }
        } finally { Remove-Item $otherHome -Recurse -Force -ErrorAction SilentlyContinue }
    }
}
