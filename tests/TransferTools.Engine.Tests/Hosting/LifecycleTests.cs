using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Tests.Hosting
{
    public class LifecycleTests
    {
        /// <summary>Records lifecycle calls in a static list (instances are created by the host through reflection).</summary>
        public sealed class RecordingMonitor : IMonitorPlugin
        {
            public static readonly List<string> Calls = new List<string>();
            public static bool FailInit;

            public PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Recording", Version = "1.0", Type = PluginType.Monitor };

            public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
            {
                lock (Calls) Calls.Add("Init:" + (config.TryGetValue("ApiKey", out var k) ? k : ""));
                if (FailInit) throw new InvalidOperationException("boom");
                return Task.CompletedTask;
            }

            public Task ShutdownAsync(OperationContext context)
            {
                lock (Calls) Calls.Add("Shutdown");
                return Task.CompletedTask;
            }

            public void TransferStarted(OperationContext context, Transfer transfer) { }
            public void TransferProgress(OperationContext context, Transfer transfer, double progress) { }
            public void TransferCompleted(OperationContext context, Transfer transfer) { }
            public void TransferFailed(OperationContext context, Transfer transfer, Exception error) { }
            public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags)
            {
                lock (Calls) Calls.Add("Metric:" + name);
            }
        }

        [Fact]
        public async Task External_plugin_runs_init_then_shutdown_with_unprotected_secret()
        {
            lock (RecordingMonitor.Calls) RecordingMonitor.Calls.Clear();
            RecordingMonitor.FailInit = false;
            using var home = new TestHome();
            var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var assembly = typeof(RecordingMonitor).Assembly.Location;
            var info = await session.RegisterPluginAsync(context, "Rec", typeof(RecordingMonitor).FullName, assembly,
                new Dictionary<string, string> { ["ApiKey"] = "hunter2" });
            Assert.Equal(PluginState.Active, info.State);
            Assert.Equal("********", info.Configuration["ApiKey"]);
            Assert.DoesNotContain("hunter2", System.IO.File.ReadAllText(session.Registry.FilePath));

            await session.CloseAsync();
            Assert.Equal(new[] { "Init:hunter2", "Shutdown" }, RecordingMonitor.Calls);
        }

        [Fact]
        public async Task Init_failure_names_plugin_and_stage_and_leaves_no_registration()
        {
            lock (RecordingMonitor.Calls) RecordingMonitor.Calls.Clear();
            RecordingMonitor.FailInit = true;
            try
            {
                using var home = new TestHome();
                using var session = home.NewSession();
                var e = await Assert.ThrowsAsync<PluginException>(() => session.RegisterPluginAsync(session.CreateContext(CancellationToken.None),
                    "Rec", typeof(RecordingMonitor).FullName, typeof(RecordingMonitor).Assembly.Location, null));
                Assert.Equal("Rec", e.PluginName);
                Assert.Equal("Init", e.Stage);
                Assert.Contains("boom", e.Message);
                Assert.Null(session.Registry.Find("Rec"));
            }
            finally
            {
                RecordingMonitor.FailInit = false;
            }
        }
    }
}
