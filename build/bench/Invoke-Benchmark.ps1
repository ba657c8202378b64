#requires -Version 7.0
<#
.SYNOPSIS
    Measures TransferTools side by side with what a user would otherwise pick (cp, rclone, OpenSSH sftp, curl,
    Copy-Item, Invoke-WebRequest) and writes docs/benchmarks.md. Run through `dotnet pwsh ./build.ps1 -Task Bench`.
.DESCRIPTION
    Each case runs its contenders as alternating rounds on the same files in one run (A B C, A B C, ...), so drift of
    the machine hits every contender alike; the report gives medians, throughput and the ratio to the case's anchor.
    Servers (sshd, nginx) are started on 127.0.0.1 by tests/services/TestServices.psm1 and stopped at the end.
    TransferTools is timed inside a running pwsh (the module already imported), as a user at a prompt sees it; the
    external tools are timed as processes.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $OutputPath,
    [int] $SizeMB = 1024,
    [int] $Rounds = 3,
    [int] $SmallFiles = 10000,
    [string[]] $Case = @('Local', 'Sftp', 'Http', 'ManyFiles', 'Memory', 'Progress', 'Import', 'Storage', 'Micro'),
    [string] $WorkRoot = (Join-Path ([IO.Path]::GetTempPath()) 'tt-bench')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$RepoRoot = Resolve-Path (Join-Path $PSScriptRoot '../..')
Import-Module (Join-Path $RepoRoot 'tests/services/TestServices.psm1') -Force
$pwshExe = Join-Path $PSHOME 'pwsh'

#region measurement helpers

function Measure-Process {
    <# Runs a native command; returns elapsed seconds. Throws when it fails. #>
    param([string] $File, [string[]] $Arguments, [hashtable] $Environment = @{})
    $psi = [Diagnostics.ProcessStartInfo]::new($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync(); $null = $p.StandardOutput.ReadToEnd()
    $p.WaitForExit(); $sw.Stop()
    if ($p.ExitCode -ne 0) { throw "$File failed ($($p.ExitCode)): $($err.Result)" }
    $sw.Elapsed.TotalSeconds
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
    $envs = @{ TRANSFERTOOLS_HOME = (Join-Path $WorkRoot 'home') } + $Environment
    $psi = if ($Pty) {
        # A pseudo-terminal, so progress bars are really rendered (as at an interactive prompt).
        $x = [Diagnostics.ProcessStartInfo]::new('script')
        foreach ($a in @('-qec', "$pwshExe -NoProfile -File $file", '/dev/null')) { $x.ArgumentList.Add($a) }
        $x
    } else {
        $x = [Diagnostics.ProcessStartInfo]::new($pwshExe)
        foreach ($a in @('-NoProfile', '-NonInteractive', '-File', $file)) { $x.ArgumentList.Add($a) }
        $x
    }
    foreach ($k in $envs.Keys) { $psi.Environment[$k] = $envs[$k] }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync(); $out = $p.StandardOutput.ReadToEnd(); $p.WaitForExit()
    Remove-Item $file -ErrorAction SilentlyContinue
    $figures = @{}
    foreach ($m in [regex]::Matches($out, '(?m)^(ELAPSED|PEAKMB|BASEMB|VALUE)\s+([0-9.]+)')) { $figures[$m.Groups[1].Value] = [double]$m.Groups[2].Value }
    if ($p.ExitCode -ne 0 -or -not $figures.ContainsKey('ELAPSED')) {
        $tail = (($out + $err.Result) -split "`n" | Select-Object -Last 8) -join "`n"
        throw "pwsh run failed ($($p.ExitCode)): $tail"
    }
    $figures
}

function Get-Median([double[]] $Values) {
    $s = $Values | Sort-Object
    if ($s.Count -eq 0) { return [double]::NaN }
    if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 }
}

function Invoke-Case {
    <#
    Runs contenders in alternating rounds. $Contenders: ordered hashtable name -> @{ Run = { returns seconds };
    Before = { cleanup before each run } }. Returns rows with Name, Median, Samples, Error.
    #>
    param([string] $Title, [System.Collections.IDictionary] $Contenders, [int] $Count = $Rounds)
    Write-Host "== $Title"
    $samples = [ordered]@{}; $errors = @{}
    foreach ($name in $Contenders.Keys) { $samples[$name] = [Collections.Generic.List[double]]::new() }
    for ($r = 1; $r -le $Count; $r++) {
        foreach ($name in $Contenders.Keys) {
            if ($errors.ContainsKey($name)) { continue }
            $c = $Contenders[$name]
            try {
                if ($c.Contains('Before') -and $c.Before) { & $c.Before }
                $seconds = & $c.Run
                $samples[$name].Add([double]$seconds)
                Write-Host ("   {0,-34} round {1}: {2:N3} s" -f $name, $r, $seconds)
            } catch {
                $errors[$name] = "$_"
                Write-Host "   $name failed: $_"
            }
        }
    }
    foreach ($name in $Contenders.Keys) {
        [pscustomobject]@{
            Name = $name; Median = (Get-Median $samples[$name].ToArray()); Samples = $samples[$name].ToArray()
            Error = $errors[$name]
        }
    }
}

#endregion

#region cases

$script:Report = [Collections.Generic.List[string]]::new()
$script:Targets = [Collections.Generic.List[object]]::new()

function Add-Table {
    param([string] $Title, [object[]] $Rows, [string] $Anchor, [double] $Bytes, [string] $Note)
    $script:Report.Add("### $Title`n")
    if ($Note) { $script:Report.Add("$Note`n") }
    $script:Report.Add('| contender | median (s) | throughput | vs ' + $Anchor + ' | runs (s) |')
    $script:Report.Add('| --- | ---: | ---: | ---: | --- |')
    $anchorRow = $Rows | Where-Object Name -eq $Anchor | Select-Object -First 1
    foreach ($row in $Rows) {
        if ($row.Error) {
            $script:Report.Add("| $($row.Name) | failed | | | $($row.Error -replace '\|', '/' -replace "`r?`n", ' ') |")
            continue
        }
        $tput = if ($Bytes -gt 0 -and $row.Median -gt 0) { '{0:N0} MiB/s' -f ($Bytes / 1MB / $row.Median) } else { '' }
        $ratio = if ($anchorRow -and -not $anchorRow.Error -and $anchorRow.Median -gt 0) { '{0:N2}x' -f ($row.Median / $anchorRow.Median) } else { '' }
        $runs = ($row.Samples | ForEach-Object { '{0:N3}' -f $_ }) -join ', '
        $script:Report.Add("| $($row.Name) | $('{0:N3}' -f $row.Median) | $tput | $ratio | $runs |")
    }
    $script:Report.Add('')
}

function Add-Target {
    param([string] $Target, [bool] $Met, [string] $Measured)
    $script:Targets.Add([pscustomobject]@{ Target = $Target; Met = $Met; Measured = $Measured })
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

function Reset-Dir([string] $Path) {
    if (Test-Path $Path) { Remove-Item $Path -Recurse -Force }
    New-Item -ItemType Directory -Path $Path | Out-Null
}

$Bytes = [long]$SizeMB * 1MB
New-Item -ItemType Directory -Force -Path $WorkRoot | Out-Null
$source = Join-Path $WorkRoot 'payload.bin'
New-DataFile $source $Bytes
$dest = Join-Path $WorkRoot 'dest'
$casesDir = $PSScriptRoot

# Each case lives in its own file (Case.<Name>.ps1) dot-sourced here, so areas can own their benchmarks.
foreach ($name in $Case) {
    $file = Join-Path $casesDir "Case.$name.ps1"
    if (-not (Test-Path $file)) { Write-Host "== ${name}: no $file in this checkout, skipped"; continue }
    try { . $file } catch { Write-Host "== $name failed: $_"; $script:Report.Add("### $name`n`nThe case failed: $($_ -replace "`r?`n", ' ')`n") }
}

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
    "Payload: $SizeMB MiB of random bytes; $Rounds alternating rounds per case; medians. Files are in the page cache for every contender alike."
    ''
    '## Targets'
    ''
    '| target | measured | met |'
    '| --- | --- | :---: |'
)
foreach ($t in $script:Targets) { $lines += "| $($t.Target) | $($t.Measured) | $(if ($t.Met) { 'yes' } else { '**no**' }) |" }
$lines += ''
$lines += '## Cases'
$lines += ''
$lines += $script:Report
Set-Content -Path $OutputPath -Value ($lines -join "`n") -Encoding utf8NoBOM
Write-Host "Wrote $OutputPath"

#endregion
