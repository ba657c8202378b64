# Local 1 GiB copy with verification: TransferTools vs cp, rclone copy and Copy-Item. Target: within 1.3x of cp.
# Each contender starts after `sync`, so none pays for the writeback of the gigabyte the one before it left dirty.
function Reset-DestAndSync { Reset-Dir $dest; & sync }
$rows = Invoke-Case "Local copy, $SizeMB MiB" ([ordered]@{
        'cp'                          = @{ Before = { Reset-DestAndSync }; Run = { Measure-Process 'cp' @($source, (Join-Path $dest 'payload.bin')) } }
        'rclone copy (checksum)'      = @{ Before = { Reset-DestAndSync }; Run = { Measure-Process 'rclone' @('copy', '--checksum', $source, $dest) } }
        'Copy-Item'                   = @{ Before = { Reset-DestAndSync }; Run = { (Invoke-PwshTimed "`$sw=[Diagnostics.Stopwatch]::StartNew(); Copy-Item '$source' '$dest'; 'ELAPSED ' + `$sw.Elapsed.TotalSeconds").ELAPSED } }
        'Send-Transfer (verified)'    = @{ Before = { Reset-DestAndSync }; Run = { Measure-TransferTools "Send-Transfer -Path '$source' -Destination '$dest'" } }
        # Not a copy: the floor. A Transfer carries the SHA-256 of its content (DESIGN.md), and SHA-256 is sequential,
        # so no verified copy can finish before one core has hashed the whole file.
        # openssl, not coreutils' sha256sum: it is the SHA-256 .NET itself calls on Linux (with the CPU's SHA extensions).
        'openssl sha256 (hash only, no copy)' = @{ Before = { Reset-DestAndSync }; Run = { Measure-Process 'openssl' @('dgst', '-sha256', $source) } }
    })
Add-Table "Local copy with verification, $SizeMB MiB" $rows 'cp' $Bytes 'Send-Transfer hashes with SHA-256 and verifies before the atomic rename; cp does neither. openssl sha256 only hashes the source: it is the floor for any copy that reports the SHA-256 of what it copied.'
$tt = Get-Row $rows 'Send-Transfer (verified)'; $cp = Get-Row $rows 'cp'; $hash = Get-Row $rows 'openssl sha256 (hash only, no copy)'
if ($tt -and -not $tt.Error -and $cp -and -not $cp.Error) {
    $floor = if ($hash -and -not $hash.Error) { '; SHA-256 alone (openssl) {0:N2} s = {1:N2}x cp' -f $hash.Median, ($hash.Median / $cp.Median) } else { '' }
    Add-Target 'Local copy with verification within 1.3x of cp' ($tt.Median -le 1.3 * $cp.Median) ('{0:N2} s vs cp {1:N2} s ({2:N2}x){3}' -f $tt.Median, $cp.Median, ($tt.Median / $cp.Median), $floor)
} else { Add-Target 'Local copy with verification within 1.3x of cp' $false 'not measured (a contender failed)' }
