# Local 1 GiB copy with verification: TransferTools vs cp, rclone copy and Copy-Item. Target: within 1.3x of cp.
# Each contender starts after `sync`, so none pays for the writeback of the gigabyte the one before it left dirty.
function Reset-DestAndSync { Reset-Dir $dest; & sync }
$rows = Invoke-Case "Local copy, $SizeMB MiB" ([ordered]@{
        'cp'                          = @{ Before = { Reset-DestAndSync }; Run = { Measure-Process 'cp' @($source, (Join-Path $dest 'payload.bin')) } }
        'rclone copy (checksum)'      = @{ Before = { Reset-DestAndSync }; Run = { Measure-Process 'rclone' @('copy', '--checksum', $source, $dest) } }
        'Copy-Item'                   = @{ Before = { Reset-DestAndSync }; Run = { (Invoke-PwshTimed "`$sw=[Diagnostics.Stopwatch]::StartNew(); Copy-Item '$source' '$dest'; 'ELAPSED ' + `$sw.Elapsed.TotalSeconds").ELAPSED } }
        'Send-Transfer (verified)'    = @{ Before = { Reset-DestAndSync }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$dest'" } }
    })
Add-Table "Local copy with verification, $SizeMB MiB" $rows 'cp' $Bytes 'Send-Transfer hashes with SHA-256 and verifies before the atomic rename; cp does neither.'
$tt = Get-Row $rows 'Send-Transfer (verified)'; $cp = Get-Row $rows 'cp'
if ($tt -and -not $tt.Error -and $cp -and -not $cp.Error) {
    Add-Target 'Local copy with verification within 1.3x of cp' ($tt.Median -le 1.3 * $cp.Median) ('{0:N2} s vs cp {1:N2} s ({2:N2}x)' -f $tt.Median, $cp.Median, ($tt.Median / $cp.Median))
} else { Add-Target 'Local copy with verification within 1.3x of cp' $false 'not measured (a contender failed)' }
