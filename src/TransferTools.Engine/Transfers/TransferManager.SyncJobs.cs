using System;
using System.Net;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Sync;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// A folder sync's run as a journaled job: who runs it holds its record's owner lock, the record shows Active while it
    /// runs and its outcome after (<see cref="Complete"/>). Made by <see cref="TransferManager.BeginSyncJobAsync"/>.
    /// </summary>
    public sealed class SyncJobRun : IDisposable
    {
        private readonly TransferManager _manager;
        private IDisposable? _lock;

        internal SyncJobRun(TransferManager manager, TransferRecord record, IDisposable ownerLock, NetworkCredential? credential)
        {
            _manager = manager;
            Record = record;
            _lock = ownerLock;
            Credential = credential;
        }

        internal TransferRecord Record { get; }

        /// <summary>The job's record id.</summary>
        public string Id => Record.Id;

        /// <summary>What to run.</summary>
        public SyncJob Job => Record.Sync!;

        /// <summary>The queued -Credential, unprotected for this run (memory only), or null.</summary>
        public NetworkCredential? Credential { get; }

        /// <summary>Records how the run ended and lets the job go (the agent may schedule a retry of a transient failure).</summary>
        public void Complete(SyncJobOutcome outcome)
        {
            if (_lock is null)
            {
                return;
            }

            var record = Record;
            record.BytesTransferred = outcome.BytesMoved;
            record.TotalBytes = outcome.BytesMoved;
            record.Summary = outcome.Summary ?? record.Summary;
            if (outcome.Succeeded)
            {
                TransferStatusChange.ToCompleted(record);
            }
            else
            {
                TransferStatusChange.ToFailed(record, new PluginException(outcome.ErrorCode ?? ErrorCode.Unknown, outcome.Error ?? "The sync failed.",
                    errorId: outcome.ErrorId ?? "SyncFailed", target: record.Destination));
            }

            _manager.Journal.Save(record);
            Dispose();
        }

        /// <summary>A Stop-Transfer or Suspend-Transfer of another process for this job ("cancel", "suspend"), taken; or null.</summary>
        public string? TakeControl()
        {
            var action = _manager.Journal.ReadControl(Record.Id);
            if (action != null)
            {
                _manager.Journal.ClearControl(Record.Id);
            }

            return action;
        }

        /// <summary>Records that the run was stopped on request: cancelled for good, or suspended (the agent leaves it until Resume-Transfer).</summary>
        public void Stopped(bool cancel)
        {
            if (_lock is null)
            {
                return;
            }

            if (cancel)
            {
                TransferStatusChange.ToCancelled(Record);
            }
            else
            {
                TransferStatusChange.ToSuspended(Record, "Suspended.");
            }

            _manager.Journal.Save(Record);
            Dispose();
        }

        /// <summary>Lets the job go as it is (a run that was stopped: it stays due for the agent, or resumable).</summary>
        public void Dispose()
        {
            _lock?.Dispose();
            _lock = null;
        }
    }

    public sealed partial class TransferManager
    {
        /// <summary>The name a queued sync's record shows (<see cref="Transfer.Name"/>).</summary>
        public const string SyncJobName = "(sync)";

        /// <summary>
        /// Records a folder sync for the transfer agent and returns its record at once (status <see cref="TransferStatus.Queued"/>,
        /// <see cref="Transfer.Name"/> <see cref="SyncJobName"/>). The sync is authorized now; nothing is listed or contacted
        /// until the agent runs it. A password of <paramref name="credential"/> is kept only protected, as a queued send's.
        /// </summary>
        public async Task<Transfer> QueueSyncAsync(OperationContext context, SyncJob job, NetworkCredential? credential, QueueOptions queue)
        {
            _runner.ThrowIfClosed();
            var localSource = FolderSync.IsLocal(job.Source);
            await _intake.DemandTransferAsync(context, "transfer/" + (localSource ? job.Destination : job.Source),
                localSource ? Abstractions.Action.Write : Abstractions.Action.Read, null).ConfigureAwait(false);
            var id = NewId();
            var record = new TransferRecord
            {
                Id = id,
                // As the copies go: sends from a local source, receives into a local destination.
                Direction = localSource ? TransferDirection.Send : TransferDirection.Receive,
                Protocol = "sync",
                StartedAt = DateTimeOffset.UtcNow,
                UserId = context.UserId,
                RequestId = context.RequestId,
                Name = SyncJobName,
                Source = job.Source,
                SourceUri = job.Source,
                RequestedDestination = job.Destination,
                DestinationUri = job.Destination,
                Destination = job.Destination,
                TotalBytes = -1,
                Sync = job,
            };
            return QueueRecord(record, credential, queue);
        }

        /// <summary>True when <paramref name="id"/> (an id or a unique prefix) is a queued sync's record; false for anything else.</summary>
        public bool IsSyncJob(string id)
        {
            var wanted = (id ?? "").Trim().ToLowerInvariant();
            if (!TransferJournal.IsWellFormedId(wanted))
            {
                try
                {
                    wanted = _journal.ResolveId(wanted);
                }
                catch (PluginException)
                {
                    return false;
                }
            }

            // A sync's record is a file of its own, never a batch member: no batch journal is read for this.
            return System.IO.File.Exists(_journal.RecordPath(wanted)) && _journal.TryLoad(wanted)?.Sync != null;
        }

        /// <summary>
        /// Takes a queued sync's record for a run in this process: null when <paramref name="id"/> is not a sync's (a
        /// file's transfer), or, with <paramref name="byAgent"/>, when another process holds it.
        /// </summary>
        /// <exception cref="PluginException">NotFound; <c>TransferCompleted</c> / <c>TransferCancelled</c> when there is
        /// nothing to run; InvalidState when another process runs it (not with <paramref name="byAgent"/>).</exception>
        public async Task<SyncJobRun?> BeginSyncJobAsync(OperationContext context, string id, bool byAgent = false)
        {
            _runner.ThrowIfClosed();
            id = _journal.ResolveId(id);
            var peek = _journal.TryLoad(id) ?? throw TransferErrors.NotFound(id);
            if (peek.Sync is null)
            {
                return null;
            }

            await _intake.DemandAsync(context, peek).ConfigureAwait(false);
            var ownerLock = _journal.TryLock(id);
            if (ownerLock is null)
            {
                return byAgent ? null : throw TransferErrors.Running(id, $"in process {peek.OwnerProcessId} on {peek.OwnerHost}");
            }

            try
            {
                var record = _journal.TryLoad(id) ?? throw TransferErrors.NotFound(id);
                switch (record.Status)
                {
                    case TransferStatus.Completed:
                        throw new PluginException(ErrorCode.InvalidState, $"The sync {Short(id)} is completed already; run Sync-TransferFolder again for a new one.",
                            errorId: "TransferCompleted", target: id);
                    case TransferStatus.Cancelled:
                        throw new PluginException(ErrorCode.InvalidState, $"The sync {Short(id)} was stopped; queue it again.", errorId: "TransferCancelled", target: id);
                }

                if (record.Status != TransferStatus.Queued)
                {
                    record.Resumes++;
                }

                if (byAgent)
                {
                    record.AgentAttempts++;
                }

                record.NextAttemptAt = null;
                record.CompletedAt = null;
                record.OwnerProcessId = TransferRunner.OwnProcessId;
                record.OwnerHost = Environment.MachineName;
                TransferStatusChange.ToActive(record);
                _journal.Save(record);
                return new SyncJobRun(this, record, ownerLock, QueuedCredential(record));
            }
            catch
            {
                ownerLock.Dispose();
                throw;
            }
        }
    }
}
