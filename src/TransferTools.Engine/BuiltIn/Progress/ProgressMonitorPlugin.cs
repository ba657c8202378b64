using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;

namespace TransferTools.Engine.BuiltIn.Progress
{
    /// <summary>
    /// Turns transfer events into progress bars for the cmdlet that started the transfers: one bar per active file with
    /// percentage, rate and time remaining, under a parent bar for the whole call when it moves several files.
    /// </summary>
    /// <remarks>
    /// Silent unless the calling cmdlet gave the context an <see cref="IProgressSink"/> (<see cref="OperationContext.Progress"/>) (it does not when
    /// <c>$ProgressPreference</c> is SilentlyContinue or there is no interactive host). Runs on the monitor's delivery
    /// task, never on the data path; the sink keeps only the newest update per bar. The percentage is that of the whole
    /// file (a resumed transfer starts where it left off), always within 0–100.
    /// </remarks>
    [TransferPlugin("Progress", PluginType.Monitor,
        Description = "Write-Progress in the calling session: percentage, rate and time remaining per file, a parent bar per call.")]
    public sealed class ProgressMonitorPlugin : IMonitorPlugin
    {
        private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);
        private readonly object _gate = new object();
        private readonly Dictionary<string, RequestProgress> _requests = new Dictionary<string, RequestProgress>(StringComparer.Ordinal);
        private int _nextActivityId = 7400;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(ProgressMonitorPlugin), "TransferTools contributors", "MIT");

        /// <summary>How long a transfer runs before its bar is drawn (default 0.5 s); shorter transfers draw nothing.</summary>
        public TimeSpan ShowAfter { get; set; } = TimeSpan.FromMilliseconds(500);

        /// <inheritdoc/>
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) => Task.CompletedTask;

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context)
        {
            lock (_gate)
            {
                _requests.Clear();
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public void TransferStarted(OperationContext context, Transfer transfer) => Update(context, transfer, final: false);

        /// <inheritdoc/>
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) => Update(context, transfer, final: false);

        /// <inheritdoc/>
        public void TransferCompleted(OperationContext context, Transfer transfer) => Update(context, transfer, final: true);

        /// <inheritdoc/>
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => Update(context, transfer, final: true);

        /// <inheritdoc/>
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags)
        {
        }

        private void Update(OperationContext context, Transfer transfer, bool final)
        {
            if (!(context.Progress is IProgressSink sink))
            {
                return;
            }

            var now = context.EventTimestamp ?? DateTimeOffset.UtcNow;
            var updates = new List<ProgressUpdate>(2);
            lock (_gate)
            {
                Sweep(now);
                if (!_requests.TryGetValue(context.RequestId, out var request))
                {
                    request = new RequestProgress(NextId());
                    _requests[context.RequestId] = request;
                }

                request.LastSeen = now;
                var hint = context.GetValue(EngineContextKeys.ExpectedTransferCount);
                var expected = hint is int count ? count : hint is Func<int> counter ? counter() : 0;
                if (expected > 0)
                {
                    request.Expected = expected;
                }

                if (!request.Files.TryGetValue(transfer.Id, out var file))
                {
                    file = new FileProgress(NextId(), transfer.StartedAt != default && transfer.StartedAt < now ? transfer.StartedAt : now);
                    request.Files[transfer.Id] = file;
                }

                file.Observe(transfer, now, final);
                var drawFile = true;
                if (!file.Shown)
                {
                    // A transfer over before ShowAfter never draws a bar: drawing costs the console more than a
                    // short transfer is worth, and a bar that flashes for a moment tells the user nothing.
                    drawFile = !final && now - file.FirstSeen >= ShowAfter;
                    file.Shown = drawFile;
                }

                if (context.GetValue(EngineContextKeys.ProgressParentId) is int ownParent)
                {
                    // The cmdlet draws the parent bar itself: each file's bar goes beneath it, and an ended file is forgotten.
                    if (drawFile)
                    {
                        updates.Add(file.ToUpdate(transfer, ownParent));
                    }

                    if (final)
                    {
                        request.Files.Remove(transfer.Id);
                    }
                }
                else
                {
                    AddFileAndParent(context, request, file, transfer, drawFile, updates);
                }
            }

            foreach (var update in updates)
            {
                sink.Report(update);
            }
        }

        /// <summary>The file's bar and the call's parent bar over it (when the call moves more than one file).</summary>
        private void AddFileAndParent(OperationContext context, RequestProgress request, FileProgress file, Transfer transfer, bool drawFile, List<ProgressUpdate> updates)
        {
            var drawParent = (request.Files.Count > 1 || request.Expected > 1) && (drawFile || request.Shown);
            if (drawFile)
            {
                updates.Add(file.ToUpdate(transfer, drawParent ? request.ActivityId : -1));
            }

            if (drawParent)
            {
                var parent = request.ToUpdate();
                updates.Add(parent);
                request.Shown = !parent.Completed;

                // Without a count hint the request is kept a while (swept later): more files may come down the pipeline.
                if (parent.Completed && request.Expected > 0)
                {
                    _requests.Remove(context.RequestId);
                }
            }
        }

        private int NextId() => Interlocked.Increment(ref _nextActivityId);

        private void Sweep(DateTimeOffset now)
        {
            if (_requests.Count < 16)
            {
                return;
            }

            foreach (var stale in _requests.Where(r => now - r.Value.LastSeen > ForgetAfter).Select(r => r.Key).ToList())
            {
                _requests.Remove(stale);
            }
        }

        /// <summary>Formats a byte count as users read it, in the binary units the default tables use (B, KiB, MiB, GiB, TiB).</summary>
        public static string FormatBytes(double bytes)
        {
            string[] units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
            var unit = 0;
            while (Math.Abs(bytes) >= 1024 && unit < units.Length - 1)
            {
                bytes /= 1024;
                unit++;
            }

            return unit == 0
                ? string.Format(CultureInfo.CurrentCulture, "{0:0} {1}", bytes, units[unit])
                : string.Format(CultureInfo.CurrentCulture, bytes >= 100 ? "{0:0} {1}" : "{0:0.0} {1}", bytes, units[unit]);
        }

        /// <summary>A percentage for a progress bar: an integer within 0–100 (NaN and infinities become 0).</summary>
        public static int ToPercent(double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value))
            {
                return 0;
            }

            return (int)Math.Floor(Math.Max(0, Math.Min(100, value)));
        }

        private static int ToSeconds(double seconds) =>
            double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds < 0 ? -1 : (int)Math.Min(int.MaxValue / 2, Math.Ceiling(seconds));

        private sealed class FileProgress
        {
            private DateTimeOffset _lastTime;
            private long _lastBytes = -1;

            public FileProgress(int activityId, DateTimeOffset firstSeen)
            {
                ActivityId = activityId;
                FirstSeen = firstSeen;
            }

            public int ActivityId { get; }
            public DateTimeOffset FirstSeen { get; }
            public bool Shown { get; set; }
            public bool Final { get; private set; }
            public bool Succeeded { get; private set; }
            public long Bytes { get; private set; }
            public long Total { get; private set; } = -1;
            public double Percent { get; private set; }
            public double Rate { get; private set; }
            public TransferDirection Direction { get; private set; }

            public void Observe(Transfer transfer, DateTimeOffset now, bool final)
            {
                Direction = transfer.Direction;
                Total = transfer.TotalBytes;
                var bytes = Math.Max(0, transfer.BytesTransferred);
                if (transfer.BytesPerSecond > 0 && !double.IsInfinity(transfer.BytesPerSecond))
                {
                    Rate = transfer.BytesPerSecond;
                }
                else if (_lastBytes >= 0 && now > _lastTime && bytes >= _lastBytes)
                {
                    // Measured from what moved between two events, so bytes kept by a resume never count as speed.
                    var sample = (bytes - _lastBytes) / (now - _lastTime).TotalSeconds;
                    Rate = Rate <= 0 ? sample : (0.3 * sample) + (0.7 * Rate);
                }

                _lastBytes = bytes;
                _lastTime = now;
                Bytes = bytes;
                Percent = !double.IsNaN(transfer.Progress) && transfer.Progress > 0
                    ? transfer.Progress
                    : transfer.TotalBytes > 0 ? 100.0 * bytes / transfer.TotalBytes : 0;
                Final = final || transfer.Status.IsFinal();
                Succeeded = transfer.Status == TransferStatus.Completed;
                if (Succeeded)
                {
                    Percent = 100;
                    Bytes = Total >= 0 ? Total : Bytes;
                }
            }

            public ProgressUpdate ToUpdate(Transfer transfer, int parentId)
            {
                var verb = Direction == TransferDirection.Send ? "Sending" : "Receiving";
                var name = string.IsNullOrEmpty(transfer.Name) ? transfer.Id : transfer.Name;
                var percent = ToPercent(Percent);
                var status = Total >= 0
                    ? $"{percent}% - {FormatBytes(Bytes)} of {FormatBytes(Total)}"
                    : $"{FormatBytes(Bytes)}";
                if (Rate > 0 && !Final)
                {
                    status += $" - {FormatBytes(Rate)}/s";
                }

                if (transfer.Status == TransferStatus.Pending)
                {
                    status = "Starting - " + status;
                }

                var target = Direction == TransferDirection.Send ? transfer.Destination : transfer.Source;
                return new ProgressUpdate
                {
                    ActivityId = ActivityId,
                    ParentActivityId = parentId,
                    Activity = $"{verb} {name}",
                    StatusDescription = status,
                    CurrentOperation = string.IsNullOrEmpty(target) ? null : (Direction == TransferDirection.Send ? "to " : "from ") + Redaction.Redact(target),
                    PercentComplete = Total < 0 && Percent <= 0 && !Final ? -1 : percent,
                    SecondsRemaining = Rate > 0 && Total >= 0 && !Final ? ToSeconds((Total - Bytes) / Rate) : -1,
                    Completed = Final,
                };
            }
        }

        private sealed class RequestProgress
        {
            public RequestProgress(int activityId) => ActivityId = activityId;

            public int ActivityId { get; }
            public bool Shown { get; set; }
            public int Expected { get; set; }
            public DateTimeOffset LastSeen { get; set; }
            public Dictionary<string, FileProgress> Files { get; } = new Dictionary<string, FileProgress>(StringComparer.Ordinal);

            public ProgressUpdate ToUpdate()
            {
                var files = Files.Values.ToList();
                var count = Math.Max(Expected, files.Count);
                var done = files.Count(f => f.Final);
                var failed = files.Count(f => f.Final && !f.Succeeded);
                var known = files.Where(f => f.Total >= 0).ToList();
                long bytes = known.Sum(f => f.Bytes), total = known.Sum(f => f.Total);
                var rate = files.Where(f => !f.Final).Sum(f => f.Rate);
                double percent;
                if (files.Count < count || known.Count < files.Count || total <= 0)
                {
                    // Sizes of files not started yet are unknown: count files, each weighted by its own progress.
                    percent = files.Sum(f => f.Final ? 100 : Math.Max(0, Math.Min(100, f.Percent))) / count;
                }
                else
                {
                    percent = 100.0 * bytes / total;
                }

                var allSeen = files.Count >= count;
                var verb = files.All(f => f.Direction == TransferDirection.Send) ? "Sending" : files.All(f => f.Direction == TransferDirection.Receive) ? "Receiving" : "Transferring";
                var status = $"{done} of {count} files done" + (failed > 0 ? $" ({failed} failed)" : "") + $" - {FormatBytes(bytes)}" + (allSeen && total > 0 ? $" of {FormatBytes(total)}" : "");
                if (rate > 0)
                {
                    status += $" - {FormatBytes(rate)}/s";
                }

                return new ProgressUpdate
                {
                    ActivityId = ActivityId,
                    Activity = $"{verb} {count} files",
                    StatusDescription = status,
                    PercentComplete = ToPercent(percent),
                    SecondsRemaining = allSeen && rate > 0 && total >= bytes ? ToSeconds((total - bytes) / rate) : -1,
                    Completed = allSeen && done == files.Count,
                };
            }
        }
    }
}
