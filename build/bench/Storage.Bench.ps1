#requires -Version 7.0
<#
.SYNOPSIS
    LocalStore benchmark: fills a store with -Count items through the engine (distinct names, -Distinct distinct
    contents, so the blob folder stays small), then measures prefix listing through Get-StorageItem and piping small
    files into Save-StorageItem.
.EXAMPLE
    dotnet pwsh build/bench/Storage.Bench.ps1 -Count 1000000
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/TransferTools'),
    [int] $Count = 1000000,
    [int] $Distinct = 1000,
    [int] $PipeCount = 2000,
    [string] $WorkDirectory
)
$ErrorActionPreference = 'Stop'
if (-not $WorkDirectory) { $WorkDirectory = Join-Path ([IO.Path]::GetTempPath()) ('tt-bench-storage-' + [guid]::NewGuid().ToString('n')) }
New-Item -ItemType Directory -Force -Path $WorkDirectory | Out-Null
$env:TRANSFERTOOLS_HOME = $WorkDirectory
Import-Module $ModulePath -Force
$null = Measure-StorageItem  # loads the engine assembly

# 1. Fill through the engine (the LocalStore plugin's StoreAsync), many items per second without cmdlet overhead.
$plugin = [TransferTools.Engine.BuiltIn.LocalStore.LocalStorePlugin]::new()
$config = [Collections.Generic.Dictionary[string, string]]::new()
$config['Path'] = Join-Path $WorkDirectory 'store'
$context = [TransferTools.Abstractions.OperationContext]::new()
$plugin.InitAsync($context, $config).GetAwaiter().GetResult()
$existing = $plugin.ReadStats().Item1  # (Items, Bytes, Blobs, BlobBytes)
$fill = [Diagnostics.Stopwatch]::StartNew()
$contents = foreach ($d in 0..($Distinct - 1)) { [Text.Encoding]::UTF8.GetBytes("content $d") }
$prefixes = 'p', 'q', 'reports/2026/', 'logs/'
for ($i = $existing; $i -lt $Count; $i++) {
    $m = [TransferTools.Abstractions.ItemMetadata]::new()
    $m.Name = '{0}{1:D8}.txt' -f $prefixes[$i % 4], $i
    $m.MimeType = 'text/plain'
    $stream = [IO.MemoryStream]::new($contents[$i % $Distinct], $false)
    $null = $plugin.StoreAsync($context, $stream, $m).GetAwaiter().GetResult()
    if ($i % 100000 -eq 0 -and $i -gt 0) { Write-Host ("  {0:N0} items, {1:N0} items/s" -f $i, (($i - $existing) / $fill.Elapsed.TotalSeconds)) }
}
$fill.Stop()
$filled = $Count - $existing
$plugin.ShutdownAsync($context).GetAwaiter().GetResult()
$fillRate = if ($filled -gt 0) { $filled / $fill.Elapsed.TotalSeconds } else { 0 }

# 2. Get-StorageItem -Prefix p -First 100 (the cmdlet, as users call it); best and median of 20 runs after one warm-up.
$null = Get-StorageItem -Prefix p -First 100
$times = foreach ($r in 1..20) {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $got = Get-StorageItem -Prefix p -First 100
    $sw.Stop()
    if ($got.Count -ne 100) { throw "Expected 100 items, got $($got.Count)." }
    $sw.Elapsed.TotalMilliseconds
}
$sorted = $times | Sort-Object
$listMedian = $sorted[[int]($sorted.Count / 2)]
$deep = [Diagnostics.Stopwatch]::StartNew()
$null = Get-StorageItem -Prefix 'reports/2026/0099' -First 100
$deep.Stop()
$measure = [Diagnostics.Stopwatch]::StartNew()
$stats = Measure-StorageItem
$measure.Stop()

# 3. Pipe small files into Save-StorageItem.
$src = Join-Path $WorkDirectory 'pipe'
New-Item -ItemType Directory -Force -Path $src | Out-Null
foreach ($i in 1..$PipeCount) { [IO.File]::WriteAllText((Join-Path $src "f$i.txt"), "small file $i $([guid]::NewGuid())") }
$pipe = [Diagnostics.Stopwatch]::StartNew()
$saved = Get-ChildItem $src -File | Save-StorageItem -Prefix 'pipe/'
$pipe.Stop()
if (@($saved).Count -ne $PipeCount) { throw "Expected $PipeCount saved items, got $(@($saved).Count)." }
$pipeRate = $PipeCount / $pipe.Elapsed.TotalSeconds

[pscustomobject]@{
    Items                   = $stats.TotalItems
    FillItemsPerSecond      = [math]::Round($fillRate)
    ListFirst100MedianMs    = [math]::Round($listMedian, 2)
    ListFirst100BestMs      = [math]::Round($sorted[0], 2)
    ListDeepPrefixMs        = [math]::Round($deep.Elapsed.TotalMilliseconds, 2)
    MeasureStorageItemMs    = [math]::Round($measure.Elapsed.TotalMilliseconds, 2)
    PipeSaveItemsPerSecond  = [math]::Round($pipeRate)
    IndexSizeMB             = [math]::Round((Get-ChildItem (Join-Path $WorkDirectory 'store') -Filter 'index.db*' | Measure-Object Length -Sum).Sum / 1MB, 1)
    WorkDirectory           = $WorkDirectory
}
