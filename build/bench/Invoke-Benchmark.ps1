#requires -Version 7.0
<#
.SYNOPSIS
    Measures TransferTools side by side with what a user would otherwise pick (cp, rclone, OpenSSH sftp, curl,
    Copy-Item, Invoke-WebRequest) and writes docs/benchmarks.md. Run through `dotnet pwsh ./build.ps1 -Task Bench`.
.DESCRIPTION
    Each case runs its contenders as alternating rounds on the same files in one run (A B C, B C A, C A B, ...), so
    drift of the machine, and whatever one run leaves behind for the next, hits every contender alike; the report
    gives medians, throughput and the ratio to the case's anchor.
    Servers (sshd, nginx) are started on 127.0.0.1 by tests/services/TestServices.psm1 and stopped at the end.
    TransferTools is timed inside a running pwsh (the module already imported), as a user at a prompt sees it; the
    external tools are timed as processes.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutputPath,
    [int] $SizeMB = 1024,
    [int] $Rounds = 5,
    [int] $SmallFiles = 10000,
    # The cases to run; by default every build/bench/Case.<Name>.ps1 of the checkout: these in this order, then any other
    # (a case merged from another branch runs without being listed here).
    [string[]] $Case,
    [string] $WorkRoot = (Join-Path ([IO.Path]::GetTempPath()) 'tt-bench'),
    # A shorter run with every case and every target (about 20 minutes on an idle 2-core machine): 3 rounds everywhere
    # (no 11-round parity cases), a 256 MiB payload unless -SizeMB is given, no 4 GiB memory run and no "folder just
    # emptied" variant of the small-files case. The ratios are noisier; the report says it was a quick run.
    [switch] $Quick
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
if ($Quick) {
    if (-not $PSBoundParameters.ContainsKey('SizeMB')) { $SizeMB = 256 }
    if (-not $PSBoundParameters.ContainsKey('Rounds')) { $Rounds = 3 }
}
$CaseOrder = @('Local', 'Sftp', 'Wan', 'Http', 'S3', 'S3Resume', 'ManyFiles', 'Segments', 'Sync', 'Memory', 'Progress', 'Import', 'Storage', 'Micro')
if (-not $Case) {
    $present = @(Get-ChildItem -Path $PSScriptRoot -Filter 'Case.*.ps1' | ForEach-Object { $_.BaseName -replace '^Case\.', '' } | Sort-Object)
    $Case = @($CaseOrder | Where-Object { $_ -in $present }) + @($present | Where-Object { $_ -notin $CaseOrder })
}
# -Case Local,Http also works through pwsh -File (one comma-separated string).
$Case = @($Case | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })
$RepoRoot = Resolve-Path (Join-Path $PSScriptRoot '../..')
$ModulePath = (Resolve-Path $ModulePath).Path
$OutputPath = [IO.Path]::GetFullPath($OutputPath)
Import-Module (Join-Path $RepoRoot 'tests/services/TestServices.psm1') -Force
$pwshExe = Join-Path $PSHOME 'pwsh'

# What the contenders and servers need (Debian packages; idempotent and quick when present).
Install-TestServicePrerequisite -Name sshd, nginx, rclone
# lftp and aria2 are peers of the segmented cases (issue 31); a peer that does not install is reported as missing.
$debianPackageOf = @{ script = 'bsdutils'; aria2c = 'aria2'; rsync = 'rsync'; lftp = 'lftp' }
foreach ($tool in 'curl', 'script', 'rsync', 'lftp', 'aria2c') {
    if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) {
        $package = if ($debianPackageOf.Contains($tool)) { $debianPackageOf[$tool] } else { $tool }
        & apt-get install -y -qq --no-install-recommends $package 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) { Write-Host "(peer tool ${tool}: Debian package $package did not install; its rows will say so)" }
    }
}

#region measurement helpers

function Measure-Process {
    <# Runs a native command; returns elapsed seconds. Throws when it fails. #>
    param([string] $File, [string[]] $Arguments, [hashtable] $Environment = @{})
    # A peer tool that is not on this machine is reported as such (row and target say "not installed"), not as a failure.
    if (-not (Get-Command $File -CommandType Application -ErrorAction SilentlyContinue)) { throw "not installed: $File" }
    $psi = [Diagnostics.ProcessStartInfo]::new($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $cpuBefore = Get-ChildCpuSeconds
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync(); $null = $p.StandardOutput.ReadToEnd()
    $p.WaitForExit(); $sw.Stop()
    if ($p.ExitCode -ne 0) { throw "$File failed ($($p.ExitCode)): $($err.Result)" }
    $script:LastCpu = (Get-ChildCpuSeconds) - $cpuBefore
    $sw.Elapsed.TotalSeconds
}

function Get-ChildCpuSeconds {
    <#
    User + system time of this process's waited-for children (cutime + cstime of /proc/self/stat), in seconds: the CPU
    time of a peer tool run by Measure-Process, which is steadier than its wall time on a loaded machine.
    #>
    $stat = Get-Content /proc/self/stat -Raw -ErrorAction SilentlyContinue
    if (-not $stat) { return 0.0 }
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    ([double]$fields[13] + [double]$fields[14]) / 100.0
}

function Invoke-PwshTimed {
    <#
    Runs $Script in a fresh pwsh with the module imported (import not timed). The script must print one line
    'ELAPSED <seconds>' (and may print 'PEAKMB <n>'). Returns a hashtable of the reported figures.
    #>
    param([string] $Script, [hashtable] $Environment = @{}, [switch] $Pty)
    $prelude = "`$ErrorActionPreference='Stop'; Import-Module '$ModulePath'; `$ProgressPreference='SilentlyContinue'`n"
    $file = Join-Path $WorkRoot ('run-' + [guid]::NewGuid().ToString('n') + '.ps1')
    Set-Content -Path $file -Value ($prelude + $Script)
    $envs = @{ TRANSFERTOOLS_HOME = (Join-Path $WorkRoot 'home') }
    foreach ($k in $Environment.Keys) { $envs[$k] = $Environment[$k] }
    if ($Pty) { return Invoke-PwshInTerminal -File $file -Script ($prelude + $Script) -Environment $envs }
    $x = [Diagnostics.ProcessStartInfo]::new($pwshExe)
    foreach ($a in @('-NoProfile', '-NonInteractive', '-File', $file)) { $x.ArgumentList.Add($a) }
    $psi = $x
    foreach ($k in $envs.Keys) { $psi.Environment[$k] = $envs[$k] }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync(); $out = $p.StandardOutput.ReadToEnd(); $p.WaitForExit()
    Remove-Item $file -ErrorAction SilentlyContinue
    ConvertFrom-Figures $out $p.ExitCode $err.Result
}

function Invoke-PwshInTerminal {
    <#
    Runs the script in pwsh inside a detached tmux session (a real terminal emulator of 120x40, on a private tmux
    server): progress bars are drawn as at an interactive prompt, and the host's cursor-position queries get answers
    (a bare pseudo-terminal such as script(1) leaves them unanswered and the host waits on each). The script's output
    is also teed to a file, which is where the figures are read from.
    #>
    param([string] $File, [string] $Script, [hashtable] $Environment)
    $outFile = "$File.out"
    $setEnv = ($Environment.Keys | ForEach-Object { "`$env:$_ = '$($Environment[$_])'" }) -join "`n"
    Set-Content -Path $File -Value ("$setEnv`n& {`n$Script`n} | Tee-Object -FilePath '$outFile'")
    $socket = 'ttbench-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    $command = "$pwshExe -NoProfile -File '$File'; echo `"EXITCODE `$?`" >> '$outFile'; tmux -L $socket wait-for -S done"
    try {
        & tmux -L $socket -f /dev/null new-session -d -s bench -x 120 -y 40 $command
        if ($LASTEXITCODE -ne 0) { throw 'tmux could not start a session.' }
        & tmux -L $socket wait-for done
        $screen = (& tmux -L $socket capture-pane -p -t bench 2>$null) -join "`n"
    } finally {
        & tmux -L $socket kill-server 2>$null
    }
    $out = if (Test-Path $outFile) { Get-Content $outFile -Raw } else { '' }
    Remove-Item $File, $outFile -ErrorAction SilentlyContinue
    $exit = if ($out -match 'EXITCODE (\d+)') { [int]$Matches[1] } else { -1 }
    ConvertFrom-Figures $out $exit $screen
}

function ConvertFrom-Figures([string] $Out, [int] $ExitCode, [string] $ErrorText) {
    $figures = @{}
    # Terminal control sequences (a pseudo-terminal run draws progress bars on the same lines) are removed first.
    $out = $out -replace '\x1b\[[0-9;?]*[ -/]*[@-~]', '' -replace '\x1b\][^\a\x1b]*(\a|\x1b\\)', '' -replace '\x1b[()][0-9A-Za-z]', '' -replace '\x1b.', ''
    foreach ($m in [regex]::Matches($out, '(ELAPSED|CPU|PEAKMB|BASEMB|OBJECTBYTES|VALUE)\s+(-?[0-9.]+(?:E[-+]?[0-9]+)?)\s*$', 'Multiline')) { $figures[$m.Groups[1].Value] = [double]$m.Groups[2].Value }
    if ($ExitCode -ne 0 -or -not $figures.ContainsKey('ELAPSED')) {
        $tail = (($Out + $ErrorText) -split "`n" | Select-Object -Last 8) -join "`n"
        throw "pwsh run failed ($ExitCode): $tail"
    }
    $figures
}

function Measure-TransferTools {
    <#
    Times one TransferTools command line in a fresh pwsh (module imported beforehand, not timed); the command's output
    must be Transfer objects, every one Completed. Returns seconds. -Prepare runs untimed before the stopwatch.
    As at a prompt where the module is in use, one small local transfer runs untimed first (session, journal and JIT
    warm); what a session's very first call costs on top is measured on its own in Case.Import.ps1.
    #>
    param([string] $Command, [string] $Prepare = '', [switch] $Pty, [switch] $ShowProgress)
    $progress = if ($ShowProgress) { "`$ProgressPreference = 'Continue'`n" } else { '' }
    $script = @"
`$null = Send-Transfer -Path '$warmFile' -Destination '$WorkRoot/warm/' -Force
$Prepare
$progress`$sw = [Diagnostics.Stopwatch]::StartNew()
`$result = @($Command)
`$sw.Stop()
`$bad = @(`$result | Where-Object { `$_.Status -ne 'Completed' })
if (`$result.Count -eq 0 -or `$bad.Count) { throw "not completed: `$(`$bad | Select-Object -First 1 | ForEach-Object { `$_.Status, `$_.Error })" }
'ELAPSED ' + `$sw.Elapsed.TotalSeconds
"@
    (Invoke-PwshTimed $script -Pty:$Pty).ELAPSED
}

# Targets that ask for parity with another tool ("at least as fast as") compare contenders a few percent apart, and
# one run here varies by 10% or more: those cases take at least 11 rounds, so the median is not one lucky or unlucky run.
# A -Quick run keeps its 3 rounds there too.
$ParityRounds = if ($Quick) { $Rounds } else { [Math]::Max($Rounds, 11) }

# The machine is shared: the 1-minute load average at the start of each case goes into the report beside its figures.
function Get-LoadAverage { ((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ')[0] }
$script:CaseLoad = $null

function Get-Median([double[]] $Values) {
    $s = @($Values | Sort-Object)
    if ($s.Count -eq 0) { return [double]::NaN }
    if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 }
}

function Invoke-Case {
    <#
    Runs contenders in alternating rounds. $Contenders: ordered hashtable name -> @{ Run = { returns seconds };
    Before = { cleanup before each run } }. Returns rows with Name, Median, Samples, Error.
    #>
    param([string] $Title, [System.Collections.IDictionary] $Contenders, [int] $Count = $Rounds)
    $script:CaseLoad = Get-LoadAverage
    Write-Host "== $Title (load average $script:CaseLoad)"
    $samples = [ordered]@{}; $errors = @{}; $cpu = @{}
    foreach ($name in $Contenders.Keys) { $samples[$name] = [Collections.Generic.List[double]]::new(); $cpu[$name] = [Collections.Generic.List[double]]::new() }
    $names = @($Contenders.Keys)
    for ($r = 1; $r -le $Count; $r++) {
        # Each round starts one contender later (A B C, B C A, C A B, ...): a run can leave the machine slower or faster for
        # the next one (1 GiB of page cache just freed, a large process just gone), and a fixed order would hand each
        # contender the same predecessor every round.
        $order = for ($i = 0; $i -lt $names.Count; $i++) { $names[($i + $r - 1) % $names.Count] }
        foreach ($name in $order) {
            if ($errors.ContainsKey($name)) { continue }
            $c = $Contenders[$name]
            try {
                if ($c.Contains('Before') -and $c.Before) { & $c.Before }
                # A run may report its CPU time (user + system) in $script:LastCpu: Measure-Process does, and so do
                # TransferTools runs that print a CPU line.
                $script:LastCpu = $null
                $seconds = & $c.Run
                $samples[$name].Add([double]$seconds)
                if ($null -ne $script:LastCpu) { $cpu[$name].Add([double]$script:LastCpu) }
                Write-Host ("   {0,-34} round {1}: {2:N3} s{3}" -f $name, $r, $seconds, $(if ($null -ne $script:LastCpu) { ', CPU {0:N2} s' -f $script:LastCpu }))
            } catch {
                $errors[$name] = "$_"
                Write-Host "   $name failed: $_"
            }
        }
    }
    foreach ($name in $Contenders.Keys) {
        [pscustomobject]@{
            Name = $name; Median = (Get-Median $samples[$name].ToArray()); Samples = $samples[$name].ToArray()
            Error = $errors[$name]; CpuMedian = $(if ($cpu[$name].Count) { Get-Median $cpu[$name].ToArray() } else { $null })
        }
    }
}

#endregion

#region cases

$script:Report = [Collections.Generic.List[string]]::new()
$script:Targets = [Collections.Generic.List[object]]::new()
# Per-object costs of the cmdlets (What, Bytes retained per object, Time per object in s), reported in one table.
$script:PerObjectCosts = [Collections.Generic.List[object]]::new()

function Add-Table {
    param([string] $Title, [object[]] $Rows, [string] $Anchor, [double] $Bytes, [string] $Note, [switch] $Cpu)
    $script:Report.Add("### $Title`n")
    if ($script:CaseLoad) { $Note = ("$Note Load average (1 min) when the case started: $script:CaseLoad.").Trim() }
    if ($Note) { $script:Report.Add("$Note`n") }
    # -Cpu: a column of median CPU time (user + system of the peer's process; of the pwsh around the timed command for TransferTools).
    $cpuHead = if ($Cpu) { ' CPU (s) |' } else { '' }
    $script:Report.Add('| contender | median (s) |' + $cpuHead + ' throughput | vs ' + $Anchor + ' | runs (s) |')
    $script:Report.Add('| --- | ---: |' + $(if ($Cpu) { ' ---: |' } else { '' }) + ' ---: | ---: | --- |')
    $gap = if ($Cpu) { ' |' } else { '' }
    $anchorRow = $Rows | Where-Object Name -eq $Anchor | Select-Object -First 1
    foreach ($row in $Rows) {
        $name = $row.Name -replace '\|', '\|'
        if ($row.Error -like 'not installed:*') {
            $script:Report.Add("| $name | not installed |$gap | | peer tool missing on this machine ($($row.Error -replace '^not installed:\s*', '')) |")
            continue
        }
        if ($row.Error) {
            $script:Report.Add("| $name | failed |$gap | | $($row.Error -replace '\|', '/' -replace "`r?`n", ' ') |")
            continue
        }
        $tput = if ($Bytes -gt 0 -and $row.Median -gt 0) { '{0:N0} MiB/s' -f ($Bytes / 1MB / $row.Median) } else { '' }
        $ratio = if ($anchorRow -and -not $anchorRow.Error -and $anchorRow.Median -gt 0) { '{0:N2}x' -f ($row.Median / $anchorRow.Median) } else { '' }
        # Rounds alternate contenders, so the ratio within each round cancels the machine's drift: its spread shows how
        # much of a small difference between medians is noise.
        if ($ratio -and $row -ne $anchorRow -and $row.Samples.Count -gt 1 -and $row.Samples.Count -eq $anchorRow.Samples.Count) {
            $perRound = for ($i = 0; $i -lt $row.Samples.Count; $i++) { $row.Samples[$i] / $anchorRow.Samples[$i] }
            $ratio += ' (rounds {0:N2}–{1:N2})' -f ($perRound | Measure-Object -Minimum).Minimum, ($perRound | Measure-Object -Maximum).Maximum
        }
        $runs = ($row.Samples | ForEach-Object { '{0:N3}' -f $_ }) -join ', '
        $cpuCell = if (-not $Cpu) { '' } elseif ($null -ne $row.CpuMedian) { ' {0:N2} |' -f $row.CpuMedian } else { ' |' }
        $script:Report.Add("| $name | $('{0:N3}' -f $row.Median) |$cpuCell $tput | $ratio | $runs |")
    }
    $script:Report.Add('')
}

function Add-Target {
    <# One row of the targets table. -Issue names the issue the target comes from (a case sets $script:CaseIssue for all of its targets). #>
    param([string] $Target, [bool] $Met, [string] $Measured, [string] $Issue = $script:CaseIssue)
    $script:Targets.Add([pscustomobject]@{ Target = $Target; Met = $Met; Measured = $Measured; Issue = $Issue; Case = $script:CurrentCase })
}

function Get-Row([object[]] $Rows, [string] $Name) { $Rows | Where-Object Name -eq $Name | Select-Object -First 1 }

function New-DataFile([string] $Path, [long] $Bytes) {
    if ((Test-Path $Path) -and (Get-Item $Path).Length -eq $Bytes) { return }
    Write-Host "Creating $Path ($([math]::Round($Bytes / 1MB)) MiB)"
    $buffer = [byte[]]::new(4MB); $random = [Random]::new(7)
    $s = [IO.File]::Create($Path)
    try { $left = $Bytes; while ($left -gt 0) { $random.NextBytes($buffer); $n = [int][math]::Min($left, $buffer.Length); $s.Write($buffer, 0, $n); $left -= $n } }
    finally { $s.Dispose() }
}

# Servers are started once, on first use by a case, and stopped at the end of the run.
$script:BenchSshd = $null
$script:BenchNginx = $null
function Get-BenchSshd {
    if (-not $script:BenchSshd) { $script:BenchSshd = Start-TestSshd -Root (Join-Path $WorkRoot 'sshd') }
    $script:BenchSshd
}
function Get-BenchNginx {
    if (-not $script:BenchNginx) { $script:BenchNginx = Start-TestNginx -Root (Join-Path $WorkRoot 'nginx') }
    $script:BenchNginx
}

# SFTP contenders (Case.Sftp.ps1, Case.Wan.ps1): an upload folder emptied and owned by the key user, and OpenSSH's sftp
# in batch mode with the given ssh options (key, port, known hosts).
function Reset-SftpFolder([string] $Path) {
    if (Test-Path $Path) { Remove-Item $Path -Recurse -Force }
    New-Item -ItemType Directory -Path $Path | Out-Null
    & chown "$($script:BenchSshd.KeyUser):$($script:BenchSshd.KeyUser)" $Path
}

# OpenSSH client options for the bench sshd's key user on PORT, host keys from KNOWNHOSTS (checked).
function Get-SshOptions([int] $Port, [string] $KnownHosts) {
    @('-i', $script:BenchSshd.KeyFile, '-P', "$Port", '-o', 'StrictHostKeyChecking=yes', '-o', "UserKnownHostsFile=$KnownHosts", '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR')
}

# rclone's sftp remote NAME through environment variables: the bench sshd's key user on PORT, host keys from KNOWNHOSTS.
function New-RcloneSftpEnvironment([string] $Name, [int] $Port, [string] $KnownHosts) {
    $prefix = "RCLONE_CONFIG_$($Name.ToUpperInvariant())_"
    @{
        "${prefix}TYPE"             = 'sftp'
        "${prefix}HOST"             = '127.0.0.1'
        "${prefix}PORT"             = "$Port"
        "${prefix}USER"             = $script:BenchSshd.KeyUser
        "${prefix}KEY_FILE"         = $script:BenchSshd.KeyFile
        "${prefix}KNOWN_HOSTS_FILE" = $KnownHosts
        # No remote shell commands (md5sum and the like): the server offers SFTP only, as most hardened servers do.
        "${prefix}SHELL_TYPE"       = 'none'
    }
}

function Invoke-SftpBatch([string] $Command, [string[]] $SshOptions) {
    $batch = Join-Path $WorkRoot 'sftp-batch.txt'
    Set-Content -Path $batch -Value $Command
    Measure-Process 'sftp' (@('-q', '-b', $batch) + $SshOptions + @("$($script:BenchSshd.KeyUser)@127.0.0.1"))
}

function Format-Seconds([object] $Row) {
    if ($Row -and -not $Row.Error) { '{0:N2} s' -f $Row.Median }
    elseif ($Row -and $Row.Error -like 'not installed:*') { "$($Row.Error -replace '^not installed:\s*', '') not installed" }
    else { 'failed' }
}

function Test-Rows([object[]] $Rows) { @($Rows | Where-Object { $null -eq $_ -or $_.Error }).Count -eq 0 }

# Reads files (or every file under folders) into the page cache before a contender runs: rclone's local backend drops
# what it reads from the cache, and so does TransferTools for a file over 2 MiB (ReadBehind), so without this whoever
# runs after either reads the source from the disk and the rest from memory.
function Read-IntoCache([string[]] $Path) {
    & bash -c 'find "$@" -type f -exec cat {} + > /dev/null' read-into-cache @Path
}

function Reset-Dir([string] $Path) {
    if (Test-Path $Path) { Remove-Item $Path -Recurse -Force }
    New-Item -ItemType Directory -Path $Path | Out-Null
}

$script:StartLoad = Get-LoadAverage
$script:CaseSeconds = [ordered]@{}
$benchClock = [Diagnostics.Stopwatch]::StartNew()
$Bytes = [long]$SizeMB * 1MB
New-Item -ItemType Directory -Force -Path $WorkRoot | Out-Null
$source = Join-Path $WorkRoot 'payload.bin'
New-DataFile $source $Bytes
# A small file for warm-up transfers (JIT, plugin loading) that should not be timed.
$warmFile = Join-Path $WorkRoot 'warm.bin'
New-DataFile $warmFile 65536
$dest = Join-Path $WorkRoot 'dest'
$casesDir = $PSScriptRoot

# Each case lives in its own file (Case.<Name>.ps1) dot-sourced here, so areas can own their benchmarks.
# A case that fails as a whole (or is missing) still leaves a row in the targets table, so a merged main whose run lost
# a case shows it instead of a shorter table.
$script:CaseIssue = ''
foreach ($name in $Case) {
    $file = Join-Path $casesDir "Case.$name.ps1"
    $script:CurrentCase = $name; $script:CaseIssue = ''
    if (-not (Test-Path $file)) {
        Write-Host "== ${name}: no $file in this checkout, skipped"
        Add-Target "Case $name runs" $false "no build/bench/Case.$name.ps1 in this checkout"
        continue
    }
    $caseClock = [Diagnostics.Stopwatch]::StartNew()
    $targetsBefore = $script:Targets.Count
    try { . $file } catch {
        Write-Host "== $name failed: $_"
        $script:Report.Add("### $name`n`nThe case failed: $($_ -replace "`r?`n", ' ')`n")
        Add-Target "Case $name runs to its end" $false "failed: $($_ -replace "`r?`n", ' ')"
    }
    Write-Host ('== {0} took {1:N0} s ({2} targets)' -f $name, $caseClock.Elapsed.TotalSeconds, ($script:Targets.Count - $targetsBefore))
    $script:CaseSeconds[$name] = $caseClock.Elapsed.TotalSeconds
}
$script:CurrentCase = $null

Stop-AllTestServices -ErrorAction SilentlyContinue

#endregion

#region report

$cpu = (Get-Content /proc/cpuinfo -ErrorAction SilentlyContinue | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
$memGiB = [math]::Round(((Get-Content /proc/meminfo -ErrorAction SilentlyContinue | Select-Object -First 1) -replace '\D', '') / 1MB, 1)
$lines = @(
    '# TransferTools benchmarks'
    ''
    "Generated by ``dotnet pwsh ./build.ps1 -Task Bench`` on $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')) UTC."
    "Machine: $([Environment]::ProcessorCount) cores ($cpu), $memGiB GiB, $([Runtime.InteropServices.RuntimeInformation]::OSDescription); .NET $([Environment]::Version), PowerShell $($PSVersionTable.PSVersion)."
    "Payload: $SizeMB MiB of random bytes; $Rounds alternating rounds per case ($ParityRounds for the SFTP and HTTP throughput cases, whose targets ask for parity); medians; 'vs' columns give the ratio of medians and, in brackets, the range of the ratios within each round. Files are in the page cache for every contender alike."
    $(if ($Quick) { 'A quick run (-Quick): fewer rounds and a smaller payload than the full run, so the ratios are noisier; ' } else { '' }) + "Cases run: $(($script:CaseSeconds.Keys | ForEach-Object { '{0} ({1:N0} s)' -f $_, $script:CaseSeconds[$_] }) -join ', '); $('{0:N0}' -f $benchClock.Elapsed.TotalMinutes) min in all."
    "The machine is shared with other work (2 cores): load average $script:StartLoad at the start, $(Get-LoadAverage) at the end; the alternating rounds, each starting one contender later, expose every contender to the same drift and the same predecessors, so the ratios are steadier than the absolute times."
    ''
    '## Targets'
    ''
    'Every target of the cases run, each judged on figures from this run (its peers measured in the same alternating rounds). A target without an issue number was met in an earlier issue and is kept so that nothing regresses.'
    ''
    '| issue | target | measured | met |'
    '| --- | --- | --- | :---: |'
)
foreach ($t in $script:Targets) {
    $verdict = if ($t.Met) { 'yes' } elseif ($t.Measured -match 'not installed') { 'peer missing' } else { '**no**' }
    $lines += "| $(if ($t.Issue) { $t.Issue } else { '–' }) | $($t.Target) | $($t.Measured) | $verdict |"
}
$lines += ''
if ($script:PerObjectCosts.Count) {
    $lines += '## Per-object cost of the cmdlets'
    $lines += ''
    $lines += 'Managed memory retained per output object (GC heap after a full collection, objects held in a variable) and wall time per object.'
    $lines += ''
    $lines += '| object | memory per object | time per object |'
    $lines += '| --- | ---: | ---: |'
    foreach ($c in $script:PerObjectCosts) {
        $lines += '| {0} | {1:N1} KiB | {2} |' -f $c.What, ($c.Bytes / 1KB), $(if ($c.Time -ge 1e-3) { '{0:N2} ms' -f ($c.Time * 1e3) } else { '{0:N1} µs' -f ($c.Time * 1e6) })
    }
    $lines += ''
}
$lines += '## Cases'
$lines += ''
$lines += $script:Report
# The hand-written design notes at the end of the file (figures behind the engine's choices, moved out of the
# architecture map) are not measured here: a new run keeps them.
$notesHeading = '## Design notes and figures (moved from the architecture map)'
if (Test-Path -LiteralPath $OutputPath) {
    $previous = Get-Content -LiteralPath $OutputPath -Raw
    $at = $previous.IndexOf($notesHeading, [StringComparison]::Ordinal)
    if ($at -ge 0) { $lines += ''; $lines += $previous.Substring($at).TrimEnd() }
}
Set-Content -Path $OutputPath -Value ($lines -join "`n") -Encoding utf8NoBOM
Write-Host "Wrote $OutputPath"

#endregion
