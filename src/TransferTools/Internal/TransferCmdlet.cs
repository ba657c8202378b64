using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.Transfers;

namespace TransferTools.Internal
{
    /// <summary>
    /// The base of every TransferTools cmdlet: finds the runspace's session, runs engine work off the pipeline thread
    /// while pumping its log lines and progress onto the pipeline thread (the only one that may call <c>Write*</c>),
    /// cancels on Ctrl+C, and maps engine errors to <see cref="ErrorRecord"/>s.
    /// </summary>
    public abstract class TransferCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();

        private TransferSession? _session;
        private string? _requestId;

        /// <summary>The calling runspace's session, found on the pipeline thread and kept for engine threads.</summary>
        protected TransferSession Session => _session ??= SessionManager.For(Host);

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            _session = SessionManager.For(Host);
            base.BeginProcessing();
        }

        /// <summary>True when this call should show progress bars (cmdlets that move data return <see cref="ShouldShowProgress"/>).</summary>
        protected virtual bool WantsProgress => false;

        /// <summary>
        /// True unless progress would be unwelcome: <c>-ProgressAction</c> or <c>$ProgressPreference</c> is SilentlyContinue
        /// or Ignore, or the host has no interactive UI (a runbook, a runspace without a console host).
        /// </summary>
        protected bool ShouldShowProgress()
        {
            object? preference = null;
            if (MyInvocation.BoundParameters.TryGetValue("ProgressAction", out var bound))
            {
                preference = bound;
            }

            preference ??= SessionState.PSVariable.GetValue("ProgressPreference");
            if (preference is PSObject wrapped)
            {
                preference = wrapped.BaseObject;
            }

            if (preference != null && Enum.TryParse<ActionPreference>(preference.ToString(), ignoreCase: true, out var action)
                && (action == ActionPreference.SilentlyContinue || action == ActionPreference.Ignore))
            {
                return false;
            }

            try
            {
                return Host?.UI?.RawUI != null && !string.Equals(Host.Name, "Default Host", StringComparison.Ordinal);
            }
            catch (Exception e) when (e is NotImplementedException || e is NotSupportedException || e is PSNotImplementedException)
            {
                return false;
            }
        }

        /// <summary>Cancelled when the command is stopped (Ctrl+C).</summary>
        protected CancellationToken StopToken => _stopping.Token;

        /// <inheritdoc/>
        protected override void StopProcessing()
        {
            _stopping.Cancel();
            base.StopProcessing();
        }

        /// <summary>Runs engine work, pumping its output on this thread until it finishes, and returns its result.</summary>
        /// <exception cref="PluginException">Rethrown from the work; the caller decides terminating or not.</exception>
        protected T Run<T>(Func<OperationContext, Task<T>> work)
        {
            using var pump = new OutputPump(this);
            var context = CreateRunContext(pump);
            var task = Task.Run(() => work(context));
            pump.RunUntil(task);
            return task.GetAwaiter().GetResult();
        }

        private OperationContext CreateRunContext(OutputPump pump)
        {
            // One RequestId per cmdlet call, shared by every pipeline input it processes (monitors group by it).
            var context = Session.CreateContext(_stopping.Token, pump);
            _requestId ??= context.RequestId;
            context = context.WithValue(ContextKeys.RequestId, _requestId);
            if (WantsProgress && ShouldShowProgress())
            {
                context = context.WithProgress(pump);
            }

            return context;
        }

        /// <summary>
        /// Starts engine work that outlives the current <c>ProcessRecord</c>: later pipeline inputs can feed it while it
        /// runs, <see cref="BackgroundRun.Pump"/> writes what it has produced so far, and <see cref="BackgroundRun.Wait"/>
        /// (from <c>EndProcessing</c>) pumps until it ends. Work still running when the command is torn down (pipeline
        /// stopped, a downstream command done early) is cancelled.
        /// </summary>
        protected BackgroundRun StartBackground(Func<OperationContext, Action<System.Action>, Task> work)
        {
            var pump = new OutputPump(this);
            var context = CreateRunContext(pump);
            var run = new BackgroundRun(pump, Task.Run(() => work(context, pump.Post)));
            _background = run;
            return run;
        }

        private BackgroundRun? _background;

        /// <summary>Cancels background work the command no longer waits for (see <see cref="StartBackground"/>).</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Cancels unfinished background work; derived commands release their own resources.</summary>
        protected virtual void Dispose(bool disposing)
        {
            if (disposing && _background != null && !_background.IsCompleted)
            {
                // EndProcessing never waited for it (the pipeline stopped or a downstream command ended it early):
                // cancel, so its transfers suspend (resumable) instead of running on unobserved, and give them a moment
                // to do so: when the pipeline returns they are suspended, not still suspending (a Resume-Transfer typed
                // right after would find them running). Their output and log lines are dropped.
                _stopping.Cancel();
                _background.Settle(CancelledWorkGrace);
            }
        }

        /// <summary>
        /// Says, for each transfer Ctrl+C suspended, where it stopped and how to continue it, so that a stopped command
        /// does not end in a bare prompt. Call after the background work has settled (from <c>Dispose</c>).
        /// </summary>
        protected void ReportSuspended(TransferQueue? queue)
        {
            if (queue is null)
            {
                return;
            }

            foreach (var transfer in queue.SuspendedOnCancel)
            {
                if (transfer.Status == TransferStatus.Suspended)
                {
                    TellHost(SuspendedLine(transfer, null));
                }
            }
        }

        /// <summary>The line that tells a user a transfer was suspended and how to continue it.</summary>
        internal static string SuspendedLine(Transfer transfer, string? why)
        {
            var id = TransferIds.Short(transfer.Id);
            return string.Format(CultureInfo.CurrentCulture, "Transfer {0} suspended at {1:0} %{2} — Resume-Transfer {0} continues it.",
                id, Math.Floor(transfer.Progress), why is null ? "" : " " + why);
        }

        /// <summary>
        /// Writes a warning line to the host directly: a stopped pipeline takes no more records (every <c>Write*</c> throws
        /// once it stops), but the user at the console still reads the host. A host without a UI drops it.
        /// </summary>
        private void TellHost(string line)
        {
            try
            {
                Host?.UI?.WriteWarningLine(line);
            }
            catch (Exception e) when (e is HostException || e is NotImplementedException || e is PSNotImplementedException || e is InvalidOperationException)
            {
                // No console to tell (a runspace without a host UI).
            }
        }

        /// <summary>How long a torn-down command waits for its cancelled background work to end.</summary>
        private static readonly TimeSpan CancelledWorkGrace = TimeSpan.FromSeconds(10);

        /// <summary>Engine work running across pipeline inputs; every member is called on the pipeline thread.</summary>
        protected sealed class BackgroundRun
        {
            private readonly OutputPump _pump;
            private readonly Task _task;

            internal BackgroundRun(OutputPump pump, Task task)
            {
                _pump = pump;
                _task = task;
            }

            /// <summary>True once the work has ended.</summary>
            public bool IsCompleted => _task.IsCompleted;

            /// <summary>Runs what the work has handed to the pipeline thread so far (output, log lines, progress), without waiting.</summary>
            public void Pump() => _pump.Drain();

            /// <summary>Waits at most <paramref name="timeout"/> for cancelled work to end, without pumping or rethrowing.</summary>
            internal void Settle(TimeSpan timeout)
            {
                try
                {
                    _task.Wait(timeout);
                }
                catch (AggregateException)
                {
                    // Cancelled or failed: nobody is left to report it to.
                }
            }

            /// <summary>Pumps until the work ends, then rethrows its failure, if any.</summary>
            public void Wait()
            {
                try
                {
                    _pump.RunUntil(_task);
                    _task.GetAwaiter().GetResult();
                }
                finally
                {
                    _pump.Dispose();
                }
            }
        }

        /// <summary>Runs engine work that returns nothing.</summary>
        protected void Run(Func<OperationContext, Task> work) => Run<object?>(async c =>
        {
            await work(c).ConfigureAwait(false);
            return null;
        });

        /// <summary>Runs work and writes a non-terminating error (returning default) when it fails with an expected error.</summary>
        protected bool TryRun<T>(Func<OperationContext, Task<T>> work, object? target, out T result)
        {
            try
            {
                result = Run(work);
                return true;
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteError(ErrorMapping.ToErrorRecord(e, target));
                result = default!;
                return false;
            }
        }

        /// <summary>Runs work and writes a non-terminating error when it fails with an expected error.</summary>
        protected bool TryRun(Func<OperationContext, Task> work, object? target) =>
            TryRun<object?>(async c =>
            {
                await work(c).ConfigureAwait(false);
                return null;
            }, target, out _);

        /// <summary>Runs work and stops the command with a terminating error when it fails with an expected error.</summary>
        protected T RunOrThrow<T>(Func<OperationContext, Task<T>> work, object? target)
        {
            try
            {
                return Run(work);
            }
            catch (Exception e) when (IsExpected(e))
            {
                ThrowTerminatingError(ErrorMapping.ToErrorRecord(e, target));
                throw; // not reached
            }
        }

        /// <summary>Stops the command with a terminating error made from <paramref name="exception"/>.</summary>
        protected void Terminate(Exception exception, object? target) => ThrowTerminatingError(ErrorMapping.ToErrorRecord(exception, target));

        /// <summary>True for failures that become ErrorRecords; Ctrl+C becomes a pipeline stop instead.</summary>
        protected bool IsExpected(Exception e)
        {
            if (e is OperationCanceledException && _stopping.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }

            return e is PluginException || e is OperationCanceledException || e is UnauthorizedAccessException
                   || e is System.IO.IOException || e is ArgumentException || e is NotSupportedException;
        }

        /// <summary>Converts an engine progress update to a PowerShell progress record.</summary>
        internal static ProgressRecord ToRecord(ProgressUpdate update)
        {
            var record = new ProgressRecord(update.ActivityId, string.IsNullOrEmpty(update.Activity) ? "Transfer" : update.Activity,
                string.IsNullOrEmpty(update.StatusDescription) ? " " : update.StatusDescription)
            {
                ParentActivityId = update.ParentActivityId,
                PercentComplete = update.PercentComplete < 0 ? -1 : Math.Min(100, update.PercentComplete),
                SecondsRemaining = update.SecondsRemaining,
                RecordType = update.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            if (!string.IsNullOrEmpty(update.CurrentOperation))
            {
                record.CurrentOperation = update.CurrentOperation;
            }

            return record;
        }

        /// <summary>Carries log lines and progress from engine threads to the pipeline thread.</summary>
        internal sealed class OutputPump : IPluginLogger, IProgressSink, IDisposable
        {
            private readonly TransferCmdlet _cmdlet;
            // A queue and an event that never spins: BlockingCollection's SemaphoreSlim spins (sched_yield) on every wait,
            // and the pipeline thread waits once per finished transfer, taking the CPU the transfers themselves need.
            private readonly ConcurrentQueue<System.Action> _queue = new ConcurrentQueue<System.Action>();
            private readonly ManualResetEventSlim _wake = new ManualResetEventSlim(false, 0);
            private int _signalled; // 1 while a Set is pending for the waiter: producers skip the event's lock
            private volatile bool _disposed;
            private readonly ConcurrentDictionary<int, ProgressUpdate> _latestProgress = new ConcurrentDictionary<int, ProgressUpdate>();
            private readonly int _ownerThread = Environment.CurrentManagedThreadId;

            public OutputPump(TransferCmdlet cmdlet) => _cmdlet = cmdlet;

            public void Log(LogLevel level, string message)
            {
                switch (level)
                {
                    case LogLevel.Warning:
                        Post(() => _cmdlet.WriteWarning(message));
                        break;
                    case LogLevel.Verbose:
                        Post(() => _cmdlet.WriteVerbose(message));
                        break;
                    default:
                        Post(() => _cmdlet.WriteDebug(message));
                        break;
                }
            }

            public void Report(ProgressUpdate update)
            {
                // Only the newest update per bar matters; older ones are dropped rather than queued.
                var isNew = !_latestProgress.ContainsKey(update.ActivityId);
                _latestProgress[update.ActivityId] = update;
                if (isNew || update.Completed)
                {
                    Post(FlushProgress);
                }
            }

            private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
            private DateTime _lastProgress = DateTime.UtcNow;

            /// <summary>Runs the actions queued so far, and refreshes progress when it is due, without waiting.</summary>
            public void Drain()
            {
                RunQueued(int.MaxValue);
                FlushProgressIfDue();
            }

            /// <summary>Runs at most <paramref name="limit"/> of the queued actions, oldest first.</summary>
            private void RunQueued(int limit)
            {
                for (var n = 0; n < limit && _queue.TryDequeue(out var action); n++)
                {
                    action();
                }
            }

            /// <summary>Waits (without spinning) until an action is posted or the time-out passes, then runs what is queued.</summary>
            private void WaitAndRun(int millisecondsTimeout)
            {
                if (_queue.IsEmpty)
                {
                    _wake.Wait(millisecondsTimeout);
                }

                // Reset before draining: an action posted after the drain sees no pending signal and sets the event again.
                _wake.Reset();
                Volatile.Write(ref _signalled, 0);
                // A bounded helping, so that a flood of posts still lets the caller refresh progress and see its task end
                // (what is left makes the next call skip the wait).
                RunQueued(256);
            }

            public void RunUntil(Task task)
            {
                // Wake the loop the moment the work ends, instead of at the next 100 ms poll.
                task.ContinueWith(_ => Post(() => { }), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                while (!task.IsCompleted)
                {
                    WaitAndRun(100);
                    FlushProgressIfDue();
                }

                RunQueued(int.MaxValue);
                FlushProgress();
            }

            private void FlushProgressIfDue()
            {
                if (DateTime.UtcNow - _lastProgress > ProgressInterval)
                {
                    FlushProgress();
                    _lastProgress = DateTime.UtcNow;
                }
            }

            public void Dispose()
            {
                // The event is not disposed: a late Post from background work may still set it (and is then dropped).
                _disposed = true;
            }

            public void Post(System.Action action)
            {
                if (Environment.CurrentManagedThreadId == _ownerThread)
                {
                    action();
                    return;
                }

                if (_disposed)
                {
                    // The cmdlet finished; late lines from background work are dropped.
                    return;
                }

                _queue.Enqueue(action);
                if (Interlocked.Exchange(ref _signalled, 1) == 0)
                {
                    _wake.Set();
                }
            }

            private void FlushProgress()
            {
                foreach (var key in _latestProgress.Keys)
                {
                    if (_latestProgress.TryRemove(key, out var update))
                    {
                        _cmdlet.WriteProgress(ToRecord(update));
                    }
                }
            }
        }
    }
}
