using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.BuiltIn.Progress;

namespace TransferTools.Engine.Tests.Monitoring
{
    public class ProgressMonitorTests
    {
        private static readonly DateTimeOffset T0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        private static OperationContext At(OperationContext request, double seconds) =>
            request.WithEventTimestamp(T0.AddSeconds(seconds));

        private static (ProgressMonitorPlugin, ListSink, OperationContext) New()
        {
            var sink = new ListSink();
            var context = new OperationContext().WithProgress(sink);
            return (new ProgressMonitorPlugin { ShowAfter = TimeSpan.Zero }, sink, context);
        }

        [Fact]
        public void One_file_shows_percentage_rate_and_time_remaining_then_completes()
        {
            var (monitor, sink, context) = New();
            var t = MonitorHubTests.NewTransfer("t1", total: 100 * 1024 * 1024);
            t.Name = "big.iso";
            monitor.TransferStarted(At(context, 0), t);
            t.BytesTransferred = 50 * 1024 * 1024;
            t.Progress = 50;
            t.BytesPerSecond = 10 * 1024 * 1024;
            monitor.TransferProgress(At(context, 5), t, 50);
            t.Status = TransferStatus.Completed;
            t.BytesTransferred = t.TotalBytes;
            t.Progress = 100;
            monitor.TransferCompleted(At(context, 10), t);

            Assert.Equal(3, sink.Updates.Count);
            Assert.All(sink.Updates, u => Assert.Equal(-1, u.ParentActivityId));
            Assert.Single(sink.Updates.Select(u => u.ActivityId).Distinct());
            var mid = sink.Updates[1];
            Assert.Equal("Sending big.iso", mid.Activity);
            Assert.Equal(50, mid.PercentComplete);
            Assert.Equal(5, mid.SecondsRemaining);
            Assert.Contains("50% - 50.0 MiB of 100 MiB - 10.0 MiB/s", mid.StatusDescription);
            Assert.Equal("to sftp://alice:***@127.0.0.1/in/", mid.CurrentOperation);
            Assert.False(mid.Completed);
            var last = sink.Updates[2];
            Assert.True(last.Completed);
            Assert.Equal(100, last.PercentComplete);
        }

        [Fact]
        public void Rate_is_measured_from_events_when_the_engine_gives_none_and_a_resume_shows_the_whole_file()
        {
            var (monitor, sink, context) = New();
            // Resumed at 60 of 100 MB: the bar starts at 60%, and the kept bytes never count as speed.
            var t = MonitorHubTests.NewTransfer("t1", progress: 60, bytes: 60L << 20, total: 100L << 20);
            t.ResumedFrom = 60L << 20;
            monitor.TransferStarted(At(context, 0), t);
            t.BytesTransferred = 70L << 20;
            t.Progress = 70;
            monitor.TransferProgress(At(context, 2), t, 70);

            Assert.Equal(60, sink.Updates[0].PercentComplete);
            Assert.Equal(-1, sink.Updates[0].SecondsRemaining);
            Assert.Equal(70, sink.Updates[1].PercentComplete);
            Assert.Contains("5.0 MiB/s", sink.Updates[1].StatusDescription);
            Assert.Equal(6, sink.Updates[1].SecondsRemaining);
        }

        [Theory]
        [InlineData(250, 100)]
        [InlineData(-3, 0)]
        [InlineData(double.NaN, 0)]
        [InlineData(double.PositiveInfinity, 0)]
        [InlineData(99.99, 99)]
        public void The_percentage_never_leaves_0_to_100(double progress, int expected)
        {
            var (monitor, sink, context) = New();
            var t = MonitorHubTests.NewTransfer("t1", progress: progress, bytes: 10, total: -1);
            monitor.TransferProgress(At(context, 0), t, progress);
            var u = Assert.Single(sink.Updates);
            Assert.InRange(u.PercentComplete, -1, 100);
            if (expected > 0 || progress == 0 || !double.IsNaN(progress))
            {
                Assert.Equal(expected, Math.Max(0, u.PercentComplete));
            }

            Assert.Equal(expected, ProgressMonitorPlugin.ToPercent(progress));
        }

        [Fact]
        public void Several_files_in_one_call_get_a_parent_bar_with_a_child_per_file()
        {
            var (monitor, sink, context) = New();
            context = context.WithValue(EngineContextKeys.ExpectedTransferCount, 3);
            var a = MonitorHubTests.NewTransfer("a", total: 1000);
            var b = MonitorHubTests.NewTransfer("b", total: 3000);
            monitor.TransferStarted(At(context, 0), a);
            monitor.TransferStarted(At(context, 0), b);
            a.Status = TransferStatus.Completed;
            a.BytesTransferred = 1000;
            a.Progress = 100;
            monitor.TransferCompleted(At(context, 1), a);

            var children = sink.Updates.Where(u => u.Activity.StartsWith("Sending a") || u.Activity.StartsWith("Sending b")).ToList();
            var parents = sink.Updates.Where(u => u.Activity == "Sending 3 files").ToList();
            Assert.NotEmpty(parents);
            var parentId = parents[0].ActivityId;
            Assert.All(children, c => Assert.Equal(parentId, c.ParentActivityId));
            Assert.NotEqual(children.First(c => c.Activity.StartsWith("Sending a")).ActivityId, children.First(c => c.Activity.StartsWith("Sending b")).ActivityId);
            var parent = parents.Last();
            Assert.StartsWith("1 of 3 files done", parent.StatusDescription);
            Assert.Equal(33, parent.PercentComplete); // one of three files, the others not begun
            Assert.False(parent.Completed);

            var c = MonitorHubTests.NewTransfer("c", total: 1000);
            monitor.TransferStarted(At(context, 2), c);
            foreach (var t in new[] { b, c })
            {
                t.Status = TransferStatus.Completed;
                t.BytesTransferred = t.TotalBytes;
                t.Progress = 100;
                monitor.TransferCompleted(At(context, 3), t);
            }

            var final = sink.Updates.Last(u => u.ActivityId == parentId);
            Assert.True(final.Completed);
            Assert.Equal(100, final.PercentComplete);
            Assert.StartsWith("3 of 3 files done", final.StatusDescription);
        }

        [Fact]
        public void A_cmdlet_that_draws_its_own_parent_gets_each_file_bar_beneath_it_and_no_second_parent()
        {
            // Sync-TransferFolder draws one bar over the whole sync (id 7300, with its scan phase); its copies go beneath.
            var (monitor, sink, context) = New();
            context = context.WithValue(EngineContextKeys.ExpectedTransferCount, 3).WithValue(EngineContextKeys.ProgressParentId, 7300);
            var a = MonitorHubTests.NewTransfer("a", total: 1000);
            var b = MonitorHubTests.NewTransfer("b", total: 3000);
            monitor.TransferStarted(At(context, 0), a);
            monitor.TransferStarted(At(context, 0), b);
            a.Status = TransferStatus.Completed;
            a.BytesTransferred = 1000;
            a.Progress = 100;
            monitor.TransferCompleted(At(context, 1), a);
            b.Status = TransferStatus.Completed;
            b.BytesTransferred = 3000;
            b.Progress = 100;
            monitor.TransferCompleted(At(context, 2), b);

            Assert.Equal(4, sink.Updates.Count);
            Assert.All(sink.Updates, u => Assert.Equal(7300, u.ParentActivityId));
            Assert.DoesNotContain(sink.Updates, u => u.Activity.EndsWith(" files", StringComparison.Ordinal));
            Assert.Equal(2, sink.Updates.Select(u => u.ActivityId).Distinct().Count());
            Assert.True(sink.Updates.Last(u => u.Activity.StartsWith("Sending a", StringComparison.Ordinal)).Completed);
            Assert.True(sink.Updates.Last().Completed);
        }

        [Fact]
        public void Without_a_count_hint_the_parent_appears_with_the_second_file_and_counts_bytes()
        {
            var (monitor, sink, context) = New();
            var a = MonitorHubTests.NewTransfer("a", bytes: 500, progress: 50, total: 1000);
            var b = MonitorHubTests.NewTransfer("b", bytes: 0, total: 3000);
            monitor.TransferProgress(At(context, 0), a, 50);
            Assert.DoesNotContain(sink.Updates, u => u.Activity.EndsWith("files"));
            monitor.TransferStarted(At(context, 0), b);
            var parent = sink.Updates.Last(u => u.Activity == "Sending 2 files");
            Assert.Equal(12, parent.PercentComplete); // 500 of 4000 bytes
        }

        [Fact]
        public void Transfers_shorter_than_show_after_draw_no_bar_and_longer_ones_appear_late()
        {
            var (monitor, sink, context) = New();
            monitor.ShowAfter = TimeSpan.FromSeconds(0.5);
            var quick = MonitorHubTests.NewTransfer("quick");
            quick.StartedAt = T0;
            monitor.TransferStarted(At(context, 0), quick);
            quick.Status = TransferStatus.Completed;
            quick.Progress = 100;
            monitor.TransferCompleted(At(context, 0.3), quick);
            Assert.Empty(sink.Updates);

            var slow = MonitorHubTests.NewTransfer("slow");
            slow.StartedAt = T0.AddSeconds(1);
            monitor.TransferStarted(At(context, 1), slow);
            slow.Progress = 10;
            monitor.TransferProgress(At(context, 1.25), slow, 10);
            Assert.Empty(sink.Updates);
            slow.Progress = 20;
            monitor.TransferProgress(At(context, 1.5), slow, 20);
            // Two files in the call now: the parent bar comes with the first bar drawn.
            Assert.Equal(new[] { "Sending slow.bin", "Sending 2 files" }, sink.Updates.Select(u => u.Activity));
            Assert.Equal(20, sink.Updates[0].PercentComplete);
            slow.Status = TransferStatus.Completed;
            slow.Progress = 100;
            monitor.TransferCompleted(At(context, 2), slow);
            Assert.True(sink.Updates.Last(u => u.Activity == "Sending 2 files").Completed);
            Assert.True(sink.Updates.Last(u => u.Activity == "Sending slow.bin").Completed);
        }

        [Fact]
        public void Is_silent_without_a_sink_and_ignores_metrics()
        {
            var monitor = new ProgressMonitorPlugin();
            monitor.TransferStarted(new OperationContext(), MonitorHubTests.NewTransfer());
            var (withSink, sink, context) = New();
            withSink.RecordMetric(context, "m", 1, new Dictionary<string, string>());
            Assert.Empty(sink.Updates);
        }

        [Fact]
        public async Task Is_a_default_monitor_fed_through_the_hub()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var sink = new ListSink();
            var context = session.CreateContext(System.Threading.CancellationToken.None).WithProgress(sink);
            var running = MonitorHubTests.NewTransfer();
            running.StartedAt = DateTimeOffset.UtcNow.AddSeconds(-5); // long enough to be worth a bar
            session.Monitors.TransferStarted(context, running);
            Assert.True(await session.Monitors.FlushAsync(TimeSpan.FromSeconds(20)));
            Assert.Single(sink.Updates);
            Assert.Contains(session.Plugins.Describe(), i => i.Name == "Progress" && i.Type == "Progress");
        }
    }
}
