#Requires -Version 7.4
<#
.SYNOPSIS
    Smoke test for TestServices.psm1: starts every test service, checks it with a real client
    (sftp, curl, rclone, SharedKey-signed REST calls, OAuth token requests) and stops them all.
    Prints one line per check, the start timings, and exits 1 when a check failed.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/services/Smoke.ps1
#>
[CmdletBinding()]
param(
    # Runtime state folder; default: a new folder under the temp path, removed at the end.
    [string] $Root
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

Import-Module (Join-Path $PSScriptRoot 'TestServices.psm1') -Force

$ownRoot = -not $Root
if ($ownRoot) { $Root = Join-Path ([IO.Path]::GetTempPath()) ('tt-smoke-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
New-Item -ItemType Directory -Force -Path $Root | Out-Null

$script:passed = 0
$script:failed = 0
$timings = [ordered]@{}

function Check([string] $Name, [scriptblock] $Test) {
    try {
        $result = & $Test
        if ($result -is [bool] -and -not $result) { throw 'check returned $false' }
        $script:passed++
        Write-Host "  PASS $Name"
    }
    catch {
        $script:failed++
        Write-Host "  FAIL $Name :: $($_.Exception.Message)"
    }
}

function Timed([string] $Name, [scriptblock] $Start) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $r = & $Start
    $timings[$Name] = $sw.ElapsedMilliseconds
    return $r
}

function Invoke-Curl([string[]] $Arguments) {
    # Returns the HTTP status code; body goes to $script:body.
    $out = & curl -s -S -o "$Root/curl.body" -w '%{http_code}' @Arguments
    $script:body = if (Test-Path "$Root/curl.body") { [IO.File]::ReadAllText("$Root/curl.body") } else { '' }
    return [int] $out
}

function ConvertFrom-Jwt([string] $Jwt) {
    $p = $Jwt.Split('.')[1].Replace('-', '+').Replace('_', '/')
    switch ($p.Length % 4) { 2 { $p += '==' } 3 { $p += '=' } }
    return [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($p)) | ConvertFrom-Json
}

function Invoke-SftpBatch {
    param($Server, [string] $User, [string[]] $Commands, [string[]] $Options = @(), [string] $AskPass)
    $batch = Join-Path $Root 'sftp.batch'
    Set-Content -LiteralPath $batch -Value $Commands
    $askpassScript = Join-Path $Root 'askpass.sh'
    Set-Content -LiteralPath $askpassScript -Value "#!/bin/sh`nprintf '%s\n' `"`$TT_ASKPASS`""
    chmod 700 $askpassScript
    $env:SSH_ASKPASS = $askpassScript
    $env:SSH_ASKPASS_REQUIRE = if ($AskPass) { 'force' } else { 'never' }
    $env:TT_ASKPASS = $AskPass
    try {
        # ssh uses the FIRST value of an option, and 'sftp -b' adds BatchMode=yes when it sees -b:
        # caller options go first, then the defaults, then -b.
        $batchMode = if ($AskPass) { @('-o', 'BatchMode=no') } else { @() }
        $out = & setsid -w sftp @Options @batchMode -P $Server.Port -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$($Server.KnownHostsFile)" `
            -o ConnectTimeout=10 -o NumberOfPasswordPrompts=1 -b $batch "$User@127.0.0.1" 2>&1
        return [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n") }
    }
    finally { Remove-Item Env:SSH_ASKPASS, Env:SSH_ASKPASS_REQUIRE, Env:TT_ASKPASS -ErrorAction SilentlyContinue }
}

function Invoke-AzuriteRequest {
    # Minimal SharedKey-signed Blob REST call (proves the returned account key works).
    param($Server, [string] $Method, [string] $Path, [hashtable] $Query = @{}, [byte[]] $Body, [hashtable] $Headers = @{})
    $date = [DateTime]::UtcNow.ToString('R')
    $h = @{ 'x-ms-date' = $date; 'x-ms-version' = '2021-10-04' }
    foreach ($k in $Headers.Keys) { $h[$k] = $Headers[$k] }
    $len = if ($Body -and $Body.Length -gt 0) { "$($Body.Length)" } else { '' }
    $ctype = if ($Body) { 'application/octet-stream' } else { '' }
    $canonHeaders = ($h.Keys | Where-Object { $_ -like 'x-ms-*' } | Sort-Object | ForEach-Object { "$($_.ToLowerInvariant()):$($h[$_])" }) -join "`n"
    $canonResource = "/$($Server.AccountName)/$($Server.AccountName)$Path"
    foreach ($k in ($Query.Keys | Sort-Object)) { $canonResource += "`n$($k.ToLowerInvariant()):$($Query[$k])" }
    $toSign = @($Method, '', '', $len, '', $ctype, '', '', '', '', '', '', $canonHeaders, $canonResource) -join "`n"
    $hmac = [Security.Cryptography.HMACSHA256]::new([Convert]::FromBase64String($Server.AccountKey))
    $sig = [Convert]::ToBase64String($hmac.ComputeHash([Text.Encoding]::UTF8.GetBytes($toSign)))
    $h['Authorization'] = "SharedKey $($Server.AccountName):$sig"
    $qs = if ($Query.Count) { '?' + (($Query.Keys | ForEach-Object { "$_=$($Query[$_])" }) -join '&') } else { '' }
    $params = @{ Method = $Method; Uri = "$($Server.BlobEndpoint)$Path$qs"; Headers = $h; SkipHttpErrorCheck = $true }
    if ($Body) { $params.Body = $Body; $params.ContentType = $ctype }
    return Invoke-WebRequest @params
}

try {
    Write-Host "== prerequisites"
    $sw = [Diagnostics.Stopwatch]::StartNew()
    Install-TestServicePrerequisite -Name sshd, nginx, azurite, oidc, promtool, rclone
    $timings['Install-TestServicePrerequisite (all)'] = $sw.ElapsedMilliseconds
    Check 'promtool runs' { (& promtool --version 2>&1 | Out-String) -match 'promtool' }
    Check 'rclone runs' { (& rclone version 2>&1 | Out-String) -match 'rclone v' }
    Check 'Get-FreeTcpPort returns a bindable port' {
        $p = Get-FreeTcpPort
        $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, $p); $l.Start(); $l.Stop(); $p -gt 0
    }

    # ---------------------------------------------------------------- sshd
    Write-Host "== sshd"
    $ssh = Timed 'Start-TestSshd' { Start-TestSshd -Root (Join-Path $Root 'sshd') }
    Check 'fingerprint matches ssh-keyscan' {
        $scan = & ssh-keyscan -t ed25519 -p $ssh.Port 127.0.0.1 2>$null
        $scan -eq $ssh.KnownHostsLine -and (($scan | ssh-keygen -l -E sha256 -f - ) -match [regex]::Escape($ssh.HostKeyFingerprint))
    }
    Check 'sftp with key user (unencrypted key) puts and lists a file' {
        Set-Content -LiteralPath "$Root/up.txt" -Value 'hello sftp'
        $r = Invoke-SftpBatch $ssh $ssh.KeyUser @("put $Root/up.txt", 'ls -l', 'pwd') -Options @('-i', $ssh.KeyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes')
        if ($r.ExitCode -ne 0) { throw $r.Output }
        (Test-Path (Join-Path $ssh.KeyUserData 'up.txt')) -and $r.Output -match [regex]::Escape($ssh.KeyUserData)
    }
    Check 'sftp with key user (passphrase-protected key)' {
        $r = Invoke-SftpBatch $ssh $ssh.KeyUser @('ls') -Options @('-i', $ssh.EncryptedKeyFile, '-o', 'IdentitiesOnly=yes') -AskPass $ssh.KeyPassphrase
        if ($r.ExitCode -ne 0) { throw $r.Output }; $true
    }
    Check 'sftp with password user' {
        $r = Invoke-SftpBatch $ssh $ssh.PasswordUser @("put $Root/up.txt p.txt", 'ls') -Options @('-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password') -AskPass $ssh.Password
        if ($r.ExitCode -ne 0) { throw $r.Output }
        Test-Path (Join-Path $ssh.PasswordUserData 'p.txt')
    }
    Check 'key user cannot use a password, password user cannot use a key' {
        $a = Invoke-SftpBatch $ssh $ssh.KeyUser @('ls') -Options @('-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password') -AskPass $ssh.Password
        $b = Invoke-SftpBatch $ssh $ssh.PasswordUser @('ls') -Options @('-i', $ssh.KeyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes')
        $a.ExitCode -ne 0 -and $b.ExitCode -ne 0
    }
    Check 'wrong password is rejected' {
        $r = Invoke-SftpBatch $ssh $ssh.PasswordUser @('ls') -Options @('-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password') -AskPass 'wrong-password'
        $r.ExitCode -ne 0
    }
    Check 'unknown host key is rejected with StrictHostKeyChecking' {
        $empty = Join-Path $Root 'empty_known_hosts'; Set-Content $empty ''
        $r = Invoke-SftpBatch $ssh $ssh.KeyUser @('ls') -Options @('-i', $ssh.KeyFile, '-o', 'BatchMode=yes', '-o', "UserKnownHostsFile=$empty")
        $r.ExitCode -ne 0 -and $r.Output -match 'Host key verification failed'
    }
    $sw.Restart(); Restart-TestSshd $ssh | Out-Null; $timings['Restart-TestSshd'] = $sw.ElapsedMilliseconds
    Check 'sftp works after Restart-TestSshd (same port and host key)' {
        $r = Invoke-SftpBatch $ssh $ssh.KeyUser @('ls') -Options @('-i', $ssh.KeyFile, '-o', 'BatchMode=yes')
        if ($r.ExitCode -ne 0) { throw $r.Output }; $true
    }

    # ---------------------------------------------------------------- nginx
    Write-Host "== nginx"
    $web = Timed 'Start-TestNginx' { Start-TestNginx -Root (Join-Path $Root 'nginx') }
    $payload = -join (0..9 | ForEach-Object { '0123456789' })
    Set-Content -LiteralPath (Join-Path $web.FilesRoot 'data.txt') -Value $payload -NoNewline
    Check 'GET /files/ returns content and an ETag' {
        $r = Invoke-WebRequest "$($web.BaseUri)/files/data.txt"
        $r.Content -eq $payload -and $r.Headers['ETag'] -and $r.Headers['Accept-Ranges'] -eq 'bytes'
    }
    Check 'Range request returns 206 and the slice' {
        (Invoke-Curl @('-r', '10-19', "$($web.BaseUri)/files/data.txt")) -eq 206 -and $script:body -eq '0123456789'
    }
    Check 'PUT into /dav/ creates intermediate folders (201)' {
        (Invoke-Curl @('-T', "$Root/up.txt", "$($web.BaseUri)/dav/a/b/up.txt")) -eq 201 -and (Test-Path (Join-Path $web.DavRoot 'a/b/up.txt'))
    }
    Check 'MKCOL, PROPFIND (207), MOVE, DELETE on /dav/' {
        $codes = @(
            Invoke-Curl @('-X', 'MKCOL', "$($web.BaseUri)/dav/newdir/")
            Invoke-Curl @('-X', 'PROPFIND', '-H', 'Depth: 1', "$($web.BaseUri)/dav/a/b/")
            Invoke-Curl @('-X', 'MOVE', '-H', "Destination: $($web.BaseUri)/dav/newdir/moved.txt", "$($web.BaseUri)/dav/a/b/up.txt")
            Invoke-Curl @('-X', 'DELETE', "$($web.BaseUri)/dav/newdir/moved.txt")
        )
        if (($codes -join ',') -notmatch '^201,207,20[14],204$') { throw "codes: $($codes -join ',')" }; $true
    }
    Check 'rclone lists WebDAV' {
        Set-Content -LiteralPath (Join-Path $web.DavRoot 'r.txt') -Value 'x'
        $out = & rclone lsf --config /dev/null --webdav-url "$($web.BaseUri)/dav/" ':webdav:' 2>&1
        ($out -join "`n") -match 'r\.txt'
    }
    Check '/basic/ is 401 without and 200 with credentials' {
        (Invoke-Curl @("$($web.BaseUri)/basic/data.txt")) -eq 401 -and
        (Invoke-Curl @('-u', "$($web.BasicUser):$($web.BasicPassword)", "$($web.BaseUri)/basic/data.txt")) -eq 200
    }
    Check '/denied/ is 403' { (Invoke-Curl @("$($web.BaseUri)/denied/x")) -eq 403 }
    Check '/flaky/ is 503' { (Invoke-Curl @("$($web.BaseUri)/flaky/x")) -eq 503 }

    # ---------------------------------------------------------------- azurite
    Write-Host "== azurite"
    $az = Timed 'Start-TestAzurite' { Start-TestAzurite -Root (Join-Path $Root 'azurite') }
    Check 'anonymous ?comp=list is refused with an XML error' {
        $code = Invoke-Curl @("$($az.BlobEndpoint)?comp=list")
        $code -eq 403 -and $script:body -match '<Error>'
    }
    Check 'SharedKey: create container, put blob, list, get' {
        $c = 'smoke'
        $r1 = Invoke-AzuriteRequest $az PUT "/$c" @{ restype = 'container' }
        $r2 = Invoke-AzuriteRequest $az PUT "/$c/hello.txt" -Body ([Text.Encoding]::UTF8.GetBytes('hi blob')) -Headers @{ 'x-ms-blob-type' = 'BlockBlob' }
        $r3 = Invoke-AzuriteRequest $az GET "/$c" @{ restype = 'container'; comp = 'list' }
        $r4 = Invoke-AzuriteRequest $az GET "/$c/hello.txt"
        if ("$($r1.StatusCode),$($r2.StatusCode),$($r3.StatusCode),$($r4.StatusCode)" -ne '201,201,200,200') {
            throw "status $($r1.StatusCode),$($r2.StatusCode),$($r3.StatusCode),$($r4.StatusCode): $($r1.Content)"
        }
        ([Text.Encoding]::UTF8.GetString($r3.RawContentStream.ToArray())) -match 'hello.txt' -and
        ([Text.Encoding]::UTF8.GetString($r4.RawContentStream.ToArray())) -eq 'hi blob'
    }

    # ---------------------------------------------------------------- oidc
    Write-Host "== oidc"
    $op = Timed 'Start-TestOidcProvider' { Start-TestOidcProvider -Root (Join-Path $Root 'oidc') }
    Check 'discovery document' {
        $d = Invoke-RestMethod $op.DiscoveryUri
        $d.issuer -eq $op.Issuer -and $d.token_endpoint -eq $op.TokenEndpoint -and
        $d.device_authorization_endpoint -eq $op.DeviceAuthorizationEndpoint -and
        $d.grant_types_supported -contains 'client_credentials'
    }
    Check 'client_credentials yields a JWT for the audience' {
        $code = Invoke-Curl @('-u', "$($op.ClientId):$($op.ClientSecret)", '-d', 'grant_type=client_credentials', '-d', 'scope=transfer.read transfer.write', $op.TokenEndpoint)
        if ($code -ne 200) { throw "$code $script:body" }
        $t = $script:body | ConvertFrom-Json
        $c = ConvertFrom-Jwt $t.access_token
        $c.aud -eq $op.Audience -and $c.iss -eq $op.Issuer -and $c.client_id -eq $op.ClientId -and $c.scope -eq 'transfer.read transfer.write'
    }
    Check 'client_credentials with a wrong secret is invalid_client' {
        (Invoke-Curl @('-u', "$($op.ClientId):nope", '-d', 'grant_type=client_credentials', $op.TokenEndpoint)) -eq 401 -and $script:body -match 'invalid_client'
    }
    Check 'device flow: pending, approve, token, refresh, introspect, revoke' {
        $da = Invoke-RestMethod -Method Post $op.DeviceAuthorizationEndpoint -Body @{ client_id = $op.DeviceClientId; scope = 'openid offline_access transfer.read transfer.write' }
        $tokenBody = @{ client_id = $op.DeviceClientId; grant_type = 'urn:ietf:params:oauth:grant-type:device_code'; device_code = $da.device_code }
        $pending = Invoke-WebRequest -Method Post $op.TokenEndpoint -Body $tokenBody -SkipHttpErrorCheck
        if (($pending.Content | ConvertFrom-Json).error -ne 'authorization_pending') { throw "expected pending: $($pending.Content)" }
        Approve-TestOidcDevice $op $da.user_code -AccountId bob | Out-Null
        $tok = Invoke-RestMethod -Method Post $op.TokenEndpoint -Body $tokenBody
        $claims = ConvertFrom-Jwt $tok.access_token
        if ($claims.sub -ne 'bob' -or $claims.aud -ne $op.Audience -or -not $tok.refresh_token -or $claims.roles -notcontains 'transfer.reader') { throw "bad token: $($claims | ConvertTo-Json -Compress)" }
        $ref = Invoke-RestMethod -Method Post $op.TokenEndpoint -Body @{ client_id = $op.DeviceClientId; grant_type = 'refresh_token'; refresh_token = $tok.refresh_token }
        $cred = "$($op.ClientId):$($op.ClientSecret)"
        $auth = @{ Authorization = 'Basic ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($cred)) }
        # oidc-provider does not introspect (or revoke) JWT access tokens; refresh tokens are opaque.
        $intro = Invoke-RestMethod -Method Post $op.IntrospectionEndpoint -Headers $auth -Body @{ token = $ref.refresh_token }
        $rev = Invoke-WebRequest -Method Post $op.RevocationEndpoint -Body @{ client_id = $op.DeviceClientId; token = $ref.refresh_token }
        $again = Invoke-WebRequest -Method Post $op.TokenEndpoint -Body @{ client_id = $op.DeviceClientId; grant_type = 'refresh_token'; refresh_token = $ref.refresh_token } -SkipHttpErrorCheck
        $intro.active -and $intro.sub -eq 'bob' -and $rev.StatusCode -eq 200 -and ($again.Content | ConvertFrom-Json).error -eq 'invalid_grant'
    }
    Check 'device flow: denied code yields access_denied' {
        $da = Invoke-RestMethod -Method Post $op.DeviceAuthorizationEndpoint -Body @{ client_id = $op.DeviceClientId; scope = 'openid transfer.read' }
        Approve-TestOidcDevice $op $da.user_code -Deny | Out-Null
        $r = Invoke-WebRequest -Method Post $op.TokenEndpoint -SkipHttpErrorCheck -Body @{ client_id = $op.DeviceClientId; grant_type = 'urn:ietf:params:oauth:grant-type:device_code'; device_code = $da.device_code }
        ($r.Content | ConvertFrom-Json).error -eq 'access_denied'
    }

    # ---------------------------------------------------------------- stop
    Write-Host "== stop"
    $procs = @($ssh, $web, $az, $op | ForEach-Object { $_.Process })
    $ports = @($ssh, $web, $az, $op | ForEach-Object { $_.Port })
    $sw.Restart()
    Stop-TestSshd $ssh; Stop-TestNginx $web; Stop-TestAzurite $az; Stop-TestOidcProvider $op
    $timings['Stop (all four)'] = $sw.ElapsedMilliseconds
    Check 'all processes exited and ports are closed' {
        $alive = @($procs | Where-Object { -not $_.HasExited })
        $open = @($ports | Where-Object {
                $c = [Net.Sockets.TcpClient]::new()
                try { $c.ConnectAsync([Net.IPAddress]::Loopback, $_).Wait(300) -and $c.Connected } catch { $false } finally { $c.Dispose() }
            })
        $alive.Count -eq 0 -and $open.Count -eq 0 -and @(Get-TestService).Count -eq 0
    }
}
catch {
    $script:failed++
    Write-Host "  FAIL (fatal) $($_.Exception.Message)"
    Write-Host $_.ScriptStackTrace
}
finally {
    Stop-AllTestServices
    if ($ownRoot -and -not $env:TT_KEEP_SERVICE_STATE) { Remove-Item -LiteralPath $Root -Recurse -Force -ErrorAction SilentlyContinue }
}

Write-Host "== timings (ms)"
foreach ($k in $timings.Keys) { Write-Host ("  {0,-40} {1,6}" -f $k, $timings[$k]) }
Write-Host "$($script:passed) passed, $($script:failed) failed"
exit ([int]($script:failed -gt 0))
