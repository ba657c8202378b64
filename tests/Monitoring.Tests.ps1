BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest

    function Get-EventLine {
        param([string] $Path, [scriptblock] $Where = { $true })
        Get-ChildItem -Path (Split-Path $Path) -Filter ((Split-Path $Path -Leaf) + '*') -File |
            Where-Object Name -NotLike '*.lock' |
            ForEach-Object { Get-Content $_.FullName } |
            ForEach-Object { $_ | ConvertFrom-Json } |
            Where-Object $Where
    }

    # A monitor plugin that throws on every event, compiled here against the module's Abstractions.
    $script:throwingDll = Join-Path $script:home_ 'ThrowingMonitor.dll'
    $abstractions = Join-Path (Get-TestModulePath) 'TransferTools.Abstractions.dll'
    Add-Type -OutputAssembly $script:throwingDll -OutputType Library -ReferencedAssemblies $abstractions, 'netstandard', 'System.Collections', 'System.Runtime' -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace MonitorTests
{
    public sealed class ThrowingMonitor : IMonitorPlugin
    {
        public PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Throwing", Version = "1.0.0", Type = PluginType.Monitor };
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) { return Task.CompletedTask; }
        public Task ShutdownAsync(OperationContext context) { return Task.CompletedTask; }
        public void TransferStarted(OperationContext context, Transfer transfer) { throw new InvalidOperationException("broken monitor (started)"); }
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) { throw new InvalidOperationException("broken monitor (progress)"); }
        public void TransferCompleted(OperationContext context, Transfer transfer) { throw new InvalidOperationException("broken monitor (completed)"); }
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) { throw new InvalidOperationException("broken monitor (failed)"); }
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) { throw new InvalidOperationException("broken monitor (metric)"); }
    }
}
'@
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'EventLog monitor' {
    BeforeAll {
        $script:log = Join-Path $script:home_ 'logs/events.jsonl'
        Register-TransferPlugin -Name Events -Type EventLog -Configuration @{ Path = $script:log; MaxSizeMB = 1; MaxFiles = 3 } | Out-Null
    }

    It 'writes Write-TransferMetric as one JSON line with the documented fields' {
        Write-TransferMetric -Name 'backup.files' -Value 42.5 -Tag @{ job = 'nightly'; site = 'eu-1' }
        $event = Get-EventLine $script:log { $_.event -eq 'Metric' -and $_.name -eq 'backup.files' } | Select-Object -Last 1
        $event.schemaVersion | Should -Be 1
        $event.event | Should -Be 'Metric'
        $event.value | Should -Be 42.5
        $event.tags.job | Should -Be 'nightly'
        $event.tags.site | Should -Be 'eu-1'
        $event.requestId | Should -Match '^[0-9a-f]{32}$'
        $event.host | Should -Be ([Environment]::MachineName)
        $event.pid | Should -Be $PID
        $event.userId | Should -BeNullOrEmpty
        [datetime]::Parse($event.timestamp).ToUniversalTime() | Should -BeGreaterThan ([datetime]::UtcNow.AddMinutes(-5))
    }

    It 'gives every call its own requestId, shared by all its pipeline input' {
        'a', 'b', 'c' | ForEach-Object { [pscustomobject]@{ Name = "pipe.$_"; Value = 1 } } | Write-TransferMetric
        Write-TransferMetric -Name 'pipe.d' -Value 1
        $events = @(Get-EventLine $script:log { $_.event -eq 'Metric' -and $_.name -like 'pipe.*' })
        $events.Count | Should -Be 4
        @($events[0..2].requestId | Select-Object -Unique).Count | Should -Be 1
        $events[3].requestId | Should -Not -Be $events[0].requestId
    }

    It 'shows delivered events in Get-TransferPlugin' {
        $info = Get-TransferPlugin -Name Events
        $info.EventsDelivered | Should -BeGreaterOrEqual 5
        $info.EventsDropped | Should -Be 0
        $info.LastError | Should -BeNullOrEmpty
    }

    It 'keeps every line from two processes writing at once, across rotations' {
        $shared = Join-Path $script:home_ 'shared/metrics.jsonl'
        Register-TransferPlugin -Name Shared -Type EventLog -Configuration @{ Path = $shared; MaxSizeMB = 0.02; MaxFiles = 100 } | Out-Null
        $pwsh = Join-Path $PSHOME 'pwsh'
        $module = Get-TestModulePath
        $writer = {
            param($Module, $Writer)
            Import-Module $Module
            foreach ($i in 1..150) { Write-TransferMetric -Name "proc.$Writer" -Value $i -Tag @{ writer = $Writer } }
        }
        $jobs = foreach ($w in 'p1', 'p2') {
            Start-Process -FilePath $pwsh -PassThru -NoNewWindow -RedirectStandardOutput (Join-Path $script:home_ "$w.out") -RedirectStandardError (Join-Path $script:home_ "$w.err") -ArgumentList @(
                '-NoProfile', '-NonInteractive', '-Command', "& { $writer } -Module '$module' -Writer '$w'")
        }
        $jobs | Wait-Process -Timeout 120
        $jobs | ForEach-Object { $_.ExitCode | Should -Be 0 }
        Get-Content (Join-Path $script:home_ 'p1.err') -Raw | Should -BeNullOrEmpty

        $lines = Get-ChildItem (Split-Path $shared) -Filter 'metrics.jsonl*' -File | Where-Object Name -NotLike '*.lock' | ForEach-Object { Get-Content $_.FullName }
        $lines.Count | Should -Be 300
        $events = $lines | ForEach-Object { $_ | ConvertFrom-Json }   # every line is valid JSON
        foreach ($w in 'p1', 'p2') {
            $values = ($events | Where-Object name -EQ "proc.$w").value | Sort-Object
            $values | Should -Be (1..150)
        }
        @(Get-ChildItem (Split-Path $shared) -Filter 'metrics.jsonl.*' | Where-Object Name -NotLike '*.lock').Count | Should -BeGreaterThan 0
        @($events.pid | Select-Object -Unique).Count | Should -Be 2
    }
}

Describe 'A broken monitor' {
    BeforeAll {
        Register-TransferPlugin -Name Broken -Path $script:throwingDll | Out-Null
    }
    AfterAll { Unregister-TransferPlugin -Name Broken -Confirm:$false }

    It 'costs a counted drop and a warning, and other monitors still get the event' {
        Write-TransferMetric -Name 'after.broken' -Value 7 -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings | Should -HaveCount 1
        "$($warnings[0])" | Should -Match "monitor 'Broken' failed on Metric"
        Get-EventLine $script:log { $_.name -eq 'after.broken' } | Should -HaveCount 1

        $info = Get-TransferPlugin -Name Broken
        $info.State | Should -Be 'Active'
        $info.EventsDropped | Should -BeGreaterOrEqual 1
        $info.EventsDelivered | Should -Be 0
        $info.LastError | Should -Match 'broken monitor \(metric\)'
    }
}

Describe 'Monitors during real transfers' {
    BeforeAll {
        $script:src = Join-Path $script:home_ 'send-src'
        New-Item -ItemType Directory -Path $script:src | Out-Null
        $script:file = (New-TestFile -Path (Join-Path $script:src 'report.bin') -Size 3MB).FullName
        New-TestFile -Path (Join-Path $script:src 'second.bin') -Size 2MB -Seed 7 | Out-Null
        function New-Destination { $d = Join-Path $script:home_ ('dst-' + [guid]::NewGuid().ToString('n')); New-Item -ItemType Directory -Path $d | Out-Null; $d }
    }

    It 'logs started, progress and completed under the transfer id and the call''s requestId' {
        $t = Send-Transfer -Path $script:file -Destination (New-Destination) -ChunkSize 1MB -MaxBytesPerSecond 8MB
        $t.Status | Should -Be 'Completed'
        $events = @(Get-EventLine $script:log { $_.transferId -eq $t.Id })
        $events[0].event | Should -Be 'TransferStarted'
        $events[-1].event | Should -Be 'TransferCompleted'
        @($events.requestId | Select-Object -Unique).Count | Should -Be 1
        $events[-1].bytes | Should -Be 3MB
        $events[-1].sha256 | Should -Be $t.Sha256
        $events[-1].durationSeconds | Should -BeGreaterThan 0
        $events | Where-Object event -EQ 'TransferProgress' | ForEach-Object { $_.progress | Should -BeLessOrEqual 100 }
    }

    It 'logs a failed transfer with its error code' {
        $dst = New-Destination
        Send-Transfer -Path $script:file -Destination $dst | Out-Null
        Send-Transfer -Path $script:file -Destination $dst -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -Not -BeNullOrEmpty
        $failed = Get-EventLine $script:log { $_.event -eq 'TransferFailed' -and $_.destination -like "$dst*" } | Select-Object -Last 1
        $failed.status | Should -Be 'failed'
        $failed.errorCode | Should -Be 'Conflict'
        $failed.error | Should -Not -BeNullOrEmpty
    }

    It 'lets the transfer complete when a monitor throws on every event, counting the drops' {
        Register-TransferPlugin -Name BrokenDuringSend -Path $script:throwingDll | Out-Null
        try {
            $t = Send-Transfer -Path $script:file -Destination (New-Destination) -WarningVariable warnings -WarningAction SilentlyContinue
            $t.Status | Should -Be 'Completed'
            @($warnings | Where-Object { "$_" -match "BrokenDuringSend" }).Count | Should -Be 1
            $info = Get-TransferPlugin -Name BrokenDuringSend
            $info.EventsDropped | Should -BeGreaterOrEqual 2
            $info.LastError | Should -Match 'broken monitor'
            Get-EventLine $script:log { $_.transferId -eq $t.Id -and $_.event -eq 'TransferCompleted' } | Should -HaveCount 1
        } finally { Unregister-TransferPlugin -Name BrokenDuringSend -Confirm:$false }
    }

    It 'shows a parent bar and a bar per file, 0-100%, and nothing with $ProgressPreference = SilentlyContinue' {
        $pwsh = Join-Path $PSHOME 'pwsh'
        $script = {
            param($Module, $Source, $Destination, $Preference)
            $ProgressPreference = $Preference
            Import-Module $Module
            Get-ChildItem $Source -File | Send-Transfer -Destination $Destination -ChunkSize 1MB -MaxBytesPerSecond 2MB | Out-Null
        }
        $records = foreach ($preference in 'Continue', 'SilentlyContinue') {
            # Through a file: pwsh would turn another pwsh's CLIXML back into objects (and its progress into our own bars).
            # With -OutputFormat XML the progress records come as CLIXML on stderr.
            $out = Join-Path $script:home_ "progress-$preference.out"
            $err = Join-Path $script:home_ "progress-$preference.xml"
            $child = Start-Process -FilePath $pwsh -PassThru -NoNewWindow -RedirectStandardOutput $out -RedirectStandardError $err -ArgumentList @(
                '-NoProfile', '-NonInteractive', '-OutputFormat', 'XML', '-Command',
                "& { $script } -Module '$(Get-TestModulePath)' -Source '$($script:src)' -Destination '$(New-Destination)' -Preference $preference")
            $child | Wait-Process -Timeout 120
            $xml = "$(Get-Content $err -Raw)"
            [pscustomobject]@{
                Preference = $preference
                Activities = [regex]::Matches($xml, '<AV>([^<]*)</AV>') | ForEach-Object { $_.Groups[1].Value }
                Parents    = [regex]::Matches($xml, '<PI>([^<]*)</PI>') | ForEach-Object { [int]$_.Groups[1].Value }
                Percents   = [regex]::Matches($xml, '<PC>([^<]*)</PC>') | ForEach-Object { [int]$_.Groups[1].Value }
            }
        }
        $on = $records[0]
        $on.Activities | Should -Contain 'Sending 2 files'
        $on.Activities | Should -Contain 'Sending report.bin'
        $on.Activities | Should -Contain 'Sending second.bin'
        @($on.Parents | Where-Object { $_ -ge 0 }).Count | Should -BeGreaterThan 0
        $on.Percents | ForEach-Object { $_ | Should -BeGreaterOrEqual -1; $_ | Should -BeLessOrEqual 100 }
        $records[1].Activities | Should -BeNullOrEmpty
    }

    It 'shows no progress in a runspace without an interactive host, as in a runbook' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($Module, $File, $Destination)
                    Import-Module $Module
                    Send-Transfer -Path $File -Destination $Destination
                }).AddArgument((Get-TestModulePath)).AddArgument($script:file).AddArgument((New-Destination))
            $result = $ps.Invoke()
            $result.Status | Should -Be 'Completed'
            $ps.Streams.Progress.Count | Should -Be 0
        } finally { $ps.Dispose() }
    }
}

Describe 'OpenTelemetry monitor in the module' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
        $script:port = Get-FreeTcpPort
        $script:endpoint = "http://127.0.0.1:$($script:port)/metrics"
    }
    AfterAll { Unregister-TransferPlugin -Name Otel -Confirm:$false -ErrorAction SilentlyContinue }

    It 'loads with its OpenTelemetry dependencies from the module folder and serves a scrape that promtool accepts' {
        $info = Register-TransferPlugin -Name Otel -Type OpenTelemetry -Configuration @{ PrometheusEndpoint = $script:endpoint }
        $info.State | Should -Be 'Active'
        Write-TransferMetric -Name 'backup.files' -Value 42 -Tag @{ job = 'nightly' }
        Write-TransferMetric -Name 'backup.files' -Value 40 -Tag @{ job = 'nightly' }

        $scrape = (Invoke-WebRequest -Uri $script:endpoint -UseBasicParsing).Content
        $scrape | Should -Match 'transfertools_metric_backup_files_last\{[^}]*job="nightly"\} 40'
        $scrape | Should -Match 'transfertools_metric_backup_files_count\{[^}]*job="nightly"\} 2'
        Get-Command promtool -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because 'promtool comes from the Debian package prometheus (Install-TestServicePrerequisite promtool installs it)'
        $output = $scrape | promtool check metrics 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")

        $loaded = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'OpenTelemetry' }
        $loaded | Should -Not -BeNullOrEmpty
        (Get-TransferPlugin -Name Otel).EventsDelivered | Should -BeGreaterOrEqual 2
    }

    It 'frees the endpoint when unregistered' {
        Unregister-TransferPlugin -Name Otel -Confirm:$false
        { Invoke-WebRequest -Uri $script:endpoint -UseBasicParsing -TimeoutSec 5 } | Should -Throw
    }

    It 'refuses an endpoint whose port is taken, naming it' {
        $busy = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, (Get-FreeTcpPort))
        $busy.Start()
        try {
            $taken = "http://127.0.0.1:$(([System.Net.IPEndPoint]$busy.LocalEndpoint).Port)/metrics"
            Register-TransferPlugin -Name OtelBusy -Type OpenTelemetry -Configuration @{ PrometheusEndpoint = $taken } -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenTelemetryExporterFailed,*'
            $err[0].Exception.Message | Should -Match 'in use'
            Get-TransferPlugin -Name OtelBusy -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        } finally { $busy.Stop() }
    }
}
