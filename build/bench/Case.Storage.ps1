# LocalStore at scale: build/bench/Storage.Bench.ps1 (the storage area's benchmark) fills a store with 1,000,000 items
# through the engine (not a million cmdlet calls) in $WorkRoot/storage-1m, kept between runs so only the first run
# pays for the fill; then Get-StorageItem -Prefix p -First 100 and small files piped into Save-StorageItem.
# Targets: listing under 50 ms, piping at 1,000 items/s or more. Also the per-object cost of Get-StorageItem.
$storageItems = 1000000
$storeDir = Join-Path $WorkRoot 'storage-1m'
$storageScript = Join-Path $PSScriptRoot 'Storage.Bench.ps1'
Write-Host "== Storage ($storageItems items; the fill is cached in $storeDir)"
Remove-Item (Join-Path $storeDir 'pipe') -Recurse -Force -ErrorAction SilentlyContinue
$json = & $pwshExe -NoProfile -NonInteractive -Command "& '$storageScript' -ModulePath '$ModulePath' -Count $storageItems -WorkDirectory '$storeDir' -PipeCount 2000 | ConvertTo-Json -Compress"
if ($LASTEXITCODE -ne 0) { throw "Storage.Bench.ps1 failed: $($json | Select-Object -Last 5)" }
# The script may emit stray values before its summary object: keep the one that has the figures.
$storage = @($json | Where-Object { $_ -match '^\s*[\[{]' } | Select-Object -Last 1 | ConvertFrom-Json) | ForEach-Object { $_ } |
    Where-Object { $_.PSObject.Properties['Items'] } | Select-Object -Last 1
if (-not $storage) { throw "Storage.Bench.ps1 printed no figures: $($json | Select-Object -Last 5)" }
Write-Host "   $($storage | ConvertTo-Json -Compress)"

# Per-object cost of Get-StorageItem: 10,000 items held in a variable, managed heap before/after, time per item.
$perItem = Invoke-PwshTimed @"
`$null = Get-StorageItem -Prefix q -First 10
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); `$before = [GC]::GetTotalMemory(`$true)
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$items = Get-StorageItem -Prefix q -First 10000
`$sw.Stop()
`$after = [GC]::GetTotalMemory(`$true)
if (`$items.Count -ne 10000) { throw "got `$(`$items.Count) items" }
'OBJECTBYTES ' + ((`$after - `$before) / `$items.Count)
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@ -Environment @{ TRANSFERTOOLS_HOME = $storeDir }
$script:PerObjectCosts.Add([pscustomobject]@{ What = 'Item from Get-StorageItem -First 10000 (1,000,000-item LocalStore)'; Bytes = $perItem.OBJECTBYTES; Time = $perItem.ELAPSED / 10000 })

$script:Report.Add("### LocalStore with $('{0:N0}' -f $storage.Items) items`n")
$script:Report.Add('build/bench/Storage.Bench.ps1: the index is filled through the engine once and kept between runs; the listing is the Get-StorageItem cmdlet as users call it (median and best of 20 after a warm-up); piping is `Get-ChildItem | Save-StorageItem` of 2,000 small files.')
$script:Report.Add('')
$script:Report.Add('| measure | value |')
$script:Report.Add('| --- | ---: |')
$script:Report.Add(('| items indexed | {0:N0} |' -f $storage.Items))
$script:Report.Add(('| index size | {0:N1} MiB |' -f $storage.IndexSizeMB))
$script:Report.Add(('| fill through the engine (this run) | {0} |' -f $(if ($storage.FillItemsPerSecond -gt 0) { '{0:N0} items/s' -f $storage.FillItemsPerSecond } else { 'cached' })))
$script:Report.Add(('| Get-StorageItem -Prefix p -First 100 (median / best) | {0:N1} ms / {1:N1} ms |' -f $storage.ListFirst100MedianMs, $storage.ListFirst100BestMs))
$script:Report.Add(('| Get-StorageItem -Prefix reports/2026/0099 -First 100 | {0:N1} ms |' -f $storage.ListDeepPrefixMs))
$script:Report.Add(('| Measure-StorageItem | {0:N1} ms |' -f $storage.MeasureStorageItemMs))
$script:Report.Add(('| Get-ChildItem \| Save-StorageItem (2,000 small files) | {0:N0} items/s |' -f $storage.PipeSaveItemsPerSecond))
$script:Report.Add('')
Add-Target 'Get-StorageItem -Prefix p -First 100 under 50 ms with 1,000,000 items' ($storage.Items -ge $storageItems -and $storage.ListFirst100MedianMs -lt 50) ('{0:N1} ms median over {1:N0} items' -f $storage.ListFirst100MedianMs, $storage.Items)
Add-Target 'Small files piped into Save-StorageItem at 1,000 items/s or more' ($storage.PipeSaveItemsPerSecond -ge 1000) ('{0:N0} items/s' -f $storage.PipeSaveItemsPerSecond)
