using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine;

namespace TransferTools.Plugins.OpenTelemetry.Tests
{
    [Collection("Telemetry")]
    public class EventTimestampTests
    {
        /// <summary>
        /// A session's monitor hub stamps each event when it happens and delivers it later from a queue: the span starts
        /// and ends at the events' times, not at delivery. Delivery is held back on purpose (a metric queued first whose
        /// measurement callback sleeps), so a plugin that read the clock instead would start the span too late.
        /// </summary>
        [Fact]
        public async Task Event_times_reach_the_plugin_through_the_session_s_monitor_hub()
        {
            var home = Path.Combine(Path.GetTempPath(), "tt-otel-ts-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(home);
            var protocol = "ts-" + Guid.NewGuid().ToString("n").Substring(0, 8);
            var metric = "hold_" + protocol.Replace('-', '_');
            var spans = new ConcurrentBag<Activity>();
            using var listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == OpenTelemetryMonitorPlugin.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (Equals(a.GetTagItem("transfertools.protocol"), protocol)) spans.Add(a);
                },
            };
            ActivitySource.AddActivityListener(listener);
            using var meters = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name == OpenTelemetryMonitorPlugin.SourceName && instrument.Name.Contains(metric)) l.EnableMeasurementEvents(instrument);
                },
            };
            meters.SetMeasurementEventCallback<double>((_, _, _, _) => Thread.Sleep(400));
            meters.Start();

            var session = new TransferSession(home);
            try
            {
                var context = session.CreateContext(CancellationToken.None);
                await session.RegisterPluginAsync(context, "Otel", "OpenTelemetry", null, new Dictionary<string, string>());
                var transfer = new Transfer
                {
                    Id = "ts-" + protocol, Name = "a.bin", Protocol = protocol, Status = TransferStatus.Active, TotalBytes = 10,
                    StartedAt = DateTimeOffset.UtcNow, Direction = TransferDirection.Send,
                };

                session.Monitors.RecordMetric(context, metric, 1, new Dictionary<string, string>());
                var before = DateTimeOffset.UtcNow;
                session.Monitors.TransferStarted(context, transfer);
                var after = DateTimeOffset.UtcNow;
                transfer.Status = TransferStatus.Completed;
                transfer.BytesTransferred = 10;
                session.Monitors.TransferCompleted(context, transfer);
                var completedBy = DateTimeOffset.UtcNow;
                Assert.True(await session.Monitors.FlushAsync(TimeSpan.FromSeconds(10)));

                var span = Assert.Single(spans);
                Assert.InRange(span.StartTimeUtc, before.UtcDateTime, after.UtcDateTime);
                Assert.True(span.StartTimeUtc + span.Duration <= completedBy.UtcDateTime,
                    $"The span ended at delivery ({span.StartTimeUtc + span.Duration:O}), after the event ({completedBy:O}).");
            }
            finally
            {
                await session.CloseAsync();
                Directory.Delete(home, recursive: true);
            }
        }
    }
}
