using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;

namespace TransferTools.Conformance
{
    /// <summary>
    /// The monitor suite: every event is accepted without throwing (whatever the transfer looks like, cancelled or
    /// not), concurrent calls are safe, events after Shutdown are ignored, and, when <see cref="ReadRecordedAsync"/>
    /// is implemented, what was recorded contains every event and never a token.
    /// </summary>
    public abstract class MonitorPluginConformance : PluginConformance<IMonitorPlugin>
    {
        /// <inheritdoc/>
        protected override PluginType ExpectedKind => PluginType.Monitor;

        /// <summary>Everything the plugin recorded, read after Shutdown (a file's text, say), or null when the plugin
        /// keeps nothing readable. Default: null.</summary>
        protected virtual Task<string?> ReadRecordedAsync() => Task.FromResult<string?>(null);

        /// <summary>A transfer as the engine reports it.</summary>
        protected static Transfer SampleTransfer(string id, TransferStatus status = TransferStatus.Active) => new Transfer
        {
            Id = id,
            Status = status,
            Name = "report.pdf",
            Source = "/tmp/report.pdf",
            Destination = "sftp://backup/inbox/report.pdf",
            Protocol = "Sftp",
            TotalBytes = 1000,
            BytesTransferred = status == TransferStatus.Completed ? 1000 : 500,
            StartedAt = DateTimeOffset.UtcNow,
        };

        private OperationContext TransferContext(string id) =>
            NewContext().WithIdentity("conformance-user", "secret-token-" + id).WithTransfer(id);

        /// <summary>A transfer's whole life and a metric are accepted and recorded.</summary>
        [Fact]
        public async Task Monitor_records_a_transfer_life_and_metrics()
        {
            var id = Guid.NewGuid().ToString("n");
            var context = TransferContext(id);
            Plugin.TransferStarted(context, SampleTransfer(id));
            Plugin.TransferProgress(context, SampleTransfer(id), 50);
            Plugin.TransferCompleted(context, SampleTransfer(id, TransferStatus.Completed));
            var failed = Guid.NewGuid().ToString("n");
            Plugin.TransferFailed(TransferContext(failed), SampleTransfer(failed, TransferStatus.Failed), new PluginException(ErrorCode.ConnectionError, "connection reset"));
            var metric = "conformance.metric." + Guid.NewGuid().ToString("n").Substring(0, 8);
            Plugin.RecordMetric(context, metric, 42.5, new Dictionary<string, string> { ["job"] = "nightly" });
            Plugin.RecordMetric(context, metric + ".untagged", 0, new Dictionary<string, string>());
            await ShutdownPluginAsync();

            var recorded = await ReadRecordedAsync();
            if (recorded != null)
            {
                Assert.Contains(id, recorded);
                Assert.Contains(failed, recorded);
                Assert.Contains(metric, recorded);
                Assert.DoesNotContain("secret-token-", recorded);
            }
        }

        /// <summary>Unusual but legal values (no tags, empty names, unknown sizes, zero progress) do not throw.</summary>
        [Fact]
        public void Monitor_accepts_edge_values()
        {
            var transfer = new Transfer { Id = "x", TotalBytes = -1 };
            var context = NewContext();
            Plugin.TransferStarted(context, transfer);
            Plugin.TransferProgress(context, transfer, 0);
            Plugin.TransferProgress(context, transfer, 100);
            Plugin.TransferFailed(context, transfer, new OperationCanceledException());
            Plugin.RecordMetric(context, "m", double.MaxValue, new Dictionary<string, string> { ["k,\"\n"] = "v,\"\n" });
        }

        /// <summary>Calls with a cancelled context do not throw (monitors never fail the caller).</summary>
        [Fact]
        public void Monitor_cancelled_context_does_not_throw()
        {
            var context = CancelledContext();
            Plugin.TransferStarted(context, SampleTransfer("c"));
            Plugin.RecordMetric(context, "cancelled.metric", 1, new Dictionary<string, string>());
        }

        /// <summary>Concurrent calls are safe and, when readable, nothing is lost.</summary>
        [Fact]
        public async Task Monitor_concurrent_calls_are_safe()
        {
            var prefix = "par" + Guid.NewGuid().ToString("n").Substring(0, 8);
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 25; i++)
                {
                    var id = $"{prefix}-{t}-{i}";
                    Plugin.TransferProgress(TransferContext(id), SampleTransfer(id), i * 4);
                    Plugin.RecordMetric(NewContext(), $"{prefix}.m{t}x{i}", i, new Dictionary<string, string> { ["thread"] = t.ToString() });
                }
            })));
            await ShutdownPluginAsync();
            var recorded = await ReadRecordedAsync();
            if (recorded != null)
            {
                for (var t = 0; t < 8; t++)
                {
                    for (var i = 0; i < 25; i++)
                    {
                        Assert.Contains($"{prefix}.m{t}x{i}", recorded);
                    }
                }
            }
        }

        /// <summary>Events after Shutdown are ignored, not thrown.</summary>
        [Fact]
        public async Task Monitor_events_after_shutdown_are_ignored()
        {
            await ShutdownPluginAsync();
            Plugin.TransferStarted(NewContext(), SampleTransfer("late"));
            Plugin.RecordMetric(NewContext(), "late.metric", 1, new Dictionary<string, string>());
        }
    }
}
