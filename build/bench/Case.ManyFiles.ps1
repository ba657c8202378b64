# 10,000 files of 4 KiB piped into Send-Transfer vs rclone copy of the folder (and cp -r as the floor).
# Target: faster than rclone. The TransferTools run also measures the per-object cost of the Transfer objects it returns.
$smallSource = Join-Path $WorkRoot "small-$SmallFiles"
$smallDest = Join-Path $WorkRoot 'small-dest'
if (-not (Test-Path $smallSource) -or @(Get-ChildItem $smallSource -File).Count -ne $SmallFiles) {
    Write-Host "Creating $SmallFiles files of 4 KiB in $smallSource"
    Reset-Dir $smallSource
    $random = [Random]::new(11); $buffer = [byte[]]::new(4096)
    for ($i = 0; $i -lt $SmallFiles; $i++) { $random.NextBytes($buffer); [IO.File]::WriteAllBytes((Join-Path $smallSource ('f{0:D5}.bin' -f $i)), $buffer) }
}
$smallBytes = [double]$SmallFiles * 4096
$throttle = 16

$script:ManyFilesObjectBytes = $null
# Each contender starts 10 s after the previous output was deleted: ext4 (without a journal, as here) scans past
# recently deleted inodes when it allocates new ones, which would otherwise tax whoever runs next.
function Reset-SmallDest { Reset-Dir $smallDest; Remove-Item (Join-Path $WorkRoot 'home/journal') -Recurse -Force -ErrorAction SilentlyContinue; Start-Sleep -Seconds 10 }
$rows = Invoke-Case "$SmallFiles files of 4 KiB" ([ordered]@{
        'cp -r'              = @{ Before = { Reset-SmallDest }; Run = { Measure-Process 'cp' @('-r', "$smallSource/.", $smallDest) } }
        'rclone copy'        = @{ Before = { Reset-SmallDest }; Run = { Measure-Process 'rclone' @('copy', $smallSource, $smallDest) } }
        "Get-ChildItem | Send-Transfer -ThrottleLimit $throttle" = @{
            Before = { Reset-SmallDest }
            Run    = {
                $f = Invoke-PwshTimed @"
`$null = Get-ChildItem '$smallSource' -File | Select-Object -First 2 | Send-Transfer -Destination '$WorkRoot/warm/' -Force
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); `$before = [GC]::GetTotalMemory(`$true)
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = Get-ChildItem '$smallSource' -File | Send-Transfer -Destination '$smallDest/' -ThrottleLimit $throttle
`$sw.Stop()
`$after = [GC]::GetTotalMemory(`$true)
if (`$result.Count -ne $SmallFiles -or @(`$result | Where-Object Status -ne 'Completed').Count) { throw "`$(`$result.Count) results, not all completed" }
'OBJECTBYTES ' + ((`$after - `$before) / `$result.Count)
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
                $script:ManyFilesObjectBytes = $f.OBJECTBYTES
                $f.ELAPSED
            }
        }
    })
Add-Table "$SmallFiles files of 4 KiB, local folder to folder" $rows 'rclone copy' $smallBytes "Send-Transfer journals, hashes, verifies and renames every file and leaves a manifest beside each; rclone copies with its default 4 transfers and 8 checkers."
$tt = Get-Row $rows "Get-ChildItem | Send-Transfer -ThrottleLimit $throttle"; $rc = Get-Row $rows 'rclone copy'
Add-Target "$SmallFiles files of 4 KiB piped into Send-Transfer faster than rclone copy" ((Test-Rows @($tt, $rc)) -and $tt.Median -lt $rc.Median) ('{0} vs rclone {1} ({2:N0} files/s)' -f (Format-Seconds $tt), (Format-Seconds $rc), $(if (Test-Rows @($tt)) { $SmallFiles / $tt.Median } else { 0 }))
if ($tt -and -not $tt.Error -and $script:ManyFilesObjectBytes) {
    $script:PerObjectCosts.Add([pscustomobject]@{ What = "Transfer object from Send-Transfer ($('{0:N0}' -f $SmallFiles) piped files)"; Bytes = $script:ManyFilesObjectBytes; Time = $tt.Median / $SmallFiles })
}
Remove-Item $smallDest -Recurse -Force -ErrorAction SilentlyContinue
