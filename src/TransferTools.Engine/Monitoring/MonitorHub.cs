using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Monitoring
{
    /// <summary>
    /// Delivers transfer events and metrics to every registered monitor without ever holding up the caller.
    /// </summary>
    /// <remarks>
    /// The engine's calls (<see cref="TransferStarted(OperationContext, Transfer)"/>, <see cref="TransferProgress(OperationContext, Transfer)"/>, ...) stamp the event, copy the
    /// transfer (or keep the snapshot the runner made for the event alone) and put it in a bounded inbox: nothing else happens on the data path. A dispatcher task keeps the list
    /// of monitor instances current (loading and initializing them there, off the data path) and copies each event into
    /// one bounded queue per monitor; one delivery task per monitor calls the plugin. A monitor that is slow fills its
    /// own queue and loses its own events; one that throws loses the event it threw on. Both are counted
    /// (<see cref="FillHealth"/>) and reported once per cmdlet call as a warning. Progress is throttled per transfer
    /// (<see cref="ProgressInterval"/>), always passing the first update and 100%.
    /// </remarks>
    public sealed class MonitorHub
    {
        /// <summary>Events each monitor may have waiting before new ones are dropped (configuration key <c>QueueCapacity</c> overrides).</summary>
        public const int DefaultQueueCapacity = 1024;

        private const int InboxCapacity = 16384;
        private readonly TransferSession _session;
        private readonly Channel<MonitorEvent> _inbox;
        private readonly Dictionary<string, ProgressThrottle> _throttle = new Dictionary<string, ProgressThrottle>(StringComparer.Ordinal);
        private readonly object _gate = new object();
        private MonitorChannel[] _channels = Array.Empty<MonitorChannel>();
        private Task? _dispatcher;
        private string? _signature;
        private DateTime? _retryAt;
        private readonly HashSet<string> _warnedLoadFailures = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        private long _inboxDropped;
        private long _pending;
        private int _closed;
        private EventHandler? _processExit;

        /// <summary>Creates the hub for a session.</summary>
        public MonitorHub(TransferSession session)
        {
            _session = session;
            _inbox = Channel.CreateBounded<MonitorEvent>(new BoundedChannelOptions(InboxCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of waiting: the caller never blocks.
            });
        }

        /// <summary>The shortest time between two progress events of one transfer (default 250 ms: at most 4 a second).</summary>
        public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);

        /// <summary>How long <see cref="RecordMetricAsync"/> waits for its metric to reach the monitors (default 2 s).</summary>
        public TimeSpan MetricDeliveryWait { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>How soon a monitor that failed to start is tried again (default 30 s).</summary>
        public TimeSpan LoadRetryInterval { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>How long <see cref="ShutdownAsync"/> waits for queued events to be delivered (default 5 s).</summary>
        public TimeSpan ShutdownWait { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>A transfer started (or a resume of it began).</summary>
        public void TransferStarted(OperationContext context, Transfer transfer) => TransferStarted(context, transfer, owned: false);

        /// <summary>A transfer started; <paramref name="owned"/>: the caller made <paramref name="transfer"/> for this call
        /// alone and never touches it again, so the hub keeps it instead of a copy.</summary>
        internal void TransferStarted(OperationContext context, Transfer transfer, bool owned)
        {
            lock (_throttle)
            {
                _throttle.Remove(transfer.Id);
            }

            Publish(new MonitorEvent(MonitorEventKind.Started, context, Snapshot(transfer, owned)));
        }

        /// <summary>A transfer moved forward. Cheap: most calls return after one clock read (throttled per transfer).</summary>
        public void TransferProgress(OperationContext context, Transfer transfer) => TransferProgress(context, transfer, owned: false);

        /// <summary>A transfer moved forward (see <see cref="TransferStarted(OperationContext, Transfer, bool)"/> for <paramref name="owned"/>).</summary>
        internal void TransferProgress(OperationContext context, Transfer transfer, bool owned)
        {
            if (!PassesThrottle(transfer))
            {
                return;
            }

            Publish(new MonitorEvent(MonitorEventKind.Progress, context, Snapshot(transfer, owned)));
        }

        /// <summary>A transfer completed.</summary>
        public void TransferCompleted(OperationContext context, Transfer transfer) => TransferCompleted(context, transfer, owned: false);

        /// <summary>A transfer completed (see <see cref="TransferStarted(OperationContext, Transfer, bool)"/> for <paramref name="owned"/>).</summary>
        internal void TransferCompleted(OperationContext context, Transfer transfer, bool owned)
        {
            ForgetThrottle(transfer.Id);
            Publish(new MonitorEvent(MonitorEventKind.Completed, context, Snapshot(transfer, owned)));
        }

        /// <summary>A transfer failed, was cancelled or suspended.</summary>
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => TransferFailed(context, transfer, error, owned: false);

        /// <summary>A transfer failed, was cancelled or suspended (see <see cref="TransferStarted(OperationContext, Transfer, bool)"/> for <paramref name="owned"/>).</summary>
        internal void TransferFailed(OperationContext context, Transfer transfer, Exception error, bool owned)
        {
            ForgetThrottle(transfer.Id);
            Publish(new MonitorEvent(MonitorEventKind.Failed, context, Snapshot(transfer, owned)) { Error = error });
        }

        /// <summary>A metric (from the engine or <c>Write-TransferMetric</c>).</summary>
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string>? tags) =>
            Publish(NewMetric(context, name, value, tags));

        /// <summary>
        /// Records a metric from <c>Write-TransferMetric</c> (authorized as a write to <c>metrics/NAME</c>) and waits, at most
        /// <see cref="MetricDeliveryWait"/>, until every monitor has had it, so a script that reads its event log next
        /// finds the line, and a drop is reported to the calling cmdlet.
        /// </summary>
        public async Task RecordMetricAsync(OperationContext context, string name, double value, IReadOnlyDictionary<string, string>? tags)
        {
            await _session.Auth.DemandAsync(context, "metrics/" + name, Abstractions.Action.Write).ConfigureAwait(false);
            var e = NewMetric(context, name, value, tags);
            e.Delivered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Publish(e);
            await Task.WhenAny(e.Delivered.Task, Task.Delay(MetricDeliveryWait, context.CancellationToken)).ConfigureAwait(false);
        }

        /// <summary>Waits until every event published so far was delivered (or dropped), at most <paramref name="timeout"/>.</summary>
        /// <returns>True when nothing is left in flight.</returns>
        public async Task<bool> FlushAsync(TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref _pending) > 0)
            {
                if (deadline.Elapsed >= timeout)
                {
                    return false;
                }

                await Task.Delay(10).ConfigureAwait(false);
            }

            return true;
        }

        /// <summary>Adds each monitor's delivery counters and last delivery error to <paramref name="infos"/>.</summary>
        public void FillHealth(IEnumerable<PluginInfo> infos)
        {
            var channels = Volatile.Read(ref _channels);
            var lost = Interlocked.Read(ref _inboxDropped);
            foreach (var info in infos.Where(i => i.Kind == PluginType.Monitor))
            {
                var channel = channels.FirstOrDefault(c => string.Equals(c.Name, info.Name, StringComparison.OrdinalIgnoreCase));
                if (channel is null)
                {
                    info.EventsDropped = lost;
                    continue;
                }

                info.EventsDelivered = Interlocked.Read(ref channel.Delivered);
                info.EventsDropped = Interlocked.Read(ref channel.Dropped) + lost;
                info.LastError ??= channel.LastError;
            }
        }

        /// <summary>Stops delivery after flushing what is queued, waiting at most <see cref="ShutdownWait"/>.</summary>
        public async Task ShutdownAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            if (_processExit != null)
            {
                AppDomain.CurrentDomain.ProcessExit -= _processExit;
            }

            _inbox.Writer.TryComplete();
            Task? dispatcher;
            lock (_gate)
            {
                dispatcher = _dispatcher;
            }

            if (dispatcher is null)
            {
                return;
            }

            await Task.WhenAny(FlushAsync(ShutdownWait), Task.Delay(ShutdownWait)).ConfigureAwait(false);
            await Task.WhenAny(dispatcher, Task.Delay(TimeSpan.FromMilliseconds(200))).ConfigureAwait(false);
            foreach (var channel in Volatile.Read(ref _channels))
            {
                channel.Queue.Writer.TryComplete();
            }

            await Task.WhenAny(Task.WhenAll(Volatile.Read(ref _channels).Select(c => c.Loop)), Task.Delay(TimeSpan.FromMilliseconds(500))).ConfigureAwait(false);
        }

        private static MonitorEvent NewMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string>? tags) =>
            new MonitorEvent(MonitorEventKind.Metric, context, null)
            {
                MetricName = name,
                MetricValue = value,
                Tags = tags is null ? EmptyTags : new Dictionary<string, string>(tags.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal),
            };

        private static Transfer Snapshot(Transfer transfer, bool owned)
        {
            // (A snapshot the runner made for the event is the event's already: a second copy per event was a good part
            // of what a small file allocates.)
            var copy = owned ? transfer : transfer.Clone();
            copy.Progress = ClampPercent(copy.Progress);
            return copy;
        }

        private static readonly IReadOnlyDictionary<string, string> EmptyTags = new Dictionary<string, string>();

        private bool PassesThrottle(Transfer transfer)
        {
            var now = Stopwatch.GetTimestamp();
            var done = transfer.Progress >= 100 || (transfer.TotalBytes >= 0 && transfer.BytesTransferred >= transfer.TotalBytes);
            var interval = (long)(ProgressInterval.TotalSeconds * Stopwatch.Frequency);
            lock (_throttle)
            {
                // One short lock per call: a dictionary look-up and a clock compare, nothing allocated after the first.
                if (!_throttle.TryGetValue(transfer.Id, out var state))
                {
                    _throttle[transfer.Id] = new ProgressThrottle { LastTicks = now, SentDone = done };
                    return true;
                }

                if (done)
                {
                    if (state.SentDone)
                    {
                        return false;
                    }

                    state.SentDone = true;
                    state.LastTicks = now;
                    return true;
                }

                if (now - state.LastTicks < interval)
                {
                    return false;
                }

                state.LastTicks = now;
                return true;
            }
        }

        private void ForgetThrottle(string id)
        {
            lock (_throttle)
            {
                _throttle.Remove(id);
            }
        }

        private void Publish(MonitorEvent e)
        {
            if (Volatile.Read(ref _closed) != 0)
            {
                e.Delivered?.TrySetResult(false);
                return;
            }

            EnsureDispatcher();
            Interlocked.Increment(ref _pending);
            if (!_inbox.Writer.TryWrite(e))
            {
                Interlocked.Decrement(ref _pending);
                Interlocked.Increment(ref _inboxDropped);
                e.Delivered?.TrySetResult(false);
            }
        }

        private void EnsureDispatcher()
        {
            if (Volatile.Read(ref _dispatcher) != null)
            {
                return;
            }

            lock (_gate)
            {
                if (_dispatcher != null)
                {
                    return;
                }

                // A script that writes a metric and exits at once still gets its events out.
                _processExit = (_, __) => FlushAsync(TimeSpan.FromSeconds(3)).GetAwaiter().GetResult();
                AppDomain.CurrentDomain.ProcessExit += _processExit;
                _dispatcher = Task.Run(DispatchAsync);
            }
        }

        private async Task DispatchAsync()
        {
            var reader = _inbox.Reader;
            try
            {
                while (await reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    var first = true;
                    while (reader.TryRead(out var e))
                    {
                        if (first)
                        {
                            // Registrations are checked once per batch (a file time stamp; monitors load only when they changed).
                            first = false;
                            try
                            {
                                await RefreshAsync(e).ConfigureAwait(false);
                            }
                            catch (Exception)
                            {
                                // Whatever went wrong, the monitors already running keep getting events.
                            }
                        }

                        Fan(e);
                    }
                }
            }
            catch (Exception)
            {
                // The dispatcher must never fault; what it could not hand on is counted by FlushAsync's caller as lost.
            }
            finally
            {
                foreach (var channel in Volatile.Read(ref _channels))
                {
                    channel.Queue.Writer.TryComplete();
                }
            }
        }

        private void Fan(MonitorEvent e)
        {
            var channels = Volatile.Read(ref _channels);
            e.Remaining = channels.Length;
            Interlocked.Add(ref _pending, channels.Length - 1);
            if (channels.Length == 0)
            {
                e.Delivered?.TrySetResult(true);
                return;
            }

            foreach (var channel in channels)
            {
                if (!channel.Queue.Writer.TryWrite(e))
                {
                    Interlocked.Increment(ref channel.Dropped);
                    channel.LastError = $"Queue full ({channel.Capacity} events waiting): the monitor is slower than the events arrive.";
                    WarnOnce(channel, e, $"The monitor '{channel.Name}' is falling behind: its queue of {channel.Capacity} events is full and events are being dropped. Get-TransferPlugin -Name {channel.Name} shows the count.");
                    Settle(e);
                }
            }
        }

        private async Task RefreshAsync(MonitorEvent trigger)
        {
            IReadOnlyList<PluginRegistration> registrations;
            try
            {
                registrations = _session.Plugins.GetRegistrations().Where(r => r.Kind == PluginType.Monitor).ToList();
            }
            catch (Exception)
            {
                return; // A registry being rewritten right now is read at the next batch.
            }

            var signature = string.Join("|", registrations.Select(r => $"{r.Name}/{r.TypeName}/{r.AssemblyPath}/{r.RegisteredAt.Ticks}"));
            var changed = signature != _signature;
            if (!changed && !(_retryAt.HasValue && DateTime.UtcNow >= _retryAt.Value))
            {
                return;
            }

            if (changed)
            {
                _warnedLoadFailures.Clear();
            }

            _signature = signature;
            _retryAt = null;
            var context = new OperationContext(CancellationToken.None, trigger.Source.Logger, _session, MonitorValues(trigger)).WithProgress(trigger.Source.Progress)
                .WithEventTimestamp(trigger.Timestamp);
            IReadOnlyList<(PluginRegistration Registration, IPlugin Plugin)> loaded;
            try
            {
                loaded = await _session.Plugins.GetAllAsync(context, PluginType.Monitor, error =>
                {
                    // A monitor that cannot start is tried again later; it says so once, not at every attempt.
                    _retryAt = DateTime.UtcNow + LoadRetryInterval;
                    if (_warnedLoadFailures.Add(error.PluginName ?? error.Message))
                    {
                        trigger.Source.Logger.Log(LogLevel.Warning, $"A monitor could not start and gets no events until it can: {error.Message}");
                    }
                }).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Keep delivering to the monitors already running; try the list again later.
                _retryAt = DateTime.UtcNow + LoadRetryInterval;
                trigger.Source.Logger.Log(LogLevel.Debug, $"Monitors could not be listed: {e.Message}");
                return;
            }

            var old = Volatile.Read(ref _channels);
            var next = new List<MonitorChannel>();
            foreach (var (registration, plugin) in loaded)
            {
                if (!(plugin is IMonitorPlugin monitor))
                {
                    continue;
                }

                var existing = old.FirstOrDefault(c => ReferenceEquals(c.Plugin, monitor));
                next.Add(existing ?? StartChannel(registration, monitor));
            }

            Volatile.Write(ref _channels, next.ToArray());
            foreach (var gone in old.Where(c => !next.Contains(c)))
            {
                gone.Queue.Writer.TryComplete();
            }
        }

        private MonitorChannel StartChannel(PluginRegistration registration, IMonitorPlugin monitor)
        {
            var capacity = DefaultQueueCapacity;
            if (registration.Configuration.TryGetValue("QueueCapacity", out var text)
                && int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var configured)
                && configured > 0)
            {
                capacity = configured;
            }

            var channel = new MonitorChannel(registration.Name, monitor, capacity);
            channel.Loop = Task.Run(() => DeliverAsync(channel));
            return channel;
        }

        private async Task DeliverAsync(MonitorChannel channel)
        {
            var reader = channel.Queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var e))
                {
                    try
                    {
                        Deliver(channel.Plugin, e);
                        Interlocked.Increment(ref channel.Delivered);
                    }
                    catch (Exception error)
                    {
                        Interlocked.Increment(ref channel.Dropped);
                        channel.LastError = $"{e.Name}: {error.GetType().Name}: {error.Message}";
                        WarnOnce(channel, e, $"The monitor '{channel.Name}' failed on {e.Name} and lost that event: {error.Message}");
                    }
                    finally
                    {
                        Settle(e);
                    }
                }
            }

            // Events still queued after the loop was told to stop are lost.
            while (reader.TryRead(out var left))
            {
                Interlocked.Increment(ref channel.Dropped);
                Settle(left);
            }
        }

        private void Settle(MonitorEvent e)
        {
            Interlocked.Decrement(ref _pending);
            if (Interlocked.Decrement(ref e.Remaining) == 0)
            {
                e.Delivered?.TrySetResult(true);
            }
        }

        private static void WarnOnce(MonitorChannel channel, MonitorEvent e, string message)
        {
            var request = e.Source.RequestId;
            if (Interlocked.Exchange(ref channel.LastWarnedRequest, request) == request)
            {
                return;
            }

            try
            {
                e.Source.Logger.Log(LogLevel.Warning, message);
            }
            catch (Exception)
            {
                // The cmdlet may be gone; the count in Get-TransferPlugin remains.
            }
        }

        private static void Deliver(IMonitorPlugin plugin, MonitorEvent e)
        {
            // (The caller's progress bars go with the event: the progress monitor draws them.)
            var context = e.MonitorContext ??= new OperationContext(CancellationToken.None, e.Source.Logger, e.Source.Host, MonitorValues(e)).WithProgress(e.Source.Progress)
                .WithEventTimestamp(e.Timestamp);
            switch (e.Kind)
            {
                case MonitorEventKind.Started:
                    plugin.TransferStarted(context, e.Transfer!.Clone());
                    break;
                case MonitorEventKind.Progress:
                    plugin.TransferProgress(context, e.Transfer!.Clone(), e.Transfer!.Progress);
                    break;
                case MonitorEventKind.Completed:
                    plugin.TransferCompleted(context, e.Transfer!.Clone());
                    break;
                case MonitorEventKind.Failed:
                    plugin.TransferFailed(context, e.Transfer!.Clone(), e.Error!);
                    break;
                default:
                    plugin.RecordMetric(context, e.MetricName!, e.MetricValue, e.Tags!);
                    break;
            }
        }

        /// <summary>Clamps a percentage to 0–100; NaN becomes 0.</summary>
        public static double ClampPercent(double value) => double.IsNaN(value) ? 0 : Math.Max(0, Math.Min(100, value));

        /// <summary>
        /// The values a monitor sees: the caller's (RequestId, UserId, custom ones) and the transfer's id; the event's
        /// time travels as the context's <see cref="OperationContext.EventTimestamp"/>. A new context is made for
        /// monitors so the caller's access token is never handed to them.
        /// </summary>
        private static Dictionary<string, object?> MonitorValues(MonitorEvent e)
        {
            var values = e.Source.Values.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            if (e.Transfer != null)
            {
                values[ContextKeys.TransferId] = e.Transfer.Id;
            }

            return values;
        }

        private sealed class ProgressThrottle
        {
            public long LastTicks;
            public bool SentDone;
        }

        private sealed class MonitorChannel
        {
            public MonitorChannel(string name, IMonitorPlugin plugin, int capacity)
            {
                Name = name;
                Plugin = plugin;
                Capacity = capacity;
                Queue = Channel.CreateBounded<MonitorEvent>(new BoundedChannelOptions(capacity)
                {
                    SingleReader = true,
                    SingleWriter = true,
                    FullMode = BoundedChannelFullMode.Wait,
                });
            }

            public string Name { get; }
            public IMonitorPlugin Plugin { get; }
            public int Capacity { get; }
            public Channel<MonitorEvent> Queue { get; }
            public Task Loop { get; set; } = Task.CompletedTask;
            public long Delivered;
            public long Dropped;
            public volatile string? LastError;
            public string? LastWarnedRequest;
        }
    }

    internal enum MonitorEventKind
    {
        Started,
        Progress,
        Completed,
        Failed,
        Metric,
    }

    internal sealed class MonitorEvent
    {
        public MonitorEvent(MonitorEventKind kind, OperationContext source, Transfer? transfer)
        {
            Kind = kind;
            Source = source;
            Transfer = transfer;
            Timestamp = DateTimeOffset.UtcNow;
        }

        public MonitorEventKind Kind { get; }
        public OperationContext Source { get; }
        public Transfer? Transfer { get; }
        public DateTimeOffset Timestamp { get; }
        public Exception? Error { get; set; }
        public string? MetricName { get; set; }
        public double MetricValue { get; set; }
        public IReadOnlyDictionary<string, string>? Tags { get; set; }
        public OperationContext? MonitorContext { get; set; }
        public TaskCompletionSource<bool>? Delivered { get; set; }
        public int Remaining;

        public string Name => Kind switch
        {
            MonitorEventKind.Started => "TransferStarted",
            MonitorEventKind.Progress => "TransferProgress",
            MonitorEventKind.Completed => "TransferCompleted",
            MonitorEventKind.Failed => "TransferFailed",
            _ => "Metric",
        };
    }
}
