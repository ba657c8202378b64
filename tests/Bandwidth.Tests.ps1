BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:work = Join-Path $script:home_ 'work'
    New-Item -ItemType Directory -Path $script:work | Out-Null
}

Describe '-MaxBytesPerSecond is the command''s total' {
    It 'holds a 4-file -Recurse send to the limit in total, not per file' {
        $src = Join-Path $script:work 'four'
        New-Item -ItemType Directory -Path $src | Out-Null
        $rng = [Random]::new(28)
        foreach ($n in 1..4) {
            $bytes = [byte[]]::new(256KB); $rng.NextBytes($bytes)
            [IO.File]::WriteAllBytes((Join-Path $src "f$n.bin"), $bytes)
        }
        $dst = Join-Path $script:work 'four-out'
        $limit = 256KB
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $t = @(Send-Transfer -LiteralPath $src -Recurse -Destination "$dst/" -ChunkSize 64KB -MaxBytesPerSecond $limit -ThrottleLimit 4)
        $clock.Stop()
        $t.Count | Should -Be 4
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        # 1 MiB at 256 KiB/s in total is about 4 s; a limit per file would take about 1 s. Only a lower bound: a busy
        # machine may take longer, never shorter.
        $total = ($t | Measure-Object -Property TotalBytes -Sum).Sum
        $total | Should -Be 1MB
        $clock.Elapsed.TotalSeconds | Should -BeGreaterThan (0.8 * $total / $limit)
    }
}
