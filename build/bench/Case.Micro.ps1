# BenchmarkDotNet micro-benchmarks of the engine's hot paths (build/bench/TransferTools.Benchmarks): chunk pipeline
# throughput, SHA-256 one-shot vs incremental vs the chunk XXH64 (engine vs System.IO.Hashing), journal commit latency. A short in-process job
# (1 warm-up, 3 iterations) keeps the whole case near two minutes; BenchmarkDotNet's GitHub tables go into the report.
$microProject = Join-Path $PSScriptRoot 'TransferTools.Benchmarks/TransferTools.Benchmarks.csproj'
$microArtifacts = Join-Path $WorkRoot 'bdn'
Write-Host '== Micro (BenchmarkDotNet)'
if (Test-Path $microArtifacts) { Remove-Item $microArtifacts -Recurse -Force }
& dotnet build $microProject -c Release --nologo -v quiet -clp:ErrorsOnly | Out-Host
if ($LASTEXITCODE -ne 0) { throw "Building $microProject failed." }
$microDll = Join-Path $PSScriptRoot 'TransferTools.Benchmarks/bin/Release/net10.0/TransferTools.Benchmarks.dll'
& dotnet $microDll --filter '*' --inProcess --warmupCount 1 --iterationCount 3 --launchCount 1 --exporters github --artifacts $microArtifacts |
    Select-String -Pattern '^(\| |// \*\*\*\*\* BenchmarkRunner: Finish)' | Out-Host
if ($LASTEXITCODE -ne 0) { throw 'The micro-benchmarks failed.' }

$script:Report.Add("### Micro-benchmarks (BenchmarkDotNet, engine hot paths)`n")
$script:Report.Add('Short in-process job (1 warm-up, 3 iterations): the error columns are wide on a shared 2-core machine; read the means. The pipeline moves 256 MiB from memory to a sink, so its time is the engine''s CPU ceiling (SHA-256 on one core, XXH64 and copies on the other).')
$script:Report.Add('')
foreach ($md in Get-ChildItem (Join-Path $microArtifacts 'results') -Filter '*-report-github.md' | Sort-Object Name) {
    $title = ($md.BaseName -replace '^TransferTools\.Benchmarks\.', '' -replace '-report-github$', '')
    # Keep only the table (the environment block repeats the machine line of the report head).
    $table = Get-Content $md.FullName | Where-Object { $_ -like '|*' } | ForEach-Object { $_ -replace '\*\*', '' -replace '&#39;', '' -replace '&gt;', '>' } |
        Where-Object { $_ -notmatch '^\|\s*(\|\s*)+$' }
    $script:Report.Add("#### $title`n")
    $script:Report.AddRange([string[]]$table)
    $script:Report.Add('')
}

# The pipeline against the same work done serially on one thread: on an idle machine the overlap wins (SHA-256 on
# one core, copies and XXH64 on the other); on a saturated one the hand-offs between threads cost more than they
# save. Reported as a figure, not a target: it says more about the load of the machine than about the code.
$pipelineCsv = Get-ChildItem (Join-Path $microArtifacts 'results') -Filter '*ChunkPipeline*-report.csv' | Select-Object -First 1
if ($pipelineCsv) {
    $rows = Import-Csv $pipelineCsv.FullName
    $toMs = { param($text) $v = [double](($text -replace '[^0-9.]', '')); if ($text -match ' s$') { $v * 1000 } elseif ($text -match 'us$|μs$') { $v / 1000 } elseif ($text -match 'ns$') { $v / 1e6 } else { $v } }
    $pipe = $rows | Where-Object { $_.Method -like '*Pipeline*' -and $_.ChunkSize -eq '4194304' } | Select-Object -First 1
    $serial = $rows | Where-Object { $_.Method -like '*Serial*' -and $_.ChunkSize -eq '4194304' } | Select-Object -First 1
    if ($pipe -and $serial) {
        $p = & $toMs $pipe.Mean; $s = & $toMs $serial.Mean
        $script:Report.Add(('Chunk pipeline (4 MiB chunks): {0:N0} ms for 256 MiB ({1:N0} MiB/s) against {2:N0} ms for the same work done serially on one thread; load average during the run: {3}.' -f $p, (256 / ($p / 1000)), $s, (((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ' | Select-Object -First 3) -join ' ')))
        $script:Report.Add('')
    }
}
