#Requires -Version 7.4
<#
.SYNOPSIS
    Starts test services and keeps them running for a non-PowerShell test host (e.g. an xunit
    fixture): writes their connection details as JSON to -InfoFile, then waits until the info
    file is deleted or -ParentPid exits, and stops everything.
.DESCRIPTION
    The JSON is an object keyed by service name (sshd, nginx, azurite, oidc, radosgw); each value holds
    the properties returned by the matching Start-* function, with Process replaced by Pid.
    The servers are child processes of this pwsh process, so killing it with its process tree
    (Process.Kill(true) in .NET) also stops them. The info file is written atomically
    (temp file + rename), so readers can poll for its existence.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/services/Serve.ps1 -Service sshd,nginx -InfoFile /tmp/svc.json -ParentPid $PID
#>
[CmdletBinding()]
param(
    # sshd, nginx, azurite, oidc, radosgw; with -File pass them comma-separated in one argument.
    [Parameter(Mandatory)][string[]] $Service,
    [Parameter(Mandatory)][string] $InfoFile,
    [int] $ParentPid = 0,
    [string] $Root
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'TestServices.psm1') -Force
$Service = @($Service -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($s in $Service) { if ($s -notin 'sshd', 'nginx', 'azurite', 'oidc', 'radosgw') { throw "Unknown service '$s' (expected sshd, nginx, azurite, oidc, radosgw)" } }

$ownRoot = -not $Root
if ($ownRoot) { $Root = Join-Path ([IO.Path]::GetTempPath()) ('tt-serve-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
[IO.Directory]::CreateDirectory($Root) | Out-Null
try {
    $info = [ordered]@{}
    foreach ($s in $Service) {
        $dir = Join-Path $Root $s
        $server = switch ($s) {
            'sshd' { Start-TestSshd -Root $dir }
            'nginx' { Start-TestNginx -Root $dir }
            'azurite' { Start-TestAzurite -Root $dir }
            'oidc' { Start-TestOidcProvider -Root $dir }
            'radosgw' { Start-TestRadosgw -Root $dir }
        }
        $o = [ordered]@{}
        foreach ($p in $server.PSObject.Properties) {
            if ($p.Name -eq 'StopScript') { continue }
            if ($p.Name -eq 'Process') { $o['Pid'] = if ($p.Value) { $p.Value.Id } else { 0 } } else { $o[$p.Name] = $p.Value }
        }
        $info[$s] = $o
    }
    $tmp = "$InfoFile.tmp"
    $info | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $tmp -Encoding utf8NoBOM
    Move-Item -LiteralPath $tmp -Destination $InfoFile -Force
    while (Test-Path -LiteralPath $InfoFile) {
        if ($ParentPid -gt 0) {
            $parent = Get-Process -Id $ParentPid -ErrorAction SilentlyContinue
            if (-not $parent -or $parent.HasExited) { break }
        }
        foreach ($srv in Get-TestService) {
            if ($srv.Process -and $srv.Process.HasExited) { Write-Warning "$($srv.Service) exited unexpectedly (code $($srv.Process.ExitCode))" }
        }
        Start-Sleep -Milliseconds 500
    }
}
finally {
    Stop-AllTestServices
    Remove-Item -LiteralPath $InfoFile -Force -ErrorAction SilentlyContinue
    if ($ownRoot -and -not $env:TT_KEEP_SERVICE_STATE) { Remove-Item -LiteralPath $Root -Recurse -Force -ErrorAction SilentlyContinue }
}
