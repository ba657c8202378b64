<#
.SYNOPSIS
    The main job: a real, verified transfer on the embedded defaults (FileSystem protocol, LocalStore storage,
    Progress monitor), with progress bars. Run through `dotnet pwsh ./build.ps1 -Task Demo`.
.DESCRIPTION
    Uses its own TransferTools home under out/demo (unless TRANSFERTOOLS_HOME is set), so it can run again and again
    without touching your own registrations, journal or store.
#>
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/TransferTools'),
    [long] $SizeBytes = 256MB
)
$ErrorActionPreference = 'Stop'
$demo = Join-Path (Split-Path $ModulePath) 'demo'
if (-not $env:TRANSFERTOOLS_HOME) { $env:TRANSFERTOOLS_HOME = Join-Path $demo 'home' }
$outbox = New-Item -ItemType Directory -Force -Path (Join-Path $demo 'outbox')
$inbox = Join-Path $demo ('inbox-' + (Get-Date -Format 'yyyyMMdd-HHmmss'))
New-Item -ItemType Directory -Force -Path $inbox | Out-Null

Import-Module $ModulePath -Force

$file = Join-Path $outbox 'demo-payload.bin'
if (-not (Test-Path $file) -or (Get-Item $file).Length -ne $SizeBytes) {
    Write-Host "Creating a $([math]::Round($SizeBytes / 1MB)) MiB sample file: $file"
    $buffer = [byte[]]::new(1MB)
    $random = [Random]::new(2026)
    $stream = [IO.File]::Create($file)
    try { for ($i = 0; $i -lt $SizeBytes / 1MB; $i++) { $random.NextBytes($buffer); $stream.Write($buffer, 0, $buffer.Length) } }
    finally { $stream.Dispose() }
}

Write-Host "`n> Send-Transfer -Path $file -Destination $inbox"
$transfer = Send-Transfer -Path $file -Destination $inbox
$transfer | Format-List Id, Status, Progress, BytesTransferred, TotalBytes, Sha256, Source, Destination, StartedAt, CompletedAt | Out-Host

$expected = (Get-FileHash $file -Algorithm SHA256).Hash.ToLowerInvariant()
$delivered = (Get-FileHash $transfer.Destination -Algorithm SHA256).Hash.ToLowerInvariant()
if ($transfer.Status -ne 'Completed' -or $delivered -ne $expected -or $transfer.Sha256 -ne $expected) {
    Write-Error "The demo transfer did not arrive verified (status $($transfer.Status))."
    exit 1
}
Write-Host "Delivered and verified: SHA-256 $delivered"

Write-Host "`n> Save-StorageItem -Path $file -Metadata @{ source = 'demo' }"
Save-StorageItem -Path $file -Metadata @{ source = 'demo' } | Out-Host
Write-Host '> Measure-StorageItem'
Measure-StorageItem | Out-Host
Write-Host '> Get-TransferStatus -First 3'
Get-TransferStatus -First 3 | Out-Host
