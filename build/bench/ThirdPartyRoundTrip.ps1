# Issue 27 item 2: a 100 MiB round trip through every server of the third-party matrix (the test suite keeps to a few
# MiB; big files belong here). For each server: Send-Transfer of one random file, Receive-Transfer of it back, both
# checked byte-identical (SHA-256 of source, server copy and received copy) and timed. Needs root (the servers run as
# the local user ttsrv, see tests/services/ThirdPartyServices.ps1) and a built module (out/TransferTools).
#   dotnet pwsh -NoProfile -File build/bench/ThirdPartyRoundTrip.ps1 [-SizeMB 100] [-Server rclone-sftp,apache-dav]
# Prints one line per server and direction; a server that fails is reported and the others still run.
param(
    [int] $SizeMB = 100,
    [string[]] $Server = @('rclone-sftp', 'proftpd-sftp', 'apache-dav', 'rclone-webdav', 'nginx-put-only')
)
$ErrorActionPreference = 'Stop'
$root = Split-Path (Split-Path $PSScriptRoot)
Import-Module (Join-Path $root 'tests/TestHelpers.psm1') -Force
Import-Module (Join-Path $root 'tests/services/TestServices.psm1') -Force
$home_ = Initialize-TransferToolsTest
try {
    $work = New-Item -ItemType Directory -Force -Path (Join-Path $home_ 'bench')
    $file = New-TestFile -Path (Join-Path $work "round-trip-$SizeMB.bin") -Size ($SizeMB * 1MB) -Seed 27
    $sha = (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant()
    $rows = foreach ($name in @($Server | ForEach-Object { $_ -split ',' } | Where-Object { $_ })) {
        $srv = switch ($name) {
            'rclone-sftp' { Start-TestRcloneSftp }
            'proftpd-sftp' { Start-TestProftpdSftp }
            'apache-dav' { Start-TestApacheDav }
            'rclone-webdav' { Start-TestRcloneWebDav }
            'nginx-put-only' { Start-TestNginx }
        }
        try {
            $auth = @{}
            if ($name -eq 'nginx-put-only') { $base = "$($srv.BaseUri)/put"; $remote = $srv.PutRoot }
            else {
                $remote = $srv.DataRoot
                $auth.Credential = [pscredential]::new($srv.User, (ConvertTo-SecureString $srv.Password -AsPlainText -Force))
                if ($name -like '*-sftp') {
                    $base = "sftp://$($srv.User)@127.0.0.1:$($srv.Port)$($srv.PathPrefix)"
                    $auth.HostKeyFingerprint = $srv.HostKeyFingerprint
                }
                else { $base = $srv.BaseUri }
            }
            $up = $null; $down = $null
            $upTime = Measure-Command { $up = Send-Transfer -Path $file -Destination "$base/bench/" @auth }
            $held = (Get-FileHash -LiteralPath (Join-Path $remote "bench/$(Split-Path -Leaf $file)") -Algorithm SHA256).Hash.ToLowerInvariant()
            $out = Join-Path $work "back-$name"
            $downTime = Measure-Command { $down = Receive-Transfer -Source "$base/bench/$(Split-Path -Leaf $file)" -OutputDir $out @auth }
            $got = (Get-FileHash -LiteralPath (Join-Path $out (Split-Path -Leaf $file)) -Algorithm SHA256).Hash.ToLowerInvariant()
            foreach ($leg in @(
                    @{ Way = 'upload'; T = $up; Time = $upTime; Ok = ($held -eq $sha) }
                    @{ Way = 'download'; T = $down; Time = $downTime; Ok = ($got -eq $sha) })) {
                [pscustomobject]@{
                    Server       = $name
                    Direction    = $leg.Way
                    Status       = $leg.T.Status
                    Verification = $leg.T.Verification
                    Identical    = $leg.Ok
                    Seconds      = [math]::Round($leg.Time.TotalSeconds, 2)
                    'MiB/s'      = [math]::Round($SizeMB / $leg.Time.TotalSeconds, 1)
                }
            }
        }
        catch {
            [pscustomobject]@{ Server = $name; Direction = 'failed'; Status = "$_"; Verification = ''; Identical = $false; Seconds = 0; 'MiB/s' = 0 }
        }
        finally { Stop-AllTestServices }
    }
    $rows | Format-Table -AutoSize | Out-String -Width 120 | Write-Host
}
finally {
    Remove-TransferToolsTest -HomePath $home_
}
