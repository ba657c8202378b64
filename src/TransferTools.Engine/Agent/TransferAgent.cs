using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Agent
{
    /// <summary>How a transfer agent runs.</summary>
    public sealed class TransferAgentOptions
    {
        /// <summary>Transfers run at once.</summary>
        public int ThrottleLimit { get; set; } = 4;

        /// <summary>How often the journal is looked at for transfers to start.</summary>
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>The wait before the first retry of a transient error; it doubles per attempt up to <see cref="MaxRetryInterval"/>.</summary>
        public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>The longest wait between attempts.</summary>
        public TimeSpan MaxRetryInterval { get; set; } = TimeSpan.FromHours(1);

        /// <summary>The agent's total bandwidth schedule (all its transfers together), or null.</summary>
        public BandwidthSchedule? Schedule { get; set; }

        /// <summary>The agent's total limit when no schedule is given (0: none).</summary>
        public long MaxBytesPerSecond { get; set; }

        /// <summary>Local time (tests move it to cross a schedule's boundary).</summary>
        public Func<DateTime> Clock { get; set; } = () => DateTime.Now;
    }

    /// <summary>
    /// The transfer agent: runs the transfers queued with <c>-Queue</c> in the foreground of one process, for one
    /// TransferTools home, until cancelled; then suspends what runs at a committed chunk (picked up at its next start).
    /// </summary>
    /// <remarks>
    /// It picks up queued transfers, those interrupted by a crash or reboot (their owner lock is free), those it suspended
    /// when it stopped, and those waiting out a transient error whose time has come; a transfer a user suspended or
    /// stopped is left alone. A transient failure (connection, time-out, throttling) is tried again after an interval that
    /// doubles per attempt (<see cref="TransferAgentOptions.RetryInterval"/> up to
    /// <see cref="TransferAgentOptions.MaxRetryInterval"/>) until the transfer's retry timeout; any other failure is final.
    /// All its transfers share one <see cref="BandwidthLimiter"/>, set from the schedule every tick.
    /// </remarks>
    public sealed class TransferAgent : IDisposable
    {
        /// <summary>The ErrorId of a queued transfer the agent suspended when it stopped (it picks it up again).</summary>
        public const string AgentStoppedErrorId = "AgentStopped";

        private readonly TransferSession _session;
        private readonly TransferAgentOptions _options;
        private readonly AgentLock _lock;
        private readonly BandwidthLimiter _limiter;
        private readonly Dictionary<string, Task> _running = new Dictionary<string, Task>(StringComparer.Ordinal);
        private readonly Dictionary<string, (BandwidthSchedule Schedule, BandwidthLimiter Limiter)> _ownSchedules =
            new Dictionary<string, (BandwidthSchedule, BandwidthLimiter)>(StringComparer.Ordinal);

        private CancellationToken _stop;

        private TransferAgent(TransferSession session, TransferAgentOptions options, AgentLock agentLock)
        {
            _session = session;
            _options = options;
            _lock = agentLock;
            _limiter = new BandwidthLimiter(options.MaxBytesPerSecond);
        }

        /// <summary>Messages for the agent's own log (what it starts, retries, gives up); monitors get the transfers' events.</summary>
        public Action<string>? Log { get; set; }

        /// <summary>
        /// Runs one queued folder sync (<c>Sync-TransferFolder -Queue</c>) to its end and says how it ended; set by the
        /// cmdlet that hosts the agent. Without it queued syncs wait. The token is the agent's stop: the sync then stops at a
        /// committed chunk and stays due for the agent's next start (a sync run again finishes where it stopped).
        /// </summary>
        public Func<SyncJobRun, CancellationToken, Task<SyncJobOutcome>>? RunSync { get; set; }

        /// <summary>The agent's total bandwidth limiter (its rate follows the schedule).</summary>
        public BandwidthLimiter Limiter => _limiter;

        /// <summary>Takes the home's agent lock.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AlreadyExists"/> (<c>AgentAlreadyRunning</c>) naming the running agent's pid.</exception>
        public static TransferAgent Start(TransferSession session, TransferAgentOptions options) =>
            new TransferAgent(session, options, AgentLock.Acquire(session.HomeDirectory));

        /// <summary>
        /// True when the agent tries a failed record again later: a transient error, or a queued sync that found another sync
        /// writing to its destination (<c>SyncInProgress</c>: a run started by hand; the queued one waits for it to end).
        /// </summary>
        internal static bool IsRetryable(TransferRecord record) =>
            IsTransient(record.ErrorCode) || (record.Sync != null && record.ErrorId == SyncState.InProgressErrorId);

        /// <summary>True for an error that may pass by itself: the agent tries again later.</summary>
        public static bool IsTransient(ErrorCode? code) =>
            code == ErrorCode.ConnectionError || code == ErrorCode.Timeout || code == ErrorCode.Throttled;

        /// <summary>Runs until <paramref name="context"/> is cancelled, then suspends the transfers it runs and returns.</summary>
        public async Task RunAsync(OperationContext context)
        {
            var stop = context.CancellationToken;
            _stop = stop;
            // The transfers must outlive a cancelled agent context long enough to be suspended at a chunk, not torn down.
            var runContext = context.WithCancellation(CancellationToken.None).WithValue(EngineContextKeys.AgentBandwidth, _limiter);
            var manager = _session.Transfers;
            // A queued sync runs as a nested command of this session: its copies share the agent's limit through the session.
            manager.SessionBandwidth = _limiter;
            var nextScan = DateTime.MinValue;
            Write($"Transfer agent started (pid {TransferRunner.OwnProcessId}, home {_session.HomeDirectory}, up to {_options.ThrottleLimit} at once).");
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    ApplySchedules();
                    Reap(manager);
                    if (DateTime.UtcNow >= nextScan)
                    {
                        nextScan = DateTime.UtcNow + _options.PollInterval;
                        StartDue(manager, runContext);
                        _lock.WriteStatus(_running.Count, CountWaiting(manager), null);
                    }

                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(250), stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                _lock.WriteStatus(_running.Count, 0, e.Message);
                throw;
            }
            finally
            {
                // Runs that ended since the last tick are reported as such, not suspended: a stop right after a transfer
                // completed would otherwise log "suspending" it and never log its completion.
                try
                {
                    Reap(manager);
                }
                catch (Exception e) when (!(e is OutOfMemoryException))
                {
                    Write($"Could not read the journal of the runs that ended: {e.Message}");
                }

                var ids = _running.Keys.ToList();
                if (ids.Count > 0)
                {
                    Write($"Stopping: suspending {ids.Count} transfer(s) at a committed chunk.");
                    await manager.SuspendForAgentAsync(ids).ConfigureAwait(false);
                    // A sync's own copies are not among them: it stops them itself, seeing the agent's token cancelled.
                    var syncs = _running.Values.Where(t => !t.IsCompleted).ToList();
                    await Task.WhenAny(Task.WhenAll(syncs), Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
                }

                manager.SessionBandwidth = null;
                _lock.WriteStatus(0, 0, null, stopped: true);
                Write("Transfer agent stopped.");
            }
        }

        /// <summary>Sets the agent's and each transfer's own limiter from their schedules.</summary>
        internal void ApplySchedules()
        {
            var now = _options.Clock();
            if (_options.Schedule != null && _options.Schedule.Apply(_limiter, now))
            {
                Write($"Bandwidth now {(_limiter.Rate == 0 ? "unlimited" : _limiter.Rate + " bytes/s")} (schedule '{_options.Schedule.Text}').");
            }

            foreach (var own in _ownSchedules.Values)
            {
                own.Schedule.Apply(own.Limiter, now);
            }
        }

        private void StartDue(TransferManager manager, OperationContext context)
        {
            if (_running.Count >= _options.ThrottleLimit)
            {
                return;
            }

            var now = DateTimeOffset.UtcNow;
            foreach (var record in manager.Journal.LoadAll().Where(r => r.Queued).OrderBy(r => r.StartedAt))
            {
                if (_running.Count >= _options.ThrottleLimit)
                {
                    break;
                }

                if (_running.ContainsKey(record.Id) || !IsDue(record, now) || manager.Journal.IsOwned(record.Id))
                {
                    continue;
                }

                if (record.Sync != null)
                {
                    if (RunSync != null)
                    {
                        StartSync(manager, context, record);
                    }

                    continue;
                }

                var transferContext = context;
                if (record.BandwidthSchedule != null)
                {
                    var limiter = new BandwidthLimiter(0);
                    var schedule = BandwidthSchedule.Parse(record.BandwidthSchedule);
                    schedule.Apply(limiter, _options.Clock());
                    _ownSchedules[record.Id] = (schedule, limiter);
                    transferContext = context.WithValue(EngineContextKeys.CommandBandwidth, limiter);
                }

                Transfer? started;
                try
                {
                    started = manager.StartQueued(transferContext, record.Id);
                }
                catch (Exception e) when (e is PluginException || e is System.IO.IOException)
                {
                    Write($"Transfer {TransferIds.Short(record.Id)} could not start: {e.Message}");
                    _ownSchedules.Remove(record.Id);
                    continue;
                }

                if (started is null)
                {
                    _ownSchedules.Remove(record.Id);
                    continue;
                }

                Write($"Transfer {TransferIds.Short(record.Id)} ({record.Name}) started: {record.Source} -> {record.Destination}" +
                      (record.Status == TransferStatus.Queued ? "." : $" (attempt {record.AgentAttempts + 1})."));
                _running[record.Id] = manager.WaitAsync(context, record.Id);
            }
        }

        /// <summary>Runs a queued sync through <see cref="RunSync"/> under its record's lock; the record keeps the outcome.</summary>
        private void StartSync(TransferManager manager, OperationContext context, TransferRecord record)
        {
            var runSync = RunSync!;
            var stop = _stop;
            _running[record.Id] = Task.Run(async () =>
            {
                SyncJobRun? run;
                try
                {
                    run = await manager.BeginSyncJobAsync(context, record.Id, byAgent: true).ConfigureAwait(false);
                }
                catch (Exception e) when (e is PluginException || e is System.IO.IOException)
                {
                    Write($"Sync {TransferIds.Short(record.Id)} could not start: {e.Message}");
                    return;
                }

                if (run is null)
                {
                    return;
                }

                using (run)
                {
                    Write($"Sync {TransferIds.Short(record.Id)} started: {record.Source} -> {record.Destination}" +
                          (record.Status == TransferStatus.Queued ? "." : $" (attempt {record.AgentAttempts + 1})."));
                    SyncJobOutcome outcome;
                    // Stop-Transfer and Suspend-Transfer of other processes reach a sync through its control file, as a transfer's.
                    using var stopOrControl = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    string? control = null;
                    using var watch = new Timer(_ =>
                    {
                        if (control is null && run.TakeControl() is { } action)
                        {
                            control = action;
                            stopOrControl.Cancel();
                        }
                    }, null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
                    try
                    {
                        outcome = await runSync(run, stopOrControl.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!(e is OutOfMemoryException))
                    {
                        outcome = new SyncJobOutcome { Error = e.Message, ErrorCode = (e as PluginException)?.Code ?? ErrorCode.Unknown };
                    }

                    watch.Change(Timeout.Infinite, Timeout.Infinite);
                    if (control != null && !outcome.Succeeded)
                    {
                        run.Stopped(cancel: string.Equals(control, "cancel", StringComparison.OrdinalIgnoreCase));
                        return;
                    }

                    if (stop.IsCancellationRequested && !outcome.Succeeded)
                    {
                        // Stopped with the agent: left as it was (Active, unowned), so the next start runs it again.
                        return;
                    }

                    run.Complete(outcome);
                }
            });
        }

        /// <summary>True when the agent should run <paramref name="record"/> now.</summary>
        internal static bool IsDue(TransferRecord record, DateTimeOffset now)
        {
            switch (record.Status)
            {
                case TransferStatus.Queued:
                case TransferStatus.Pending:
                case TransferStatus.Active:
                    // Queued, or interrupted (a crash, a reboot: nobody holds its lock).
                    return true;
                case TransferStatus.TransientError:
                    return record.NextAttemptAt is null || record.NextAttemptAt <= now;
                case TransferStatus.Suspended:
                    return record.ErrorId == AgentStoppedErrorId;
                case TransferStatus.Failed:
                    // Failed transiently while the agent that ran it died before scheduling the retry.
                    return IsRetryable(record) && (record.RetryUntil is null || record.RetryUntil > now);
                default:
                    return false;
            }
        }

        private void Reap(TransferManager manager)
        {
            foreach (var id in _running.Where(r => r.Value.IsCompleted).Select(r => r.Key).ToList())
            {
                _running.Remove(id);
                _ownSchedules.Remove(id);
                var record = manager.Journal.TryLoad(id);
                if (record is null)
                {
                    continue;
                }

                switch (record.Status)
                {
                    case TransferStatus.Completed when record.Sync != null:
                        Write($"Sync {TransferIds.Short(id)} completed: {record.Source} -> {record.Destination}: {record.Summary}.");
                        break;
                    case TransferStatus.Completed:
                        Write($"Transfer {TransferIds.Short(id)} ({record.Name}) completed: {record.Destination}, SHA-256 {record.Sha256}.");
                        break;
                    case TransferStatus.Failed when IsRetryable(record):
                        var next = DateTimeOffset.UtcNow + RetryDelay(record.AgentAttempts);
                        Write(manager.ScheduleRetry(id, next)
                            ? $"Transfer {TransferIds.Short(id)} ({record.Name}): {record.Error} Next attempt at {next.ToLocalTime():HH:mm:ss}."
                            : $"Transfer {TransferIds.Short(id)} ({record.Name}) failed: its retry timeout ended. {record.Error}");
                        break;
                    case TransferStatus.Failed:
                        Write($"Transfer {TransferIds.Short(id)} ({record.Name}) failed: {record.Error}");
                        break;
                    default:
                        Write($"Transfer {TransferIds.Short(id)} ({record.Name}) is {record.Status.ToSeedValue()}.");
                        break;
                }
            }
        }

        /// <summary>The wait before the attempt after <paramref name="attempts"/> attempts: doubling from the first interval, capped.</summary>
        internal TimeSpan RetryDelay(int attempts)
        {
            var factor = Math.Pow(2, Math.Max(0, Math.Min(attempts - 1, 30)));
            var seconds = Math.Min(_options.MaxRetryInterval.TotalSeconds, _options.RetryInterval.TotalSeconds * factor);
            return TimeSpan.FromSeconds(seconds);
        }

        private static int CountWaiting(TransferManager manager)
        {
            var now = DateTimeOffset.UtcNow;
            return manager.Journal.LoadAll().Count(r => r.Queued && (r.Status == TransferStatus.Queued || r.Status == TransferStatus.TransientError
                                                                      || (r.Status == TransferStatus.Suspended && r.ErrorId == AgentStoppedErrorId)));
        }

        private void Write(string message)
        {
            try
            {
                Log?.Invoke($"{DateTime.Now:yyyy-MM-dd HH:mm:ss} {message}");
            }
            catch (Exception)
            {
                // The agent's log never stops the agent.
            }
        }

        /// <inheritdoc/>
        public void Dispose() => _lock.Dispose();
    }
}
