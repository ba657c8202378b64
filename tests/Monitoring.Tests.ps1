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
        $event = Get-EventLine $script:log { $_.metric -eq 'backup.files' } | Select-Object -Last 1
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
        $events = @(Get-EventLine $script:log { $_.metric -like 'pipe.*' })
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
            $values = ($events | Where-Object metric -EQ "proc.$w").value | Sort-Object
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
        Get-EventLine $script:log { $_.metric -eq 'after.broken' } | Should -HaveCount 1

        $info = Get-TransferPlugin -Name Broken
        $info.State | Should -Be 'Active'
        $info.EventsDropped | Should -BeGreaterOrEqual 1
        $info.EventsDelivered | Should -Be 0
        $info.LastError | Should -Match 'broken monitor \(metric\)'
    }
}
