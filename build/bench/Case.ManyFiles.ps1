# 10,000 files of 4 KiB piped into Send-Transfer, and the folder sent with Send-Transfer -Recurse, vs rclone copy of the
# folder (and cp -r as the floor).
# Targets (issue 31): at most 1.0x rclone copy, piped and with -Recurse, local and to SFTP. The TransferTools runs also
# report their CPU time (user + system of the pwsh around the timed command; the peers': of their process), which the
# shared machine's load disturbs less than wall time, and the piped run the per-object cost of the Transfer objects.
$script:CaseIssue = '31'
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
$script:ManyFilesGrowth = 0.0   # the worst peak working-set growth of a piped run (issue 31: under 100 MiB)
$objectBytes = $null
$script:ManyFilesRun = 0
$sendTitle = "Get-ChildItem | Send-Transfer -ThrottleLimit $throttle"
$recurseTitle = "Send-Transfer -Recurse -ThrottleLimit $throttle"
# The same -Recurse command in a pwsh that has already sent the folder three times (untimed): what is left once the
# runtime has compiled the hot code at its final tier, which shows how much of a first send is that compilation (issue
# 31's floor). One send is not enough: the runtime's background compiler, sharing 2 cores with the copy, takes 3-4.
$warmSends = 3
$warmTitle = "Send-Transfer -Recurse, pwsh warmed by $warmSends such sends"
$script:WarmRun = 0
# Lines both TransferTools contenders run: an untimed warm-up (JIT, plugin loading), and the check of their results.
$warmUp = "`$null = Get-ChildItem '$smallSource' -File | Select-Object -First 2 | Send-Transfer -Destination '$WorkRoot/warm/' -Force"
# CPU time of the timed command (the pwsh's user + system time around it), printed as a CPU line.
$cpuStart = "`$cpu0 = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime"
$cpuEnd = "'CPU ' + ([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - `$cpu0).TotalSeconds"
$allCompleted = "if (`$result.Count -ne $SmallFiles -or @(`$result | Where-Object Status -ne 'Completed').Count) { throw `"`$(`$result.Count) results, not all completed`" }"
# Runs SETUP untimed, then times COMMAND (which must assign $result) in a fresh pwsh; reports its CPU and returns its seconds.
function Measure-TimedSend([string] $Setup, [string] $Command) {
    $f = Invoke-PwshTimed @"
$Setup
$cpuStart
`$sw = [Diagnostics.Stopwatch]::StartNew()
$Command
`$sw.Stop()
$cpuEnd
$allCompleted
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
    $script:LastCpu = $f.CPU
    $f.ELAPSED
}

# The same contenders in two settings of the file system, because ext4 without a journal (as here) makes a new
# file's inode cost depend on how many files were deleted in the last minutes: it scans past recently deleted inodes
# (for 60 s, up to 360 s while their table block is dirty) when it allocates one.
#  - Fresh: every run writes into a new folder and nothing is deleted until the case ends, so each run pays only for
#    its own work (what a user copying into a new folder on a journaled file system meets).
#  - After delete: every run writes into the folder the previous run's 10,000 files were just deleted from, 10 s
#    earlier; the kernel's inode scan then dominates and all contenders pay it.
function New-ManyFilesRows([string] $Title, [scriptblock] $Reset) {
    Invoke-Case $Title ([ordered]@{
            'cp -r'       = @{ Before = $Reset; Run = { Measure-Process 'cp' @('-r', "$smallSource/.", $script:smallDest) } }
            'rclone copy' = @{ Before = $Reset; Run = { Measure-Process 'rclone' @('copy', $smallSource, $script:smallDest) } }
            $sendTitle    = @{
                Before = $Reset
                Run    = {
                    $f = Invoke-PwshTimed @"
$warmUp
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); `$before = [GC]::GetTotalMemory(`$true)
try { [IO.File]::WriteAllText('/proc/self/clear_refs', '5') } catch { }
`$self = [Diagnostics.Process]::GetCurrentProcess(); `$self.Refresh(); `$base = `$self.WorkingSet64
$cpuStart
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = Get-ChildItem '$smallSource' -File | Send-Transfer -Destination '$($script:smallDest)/' -ThrottleLimit $throttle
`$sw.Stop()
$cpuEnd
`$after = [GC]::GetTotalMemory(`$true)
$allCompleted
'OBJECTBYTES ' + ((`$after - `$before) / `$result.Count)
`$self.Refresh(); 'BASEMB ' + (`$base / 1MB); 'PEAKMB ' + (`$self.PeakWorkingSet64 / 1MB)
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
                    $script:ManyFilesObjectBytes = $f.OBJECTBYTES
                    $script:ManyFilesGrowth = [Math]::Max([double]$script:ManyFilesGrowth, $f.PEAKMB - $f.BASEMB)
                    $script:LastCpu = $f.CPU
                    $f.ELAPSED
                }
            }
            $warmTitle    = @{
                Before = $Reset
                Run    = {
                    $script:WarmRun++
                    Measure-TimedSend ("$warmUp`n" + "foreach (`$i in 1..$warmSends) { `$null = Send-Transfer -Path '$smallSource' -Recurse -Destination `"$WorkRoot/small-dest-fresh-warm-$($script:WarmRun)-`$i/`" -ThrottleLimit $throttle }") `
                        "`$result = Send-Transfer -Path '$smallSource' -Recurse -Destination '$($script:smallDest)/' -ThrottleLimit $throttle"
                }
            }
            # The folder itself, as rclone is given it (it arrives as a subfolder of the destination).
            $recurseTitle = @{
                Before = $Reset
                Run    = { Measure-TimedSend $warmUp "`$result = Send-Transfer -Path '$smallSource' -Recurse -Destination '$($script:smallDest)/' -ThrottleLimit $throttle" }
            }
        })
}

$fresh = New-ManyFilesRows "$SmallFiles files of 4 KiB, each run into a new folder" {
    $script:ManyFilesRun++
    $script:smallDest = Join-Path $WorkRoot "small-dest-fresh-$script:ManyFilesRun"
    Reset-Dir $script:smallDest
    Read-IntoCache $smallSource
}
Add-Table "$SmallFiles files of 4 KiB, local folder to a new folder" $fresh 'rclone copy' $smallBytes -Cpu "Every run writes into a new folder and nothing is deleted until the case ends. Send-Transfer journals, hashes, verifies and delivers every file atomically and leaves a manifest line for each; rclone copies with its default 4 transfers and 8 checkers; cp does neither."
Get-ChildItem $WorkRoot -Directory -Filter 'small-dest-fresh-*' | Remove-Item -Recurse -Force
if ($script:ManyFilesObjectBytes) { $objectBytes = $script:ManyFilesObjectBytes }

# The cold-process floor (issue 31): what any fresh pwsh pays before its first file, whole processes timed from outside
# (CPU: user + system of the process tree), against rclone copying the same 10 files and the 10,000 of the table above.
$tinySource = Join-Path $WorkRoot 'small-10'
if (-not (Test-Path $tinySource)) {
    $null = New-Item -ItemType Directory $tinySource
    Get-ChildItem $smallSource -File | Select-Object -First 10 | Copy-Item -Destination $tinySource
}
$coldHome = @{ TRANSFERTOOLS_HOME = (Join-Path $WorkRoot 'home') }
$script:coldRun = 0
$coldReset = { $script:coldRun++; $script:coldDest = Join-Path $WorkRoot "cold-dest-$script:coldRun"; Reset-Dir $script:coldDest }
$coldImport = "`$ErrorActionPreference='Stop'; `$ProgressPreference='SilentlyContinue'; Import-Module '$ModulePath'"
$cold = Invoke-Case 'Cold-process floor' ([ordered]@{
        'pwsh -c exit'                          = @{ Run = { Measure-Process $pwshExe @('-NoProfile', '-NonInteractive', '-Command', 'exit') } }
        'pwsh -c Import-Module'                 = @{ Run = { Measure-Process $pwshExe @('-NoProfile', '-NonInteractive', '-Command', $coldImport) -Environment $coldHome } }
        'pwsh: Send-Transfer -Recurse 10 files' = @{ Before = $coldReset; Run = { Measure-Process $pwshExe @('-NoProfile', '-NonInteractive', '-Command', "$coldImport; `$null = Send-Transfer -Path '$tinySource' -Recurse -Destination '$($script:coldDest)/'") -Environment $coldHome } }
        'rclone copy 10 files'                  = @{ Before = $coldReset; Run = { Measure-Process 'rclone' @('copy', $tinySource, $script:coldDest) } }
        "pwsh: Send-Transfer -Recurse $SmallFiles files" = @{ Before = $coldReset; Run = { Measure-Process $pwshExe @('-NoProfile', '-NonInteractive', '-Command', "$coldImport; `$null = Send-Transfer -Path '$smallSource' -Recurse -Destination '$($script:coldDest)/' -ThrottleLimit $throttle") -Environment $coldHome } }
        "rclone copy $SmallFiles files"         = @{ Before = $coldReset; Run = { Measure-Process 'rclone' @('copy', $smallSource, $script:coldDest) } }
    })
Add-Table 'Cold-process floor: a fresh process per command, timed from outside' $cold 'pwsh -c exit' 0 -Cpu "Whole processes (start-up, Import-Module, JIT compilation, the copy, exit); CPU is user + system of the process tree. The pwsh here is the PowerShell .NET global tool, whose System.Management.Automation.dll is IL only (no ReadyToRun code), so PowerShell's own code is JIT-compiled in every process on top of the module's; an installed pwsh (package or archive) ships ReadyToRun images."
Get-ChildItem $WorkRoot -Directory -Filter 'cold-dest-*' | Remove-Item -Recurse -Force
$coldTen = Get-Row $cold 'pwsh: Send-Transfer -Recurse 10 files'; $coldImportRow = Get-Row $cold 'pwsh -c Import-Module'
if ((Test-Rows @($coldTen, $coldImportRow)) -and $coldTen.CpuMedian) {
    $script:Report.Add(('The floor any cold TransferTools command pays before its first file: {0:N2} s CPU for a fresh pwsh that imports the module and sends 10 files ({1:N2} s for start-up and Import-Module alone); the {2:N0}-file rows above are timed inside a pwsh that has already sent 2 files, so the JIT compilation of the engine still running in them is part of their CPU, not of this floor.' -f $coldTen.CpuMedian, $coldImportRow.CpuMedian, $SmallFiles))
    $script:Report.Add('')
}

$script:smallDest = $smallDest
# A quick run (-Quick) leaves out the "folder just emptied" setting: each of its runs waits 10 s.
$afterDelete = @(if (-not $Quick) { New-ManyFilesRows "$SmallFiles files of 4 KiB, into a folder just emptied" {
    Reset-Dir $script:smallDest
    Remove-Item (Join-Path $WorkRoot 'home/journal') -Recurse -Force -ErrorAction SilentlyContinue
    Start-Sleep -Seconds 10
} })
if (-not $Quick) { Add-Table "$SmallFiles files of 4 KiB, local folder to a folder just emptied of the previous run's files" $afterDelete 'rclone copy' $smallBytes -Cpu "Every run writes into the folder the previous run's files were deleted from 10 s earlier: ext4 without a journal scans past those recently deleted inodes for every new file, which all contenders pay." }
Remove-Item $smallDest -Recurse -Force -ErrorAction SilentlyContinue

$ttFresh = Get-Row $fresh $sendTitle; $rrFresh = Get-Row $fresh $recurseTitle; $rcFresh = Get-Row $fresh 'rclone copy'
function Format-WithCpu([object] $Row) { (Format-Seconds $Row) + $(if ($Row -and -not $Row.Error -and $null -ne $Row.CpuMedian) { ' (CPU {0:N2} s)' -f $Row.CpuMedian } else { '' }) }
foreach ($pair in @(@('piped into Send-Transfer', $ttFresh), @('with Send-Transfer -Recurse', $rrFresh))) {
    $tt = $pair[1]
    $measured = '{0} vs rclone {1}' -f (Format-WithCpu $tt), (Format-WithCpu $rcFresh)
    if ($afterDelete.Count) {
        $ttAfter = Get-Row $afterDelete $tt.Name; $rcAfter = Get-Row $afterDelete 'rclone copy'
        $measured += '; into a folder just emptied: {0} vs rclone {1}' -f (Format-WithCpu $ttAfter), (Format-WithCpu $rcAfter)
    }
    if (($warmRow = Get-Row $fresh $warmTitle) -and -not $warmRow.Error) { $measured += '; -Recurse in a pwsh warmed by {0} such sends: {1}' -f $warmSends, (Format-WithCpu $warmRow) }
    Add-Target "$SmallFiles files of 4 KiB $($pair[0]), local to a new folder, at most 1.0x rclone copy" ((Test-Rows @($tt, $rcFresh)) -and $tt.Median -le $rcFresh.Median) $measured
}
if ($ttFresh -and -not $ttFresh.Error) {
    Add-Target "Memory: peak working set grows less than 100 MiB while $SmallFiles files are piped into Send-Transfer" ($script:ManyFilesGrowth -lt 100) ('+{0:N1} MiB (worst run; the Transfer objects are held in a variable)' -f $script:ManyFilesGrowth)
}
if ($ttFresh -and -not $ttFresh.Error -and $objectBytes) {
    $script:PerObjectCosts.Add([pscustomobject]@{ What = "Transfer object from Send-Transfer ($('{0:N0}' -f $SmallFiles) piped files, new folder)"; Bytes = $objectBytes; Time = $ttFresh.Median / $SmallFiles })
}

# The same folder to an SFTP server over loopback (the bench sshd, key login, host key checked): piped and -Recurse vs
# rclone copy (its default 4 transfers) and OpenSSH sftp put -r (one stream, in batch mode). Each run into a new folder.
$ssh = Get-BenchSshd
$smallSftpRoot = "$($ssh.KeyUserData)/small"
Reset-SftpFolder $smallSftpRoot
$smallSshOptions = Get-SshOptions $ssh.Port $ssh.KnownHostsFile
$smallRcloneEnv = New-RcloneSftpEnvironment 'ttsmall' $ssh.Port $ssh.KnownHostsFile
$smallSftpUri = "sftp://$($ssh.KeyUser)@127.0.0.1:$($ssh.Port)"
$smallAuth = "-KeyFile '$($ssh.KeyFile)' -HostKeyFingerprint '$($ssh.HostKeyFingerprint)'"
$smallSftpWarm = "`$null = Get-ChildItem '$smallSource' -File | Select-Object -First 2 | Send-Transfer -Destination '$smallSftpUri$smallSftpRoot/warm/' $smallAuth -Force"
$script:SmallSftpRun = 0
$resetSmallSftp = {
    $script:SmallSftpRun++
    $script:smallSftpDest = "$smallSftpRoot/run-$script:SmallSftpRun"
    Reset-SftpFolder $script:smallSftpDest
}
# The floor: a minimal SSH.NET program (build/bench/SftpFloor, the module's SSH.NET version) that sends the same files
# over one connection, $throttle at once, by SSH.NET's public calls only: open, write, close, setstat of the time.
# What the library itself costs per file, beside what Send-Transfer adds (hash, journal, temporary name, checks).
$floorProject = Join-Path $PSScriptRoot 'SftpFloor'
$floorDll = Join-Path $floorProject 'bin/Release/net10.0/SftpFloor.dll'
& dotnet build $floorProject -c Release --nologo -v quiet | Out-Null
$floorTitle = "SSH.NET floor, $throttle at once (sftp)"
$sftpPipedTitle = "Get-ChildItem | Send-Transfer -ThrottleLimit $throttle (sftp)"
$sftpRecurseTitle = "Send-Transfer -Recurse -ThrottleLimit $throttle (sftp)"
$sftpWarmTitle = "Send-Transfer -Recurse, pwsh warmed by $warmSends such sends (sftp)"
$smallSftp = Invoke-Case "$SmallFiles files of 4 KiB to SFTP over loopback" ([ordered]@{
        'OpenSSH sftp put -r' = @{ Before = $resetSmallSftp; Run = { Invoke-SftpBatch "put -r $smallSource $($script:smallSftpDest)/" $smallSshOptions } }
        'rclone copy (sftp)'  = @{ Before = $resetSmallSftp; Run = { Measure-Process 'rclone' @('copy', $smallSource, "ttsmall:$($script:smallSftpDest)") -Environment $smallRcloneEnv } }
        $floorTitle           = @{
            Before = $resetSmallSftp
            Run    = {
                if (-not (Test-Path $floorDll)) { throw "not built: $floorDll" }
                # The program prints the CPU and wall time of the copy, after its connection is made (as the pwsh rows).
                $out = & dotnet $floorDll '127.0.0.1' "$($ssh.Port)" $ssh.KeyUser $ssh.KeyFile $ssh.HostKeyFingerprint $smallSource $script:smallSftpDest "$throttle"
                if ($LASTEXITCODE -ne 0) { throw "SftpFloor failed ($LASTEXITCODE): $out" }
                $f = ConvertFrom-Figures ($out -join "`n") 0 ''
                $script:LastCpu = $f.CPU
                $f.ELAPSED
            }
        }
        $sftpPipedTitle       = @{
            Before = $resetSmallSftp
            Run    = { Measure-TimedSend $smallSftpWarm "`$result = Get-ChildItem '$smallSource' -File | Send-Transfer -Destination '$smallSftpUri$($script:smallSftpDest)/' $smallAuth -ThrottleLimit $throttle" }
        }
        $sftpWarmTitle        = @{
            Before = $resetSmallSftp
            Run    = {
                Measure-TimedSend ("$smallSftpWarm`n" + "foreach (`$i in 1..$warmSends) { `$null = Send-Transfer -Path '$smallSource' -Recurse -Destination `"$smallSftpUri$($script:smallSftpDest)-warm-`$i/`" $smallAuth -ThrottleLimit $throttle }") `
                    "`$result = Send-Transfer -Path '$smallSource' -Recurse -Destination '$smallSftpUri$($script:smallSftpDest)/' $smallAuth -ThrottleLimit $throttle"
            }
        }
        $sftpRecurseTitle     = @{
            Before = $resetSmallSftp
            Run    = { Measure-TimedSend $smallSftpWarm "`$result = Send-Transfer -Path '$smallSource' -Recurse -Destination '$smallSftpUri$($script:smallSftpDest)/' $smallAuth -ThrottleLimit $throttle" }
        }
    })
Add-Table "$SmallFiles files of 4 KiB, local folder to a new folder over SFTP (loopback)" $smallSftp 'rclone copy (sftp)' $smallBytes -Cpu "Key login, host key verified. Send-Transfer hashes, verifies and delivers every file under a temporary name renamed into place, and leaves a manifest line per file in one file at the destination root; rclone copies with its default 4 transfers; OpenSSH sftp put -r sends one file after the other over one connection and checks nothing; the SSH.NET floor (build/bench/SftpFloor) sends the files over one connection by SSH.NET's own calls (open, fstat, write, close, realpath, setstat of the time: nothing checked, no temporary name) and reports its CPU after connecting, as the Send-Transfer rows do."
Reset-SftpFolder $smallSftpRoot
$ttSftp = Get-Row $smallSftp $sftpPipedTitle; $rrSftp = Get-Row $smallSftp $sftpRecurseTitle; $rcSftp = Get-Row $smallSftp 'rclone copy (sftp)'; $osSftp = Get-Row $smallSftp 'OpenSSH sftp put -r'
$flSftp = Get-Row $smallSftp $floorTitle; $wmSftp = Get-Row $smallSftp $sftpWarmTitle
foreach ($pair in @(@('piped', $ttSftp), @('with -Recurse', $rrSftp))) {
    Add-Target "$SmallFiles files of 4 KiB to SFTP (loopback) $($pair[0]) at most 1.0x rclone copy" ((Test-Rows @($pair[1], $rcSftp)) -and $pair[1].Median -le $rcSftp.Median) ('{0} vs rclone {1}, OpenSSH sftp put -r {2}, SSH.NET floor {3}; -Recurse in a pwsh warmed by {5} such sends {4}' -f (Format-WithCpu $pair[1]), (Format-WithCpu $rcSftp), (Format-WithCpu $osSftp), (Format-WithCpu $flSftp), (Format-WithCpu $wmSftp), $warmSends)
}
