using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// Runs the transfers of a session: launches each as a background task, runs its attempts under the retry policy
    /// (<see cref="TransferAttempt"/>, <see cref="RetryPolicy"/>), journals it, tells the monitors, and answers stop and
    /// suspend requests, from this session or from another process through the journal's control files.
    /// </summary>
    internal sealed class TransferRunner
    {
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
        private static readonly TimeSpan RecordInterval = TimeSpan.FromSeconds(2);

        /// <summary>This process's id, looked up once (it never changes; each lookup cost a Process object and a getpid).</summary>
        private static readonly int CurrentProcessId = GetCurrentProcessId();

        private readonly TransferSession _session;
        private readonly CancellationTokenSource _closing = new CancellationTokenSource();
        private readonly object _controlGate = new object();
        private Timer? _controlTimer;
        private int _unnamedDeliveries;

        public TransferRunner(TransferSession session, TransferJournal journal, ITransferEndpoint local)
        {
            _session = session;
            Journal = journal;
            Local = local;
        }

        /// <summary>The journal every transfer of the session is recorded in.</summary>
        public TransferJournal Journal { get; }

        /// <summary>The local side of every transfer: the source of a send, the destination of a receive.</summary>
        public ITransferEndpoint Local { get; }

        /// <summary>The retry policy of every transfer.</summary>
        public RetryPolicy Retries { get; } = new RetryPolicy();

        /// <summary>See <see cref="TransferManager.SessionBandwidth"/>.</summary>
        public BandwidthLimiter? SessionBandwidth { get; set; }

        /// <summary>The transfers running in this session, by id.</summary>
        public ConcurrentDictionary<string, RunningTransfer> Running { get; } = new ConcurrentDictionary<string, RunningTransfer>(StringComparer.Ordinal);

        /// <summary>Deliver single-piece local transfers through an unnamed file where the destination offers one (<see cref="IUnnamedTemporaries"/>).</summary>
        public bool UseUnnamedFiles { get; set; } = true;

        /// <summary>How many transfers were delivered through an unnamed file (tests).</summary>
        public int UnnamedDeliveries => Volatile.Read(ref _unnamedDeliveries);

        internal void CountUnnamedDelivery() => Interlocked.Increment(ref _unnamedDeliveries);

        /// <summary>Refuses new work once the session is closing.</summary>
        public void ThrowIfClosed()
        {
            if (_closing.IsCancellationRequested)
            {
                throw new PluginException(ErrorCode.LifecycleError, "The session is closing; no new transfer can start.", errorId: "SessionClosed");
            }
        }

        /// <summary>Starts a new transfer under its own owner lock, or its batch's.</summary>
        public Transfer LaunchNew(OperationContext context, TransferRecord record, NetworkCredential? credential, ITransferEndpoint remote, TransferBatch? batch)
        {
            if (batch != null && TransferBatch.BatchIdOf(record.Id) == batch.Id)
            {
                // The batch lock (taken with the batch's first journal line) owns every member.
                return Launch(context, record, NoLock.Instance, credential, remote, batch);
            }

            var ownerLock = Journal.TryLock(record.Id) ?? throw TransferErrors.Running(record.Id, "elsewhere");
            try
            {
                return Launch(context, record, ownerLock, credential, remote, batch: null);
            }
            catch
            {
                ownerLock.Dispose();
                throw;
            }
        }

        /// <summary>Starts running <paramref name="record"/> in the background, holding <paramref name="ownerLock"/> until it ends.</summary>
        public Transfer Launch(OperationContext context, TransferRecord record, IDisposable ownerLock, NetworkCredential? credential, ITransferEndpoint? remote,
            TransferBatch? batch)
        {
            record.OwnerProcessId = CurrentProcessId;
            record.OwnerHost = batch?.MachineName ?? Environment.MachineName;
            TransferStatusChange.ToPending(record);
            if (batch != null)
            {
                // A new member: no control request can name it yet, and its first journal line follows in a moment with
                // its destination resolved (a separate "pending" line would only be overwritten).
                batch.AddMember();
                batch.Track(record);
            }
            else
            {
                Journal.ClearControl(record.Id);
                Journal.Save(record);
            }

            var run = new RunningTransfer(record, ownerLock, new NetworkCredentialHolder(credential), CancellationTokenSource.CreateLinkedTokenSource(_closing.Token))
            {
                Remote = remote,
                Batch = batch,
                Limiters = LimitersFor(context, record),
            };
            var runContext = context.WithCancellation(run.Cts.Token);
            // (A new transfer's context names it already: a copy of the values only to set the same id is skipped.)
            run.Context = runContext.TransferId == record.Id ? runContext : runContext.WithTransfer(record.Id);
            Running[record.Id] = run;
            EnsureControlWatch();
            var snapshot = run.Snapshot();
            // PreferFairness: through the thread pool's global queue, not the starting thread's local one. A small file's
            // transfer runs start to end without yielding, and a chain of them queued locally would starve the work
            // waiting in the global queue (monitor deliveries, which then drop events).
            run.Completion = Task.Factory.StartNew(() => ExecuteAsync(run), CancellationToken.None,
                TaskCreationOptions.PreferFairness | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();
            return snapshot;
        }

        /// <summary>
        /// The limiters a transfer counts against: its command's shared one (the command's -MaxBytesPerSecond is a total),
        /// or, started without one (a resume that kept its journaled limit), one of its own; and the agent's, when the agent
        /// runs it.
        /// </summary>
        private System.Collections.Generic.IReadOnlyList<BandwidthLimiter> LimitersFor(OperationContext context, TransferRecord record)
        {
            var limiters = new System.Collections.Generic.List<BandwidthLimiter>(2);
            if (context.GetValue(Monitoring.EngineContextKeys.CommandBandwidth) is BandwidthLimiter command)
            {
                limiters.Add(command);
            }
            else if (record.MaxBytesPerSecond > 0)
            {
                limiters.Add(new BandwidthLimiter(record.MaxBytesPerSecond));
            }

            if (context.GetValue(Monitoring.EngineContextKeys.AgentBandwidth) is BandwidthLimiter agent)
            {
                limiters.Add(agent);
            }
            else if (SessionBandwidth is BandwidthLimiter session)
            {
                limiters.Add(session);
            }

            return limiters;
        }

        private async Task ExecuteAsync(RunningTransfer run)
        {
            var context = run.Context;
            // Events go out even after the transfer's own token is cancelled (suspend, stop, shutdown).
            var events = context.WithCancellation(CancellationToken.None);
            var id = run.Record.Id;
            try
            {
                run.Update(TransferStatusChange.ToActive);
                if (run.Record.FinalUri != null)
                {
                    // A fresh transfer (no destination resolved yet) is saved durably a few file-system calls from
                    // here, once its destination is known, or as failed: a save now would only add a journal rewrite
                    // (a temp file and a rename) to every transfer, which is what many small files pay for.
                    Save(run, durable: false);
                }

                Notify(() => _session.Monitors.TransferStarted(events, run.Snapshot(), owned: true));
                var remote = run.Remote ?? await ResolveEndpointAsync(context, run.Record.Protocol).ConfigureAwait(false);
                // A copy between two remote locations reads through the source's protocol (the same endpoint, for one server).
                var (source, destination) = run.Record.SourceProtocol is string sourceProtocol
                    ? (sourceProtocol == run.Record.Protocol ? remote : await ResolveEndpointAsync(context, sourceProtocol).ConfigureAwait(false), remote)
                    : run.Record.Direction == TransferDirection.Send ? (Local, remote) : (remote, Local);

                await Retries.RunAsync(context, $"Transfer {TransferManager.Short(id)}: ", run.Record.RetryCount,
                    async () =>
                    {
                        using var attempt = new TransferAttempt(this, run, source, destination);
                        await attempt.RunAsync().ConfigureAwait(false);
                        return true;
                    },
                    () => run.Stop == StopReason.None && !run.Cts.IsCancellationRequested,
                    transient =>
                    {
                        run.Update(r =>
                        {
                            r.Retries++;
                            r.Error = transient.Message;
                            r.ErrorCode = transient.Code;
                            r.ErrorId = transient.ErrorId;
                        });
                        Save(run, durable: false);
                    },
                    run.Cts.Token).ConfigureAwait(false);

                run.Update(r =>
                {
                    TransferStatusChange.ToCompleted(r);
                    r.BytesPerSecond = run.AverageRate();
                });
                Save(run, durable: true);
                if (run.NeverLogged)
                {
                    // A batch member never had a control request cleared before it started (nothing can name it before it
                    // runs), and the poll removes any it answers: looking again costs each small file an unlink.
                    if (run.Batch is null)
                    {
                        Journal.ClearControl(id);
                    }
                }
                else
                {
                    Journal.RemoveWorkingFiles(id);
                }

                Notify(() => _session.Monitors.TransferCompleted(events, run.Snapshot(), owned: true));
            }
            catch (Exception e) when (run.Stop == StopReason.Cancel)
            {
                await RemoveTemporaryAsync(events, run.Record, run.Remote).ConfigureAwait(false);
                Journal.RemoveWorkingFiles(id);
                run.Update(TransferStatusChange.ToCancelled);
                Save(run, durable: true);
                Notify(() => _session.Monitors.TransferFailed(events, run.Snapshot(), TransferErrors.ToPluginException(e) is { Code: ErrorCode.Cancelled } pe ? pe
                    : new PluginException(ErrorCode.Cancelled, TransferStatusChange.StoppedMessage, e, "TransferCancelled", id)));
            }
            catch (Exception e) when (run.Stop != StopReason.None && TransferErrors.IsCancellation(e))
            {
                var byAgent = run.Stop == StopReason.Shutdown && run.Record.Queued;
                var why = byAgent ? "Stopped with the process that ran it (the transfer agent stopped); the agent continues it at its next start, or"
                    : run.Stop == StopReason.Shutdown ? "The session closed." : "Suspended.";
                run.Update(r =>
                {
                    TransferStatusChange.ToSuspended(r, why);
                    if (byAgent)
                    {
                        // The agent picks up what it suspended itself, never what a user suspended.
                        r.ErrorId = Agent.TransferAgent.AgentStoppedErrorId;
                    }

                    r.BytesPerSecond = run.AverageRate();
                });
                Save(run, durable: true);
                Notify(() => _session.Monitors.TransferFailed(events, run.Snapshot(), new PluginException(ErrorCode.Cancelled, why, e, "TransferSuspended", id)));
            }
            catch (Exception e)
            {
                var error = TransferErrors.ToPluginException(e);
                run.Update(r =>
                {
                    TransferStatusChange.ToFailed(r, error);
                    r.BytesPerSecond = run.AverageRate();
                });
                try
                {
                    Save(run, durable: true);
                }
                catch (Exception saveError) when (saveError is IOException || saveError is UnauthorizedAccessException)
                {
                    context.Logger.Log(LogLevel.Warning, $"Transfer {TransferManager.Short(id)}: the journal could not be written: {saveError.Message}");
                }

                Notify(() => _session.Monitors.TransferFailed(events, run.Snapshot(), error));
            }
            finally
            {
                var status = run.Record.Status;
                if (run.Batch is null && (status == TransferStatus.Completed || status == TransferStatus.Cancelled))
                {
                    // Nobody may run it again, so nobody needs its lock file (deleted while still held).
                    Journal.RemoveLockFile(id);
                }

                run.Lock.Dispose();
                Running.TryRemove(id, out _);
                run.Batch?.Release();
            }
        }

        /// <summary>Journals the running transfer's record (in its batch's file, or its own).</summary>
        internal void Save(RunningTransfer run, bool durable)
        {
            if (run.Batch != null)
            {
                run.Batch.Append(run.CloneRecord(), durable);
            }
            else
            {
                Journal.Save(run.CloneRecord(), durable);
            }
        }

        /// <summary>Tells the monitors (the cmdlet's progress bar among them) how far a transfer is, and journals the figure now and then.</summary>
        internal void ReportProgress(RunningTransfer run, long end)
        {
            if (run.ReportDue(end, ProgressInterval))
            {
                Notify(() => _session.Monitors.TransferProgress(run.EventContext, run.Snapshot(), owned: true));
                if (run.RecordDue(RecordInterval))
                {
                    try
                    {
                        Save(run, durable: false);
                    }
                    catch (IOException)
                    {
                        // A progress figure is not worth failing a transfer for; the chunk log is the truth.
                    }
                }
            }
        }

        private static void Notify(System.Action publish)
        {
            try
            {
                publish();
            }
            catch (Exception)
            {
                // Monitors never fail or stall a transfer's bookkeeping.
            }
        }

        private void EnsureControlWatch()
        {
            // Another process asks a running transfer to stop or pause through journal/ID.control. One timer polls for
            // every transfer of the session (a timer per transfer cost every small file its creation and disposal).
            if (Volatile.Read(ref _controlTimer) != null)
            {
                return;
            }

            lock (_controlGate)
            {
                _controlTimer ??= new Timer(_ => PollControl(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
            }
        }

        private void PollControl()
        {
            foreach (var run in Running.Values)
            {
                var action = Journal.ReadControl(run.Record.Id);
                if (action is null)
                {
                    continue;
                }

                Journal.ClearControl(run.Record.Id);
                run.RequestStop(string.Equals(action, "cancel", StringComparison.OrdinalIgnoreCase) ? StopReason.Cancel : StopReason.Suspend);
            }
        }

        /// <summary>
        /// Stops or suspends a transfer this session does not run: on the journal directly when nobody runs it, otherwise by
        /// a control request its owner process answers.
        /// </summary>
        internal async Task<Transfer> ControlOtherAsync(OperationContext context, TransferRecord record, string action, TransferStatus target)
        {
            var id = record.Id;
            using (var ownerLock = Journal.TryLock(id))
            {
                if (ownerLock != null)
                {
                    // Nobody runs it: its owner died, or it is waiting to be resumed. Act on the journal directly.
                    var current = Journal.TryLoad(id) ?? record;
                    if (target == TransferStatus.Cancelled)
                    {
                        await RemoveTemporaryAsync(context, current, null).ConfigureAwait(false);
                        Journal.RemoveWorkingFiles(id);
                        TransferStatusChange.ToCancelled(current);
                    }
                    else
                    {
                        TransferStatusChange.ToSuspended(current, "Suspended.");
                    }

                    Journal.Save(current);
                    if (target == TransferStatus.Cancelled)
                    {
                        Journal.RemoveLockFile(id);
                    }

                    return Describe(current);
                }
            }

            Journal.RequestControl(id, action);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, context.CancellationToken).ConfigureAwait(false);
                var now = Journal.TryLoad(id);
                if (now != null && now.Status.IsFinal())
                {
                    return Describe(now);
                }
            }

            throw new PluginException(ErrorCode.Timeout,
                $"Transfer {TransferManager.Short(id)} runs in process {record.OwnerProcessId} on {record.OwnerHost}, which did not answer the {action} request.",
                errorId: "TransferControlTimeout", target: id);
        }

        /// <summary>Removes a stopped transfer's temporary file (and a manifest written ahead of its delivery); never throws.</summary>
        internal async Task RemoveTemporaryAsync(OperationContext context, TransferRecord record, ITransferEndpoint? remote)
        {
            if (record.TemporaryUri is null)
            {
                return;
            }

            try
            {
                var endpoint = record.Direction == TransferDirection.Receive ? Local
                    : remote ?? await ResolveEndpointAsync(context, record.Protocol).ConfigureAwait(false);
                await endpoint.DeleteAsync(context, new Uri(record.TemporaryUri), record.ToOptions()).ConfigureAwait(false);
                if (record.Direction == TransferDirection.Send && record.FinalUri != null)
                {
                    // A send stopped while its manifest was being written ahead of the delivery (TransferManifest.WriteForAsync).
                    var manifest = TransferManifest.TemporaryLocationIn(TransferManifest.RootOf(record, new Uri(record.FinalUri)).Root, record.Id);
                    await TryDeleteAsync(endpoint, context, manifest, record.ToOptions()).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                context.Logger.Log(LogLevel.Warning, $"Transfer {TransferManager.Short(record.Id)}: the temporary file could not be removed: {e.Message}");
            }
        }

        /// <summary>Deletes <paramref name="location"/>, ignoring a failure the endpoint reports.</summary>
        internal static async Task TryDeleteAsync(ITransferEndpoint endpoint, OperationContext context, Uri location, TransferOptions options)
        {
            try
            {
                await endpoint.DeleteAsync(context, location, options).ConfigureAwait(false);
            }
            catch (PluginException)
            {
            }
        }

        /// <summary>The endpoint of a protocol registration, for a transfer resumed or cleaned up without one at hand.</summary>
        internal async Task<ITransferEndpoint> ResolveEndpointAsync(OperationContext context, string protocol)
        {
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, protocol).ConfigureAwait(false);
            return plugin as ITransferEndpoint ?? throw new PluginException(ErrorCode.NotSupported,
                $"The protocol plugin '{protocol}' does not expose byte-level endpoints.", errorId: "NotAStreamingProtocol", target: protocol);
        }

        /// <summary>A journaled transfer as users see it: one whose owner process is gone shows as interrupted.</summary>
        internal Transfer Describe(TransferRecord record)
        {
            var transfer = record.ToTransfer();
            if (record.Streaming && !record.Status.IsFinal() && !Running.ContainsKey(record.Id)
                && record.Status != TransferStatus.Queued && record.Status != TransferStatus.TransientError)
            {
                var committed = Committed(record);
                if (Journal.IsOwned(record.Id))
                {
                    // Running in another process: the chunk log is more current than the record.
                    transfer.BytesTransferred = Math.Max(transfer.BytesTransferred, committed);
                    transfer.Progress = record.TotalBytes > 0 ? transfer.BytesTransferred * 100.0 / record.TotalBytes : 0;
                }
                else if (record.Queued)
                {
                    // The agent's process died (a crash, a reboot): the agent picks it up at its next start, so it is
                    // waiting, not failed (and Wait-Transfer goes on waiting).
                    transfer.BytesTransferred = committed;
                    transfer.Progress = record.TotalBytes > 0 ? committed * 100.0 / record.TotalBytes : 0;
                    transfer.Status = TransferStatus.Queued;
                    transfer.Error = $"Interrupted: the transfer agent that ran it (pid {record.OwnerProcessId} on {record.OwnerHost}) is gone; the agent continues it at its next start.";
                    transfer.BytesPerSecond = 0;
                }
                else
                {
                    transfer.BytesTransferred = committed;
                    transfer.Progress = record.TotalBytes > 0 ? committed * 100.0 / record.TotalBytes : 0;
                    transfer.Status = TransferStatus.Failed;
                    transfer.ErrorCode = ErrorCode.Cancelled;
                    transfer.Error = $"Interrupted: the process that ran it (pid {record.OwnerProcessId} on {record.OwnerHost}) is gone. Resume-Transfer {TransferManager.Short(record.Id)} continues it.";
                    transfer.BytesPerSecond = 0;
                }
            }

            return transfer;
        }

        /// <summary>The bytes a transfer's chunk log vouches for (no more than its size, once that is known).</summary>
        private long Committed(TransferRecord record)
        {
            var logged = Journal.CountChunks(record.Id) * (long)record.ChunkSize;
            return record.TotalBytes >= 0 ? Math.Min(record.TotalBytes, logged) : logged;
        }

        /// <summary>Suspends every transfer running in this session (session close), leaving them resumable.</summary>
        /// <returns>The transfers that were running, as each stood once stopped (suspended, or finished meanwhile).</returns>
        public async Task<IReadOnlyList<Transfer>> ShutdownAsync()
        {
            _closing.Cancel();
            var runs = Running.Values.ToList();
            foreach (var run in runs)
            {
                run.RequestStop(StopReason.Shutdown);
            }

            var all = Task.WhenAll(runs.Select(r => r.Completion));
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(15))).ConfigureAwait(false);
            lock (_controlGate)
            {
                _controlTimer?.Dispose();
            }

            return runs.Select(r => r.Snapshot()).ToList();
        }

        internal static int OwnProcessId => CurrentProcessId;

        private static int GetCurrentProcessId()
        {
            using var process = Process.GetCurrentProcess();
            return process.Id;
        }
    }
}
