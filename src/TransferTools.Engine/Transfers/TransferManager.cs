using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The transfer engine as cmdlets see it: chunked, journaled, verified, resumable transfers. Cmdlets call the
    /// <c>Start*</c>, <see cref="WaitAsync"/>, <see cref="SuspendAsync"/>, <see cref="StopAsync"/> and <see cref="ListAsync"/> methods.
    /// </summary>
    /// <remarks>
    /// A transfer runs as a background task of the session (<see cref="TransferRunner"/>), one attempt after another
    /// (<see cref="TransferAttempt"/>). The local side is always the file system; the remote side is the protocol
    /// plugin's <see cref="ITransferEndpoint"/>, driven directly. Bytes go to a temporary name beside the destination,
    /// each chunk is recorded in the journal as it is written, and the file is renamed into place only after its size
    /// and SHA-256 are verified. Ctrl+C while waiting suspends (resumable); Stop-Transfer cancels and cleans up.
    /// </remarks>
    public sealed partial class TransferManager
    {
        /// <summary>
        /// Context value carrying the batch handle from <see cref="BeginBatch"/>: transfers started with it are journaled
        /// together (see <see cref="TransferBatch"/>).
        /// </summary>
        public const string BatchContextKey = "TransferTools.TransferBatch";

        private readonly TransferJournal _journal;
        private readonly TransferRunner _runner;
        private readonly TransferIntake _intake;
        private readonly ForeignTransfers _foreign;
        private readonly TransferSession _session;

        /// <summary>Creates the manager for a session; the journal lives under the session's home.</summary>
        public TransferManager(TransferSession session)
        {
            _journal = new TransferJournal(session.HomeDirectory);
            _runner = new TransferRunner(session, _journal, PluginCatalog.CreateLocalEndpoint());
            _intake = new TransferIntake(session, _runner);
            _foreign = new ForeignTransfers(session, _journal);
            _session = session;
        }

        /// <summary>
        /// A limit every transfer this session starts shares, beside its command's own (set while a transfer agent runs in the
        /// session, so the copies of a queued sync it runs count toward the agent's total and its schedule); null for none.
        /// </summary>
        public BandwidthLimiter? SessionBandwidth
        {
            get => _runner.SessionBandwidth;
            set => _runner.SessionBandwidth = value;
        }

        /// <summary>The first retry's delay before jitter; doubles per retry up to <see cref="MaxRetryDelay"/>.</summary>
        public TimeSpan RetryBaseDelay
        {
            get => _runner.Retries.BaseDelay;
            set => _runner.Retries.BaseDelay = value;
        }

        /// <summary>The longest wait between retries.</summary>
        public TimeSpan MaxRetryDelay
        {
            get => _runner.Retries.MaxDelay;
            set => _runner.Retries.MaxDelay = value;
        }

        /// <summary>
        /// Deliver single-piece local transfers through an unnamed file (Linux <c>O_TMPFILE</c>, see
        /// <see cref="IUnnamedTemporaries"/>) where the destination offers one; false always uses a named temporary file.
        /// </summary>
        internal bool UseUnnamedFiles
        {
            get => _runner.UseUnnamedFiles;
            set => _runner.UseUnnamedFiles = value;
        }

        /// <summary>How many transfers this manager delivered through an unnamed file (tests).</summary>
        internal int UnnamedDeliveries => _runner.UnnamedDeliveries;

        /// <summary>Where the journal lives.</summary>
        public string JournalDirectory => _journal.Directory;

        internal TransferJournal Journal => _journal;

        /// <summary>
        /// Starts a batch: put the handle in the context (<see cref="BatchContextKey"/>) of the sends and receives one
        /// call starts together, and dispose it once they are started. Their records share one append-only journal file
        /// and one owner lock, and local sends share one manifest file per folder, so that many small files cost no more
        /// file creations than the files themselves. Members left unfinished resume one by one like any transfer.
        /// </summary>
        public IDisposable BeginBatch() => new TransferBatch(_journal);

        /// <summary>Starts sending a local file: authorizes, picks the protocol by the destination's scheme and runs it through its endpoint.</summary>
        /// <returns>The transfer, running in the background; <see cref="WaitAsync"/> waits for it.</returns>
        /// <remarks>A <see cref="SendRequest.File"/> that is a remote URI (<c>s3://</c>, <c>sftp://</c>, <c>storage://</c>, ...)
        /// is copied from there: see <see cref="StartRemoteCopyAsync"/>.</remarks>
        public async Task<Transfer> StartSendAsync(OperationContext context, SendRequest request)
        {
            _runner.ThrowIfClosed();
            if (IsRemote(request.File))
            {
                return await StartRemoteCopyAsync(context, request).ConfigureAwait(false);
            }

            var source = TransferIntake.RequireSourceFile(request.File);
            TransferIntake.ValidateOptions(request.Options);
            var destination = TransferLocation.Parse(request.Destination);
            var batch = TransferIntake.BatchOf(context);
            await _intake.DemandTransferAsync(context, "transfer/" + request.Destination, Abstractions.Action.Write, batch).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, destination, batch).ConfigureAwait(false);
            var id = batch?.NewMemberId() ?? NewId();
            var call = context.WithTransfer(id);
            if (plugin is ITransferEndpoint endpoint)
            {
                var record = _intake.NewSendRecord(call, id, protocol, source, destination, request);
                return _runner.LaunchNew(call, record, request.Options.Credential, endpoint, batch);
            }

            var normalized = new SendRequest { File = source.Path, Destination = request.Destination, Options = request.Options };
            return await _foreign.SendAsync(call, id, protocol, plugin, normalized, destination).ConfigureAwait(false);
        }

        /// <summary>True for a location that is a URI of another scheme than <c>file</c>.</summary>
        internal static bool IsRemote(string location) => TransferLocation.LooksLikeUri(location) && !TransferLocation.Parse(location).IsFile;

        /// <summary>
        /// Starts a copy between two remote locations: authorized as a receive from the source and a send to the
        /// destination. Where one endpoint serves both and can copy within its server (<see cref="IServerSideCopy"/>), no
        /// byte passes through this machine; otherwise the source's reads stream into the destination's writer (no local
        /// spool), hashed in the same pass, journaled and resumable from committed chunks like any send.
        /// </summary>
        private async Task<Transfer> StartRemoteCopyAsync(OperationContext context, SendRequest request)
        {
            TransferIntake.ValidateOptions(request.Options);
            var sourceUri = TransferLocation.Parse(request.File);
            var destination = TransferLocation.Parse(request.Destination);
            var batch = TransferIntake.BatchOf(context);
            await _intake.DemandTransferAsync(context, "transfer/" + request.File, Abstractions.Action.Read, batch).ConfigureAwait(false);
            await _intake.DemandTransferAsync(context, "transfer/" + request.Destination, Abstractions.Action.Write, batch).ConfigureAwait(false);
            var (sourceProtocol, sourcePlugin) = await _intake.ResolveProtocolAsync(context, sourceUri, batch).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, destination, batch).ConfigureAwait(false);
            if (!(sourcePlugin is ITransferEndpoint source) || !(plugin is ITransferEndpoint endpoint))
            {
                var which = sourcePlugin is ITransferEndpoint ? protocol : sourceProtocol;
                throw new PluginException(ErrorCode.NotSupported,
                    $"The {which} protocol moves files its own way, so it cannot be one side of a copy between two remote locations; copy through a local folder.",
                    errorId: "RemoteCopyNotSupported", target: TransferLocation.DisplayWithoutQuery(sourceUri));
            }

            var id = batch?.NewMemberId() ?? NewId();
            var call = context.WithTransfer(id);
            var record = await _intake.NewRemoteCopyRecordAsync(call, id, protocol, sourceProtocol, source, sourceUri, destination, request).ConfigureAwait(false);
            return _runner.LaunchNew(call, record, request.Options.Credential, endpoint, batch);
        }

        /// <summary>Starts sending through a given endpoint, bypassing the plugin registry (tests).</summary>
        internal Task<Transfer> StartSendThroughAsync(OperationContext context, SendRequest request, string protocol, ITransferEndpoint endpoint)
        {
            _runner.ThrowIfClosed();
            var source = TransferIntake.RequireSourceFile(request.File);
            TransferIntake.ValidateOptions(request.Options);
            var id = NewId();
            var call = context.WithTransfer(id);
            var record = _intake.NewSendRecord(call, id, protocol, source, TransferLocation.Parse(request.Destination), request);
            return Task.FromResult(_runner.LaunchNew(call, record, request.Options.Credential, endpoint, batch: null));
        }

        /// <summary>Starts receiving: a sent transfer by id (its manifest is read at the source) or a plain remote file.</summary>
        public async Task<Transfer> StartReceiveAsync(OperationContext context, ReceiveRequest request)
        {
            _runner.ThrowIfClosed();
            TransferIntake.ValidateOptions(request.Options);
            if (string.IsNullOrWhiteSpace(request.OutputDir))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "-OutputDir is required.", errorId: "OutputDirMissing");
            }

            var (source, transferId) = ResolveReceiveSource(request);
            var sourceUri = TransferLocation.Parse(source!);
            var batch = TransferIntake.BatchOf(context);
            await _intake.DemandTransferAsync(context, "transfer/" + source, Abstractions.Action.Read, batch).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, sourceUri, batch).ConfigureAwait(false);
            var id = batch?.NewMemberId() ?? NewId();
            var call = context.WithTransfer(id);
            var normalized = new ReceiveRequest
            {
                TransferId = transferId?.ToLowerInvariant(),
                Source = source,
                OutputDir = Path.GetFullPath(request.OutputDir),
                Options = request.Options,
            };
            if (plugin is ITransferEndpoint endpoint)
            {
                var record = await _intake.NewReceiveRecordAsync(call, id, protocol, normalized, endpoint).ConfigureAwait(false);
                return _runner.LaunchNew(call, record, request.Options.Credential, endpoint, batch);
            }

            return await _foreign.ReceiveAsync(call, id, protocol, plugin, normalized).ConfigureAwait(false);
        }

        /// <summary>
        /// Where a receive reads from: the plain remote file given, or for <c>-TransferId</c> the folder holding the sent
        /// transfer's manifest (from -Source, else from this machine's journal of the send) and the full id.
        /// </summary>
        private (string Source, string? TransferId) ResolveReceiveSource(ReceiveRequest request)
        {
            var source = request.Source;
            var transferId = request.TransferId;
            if (transferId != null)
            {
                if (string.IsNullOrWhiteSpace(source))
                {
                    // The journal of this machine may know where the transfer went.
                    var sent = _journal.TryLoad(SafeResolve(transferId) ?? "");
                    if (sent?.Direction == TransferDirection.Send && sent.FinalUri != null)
                    {
                        transferId = sent.Id;
                        // The folder holding the manifest (the root of a tree sent with -Recurse); else the file's own.
                        source = TransferLocation.Display(sent.ManifestUri != null
                            ? new Uri(new Uri(sent.ManifestUri), "../")
                            : TransferLocation.Parent(new Uri(sent.FinalUri)));
                    }
                    else
                    {
                        throw new PluginException(ErrorCode.NotFound,
                            $"The journal here does not know where transfer '{transferId}' was delivered; give -Source (the destination folder of the send).",
                            errorId: "TransferSourceUnknown", target: transferId);
                    }
                }
                else if (!TransferJournal.IsWellFormedId(transferId.ToLowerInvariant()))
                {
                    transferId = SafeResolve(transferId) ?? transferId;
                }
            }
            else if (string.IsNullOrWhiteSpace(source))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "Give -Source (a remote file) or -TransferId (a sent transfer).", errorId: "SourceMissing");
            }


            return (source!, transferId);
        }

        /// <summary>
        /// Lists the remote folder at <paramref name="folder"/> for <c>Receive-Transfer -Recurse</c>, authorized as a receive
        /// from it and retried as a transfer's requests are; null when a file is there (it is received as one).
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.NotFound"/> when nothing is there;
        /// <see cref="ErrorCode.NotSupported"/> (<c>FolderListingNotSupported</c>) for a folder its protocol cannot list.</exception>
        public async Task<IReadOnlyList<RemoteFolderEntry>?> ListFolderAsync(OperationContext context, string folder, TransferOptions options)
        {
            _runner.ThrowIfClosed();
            TransferIntake.ValidateOptions(options);
            var uri = TransferLocation.Parse(folder);
            var batch = TransferIntake.BatchOf(context);
            await _intake.DemandTransferAsync(context, "transfer/" + folder, Abstractions.Action.Read, batch).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, uri, batch).ConfigureAwait(false);
            Task<T> Retried<T>(Func<Task<T>> operation) => _runner.Retries.RunAsync(context, options.RetryCount, operation);

            if (plugin is IFolderListing lister)
            {
                try
                {
                    return await Retried(() => lister.ListFolderAsync(context, uri, options)).ConfigureAwait(false);
                }
                catch (PluginException e) when (e.ErrorId == "NotAFolder")
                {
                    return null;
                }
            }

            if (!(plugin is ITransferEndpoint endpoint))
            {
                // A protocol that moves files its own way: the source goes to it as one file.
                return null;
            }

            var info = await Retried(() => endpoint.GetInfoAsync(context, uri, options)).ConfigureAwait(false);
            var shown = TransferLocation.DisplayWithoutQuery(uri);
            if (!info.Exists)
            {
                throw new PluginException(ErrorCode.NotFound, $"The source '{shown}' does not exist.", errorId: "SourceNotFound", target: shown);
            }

            if (!info.IsDirectory)
            {
                return null;
            }

            throw new PluginException(ErrorCode.NotSupported,
                $"'{shown}' is a folder, and the {protocol} protocol cannot list folders: give its files' locations instead (several can be piped into Receive-Transfer).",
                errorId: "FolderListingNotSupported", target: shown);
        }

        /// <summary>
        /// The endpoint that serves <paramref name="location"/>, authorized for <paramref name="action"/> on
        /// <c>transfer/LOCATION</c>: a folder sync deletes and hashes files through it.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.NotSupported"/> (<c>EndpointNotSupported</c>) for a protocol that moves files its own way.</exception>
        public async Task<ITransferEndpoint> ResolveEndpointAsync(OperationContext context, string location, Abstractions.Action action)
        {
            _runner.ThrowIfClosed();
            var uri = TransferLocation.Parse(location);
            var batch = TransferIntake.BatchOf(context);
            await _intake.DemandTransferAsync(context, "transfer/" + location, action, batch).ConfigureAwait(false);
            var (protocol, plugin) = await _intake.ResolveProtocolAsync(context, uri, batch).ConfigureAwait(false);
            return plugin as ITransferEndpoint ?? throw new PluginException(ErrorCode.NotSupported,
                $"The {protocol} protocol moves files its own way; a folder sync cannot read or delete its files one by one.",
                errorId: "EndpointNotSupported", target: TransferLocation.DisplayWithoutQuery(uri));
        }

        /// <summary>Runs <paramref name="operation"/> with the retries a transfer's requests get (transient errors, backoff).</summary>
        public Task<T> RetriedAsync<T>(OperationContext context, int retryCount, Func<Task<T>> operation) =>
            _runner.Retries.RunAsync(context, retryCount, operation);

        /// <summary>Resumes a failed or suspended transfer (in this process or one started by a process that died).</summary>
        /// <param name="overrides">Options that replace the journaled ones (<see cref="ResumeOverrides"/>); the credential is never journaled, so a resume needs it again.</param>
        public async Task<Transfer> StartResumeAsync(OperationContext context, string id, ResumeOverrides? overrides = null)
        {
            _runner.ThrowIfClosed();
            id = _journal.ResolveId(id);
            if (_runner.Running.ContainsKey(id))
            {
                throw TransferErrors.Running(id, "in this session");
            }

            var peek = _journal.TryLoad(id) ?? throw TransferErrors.NotFound(id);
            await _intake.DemandAsync(context, peek).ConfigureAwait(false);
            var ownerLock = _journal.TryLock(id) ?? throw TransferErrors.Running(id, $"in process {peek.OwnerProcessId} on {peek.OwnerHost}");
            try
            {
                // Read again under the lock: the owner may have finished between the peek and the lock.
                var record = _journal.TryLoad(id) ?? throw TransferErrors.NotFound(id);
                if (!record.Streaming)
                {
                    ownerLock.Dispose();
                    return await _foreign.ResumeAsync(context, record).ConfigureAwait(false);
                }

                switch (record.Status)
                {
                    case TransferStatus.Completed:
                        throw new PluginException(ErrorCode.InvalidState, $"Transfer {Short(id)} is completed already; there is nothing to resume.",
                            errorId: "TransferCompleted", target: id);
                    case TransferStatus.Cancelled:
                        throw new PluginException(ErrorCode.InvalidState, $"Transfer {Short(id)} was cancelled and its partial data removed; start a new Send-Transfer.",
                            errorId: "TransferCancelled", target: id);
                }

                if (record.ErrorCode == ErrorCode.SourceChanged)
                {
                    throw TransferErrors.SourceChanged(record, "since the transfer began");
                }

                overrides?.ApplyTo(record);
                record.Resumes++;
                // A resumed batch member leaves its batch: from now on it has a record file (and lock) of its own.
                return _runner.Launch(context.WithValue(BatchContextKey, null), record, ownerLock, overrides?.Credential, remote: null, batch: null);
            }
            catch
            {
                ownerLock.Dispose();
                throw;
            }
        }

        /// <param name="timeout">Give up waiting (not the transfer) after this long; null waits for ever.</param>
        /// <param name="suspendOnCancel">When the context is cancelled (Ctrl+C), suspend the transfer (resumable) before returning.</param>
        /// <returns>The transfer and whether it reached a final status.</returns>
        /// <exception cref="OperationCanceledException">The context was cancelled.</exception>
        public async Task<(Transfer Transfer, bool Finished)> WaitAsync(OperationContext context, string id, TimeSpan? timeout = null, bool suspendOnCancel = false)
        {
            // A transfer this session runs is found by its full id without the journal (a stat and a record copy per call).
            if (!_runner.Running.TryGetValue(id, out var run))
            {
                id = _journal.ResolveId(id);
                _runner.Running.TryGetValue(id, out run);
            }

            var deadline = timeout is null ? (DateTime?)null : DateTime.UtcNow + timeout.Value;
            if (run != null)
            {
                using (context.CancellationToken.Register(() =>
                       {
                           if (suspendOnCancel)
                           {
                               run.RequestStop(StopReason.Suspend);
                           }
                       }))
                {
                    var waitFor = timeout is null ? Timeout.InfiniteTimeSpan : timeout.Value;
                    var finished = await Task.WhenAny(run.Completion, Task.Delay(waitFor, context.CancellationToken)).ConfigureAwait(false) == run.Completion;
                    if (context.CancellationToken.IsCancellationRequested)
                    {
                        if (suspendOnCancel)
                        {
                            await run.Completion.ConfigureAwait(false);
                        }

                        context.CancellationToken.ThrowIfCancellationRequested();
                    }

                    if (!finished)
                    {
                        return (run.Snapshot(), false);
                    }
                }

                // Finished here: the record in memory is what was journaled last.
                return (run.Snapshot(), true);
            }

            // Owned by another process (or finished): follow the journal.
            while (true)
            {
                var transfer = _runner.Describe(_journal.TryLoad(id) ?? throw TransferErrors.NotFound(id));
                if (transfer.Status.IsFinal())
                {
                    return (transfer, true);
                }

                if (deadline != null && DateTime.UtcNow >= deadline)
                {
                    return (transfer, false);
                }

                await Task.Delay(200, context.CancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The exception that explains a failed, cancelled or suspended transfer (for a cmdlet to report), or null when it completed.</summary>
        public Exception? GetFailure(Transfer transfer)
        {
            if (transfer.Status == TransferStatus.Completed || !transfer.Status.IsFinal())
            {
                return null;
            }

            var code = transfer.ErrorCode ?? (transfer.Status == TransferStatus.Failed ? ErrorCode.Unknown : ErrorCode.Cancelled);
            var record = _journal.TryLoad(transfer.Id);
            var errorId = record?.ErrorId ?? (transfer.Status == TransferStatus.Suspended ? "TransferSuspended"
                : transfer.Status == TransferStatus.Cancelled ? "TransferCancelled" : code.ToString());
            var message = transfer.Error ?? $"Transfer {Short(transfer.Id)} is {transfer.Status.ToSeedValue()}.";
            // A hint names only a command that can succeed: as it is (a dropped connection, a suspension), or once the
            // user has fixed what the message names (a missing folder, a permission, a host key).
            var hint = transfer.Status == TransferStatus.Cancelled || code == ErrorCode.SourceChanged || code == ErrorCode.ChecksumMismatch
                       || message.IndexOf("Resume-Transfer", StringComparison.Ordinal) >= 0
                ? ""
                : code == ErrorCode.Conflict ? $" Resume-Transfer {Short(transfer.Id)} -Force replaces it."
                : NeedsAFixFirst(code) ? $" Once that is fixed, Resume-Transfer {Short(transfer.Id)} continues it."
                : $" Resume-Transfer {Short(transfer.Id)} continues it.";
            return new PluginException(code, $"Transfer {Short(transfer.Id)} ({transfer.Name}): {message}{hint}", null, errorId,
                record?.ErrorTarget ?? (record?.Direction == TransferDirection.Receive ? transfer.Destination : transfer.Source));
        }

        /// <summary>Errors that a resume meets again unless the user changes something first.</summary>
        private static bool NeedsAFixFirst(ErrorCode code) =>
            code == ErrorCode.NotFound || code == ErrorCode.PermissionDenied || code == ErrorCode.AuthenticationFailed
            || code == ErrorCode.SecurityError || code == ErrorCode.InvalidArgument || code == ErrorCode.InvalidConfiguration
            || code == ErrorCode.NotSupported || code == ErrorCode.PluginNotFound || code == ErrorCode.AlreadyExists;

        /// <summary>Pauses a running transfer, keeping its partial data (Resume-Transfer continues it).</summary>
        public async Task<Transfer> SuspendAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            var record = _journal.TryLoad(id) ?? throw TransferErrors.NotFound(id);
            await _intake.DemandAsync(context, record).ConfigureAwait(false);
            if (_runner.Running.TryGetValue(id, out var run))
            {
                run.RequestStop(StopReason.Suspend);
                await run.Completion.ConfigureAwait(false);
                return _runner.Describe(_journal.TryLoad(id) ?? record);
            }

            if (!record.Streaming)
            {
                throw new PluginException(ErrorCode.NotSupported, $"The protocol '{record.Protocol}' cannot suspend transfers.", errorId: "SuspendNotSupported", target: id);
            }

            if (record.Status.IsFinal())
            {
                if (record.Status == TransferStatus.Suspended || record.Status == TransferStatus.Failed)
                {
                    return _runner.Describe(record);
                }

                throw new PluginException(ErrorCode.InvalidState, $"Transfer {Short(id)} is {record.Status.ToSeedValue()}; only an active transfer can be suspended.",
                    errorId: "TransferNotActive", target: id);
            }

            return await _runner.ControlOtherAsync(context, record, "suspend", TransferStatus.Suspended).ConfigureAwait(false);
        }

        /// <summary>Cancels a transfer (running or resumable): stops it, removes its temporary data, leaves status cancelled.</summary>
        public async Task<Transfer> StopAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            var record = _journal.TryLoad(id);
            if (record is null && DamagedRecords.Why(_journal, id) is { } why)
            {
                // Nobody can resume a record nobody can read: stopping it is removing it, which takes delete rights.
                await _session.Auth.DemandAsync(context, "transfer/", Abstractions.Action.Delete).ConfigureAwait(false);
                var removed = DamagedRecords.Describe(_journal, id, why, TransferStatus.Cancelled);
                DamagedRecords.Remove(_journal, id);
                return removed;
            }

            if (record is null)
            {
                throw TransferErrors.NotFound(id);
            }
            await _intake.DemandAsync(context, record).ConfigureAwait(false);
            if (_runner.Running.TryGetValue(id, out var run))
            {
                run.RequestStop(StopReason.Cancel);
                await run.Completion.ConfigureAwait(false);
                return _runner.Describe(_journal.TryLoad(id) ?? record);
            }

            if (!record.Streaming)
            {
                return await _foreign.CancelAsync(context, record).ConfigureAwait(false);
            }

            switch (record.Status)
            {
                case TransferStatus.Cancelled:
                    return _runner.Describe(record);
                case TransferStatus.Completed:
                    throw new PluginException(ErrorCode.InvalidState, $"Transfer {Short(id)} is completed; there is nothing to stop.", errorId: "TransferCompleted", target: id);
            }

            return await _runner.ControlOtherAsync(context, record, "cancel", TransferStatus.Cancelled).ConfigureAwait(false);
        }

        /// <summary>One transfer by id (or unique prefix), as the journal and this session know it.</summary>
        public async Task<Transfer> GetTransferAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            if (_runner.Running.TryGetValue(id, out var run))
            {
                return run.Snapshot();
            }

            var record = _journal.TryLoad(id);
            if (record is null && DamagedRecords.Why(_journal, id) is { } why)
            {
                return DamagedRecords.Describe(_journal, id, why);
            }

            if (record is null)
            {
                throw TransferErrors.NotFound(id);
            }
            if (!record.Streaming && !record.Status.IsFinal())
            {
                return await _foreign.RefreshAsync(context, record).ConfigureAwait(false);
            }

            return _runner.Describe(record);
        }

        /// <summary>Every transfer in the journal (all processes), newest first.</summary>
        /// <param name="statuses">Only these statuses (as shown); null or empty for all.</param>
        /// <param name="first">At most this many; 0 for all.</param>
        public async Task<IReadOnlyList<Transfer>> ListAsync(OperationContext context, IReadOnlyCollection<TransferStatus>? statuses = null, int first = 0)
        {
            var result = new List<Transfer>();
            var entries = _journal.LoadAll().Select(r => (Record: (TransferRecord?)r, Damaged: (Transfer?)null, StartedAt: r.StartedAt, Id: r.Id)).ToList();
            // A damaged record is listed as failed, saying so, instead of vanishing (with its partial) from every listing.
            foreach (var id in DamagedRecords.Ids(_journal))
            {
                var damaged = DamagedRecords.Describe(_journal, id, DamagedRecords.Why(_journal, id) ?? "it cannot be read");
                entries.Add((null, damaged, damaged.StartedAt, id));
            }

            foreach (var entry in entries.OrderByDescending(e => e.StartedAt).ThenByDescending(e => e.Id, StringComparer.Ordinal))
            {
                var record = entry.Record;
                if (record is null)
                {
                    if ((statuses is null || statuses.Count == 0 || statuses.Contains(TransferStatus.Failed))
                        && await _session.Auth.TestAsync(context, "transfer/", Abstractions.Action.Read).ConfigureAwait(false))
                    {
                        result.Add(entry.Damaged!);
                    }

                    if (first > 0 && result.Count >= first)
                    {
                        break;
                    }

                    continue;
                }

                var transfer = _runner.Running.TryGetValue(record.Id, out var run) ? run.Snapshot() : _runner.Describe(record);
                if (statuses != null && statuses.Count > 0 && !statuses.Contains(transfer.Status))
                {
                    continue;
                }

                if (!await _session.Auth.TestAsync(context, TransferIntake.Resource(record), Abstractions.Action.Read).ConfigureAwait(false))
                {
                    continue;
                }

                result.Add(transfer);
                if (first > 0 && result.Count >= first)
                {
                    break;
                }
            }

            return result;
        }

        /// <summary>Suspends every transfer running in this session (session close), leaving them resumable.</summary>
        /// <returns>The transfers that were running, as each stood once stopped.</returns>
        public Task<IReadOnlyList<Transfer>> ShutdownAsync() => _runner.ShutdownAsync();

        internal static string NewId() => Guid.NewGuid().ToString("n");

        internal static string Short(string id) => TransferIds.Short(id);

        private string? SafeResolve(string idOrPrefix)
        {
            try
            {
                return _journal.ResolveId(idOrPrefix);
            }
            catch (PluginException)
            {
                return null;
            }
        }
    }
}
