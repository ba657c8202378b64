# Servers written by other people, for the third-party server matrix (dot-sourced by TestServices.psm1): rclone
# serve sftp / serve webdav, Apache mod_dav and ProFTPD mod_sftp. Each runs as the unprivileged local user ttsrv (so
# permissions are real, even when the tests run as root), on 127.0.0.1 on a free port, with its own configuration in
# its state folder, and serves a data folder laid out the same way:
#   <DataRoot>/          writable by the server
#   <DataRoot>/ro/       not writable by the server (an upload there must fail)
#   <DataRoot>/noread.bin  not readable by the server (a download of it must fail)

#region third-party servers

$script:ServerUser = 'ttsrv'

function Initialize-ThirdPartyServer {
    # The shared part: the ttsrv user, a fresh root, a state folder and the data folder above, all owned by ttsrv.
    param([string] $Root, [int] $Port, [Parameter(Mandatory)][string] $Name)
    if (-not (Test-IsRoot)) { throw "Start-Test$Name needs to run as root (it runs the server as the local user $script:ServerUser)." }
    $exists = Invoke-Native -FilePath 'id' -ArgumentList @('-u', $script:ServerUser) -AllowFailure
    if (-not $exists) {
        Invoke-Native -FilePath 'useradd' -ArgumentList @('--create-home', '--shell', '/usr/sbin/nologin', '--comment', 'TransferTools test server', $script:ServerUser) | Out-Null
    }
    $r = Get-FreshRoot -Root $Root -Name $Name.ToLowerInvariant()
    if ($Port -le 0) { $Port = Get-FreeTcpPort }
    $state = Join-Path $r.Path ".$($Name.ToLowerInvariant())-$Port"
    $data = Join-Path $r.Path 'data'
    foreach ($d in $state, $data, (Join-Path $data 'ro')) { [System.IO.Directory]::CreateDirectory($d) | Out-Null }
    [System.IO.File]::WriteAllText((Join-Path $data 'ro/readme.txt'), "read only`n")
    $noRead = Join-Path $data 'noread.bin'
    [System.IO.File]::WriteAllText($noRead, "secret`n")
    Invoke-Native -FilePath 'chown' -ArgumentList @('-R', "$($script:ServerUser):$($script:ServerUser)", $state, $data) | Out-Null
    Set-Mode '755' @($r.Path)
    Set-Mode '555' @((Join-Path $data 'ro'))
    # Owned by root and closed to everyone else: the server (ttsrv) cannot read it.
    Invoke-Native -FilePath 'chown' -ArgumentList @('root:root', $noRead) | Out-Null
    Set-Mode '000' @($noRead)
    return [pscustomobject]@{ Root = $r; Port = $Port; State = $state; Data = $data }
}

function Start-AsServerUser {
    # Starts the server as ttsrv (setpriv execs it, so the process started is the server) with HOME in its state folder.
    param([Parameter(Mandatory)][string] $FilePath, [string[]] $ArgumentList = @(), [Parameter(Mandatory)][string] $LogPath, [string] $StateDir)
    $u = $script:ServerUser
    Start-LoggedProcess -FilePath '/usr/bin/setpriv' -ArgumentList (@("--reuid=$u", "--regid=$u", '--init-groups', '--', $FilePath) + $ArgumentList) `
        -LogPath $LogPath -Environment @{ HOME = $StateDir; TMPDIR = $StateDir } -WorkingDirectory $StateDir
}

function New-SshHostKey([string] $State, [int] $Port, [string] $Type = 'ed25519') {
    $hostKey = Join-Path $State "ssh_host_$($Type)_key"
    $keyArgs = if ($Type -eq 'rsa') { @('-t', 'rsa', '-b', '3072', '-m', 'PEM') } else { @('-t', $Type) }
    Invoke-Native -FilePath 'ssh-keygen' -ArgumentList (@('-q') + $keyArgs + @('-N', '', '-C', 'tt-test-host', '-f', $hostKey)) | Out-Null
    Invoke-Native -FilePath 'chown' -ArgumentList @("$($script:ServerUser):$($script:ServerUser)", $hostKey, "$hostKey.pub") | Out-Null
    $fp = (Invoke-Native -FilePath 'ssh-keygen' -ArgumentList @('-l', '-E', 'sha256', '-f', "$hostKey.pub")) | Select-Object -First 1
    $pub = (Get-Content -LiteralPath "$hostKey.pub" -Raw).Trim() -split '\s+'
    return [pscustomobject]@{ Path = $hostKey; Fingerprint = ($fp -split '\s+')[1]; KnownHostsLine = "[127.0.0.1]:$Port $($pub[0]) $($pub[1])" }
}

function Wait-SshBanner([System.Diagnostics.Process] $Process, [int] $Port, [string[]] $LogPath, [string] $Name, [int] $TimeoutSec) {
    Wait-ServiceReady -Name $Name -Process $Process -Port $Port -LogPath $LogPath -TimeoutSec $TimeoutSec -Probe {
        $c = [System.Net.Sockets.TcpClient]::new()
        try {
            $c.ReceiveTimeout = 1000
            $c.Connect([System.Net.IPAddress]::Loopback, $Port)
            $buf = [byte[]]::new(64)
            $n = $c.GetStream().Read($buf, 0, 64)
            return ([System.Text.Encoding]::ASCII.GetString($buf, 0, $n) -like 'SSH-2.0-*')
        }
        catch { return $false }
        finally { $c.Dispose() }
    }
}

function New-ThirdPartyServerInfo([string] $Service, [object] $Setup, [hashtable] $More, [System.Diagnostics.Process] $Process) {
    $o = [ordered]@{
        Service        = $Service
        Host           = '127.0.0.1'
        Port           = $Setup.Port
        DataRoot       = $Setup.Data
        # What a path on the server starts with to name DataRoot ('' when the server serves DataRoot as '/').
        PathPrefix     = ''
        ReadOnlyFolder = 'ro'
        UnreadableFile = 'noread.bin'
        StateDir       = $Setup.State
        Root           = $Setup.Root.Path
        OwnedRoot      = $Setup.Root.Owned
    }
    foreach ($k in $More.Keys) { $o[$k] = $More[$k] }
    $o['Process'] = $Process
    $server = [pscustomobject]$o
    Register-RunningService $server
    return $server
}

function Start-TestRcloneSftp {
    <#
    .SYNOPSIS
        Starts rclone serve sftp (as ttsrv) on 127.0.0.1:<free port> over DataRoot; user User, password Password.
        rclone reports a failed open of a small file at CLOSE and returns at most 32 KiB per read.
    #>
    [CmdletBinding()]
    param([string] $Root, [int] $Port = 0, [int] $TimeoutSec = 30)
    Install-TestServicePrerequisite -Name rclone
    $s = Initialize-ThirdPartyServer -Root $Root -Port $Port -Name 'RcloneSftp'
    $key = New-SshHostKey -State $s.State -Port $s.Port
    $password = Get-RandomSecret 12
    $log = Join-Path $s.State 'rclone.log'
    $p = Start-AsServerUser -FilePath (Get-Command rclone).Source -LogPath $log -StateDir $s.State -ArgumentList @(
        'serve', 'sftp', $s.Data, '--addr', "127.0.0.1:$($s.Port)", '--user', 'tt', '--pass', $password, '--key', $key.Path,
        '--config', (Join-Path $s.State 'rclone.conf'), '--log-level', 'INFO')
    Wait-SshBanner -Process $p -Port $s.Port -LogPath $log -Name 'rclone serve sftp' -TimeoutSec $TimeoutSec
    return New-ThirdPartyServerInfo 'rclone-sftp' $s @{
        User = 'tt'; Password = $password; HostKeyFingerprint = $key.Fingerprint; KnownHostsLine = $key.KnownHostsLine; LogPath = $log
    } $p
}

function Start-TestRcloneWebDav {
    <#
    .SYNOPSIS
        Starts rclone serve webdav (as ttsrv) on http://127.0.0.1:<free port>/ over DataRoot; Basic auth User/Password.
    #>
    [CmdletBinding()]
    param([string] $Root, [int] $Port = 0, [int] $TimeoutSec = 30)
    Install-TestServicePrerequisite -Name rclone
    $s = Initialize-ThirdPartyServer -Root $Root -Port $Port -Name 'RcloneWebDav'
    $password = Get-RandomSecret 12
    $log = Join-Path $s.State 'rclone.log'
    $p = Start-AsServerUser -FilePath (Get-Command rclone).Source -LogPath $log -StateDir $s.State -ArgumentList @(
        'serve', 'webdav', $s.Data, '--addr', "127.0.0.1:$($s.Port)", '--user', 'tt', '--pass', $password,
        '--config', (Join-Path $s.State 'rclone.conf'), '--log-level', 'INFO', '--dir-cache-time', '0s')
    Wait-ServiceReady -Name 'rclone serve webdav' -Process $p -Port $s.Port -LogPath $log -TimeoutSec $TimeoutSec
    return New-ThirdPartyServerInfo 'rclone-webdav' $s @{ User = 'tt'; Password = $password; BaseUri = "http://127.0.0.1:$($s.Port)"; LogPath = $log } $p
}

function Start-TestApacheDav {
    <#
    .SYNOPSIS
        Starts Apache httpd (as ttsrv, its own configuration) on http://127.0.0.1:<free port>/ with mod_dav over
        DataRoot at /dav/ behind Basic auth (User/Password).
    #>
    [CmdletBinding()]
    param([string] $Root, [int] $Port = 0, [int] $TimeoutSec = 30)
    Install-TestServicePrerequisite -Name apache
    $s = Initialize-ThirdPartyServer -Root $Root -Port $Port -Name 'ApacheDav'
    $password = Get-RandomSecret 12
    $htpasswd = Join-Path $s.State 'htpasswd'
    $hash = Invoke-Native -FilePath 'openssl' -ArgumentList @('passwd', '-apr1', $password) | Select-Object -First 1
    [System.IO.File]::WriteAllText($htpasswd, "tt:$hash`n")
    $m = '/usr/lib/apache2/modules'
    $conf = Join-Path $s.State 'httpd.conf'
    $errorLog = Join-Path $s.State 'error.log'
    @"
# Generated by ThirdPartyServices.ps1 - TransferTools integration tests
ServerRoot $($s.State)
Listen 127.0.0.1:$($s.Port)
ServerName 127.0.0.1:$($s.Port)
UseCanonicalName Off
PidFile $(Join-Path $s.State 'httpd.pid')
ErrorLog $errorLog
LogLevel warn
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule authz_user_module $m/mod_authz_user.so
LoadModule authn_core_module $m/mod_authn_core.so
LoadModule authn_file_module $m/mod_authn_file.so
LoadModule auth_basic_module $m/mod_auth_basic.so
LoadModule alias_module $m/mod_alias.so
LoadModule dir_module $m/mod_dir.so
LoadModule autoindex_module $m/mod_autoindex.so
LoadModule dav_module $m/mod_dav.so
LoadModule dav_fs_module $m/mod_dav_fs.so
LoadModule mime_module $m/mod_mime.so
TypesConfig /etc/mime.types
DavLockDB $(Join-Path $s.State 'davlock')
StartServers 1
ServerLimit 1
ThreadsPerChild 64
MaxRequestWorkers 64
Alias /dav $($s.Data)
<Directory $($s.Data)>
    Dav On
    Options +Indexes
    AuthType Basic
    AuthName "TransferTools test"
    AuthUserFile $htpasswd
    Require valid-user
</Directory>
"@ | Set-Content -LiteralPath $conf -Encoding utf8NoBOM
    Invoke-Native -FilePath 'chown' -ArgumentList @('-R', "$($script:ServerUser):$($script:ServerUser)", $s.State) | Out-Null
    $log = Join-Path $s.State 'stderr.log'
    $p = Start-AsServerUser -FilePath '/usr/sbin/apache2' -LogPath $log -StateDir $s.State -ArgumentList @('-f', $conf, '-DFOREGROUND')
    Wait-ServiceReady -Name 'apache2' -Process $p -Port $s.Port -LogPath $log, $errorLog -TimeoutSec $TimeoutSec
    return New-ThirdPartyServerInfo 'apache-dav' $s @{ User = 'tt'; Password = $password; BaseUri = "http://127.0.0.1:$($s.Port)/dav"; LogPath = $errorLog } $p
}

function Start-TestProftpdSftp {
    <#
    .SYNOPSIS
        Starts ProFTPD with mod_sftp (as ttsrv, its own configuration) on 127.0.0.1:<free port>; a virtual user User
        (password Password) whose home is DataRoot.
    #>
    [CmdletBinding()]
    param([string] $Root, [int] $Port = 0, [int] $TimeoutSec = 30)
    Install-TestServicePrerequisite -Name proftpd
    $s = Initialize-ThirdPartyServer -Root $Root -Port $Port -Name 'ProftpdSftp'
    $key = New-SshHostKey -State $s.State -Port $s.Port -Type 'rsa'
    $password = Get-RandomSecret 12
    $uid = (Invoke-Native -FilePath 'id' -ArgumentList @('-u', $script:ServerUser) | Select-Object -First 1).Trim()
    $gid = (Invoke-Native -FilePath 'id' -ArgumentList @('-g', $script:ServerUser) | Select-Object -First 1).Trim()
    $hash = Invoke-Native -FilePath 'openssl' -ArgumentList @('passwd', '-5', $password) | Select-Object -First 1
    $passwd = Join-Path $s.State 'passwd'
    [System.IO.File]::WriteAllText($passwd, "tt:$($hash):$($uid):$($gid)::$($s.Data):/bin/sh`n")
    $group = Join-Path $s.State 'group'
    [System.IO.File]::WriteAllText($group, "tt:x:$($gid):tt`n")
    Set-Mode '600' @($passwd, $group)
    $m = '/usr/lib/proftpd'
    $conf = Join-Path $s.State 'proftpd.conf'
    $log = Join-Path $s.State 'proftpd.log'
    @"
# Generated by ThirdPartyServices.ps1 - TransferTools integration tests
ServerType standalone
DefaultServer on
Port $($s.Port)
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
WtmpLog off
RequireValidShell off
UseReverseDNS off
PidFile $(Join-Path $s.State 'proftpd.pid')
<IfModule mod_ctrls.c>
    ControlsEngine off
    ControlsSocket $(Join-Path $s.State 'proftpd.sock')
</IfModule>
User $($script:ServerUser)
Group $($script:ServerUser)
ScoreboardFile $(Join-Path $s.State 'proftpd.scoreboard')
DelayTable none
TransferLog none
SystemLog $log
LoadModule mod_sftp.c
AuthOrder mod_auth_file.c
AuthUserFile $passwd
AuthGroupFile $group
# DefaultRoot (a chroot) needs root: paths are the data folder's full path (PathPrefix).
AuthPAM off
Umask 022
AllowOverwrite on
<IfModule mod_sftp.c>
    SFTPEngine on
    SFTPLog $log
    SFTPHostKey $($key.Path)
    SFTPAuthMethods password
    SFTPCompression off
</IfModule>
"@ | Set-Content -LiteralPath $conf -Encoding utf8NoBOM
    Invoke-Native -FilePath 'chown' -ArgumentList @('-R', "$($script:ServerUser):$($script:ServerUser)", $s.State) | Out-Null
    $stderr = Join-Path $s.State 'stderr.log'
    $p = Start-AsServerUser -FilePath '/usr/sbin/proftpd' -LogPath $stderr -StateDir $s.State -ArgumentList @('--nodaemon', '-c', $conf)
    Wait-SshBanner -Process $p -Port $s.Port -LogPath $stderr, $log -Name 'proftpd' -TimeoutSec $TimeoutSec
    return New-ThirdPartyServerInfo 'proftpd-sftp' $s @{
        PathPrefix = $s.Data; User = 'tt'; Password = $password; HostKeyFingerprint = $key.Fingerprint; KnownHostsLine = $key.KnownHostsLine; LogPath = $log
    } $p
}

function Stop-TestThirdPartyServer {
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0, ValueFromPipeline)][object] $Server, [switch] $KeepState)
    process { Stop-TestServiceCore -Service $Server -KeepState:$KeepState }
}

#endregion
