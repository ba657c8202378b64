using System;
using System.IO;
using System.Net;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>What a queued transfer keeps besides its options: how long the agent may retry it, its own schedule.</summary>
    public sealed class QueueOptions
    {
        /// <summary>The default of <see cref="RetryTimeout"/>: a day.</summary>
        public static readonly TimeSpan DefaultRetryTimeout = TimeSpan.FromDays(1);

        /// <summary>How long after queueing the agent retries transient errors before the transfer fails.</summary>
        public TimeSpan RetryTimeout { get; set; } = DefaultRetryTimeout;

        /// <summary>The transfer's own bandwidth schedule (<see cref="Agent.BandwidthSchedule"/> syntax), or null.</summary>
        public string? BandwidthSchedule { get; set; }
    }

    public sealed partial class TransferManager
    {
        /// <summary>
        /// Records a send for the transfer agent and returns it at once (status <see cref="TransferStatus.Queued"/>): the
        /// source is checked and the transfer authorized now, the destination is first contacted by the agent. Every kind of
        /// transfer call (send, receive, sync) queues through <see cref="QueueRecord"/>, so adding <c>-Queue</c> to another
        /// cmdlet is one call.
        /// </summary>
        public async Task<Transfer> QueueSendAsync(OperationContext context, SendRequest request, QueueOptions queue)
        {
            _runner.ThrowIfClosed();
            if (IsRemote(request.File))
            {
                throw new PluginException(ErrorCode.NotSupported,
                    $"A copy from a remote location ('{TransferLocation.DisplayWithoutQuery(TransferLocation.Parse(request.File))}') cannot be queued yet; run it without -Queue.",
                    errorId: "QueueRemoteSourceNotSupported", target: request.File);
            }

            var source = TransferIntake.RequireSourceFile(request.File);
            TransferIntake.ValidateOptions(request.Options);
            var destination = TransferLocation.Parse(request.Destination);
            await _intake.DemandTransferAsync(context, "transfer/" + request.Destination, Abstractions.Action.Write, null).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, destination, null).ConfigureAwait(false);
            RequireEngineDriven(plugin, protocol);
            var id = NewId();
            var record = _intake.NewSendRecord(context.WithTransfer(id), id, protocol, source, destination, request);
            return QueueRecord(record, request.Options.Credential, queue);
        }

        /// <summary>
        /// Records a receive of a plain remote file for the transfer agent and returns it at once. The file's name must be
        /// in its location (nothing is asked of the server now: it may be down until the agent runs). A sent transfer by id
        /// (<see cref="ReceiveRequest.TransferId"/>) is queued with its manifest read now (<see cref="QueueReceiveByIdAsync"/>).
        /// </summary>
        public async Task<Transfer> QueueReceiveAsync(OperationContext context, ReceiveRequest request, QueueOptions queue)
        {
            _runner.ThrowIfClosed();
            TransferIntake.ValidateOptions(request.Options);
            if (!string.IsNullOrEmpty(request.TransferId))
            {
                return await QueueReceiveByIdAsync(context, request, queue).ConfigureAwait(false);
            }

            if (string.IsNullOrWhiteSpace(request.Source) || string.IsNullOrWhiteSpace(request.OutputDir))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "Give -Source (a remote file) and -OutputDir.", errorId: "SourceMissing");
            }

            var sourceUri = TransferLocation.Parse(request.Source!);
            var name = TransferLocation.FileName(sourceUri);
            if (!TransferLocation.IsPlainFileName(name))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{TransferLocation.DisplayWithoutQuery(sourceUri)}' does not end in a file name; a queued receive takes the location of one file.",
                    errorId: "QueueNeedsFileName", target: request.Source);
            }

            await _intake.DemandTransferAsync(context, "transfer/" + request.Source, Abstractions.Action.Read, null).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, sourceUri, null).ConfigureAwait(false);
            RequireEngineDriven(plugin, protocol);
            var id = NewId();
            var outputDir = Path.GetFullPath(request.OutputDir);
            var record = new TransferRecord
            {
                Id = id,
                Direction = TransferDirection.Receive,
                Protocol = protocol,
                StartedAt = DateTimeOffset.UtcNow,
                UserId = context.UserId,
                RequestId = context.RequestId,
                Name = name,
                SourceUri = sourceUri.ToString(),
                Source = TransferLocation.Display(sourceUri),
                RequestedDestination = outputDir,
                DestinationUri = new Uri(TransferLocation.FromLocalPath(outputDir) + "/").ToString(),
                Destination = Path.Combine(outputDir, name),
            };
            record.ApplyOptions(request.Options);
            return QueueRecord(record, request.Options.Credential, queue);
        }

        /// <summary>
        /// Queues the receive of a sent transfer by id: its manifest is read now, at the source (the server must answer now),
        /// and the queued record keeps the file's location and the SHA-256 the manifest promises, which the agent's run
        /// verifies as an interactive receive by id does. Nothing else is read now: the agent moves the bytes.
        /// </summary>
        private async Task<Transfer> QueueReceiveByIdAsync(OperationContext context, ReceiveRequest request, QueueOptions queue)
        {
            if (string.IsNullOrWhiteSpace(request.OutputDir))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "-OutputDir is required.", errorId: "OutputDirMissing");
            }

            var (source, transferId) = ResolveReceiveSource(request);
            var sourceUri = TransferLocation.Parse(source);
            await _intake.DemandTransferAsync(context, "transfer/" + source, Abstractions.Action.Read, null).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, sourceUri, null).ConfigureAwait(false);
            RequireEngineDriven(plugin, protocol);
            var id = NewId();
            var normalized = new ReceiveRequest
            {
                TransferId = transferId?.ToLowerInvariant(),
                Source = source,
                OutputDir = Path.GetFullPath(request.OutputDir),
                Options = request.Options,
            };
            TransferRecord record;
            try
            {
                record = await _intake.NewReceiveRecordAsync(context.WithTransfer(id), id, protocol, normalized, (ITransferEndpoint)plugin).ConfigureAwait(false);
            }
            catch (PluginException e) when (e.IsTransient)
            {
                throw new PluginException(e.Code,
                    $"Receive-Transfer -TransferId -Queue reads the sent transfer's manifest now, and '{TransferLocation.DisplayWithoutQuery(sourceUri)}' does not answer: {e.Message} " +
                    "Queue it when the server is up, or queue the file itself with -Source.", e, "QueueManifestUnreachable", request.TransferId);
            }

            return QueueRecord(record, request.Options.Credential, queue);
        }

        /// <summary>
        /// Journals a new transfer as queued for the agent. A password goes into the record only protected by the home's
        /// key (the agent runs as the same user and home); the plain text is never written.
        /// </summary>
        internal Transfer QueueRecord(TransferRecord record, NetworkCredential? credential, QueueOptions queue)
        {
            if (queue.BandwidthSchedule != null)
            {
                Agent.BandwidthSchedule.Parse(queue.BandwidthSchedule);
            }

            record.Queued = true;
            record.Status = TransferStatus.Queued;
            record.RetryUntil = record.StartedAt + queue.RetryTimeout;
            record.BandwidthSchedule = queue.BandwidthSchedule;
            if (credential != null && (credential.UserName.Length > 0 || credential.Password.Length > 0))
            {
                record.CredentialUser = credential.UserName;
                if (credential.Password.Length > 0)
                {
                    try
                    {
                        record.ProtectedPassword = _session.Secrets.Protect(credential.Password);
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.Cryptography.CryptographicException)
                    {
                        throw new PluginException(ErrorCode.SecurityError,
                            "The password of -Credential cannot be stored protected for the transfer agent (the home's secret key is not usable); " +
                            "queue with -KeyFile, or register the protocol with its secret (Register-TransferPlugin -Configuration) instead.",
                            e, "QueueCredentialNotProtected", record.Id);
                    }
                }
            }

            _journal.Save(record);
            return record.ToTransfer();
        }

        /// <summary>The credential a queued transfer was given, unprotected for the run (memory only).</summary>
        internal NetworkCredential? QueuedCredential(TransferRecord record) =>
            record.CredentialUser is null && record.ProtectedPassword is null
                ? null
                : new NetworkCredential(record.CredentialUser ?? "", record.ProtectedPassword is null ? "" : _session.Secrets.Unprotect(record.ProtectedPassword));

        private static void RequireEngineDriven(IProtocolPlugin plugin, string protocol)
        {
            if (!(plugin is ITransferEndpoint))
            {
                throw new PluginException(ErrorCode.NotSupported,
                    $"The protocol plugin '{protocol}' moves files its own way; its transfers cannot be queued for the agent.",
                    errorId: "QueueNotSupported", target: protocol);
            }
        }

        /// <summary>
        /// Runs a queued (or interrupted, or retried) transfer for the agent in this session, under its owner lock; null when
        /// another process holds the lock.
        /// </summary>
        internal Transfer? StartQueued(OperationContext context, string id)
        {
            _runner.ThrowIfClosed();
            if (_runner.Running.ContainsKey(id))
            {
                return null;
            }

            var ownerLock = _journal.TryLock(id);
            if (ownerLock is null)
            {
                return null;
            }

            try
            {
                var record = _journal.TryLoad(id);
                if (record is null || !record.Queued || record.Status == TransferStatus.Completed || record.Status == TransferStatus.Cancelled)
                {
                    ownerLock.Dispose();
                    return null;
                }

                if (record.Status != TransferStatus.Queued)
                {
                    record.Resumes++;
                }

                record.AgentAttempts++;
                // The agent retries with growing intervals up to the retry timeout; within one of its attempts a transient
                // error is retried once at once (a dropped connection), not five times with backoff.
                record.RetryCount = Math.Min(record.RetryCount, 1);
                record.NextAttemptAt = null;
                var credential = QueuedCredential(record);
                return _runner.Launch(context, record, ownerLock, credential, remote: null, batch: null);
            }
            catch
            {
                ownerLock.Dispose();
                throw;
            }
        }

        /// <summary>Suspends the agent's running transfers at a committed chunk (the agent stops); they stay due for its next start.</summary>
        internal async Task SuspendForAgentAsync(System.Collections.Generic.IEnumerable<string> ids)
        {
            var waits = new System.Collections.Generic.List<Task>();
            foreach (var id in ids)
            {
                if (_runner.Running.TryGetValue(id, out var run))
                {
                    run.RequestStop(StopReason.Shutdown);
                    waits.Add(run.Completion);
                }
            }

            await Task.WhenAny(Task.WhenAll(waits), Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
        }

        /// <summary>
        /// After an agent run ended failed: a transient error before the record's deadline waits for the next attempt
        /// (<see cref="TransferStatus.TransientError"/>, <paramref name="nextAttempt"/>); true when so.
        /// </summary>
        internal bool ScheduleRetry(string id, DateTimeOffset nextAttempt)
        {
            using var ownerLock = _journal.TryLock(id);
            var record = ownerLock is null ? null : _journal.TryLoad(id);
            if (record is null || record.Status != TransferStatus.Failed || !Agent.TransferAgent.IsRetryable(record))
            {
                return false;
            }

            if (record.RetryUntil != null && nextAttempt > record.RetryUntil)
            {
                record.Error = $"Gave up after {record.AgentAttempts} attempts: the retry timeout ended. Last error: {record.Error}";
                _journal.Save(record);
                return false;
            }

            record.Status = TransferStatus.TransientError;
            record.NextAttemptAt = nextAttempt;
            record.CompletedAt = null;
            _journal.Save(record);
            return true;
        }
    }
}
