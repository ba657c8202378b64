using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Monitoring;

namespace TransferTools.Engine.Tests.Monitoring
{
    public class MonitorHubTests
    {
        private static readonly TimeSpan Flush = TimeSpan.FromSeconds(20);

        internal static async Task<T> RegisterAsync<T>(TransferSession session, string name, Dictionary<string, string>? config = null) where T : class, IMonitorPlugin
        {
            var context = session.CreateContext(CancellationToken.None);
            await session.RegisterPluginAsync(context, name, typeof(T).FullName, typeof(T).Assembly.Location, config);
            return (T)await session.Plugins.GetAsync(context, name);
        }

        internal static Transfer NewTransfer(string id = "t1", double progress = 0, long bytes = 0, long total = 1000) => new Transfer
        {
            Id = id,
            Name = id + ".bin",
            Status = TransferStatus.Active,
            Progress = progress,
            BytesTransferred = bytes,
            TotalBytes = total,
            Source = "/data/" + id + ".bin",
            Destination = "sftp://alice:hunter2@127.0.0.1/in/",
            StartedAt = DateTimeOffset.UtcNow,
        };

        [Fact]
        public async Task Every_monitor_gets_every_event_with_timestamp_and_context_values_but_never_the_token()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var a = await RegisterAsync<RecordingMonitor>(session, "A");
            var b = await RegisterAsync<OtherRecordingMonitor>(session, "B");
            var context = session.CreateContext(CancellationToken.None).WithIdentity("alice", "secret-access-token");
            var before = DateTimeOffset.UtcNow;

            var transfer = NewTransfer();
            session.Monitors.TransferStarted(context, transfer);
            transfer.Progress = 50;
            session.Monitors.TransferProgress(context, transfer);
            transfer.Status = TransferStatus.Completed;
            transfer.Progress = 100;
            session.Monitors.TransferCompleted(context, transfer);
            session.Monitors.TransferFailed(context, NewTransfer("t2"), new PluginException(ErrorCode.Timeout, "stalled"));
            session.Monitors.RecordMetric(context, "backup.files", 42, new Dictionary<string, string> { ["job"] = "nightly" });
            Assert.True(await session.Monitors.FlushAsync(Flush));

            foreach (var monitor in new RecordingMonitor[] { a, b })
            {
                var calls = monitor.Calls;
                Assert.Equal(new[] { "TransferStarted", "TransferProgress", "TransferCompleted", "TransferFailed", "Metric" }, calls.Select(c => c.Event));
                Assert.All(calls, c =>
                {
                    Assert.Equal(context.RequestId, c.RequestId);
                    Assert.Equal("alice", c.UserId);
                    Assert.Null(c.AccessToken);
                    Assert.NotNull(c.Timestamp);
                    Assert.InRange(c.Timestamp!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
                });
                Assert.Equal(new[] { "t1", "t1", "t1", "t2", null }, calls.Select(c => c.TransferId));
                Assert.Equal(42, calls[4].Value);
                Assert.Equal("nightly", calls[4].Tags!["job"]);
            }

            var infos = session.Plugins.Describe().ToList();
            session.Monitors.FillHealth(infos);
            var health = infos.Single(i => i.Name == "A");
            Assert.Equal(5, health.EventsDelivered);
            Assert.Equal(0, health.EventsDropped);
        }

        [Fact]
        public async Task A_throwing_monitor_loses_only_its_own_events_counted_with_the_last_error_and_one_warning_per_call()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var good = await RegisterAsync<RecordingMonitor>(session, "Good");
            await RegisterAsync<ThrowingMonitor>(session, "Bad");
            var logger = new ListLogger();
            var context = session.CreateContext(CancellationToken.None, logger);

            var transfer = NewTransfer();
            session.Monitors.TransferStarted(context, transfer);
            session.Monitors.TransferCompleted(context, transfer);
            session.Monitors.RecordMetric(context, "m", 1, null);
            Assert.True(await session.Monitors.FlushAsync(Flush));

            Assert.Equal(3, good.Calls.Count);
            var infos = session.Plugins.Describe().ToList();
            session.Monitors.FillHealth(infos);
            var bad = infos.Single(i => i.Name == "Bad");
            Assert.Equal(0, bad.EventsDelivered);
            Assert.Equal(3, bad.EventsDropped);
            Assert.Contains("monitor exploded", bad.LastError);
            Assert.Equal(PluginState.Active, bad.State);
            var warnings = logger.Lines.Where(l => l.Contains("'Bad'")).ToList();
            Assert.Single(warnings);
            Assert.StartsWith("Warning:", warnings[0]);
        }

        [Fact]
        public async Task A_blocked_monitor_never_blocks_the_caller_and_drops_beyond_its_queue()
        {
            BlockingMonitor.Gate.Reset();
            using var home = new TestHome();
            using var session = home.NewSession();
            var good = await RegisterAsync<RecordingMonitor>(session, "Good");
            await RegisterAsync<BlockingMonitor>(session, "Stuck", new Dictionary<string, string> { ["QueueCapacity"] = "4" });
            var context = session.CreateContext(CancellationToken.None);
            try
            {
                // If publishing waited for the stuck monitor, this loop would hang until the gate's 60 s timeout.
                for (var i = 0; i < 50; i++)
                {
                    session.Monitors.RecordMetric(context, "m", i, null);
                }

                // The healthy monitor is served while the stuck one sits on its first event.
                for (var spin = 0; spin < 2000 && good.Calls.Count < 50; spin++)
                {
                    await Task.Delay(10);
                }

                Assert.Equal(50, good.Calls.Count);
            }
            finally
            {
                BlockingMonitor.Gate.Set();
            }

            Assert.True(await session.Monitors.FlushAsync(Flush));
            var infos = session.Plugins.Describe().ToList();
            session.Monitors.FillHealth(infos);
            var stuck = infos.Single(i => i.Name == "Stuck");
            Assert.Equal(50, stuck.EventsDelivered + stuck.EventsDropped);
            Assert.InRange(stuck.EventsDropped, 45 - 1, 50);
            Assert.Contains("Queue full", stuck.LastError);
        }

        [Fact]
        public async Task Monitors_load_off_the_data_path()
        {
            SlowStartMonitor.Gate.Set();
            using var home = new TestHome();
            using (var first = home.NewSession())
            {
                await RegisterAsync<SlowStartMonitor>(first, "Slow");
            }

            SlowStartMonitor.Gate.Reset();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            try
            {
                // The new session must load (Init) the monitor; that happens in the dispatcher, not here.
                session.Monitors.TransferStarted(context, NewTransfer());
                session.Monitors.RecordMetric(context, "m", 1, null);
                Assert.NotEqual(PluginState.Active, session.Plugins.Describe().Single(i => i.Name == "Slow").State);
            }
            finally
            {
                SlowStartMonitor.Gate.Set();
            }

            Assert.True(await session.Monitors.FlushAsync(Flush));
            var slow = (SlowStartMonitor)await session.Plugins.GetAsync(context, "Slow");
            Assert.Equal(new[] { "TransferStarted", "Metric" }, slow.Calls.Select(c => c.Event));
        }

        [Fact]
        public async Task A_monitor_that_fails_to_start_warns_once_and_is_tried_again_later()
        {
            FlakyStartMonitor.FailInit = false;
            using var home = new TestHome();
            using (var first = home.NewSession())
            {
                await RegisterAsync<FlakyStartMonitor>(first, "Flaky");
            }

            FlakyStartMonitor.FailInit = true;
            using var session = home.NewSession();
            session.Monitors.LoadRetryInterval = TimeSpan.Zero;
            var logger = new ListLogger();
            var context = session.CreateContext(CancellationToken.None, logger);
            await session.Monitors.RecordMetricAsync(context, "lost", 1, null);
            await session.Monitors.RecordMetricAsync(context, "lost", 2, null);
            Assert.Single(logger.Lines, l => l.Contains("could not start") && l.Contains("collector not reachable yet"));

            FlakyStartMonitor.FailInit = false;
            await session.Monitors.RecordMetricAsync(context, "kept", 3, null);
            var flaky = (FlakyStartMonitor)await session.Plugins.GetAsync(context, "Flaky");
            Assert.Equal(new[] { "kept" }, flaky.Calls.Select(c => c.Metric));
        }

        [Fact]
        public async Task Progress_is_throttled_per_transfer_but_the_first_and_100_percent_always_pass_and_stay_in_range()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            session.Monitors.ProgressInterval = TimeSpan.FromHours(1);
            var monitor = await RegisterAsync<RecordingMonitor>(session, "A");
            var context = session.CreateContext(CancellationToken.None);

            var t1 = NewTransfer("t1");
            var t2 = NewTransfer("t2");
            for (var p = 1; p <= 99; p++)
            {
                t1.Progress = p;
                t2.Progress = p;
                session.Monitors.TransferProgress(context, t1);
                session.Monitors.TransferProgress(context, t2);
            }

            t1.Progress = 100;
            t1.BytesTransferred = 1000;
            session.Monitors.TransferProgress(context, t1);
            session.Monitors.TransferProgress(context, t1); // 100% passes once
            t2.Progress = double.NaN;
            t2.BytesTransferred = 1000;
            session.Monitors.TransferProgress(context, t2);

            var t3 = NewTransfer("t3", progress: 250);
            session.Monitors.TransferProgress(context, t3);
            Assert.True(await session.Monitors.FlushAsync(Flush));

            var calls = monitor.Calls;
            Assert.Equal(new[] { 1.0, 100.0 }, calls.Where(c => c.TransferId == "t1").Select(c => c.Progress));
            Assert.Equal(new[] { 1.0, 0.0 }, calls.Where(c => c.TransferId == "t2").Select(c => c.Progress));
            Assert.Equal(new[] { 100.0 }, calls.Where(c => c.TransferId == "t3").Select(c => c.Progress));
        }

        [Fact]
        public async Task Record_metric_async_returns_once_delivered_and_shutdown_flushes_the_queue()
        {
            using var home = new TestHome();
            var session = home.NewSession();
            var monitor = await RegisterAsync<RecordingMonitor>(session, "A");
            var context = session.CreateContext(CancellationToken.None);

            await session.Monitors.RecordMetricAsync(context, "files", 3, new Dictionary<string, string> { ["job"] = "x" });
            Assert.Single(monitor.Calls);

            for (var i = 0; i < 200; i++)
            {
                session.Monitors.RecordMetric(context, "burst", i, null);
            }

            await session.CloseAsync();
            Assert.Equal(201, monitor.Calls.Count);
            Assert.True(monitor.ShutDown);
            session.Monitors.RecordMetric(context, "late", 1, null); // after close: ignored, no throw
        }

        [Fact]
        public async Task The_monitor_list_follows_registrations()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var a = await RegisterAsync<RecordingMonitor>(session, "A");
            await session.Monitors.RecordMetricAsync(context, "one", 1, null);

            var b = await RegisterAsync<OtherRecordingMonitor>(session, "B");
            await session.Monitors.RecordMetricAsync(context, "two", 2, null);

            await session.UnregisterPluginAsync(context, "A");
            await session.Monitors.RecordMetricAsync(context, "three", 3, null);

            Assert.Equal(new[] { "one", "two" }, a.Calls.Select(c => c.Metric));
            Assert.Equal(new[] { "two", "three" }, b.Calls.Select(c => c.Metric));
        }
    }
}
