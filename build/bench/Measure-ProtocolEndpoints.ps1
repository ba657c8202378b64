#requires -Version 7.4
<#
.SYNOPSIS
    Quick throughput check of the Sftp and Http endpoints alone (no engine, no journal, no hashing) against
    OpenSSH sftp and curl on loopback, to tune the plugins. The full comparison is `build.ps1 -Task Bench`.
.EXAMPLE
    dotnet pwsh ./build/bench/Measure-ProtocolEndpoints.ps1 -SizeMB 256
#>
[CmdletBinding()]
param(
    [int] $SizeMB = 256,
    [int] $Rounds = 2,
    [int] $WriteSize = 4MB,
    [hashtable] $SftpConfig = @{},
    [string] $Configuration = 'Release',
    [switch] $SkipHttp,
    # Load this Renci.SshNet.dll instead of the plugin's (to compare the netstandard2.0 and net8+ builds).
    [string] $SshNetPath
)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
Import-Module (Join-Path $root 'tests/services/TestServices.psm1') -Force
$sftpBin = Join-Path $root "src/TransferTools.Plugins.Sftp/bin/$Configuration/netstandard2.0"
$engineBin = Join-Path $root "src/TransferTools.Engine/bin/$Configuration/netstandard2.0"
if ($SshNetPath) { Add-Type -Path $SshNetPath }
foreach ($dll in 'TransferTools.Abstractions', 'Renci.SshNet', 'TransferTools.Plugins.Sftp') { if ($dll -ne 'Renci.SshNet' -or -not $SshNetPath) { Add-Type -Path (Join-Path $sftpBin "$dll.dll") } }
Add-Type -Path (Join-Path $engineBin 'TransferTools.Engine.dll')

$work = Join-Path ([IO.Path]::GetTempPath()) "tt-protobench-$PID"
New-Item -ItemType Directory -Force $work | Out-Null
$file = Join-Path $work 'payload.bin'
& head -c ($SizeMB * 1MB) /dev/urandom > $file

function Copy-ToEndpoint($endpoint, [uri] $temp, [uri] $final, $options) {
    $ctx = [TransferTools.Abstractions.OperationContext]::None
    $buffer = [byte[]]::new($WriteSize)
    $in = [IO.File]::OpenRead($file)
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $out = $endpoint.OpenWriteAsync($ctx, $temp, 0, $options).GetAwaiter().GetResult()
    while (($n = $in.Read($buffer, 0, $buffer.Length)) -gt 0) { $null = $out.WriteAsync($buffer, 0, $n).GetAwaiter().GetResult() }
    $null = $out.FlushAsync().GetAwaiter().GetResult(); $out.Dispose(); $in.Dispose()
    $null = $endpoint.CommitAsync($ctx, $temp, $final, $true, $options).GetAwaiter().GetResult()
    $sw.Elapsed.TotalSeconds
}

function Copy-FromEndpoint($endpoint, [uri] $source, $options) {
    $ctx = [TransferTools.Abstractions.OperationContext]::None
    $buffer = [byte[]]::new($WriteSize)
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $in = $endpoint.OpenReadAsync($ctx, $source, 0, $null, $options).GetAwaiter().GetResult()
    $out = [IO.File]::Create((Join-Path $work 'down.bin'))
    while (($n = $in.ReadAsync($buffer, 0, $buffer.Length).GetAwaiter().GetResult()) -gt 0) { $out.Write($buffer, 0, $n) }
    $in.Dispose(); $out.Dispose()
    $sw.Elapsed.TotalSeconds
}

function Report([string] $name, [double[]] $seconds) {
    $best = ($seconds | Measure-Object -Minimum).Minimum
    '{0,-34} best {1,6:0.00} s  {2,7:0} MiB/s   (runs: {3})' -f $name, $best, ($SizeMB / $best), (($seconds | ForEach-Object { $_.ToString('0.00') }) -join ', ')
}

$sshd = Start-TestSshd
$nginx = Start-TestNginx
try {
    $known = Join-Path $work 'known_hosts'
    Set-Content $known $sshd.KnownHostsLine
    $cfg = [Collections.Generic.Dictionary[string, string]]::new([StringComparer]::OrdinalIgnoreCase)
    $cfg['KnownHostsPath'] = $known
    foreach ($k in $SftpConfig.Keys) { $cfg[$k] = [string]$SftpConfig[$k] }
    $sftp = [TransferTools.Plugins.Sftp.SftpProtocolPlugin]::new()
    $null = $sftp.InitAsync([TransferTools.Abstractions.OperationContext]::None, $cfg).GetAwaiter().GetResult()
    $options = [TransferTools.Abstractions.TransferOptions]::new()
    $options.Custom[[TransferTools.Plugins.Sftp.SftpProtocolPlugin]::KeyFileKey] = $sshd.KeyFile
    $base = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)/~"

    $ours = @(); $openssh = @(); $oursDown = @()
    for ($r = 0; $r -lt $Rounds; $r++) {
        $batch = Join-Path $work 'batch'
        Set-Content $batch "put $file openssh.bin"
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & sftp -q -b $batch -i $sshd.KeyFile -P $sshd.Port -o "UserKnownHostsFile=$known" -o StrictHostKeyChecking=yes "$($sshd.KeyUser)@127.0.0.1" | Out-Null
        $openssh += $sw.Elapsed.TotalSeconds
        $ours += Copy-ToEndpoint $sftp "$base/ours.bin.partial" "$base/ours.bin" $options
        $oursDown += Copy-FromEndpoint $sftp "$base/ours.bin" $options
    }
    Report 'OpenSSH sftp put' $openssh
    Report 'Sftp endpoint upload' $ours
    Report 'Sftp endpoint download' $oursDown

    if ($SkipHttp) { return }
    Copy-Item $file (Join-Path $nginx.FilesRoot 'payload.bin')
    $http = [TransferTools.Engine.BuiltIn.Http.HttpProtocolPlugin]::new()
    $null = $http.InitAsync([TransferTools.Abstractions.OperationContext]::None, [Collections.Generic.Dictionary[string, string]]::new()).GetAwaiter().GetResult()
    $curl = @(); $oursHttp = @(); $oursPut = @()
    for ($r = 0; $r -lt $Rounds; $r++) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & curl -sS -o (Join-Path $work 'curl.bin') "$($nginx.BaseUri)/files/payload.bin"
        $curl += $sw.Elapsed.TotalSeconds
        $oursHttp += Copy-FromEndpoint $http "$($nginx.BaseUri)/files/payload.bin" $options
        $oursPut += Copy-ToEndpoint $http "$($nginx.BaseUri)/dav/payload.bin.partial" "$($nginx.BaseUri)/dav/payload.bin" ([TransferTools.Abstractions.TransferOptions]::new())
    }
    Report 'curl download' $curl
    Report 'Http endpoint download' $oursHttp
    Report 'Http endpoint upload (PUT+MOVE)' $oursPut
}
finally {
    Stop-AllTestServices
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
