using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The transfer engine: chunked, journaled, verified, resumable transfers. Cmdlets call the <c>Start*</c>,
    /// <see cref="WaitAsync"/>, <see cref="SuspendAsync"/>, <see cref="StopAsync"/> and <see cref="ListAsync"/> methods;
    /// streaming protocol plugins call the <see cref="ITransferCoordinator"/> side.
    /// </summary>
    /// <remarks>
    /// A transfer runs as a background task of the session. The local side is always the file system; the remote side
    /// is the protocol plugin's <see cref="ITransferEndpoint"/>. Bytes go to a temporary name beside the destination,
    /// each chunk is recorded in the journal as it is written, and the file is renamed into place only after its size
    /// and SHA-256 are verified. Ctrl+C while waiting suspends (resumable); Stop-Transfer cancels and cleans up.
    /// </remarks>
    public sealed class TransferManager : ITransferCoordinator
    {
        /// <summary>Context value carrying the protocol registration name from <see cref="StartSendAsync"/> to the coordinator.</summary>
        internal const string ProtocolContextKey = "TransferTools.Protocol";

        /// <summary>
        /// Context value carrying the batch handle from <see cref="BeginBatch"/>: transfers started with it are journaled
        /// together (see <see cref="TransferBatch"/>).
        /// </summary>
        public const string BatchContextKey = "TransferTools.TransferBatch";

        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
        private static readonly TimeSpan RecordInterval = TimeSpan.FromSeconds(2);

        private readonly TransferSession _session;
        private readonly FileSystemProtocolPlugin _local = new FileSystemProtocolPlugin();
        private readonly ConcurrentDictionary<string, RunningTransfer> _running = new ConcurrentDictionary<string, RunningTransfer>(StringComparer.Ordinal);
        private readonly CancellationTokenSource _closing = new CancellationTokenSource();
        private readonly TransferJournal _journal;
        private readonly object _controlGate = new object();
        private Timer? _controlTimer;

        /// <summary>Creates the manager for a session; the journal lives under the session's home.</summary>
        public TransferManager(TransferSession session)
        {
            _session = session;
            _journal = new TransferJournal(session.HomeDirectory);
        }

        /// <summary>The first retry's delay before jitter; doubles per retry up to <see cref="MaxRetryDelay"/>.</summary>
        public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>The longest wait between retries.</summary>
        public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// Deliver single-piece local transfers through an unnamed file (Linux <c>O_TMPFILE</c>, see
        /// <see cref="UnnamedFile"/>) where the system supports it; false always uses a named temporary file.
        /// </summary>
        internal bool UseUnnamedFiles { get; set; } = true;

        /// <summary>How many transfers this manager delivered through an unnamed file (tests).</summary>
        internal int UnnamedDeliveries => Volatile.Read(ref _unnamedDeliveries);

        private int _unnamedDeliveries;

        /// <summary>Where the journal lives.</summary>
        public string JournalDirectory => _journal.Directory;

        internal TransferJournal Journal => _journal;

        // ---------------------------------------------------------------- cmdlet API

        /// <summary>
        /// Starts a batch: put the handle in the context (<see cref="BatchContextKey"/>) of the sends and receives one
        /// call starts together, and dispose it once they are started. Their records share one append-only journal file
        /// and one owner lock, and local sends share one manifest file per folder, so that many small files cost no more
        /// file creations than the files themselves. Members left unfinished resume one by one like any transfer.
        /// </summary>
        public IDisposable BeginBatch() => new TransferBatch(_journal);

        private static TransferBatch? BatchOf(OperationContext context) => context.GetValue(BatchContextKey) as TransferBatch;

        /// <summary>Starts sending a local file: authorizes, picks the protocol by the destination's scheme and hands over to it.</summary>
        /// <returns>The transfer, running in the background; <see cref="WaitAsync"/> waits for it.</returns>
        public async Task<Transfer> StartSendAsync(OperationContext context, SendRequest request)
        {
            ThrowIfClosed();
            var source = RequireSourceFile(request.File);
            var file = source.Path;
            ValidateOptions(request.Options);
            var destination = TransferLocation.Parse(request.Destination);
            var batch = BatchOf(context);
            await DemandTransferAsync(context, "transfer/" + request.Destination, Abstractions.Action.Write, batch).ConfigureAwait(false);
            var (protocol, plugin) = await ResolveProtocolAsync(context, destination, batch).ConfigureAwait(false);
            var id = batch?.NewMemberId() ?? NewId();
            var call = context.WithTransfer(id).WithValue(ProtocolContextKey, protocol).WithValue(CheckedSourceContextKey, source);
            var normalized = new SendRequest { File = file, Destination = request.Destination, Options = request.Options };
            var transfer = await plugin.SendAsync(call, normalized).ConfigureAwait(false);
            return transfer.Id == id || _journal.TryLoad(transfer.Id) != null
                ? transfer
                : RecordForeign(call, id, protocol, TransferDirection.Send, file, destination, request.Options, transfer);
        }

        /// <summary>Starts receiving: a sent transfer by id (its manifest is read at the source) or a plain remote file.</summary>
        public async Task<Transfer> StartReceiveAsync(OperationContext context, ReceiveRequest request)
        {
            ThrowIfClosed();
            ValidateOptions(request.Options);
            if (string.IsNullOrWhiteSpace(request.OutputDir))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "-OutputDir is required.", errorId: "OutputDirMissing");
            }

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
                        source = TransferLocation.Display(TransferLocation.Parent(new Uri(sent.FinalUri)));
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

            var sourceUri = TransferLocation.Parse(source!);
            var batch = BatchOf(context);
            await DemandTransferAsync(context, "transfer/" + source, Abstractions.Action.Read, batch).ConfigureAwait(false);
            var (protocol, plugin) = await ResolveProtocolAsync(context, sourceUri, batch).ConfigureAwait(false);
            var id = batch?.NewMemberId() ?? NewId();
            var call = context.WithTransfer(id).WithValue(ProtocolContextKey, protocol);
            var normalized = new ReceiveRequest
            {
                TransferId = transferId?.ToLowerInvariant(),
                Source = source,
                OutputDir = Path.GetFullPath(request.OutputDir),
                Options = request.Options,
            };
            var transfer = await plugin.ReceiveAsync(call, normalized).ConfigureAwait(false);
            return transfer.Id == id || _journal.TryLoad(transfer.Id) != null
                ? transfer
                : RecordForeign(call, id, protocol, TransferDirection.Receive, source!, FileSystemProtocolPlugin.ToUri(normalized.OutputDir), request.Options, transfer);
        }

        /// <summary>
        /// Lists the remote folder at <paramref name="folder"/> for <c>Receive-Transfer -Recurse</c>, authorized as a receive
        /// from it and retried as a transfer's requests are; null when a file is there (it is received as one).
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.NotFound"/> when nothing is there;
        /// <see cref="ErrorCode.NotSupported"/> (<c>FolderListingNotSupported</c>) for a folder its protocol cannot list.</exception>
        public async Task<IReadOnlyList<RemoteFolderEntry>?> ListFolderAsync(OperationContext context, string folder, TransferOptions options)
        {
            ThrowIfClosed();
            ValidateOptions(options);
            var uri = TransferLocation.Parse(folder);
            var batch = BatchOf(context);
            await DemandTransferAsync(context, "transfer/" + folder, Abstractions.Action.Read, batch).ConfigureAwait(false);
            var (protocol, plugin) = await ResolveProtocolAsync(context, uri, batch).ConfigureAwait(false);
            var ct = context.CancellationToken;
            Task<T> Retried<T>(Func<Task<T>> operation) =>
                WithRetriesAsync(context, "", options.RetryCount, operation, () => !ct.IsCancellationRequested, onRetry: null, ct);

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

        /// <summary>Resumes a failed or suspended transfer (in this process or one started by a process that died).</summary>
        /// <param name="overrides">Options that replace the journaled ones (<see cref="ResumeOverrides"/>); the credential is never journaled, so a resume needs it again.</param>
        public async Task<Transfer> StartResumeAsync(OperationContext context, string id, ResumeOverrides? overrides = null)
        {
            ThrowIfClosed();
            id = _journal.ResolveId(id);
            if (_running.ContainsKey(id))
            {
                throw Running(id, "in this session");
            }

            var peek = _journal.TryLoad(id) ?? throw NotFound(id);
            await DemandAsync(context, peek).ConfigureAwait(false);
            var ownerLock = _journal.TryLock(id) ?? throw Running(id, $"in process {peek.OwnerProcessId} on {peek.OwnerHost}");
            try
            {
                // Read again under the lock: the owner may have finished between the peek and the lock.
                var record = _journal.TryLoad(id) ?? throw NotFound(id);
                if (!record.Streaming)
                {
                    ownerLock.Dispose();
                    var foreign = await _session.Plugins.GetAsync<IProtocolPlugin>(context, record.Protocol).ConfigureAwait(false);
                    await foreign.ResumeAsync(context.WithTransfer(id), record.ForeignId ?? id).ConfigureAwait(false);
                    return await RefreshForeignAsync(context, record).ConfigureAwait(false);
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
                    throw SourceChanged(record, "since the transfer began");
                }

                overrides?.ApplyTo(record);
                record.Resumes++;
                // A resumed batch member leaves its batch: from now on it has a record file (and lock) of its own.
                return Launch(context.WithValue(BatchContextKey, null), record, ownerLock, overrides?.Credential, remote: null, batch: null);
            }
            catch
            {
                ownerLock.Dispose();
                throw;
            }
        }

        /// <summary>Waits for a transfer to finish.</summary>
        /// <param name="timeout">Give up waiting (not the transfer) after this long; null waits for ever.</param>
        /// <param name="suspendOnCancel">When the context is cancelled (Ctrl+C), suspend the transfer (resumable) before returning.</param>
        /// <returns>The transfer and whether it reached a final status.</returns>
        /// <exception cref="OperationCanceledException">The context was cancelled.</exception>
        public async Task<(Transfer Transfer, bool Finished)> WaitAsync(OperationContext context, string id, TimeSpan? timeout = null, bool suspendOnCancel = false)
        {
            // A transfer this session runs is found by its full id without the journal (a stat and a record copy per call).
            if (!_running.TryGetValue(id, out var run))
            {
                id = _journal.ResolveId(id);
                _running.TryGetValue(id, out run);
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
                var transfer = Describe(_journal.TryLoad(id) ?? throw NotFound(id));
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
            var hint = transfer.Status == TransferStatus.Cancelled || code == ErrorCode.SourceChanged || code == ErrorCode.ChecksumMismatch
                       || message.IndexOf("Resume-Transfer", StringComparison.Ordinal) >= 0
                ? ""
                : code == ErrorCode.Conflict ? $" Resume-Transfer {Short(transfer.Id)} -Force replaces it."
                : $" Resume-Transfer {Short(transfer.Id)} continues it.";
            return new PluginException(code, $"Transfer {Short(transfer.Id)} ({transfer.Name}): {message}{hint}", null, errorId,
                record?.ErrorTarget ?? (record?.Direction == TransferDirection.Receive ? transfer.Destination : transfer.Source));
        }

        /// <summary>Pauses a running transfer, keeping its partial data (Resume-Transfer continues it).</summary>
        public async Task<Transfer> SuspendAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            var record = _journal.TryLoad(id) ?? throw NotFound(id);
            await DemandAsync(context, record).ConfigureAwait(false);
            if (_running.TryGetValue(id, out var run))
            {
                run.RequestStop(StopReason.Suspend);
                await run.Completion.ConfigureAwait(false);
                return Describe(_journal.TryLoad(id) ?? record);
            }

            if (!record.Streaming)
            {
                throw new PluginException(ErrorCode.NotSupported, $"The protocol '{record.Protocol}' cannot suspend transfers.", errorId: "SuspendNotSupported", target: id);
            }

            if (record.Status.IsFinal())
            {
                if (record.Status == TransferStatus.Suspended || record.Status == TransferStatus.Failed)
                {
                    return Describe(record);
                }

                throw new PluginException(ErrorCode.InvalidState, $"Transfer {Short(id)} is {record.Status.ToSeedValue()}; only an active transfer can be suspended.",
                    errorId: "TransferNotActive", target: id);
            }

            return await ControlOtherAsync(context, record, "suspend", TransferStatus.Suspended).ConfigureAwait(false);
        }

        /// <summary>Cancels a transfer (running or resumable): stops it, removes its temporary data, leaves status cancelled.</summary>
        public async Task<Transfer> StopAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            var record = _journal.TryLoad(id) ?? throw NotFound(id);
            await DemandAsync(context, record).ConfigureAwait(false);
            if (_running.TryGetValue(id, out var run))
            {
                run.RequestStop(StopReason.Cancel);
                await run.Completion.ConfigureAwait(false);
                return Describe(_journal.TryLoad(id) ?? record);
            }

            if (!record.Streaming)
            {
                var foreign = await _session.Plugins.GetAsync<IProtocolPlugin>(context, record.Protocol).ConfigureAwait(false);
                await foreign.CancelAsync(context.WithTransfer(id), record.ForeignId ?? id).ConfigureAwait(false);
                return await RefreshForeignAsync(context, record).ConfigureAwait(false);
            }

            switch (record.Status)
            {
                case TransferStatus.Cancelled:
                    return Describe(record);
                case TransferStatus.Completed:
                    throw new PluginException(ErrorCode.InvalidState, $"Transfer {Short(id)} is completed; there is nothing to stop.", errorId: "TransferCompleted", target: id);
            }

            return await ControlOtherAsync(context, record, "cancel", TransferStatus.Cancelled).ConfigureAwait(false);
        }

        /// <summary>One transfer by id (or unique prefix), as the journal and this session know it.</summary>
        public async Task<Transfer> GetTransferAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            if (_running.TryGetValue(id, out var run))
            {
                return run.Snapshot();
            }

            var record = _journal.TryLoad(id) ?? throw NotFound(id);
            if (!record.Streaming && !record.Status.IsFinal())
            {
                return await RefreshForeignAsync(context, record).ConfigureAwait(false);
            }

            return Describe(record);
        }

        /// <summary>Every transfer in the journal (all processes), newest first.</summary>
        /// <param name="statuses">Only these statuses (as shown); null or empty for all.</param>
        /// <param name="first">At most this many; 0 for all.</param>
        public async Task<IReadOnlyList<Transfer>> ListAsync(OperationContext context, IReadOnlyCollection<TransferStatus>? statuses = null, int first = 0)
        {
            var result = new List<Transfer>();
            foreach (var record in _journal.LoadAll().OrderByDescending(r => r.StartedAt).ThenByDescending(r => r.Id, StringComparer.Ordinal))
            {
                var transfer = _running.TryGetValue(record.Id, out var run) ? run.Snapshot() : Describe(record);
                if (statuses != null && statuses.Count > 0 && !statuses.Contains(transfer.Status))
                {
                    continue;
                }

                if (!await _session.Auth.TestAsync(context, Resource(record), Abstractions.Action.Read).ConfigureAwait(false))
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
        public async Task ShutdownAsync()
        {
            _closing.Cancel();
            var runs = _running.Values.ToList();
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
        }

        // ---------------------------------------------------------------- ITransferCoordinator

        /// <inheritdoc/>
        public Task<Transfer> SendAsync(OperationContext context, SendRequest request, IProtocolPlugin plugin, ITransferEndpoint destination)
        {
            ThrowIfClosed();
            // StartSendAsync checked this very file a moment ago: its answer (and size) is carried, not asked again.
            var source = context.GetValue(CheckedSourceContextKey) is CheckedSource known && string.Equals(known.Path, request.File, StringComparison.Ordinal)
                ? known
                : RequireSourceFile(request.File);
            var file = source.Path;
            ValidateOptions(request.Options);
            var destinationUri = TransferLocation.Parse(request.Destination);
            var id = ClaimId(context);
            var record = NewRecord(context, id, plugin, TransferDirection.Send);
            record.Source = file;
            record.SourceUri = FileSystemProtocolPlugin.ToUri(file).ToString();
            record.Name = Path.GetFileName(file);
            record.RequestedDestination = request.Destination;
            record.DestinationUri = destinationUri.ToString();
            record.Destination = TransferLocation.Display(destinationUri);
            record.TotalBytes = source.Length;
            record.ApplyOptions(request.Options);
            return Task.FromResult(LaunchNew(context, record, request.Options.Credential, destination));
        }

        /// <inheritdoc/>
        public async Task<Transfer> ReceiveAsync(OperationContext context, ReceiveRequest request, IProtocolPlugin plugin, ITransferEndpoint source)
        {
            ThrowIfClosed();
            ValidateOptions(request.Options);
            var outputDir = Path.GetFullPath(request.OutputDir);
            var id = ClaimId(context);
            var record = NewRecord(context, id, plugin, TransferDirection.Receive);
            record.ApplyOptions(request.Options);
            var options = request.Options;
            Uri sourceUri;
            if (!string.IsNullOrEmpty(request.TransferId))
            {
                var folder = TransferLocation.Parse(request.Source ?? throw new PluginException(ErrorCode.InvalidArgument,
                    "Receiving a transfer by id needs -Source (the folder it was sent to).", errorId: "SourceMissing"));
                if (!TransferLocation.EndsWithSlash(folder))
                {
                    var info = await source.GetInfoAsync(context, folder, options).ConfigureAwait(false);
                    folder = info.Exists && !info.IsDirectory ? TransferLocation.Parent(folder) : new Uri(folder.GetLeftPart(UriPartial.Path) + "/" + folder.Query);
                }

                var manifest = await TransferManifest.ReadAsync(context, source, folder, request.TransferId!.ToLowerInvariant(), options).ConfigureAwait(false);
                sourceUri = TransferLocation.Combine(folder, manifest.Name);
                record.ReceivedTransferId = manifest.Id;
                record.ExpectedSha256 = manifest.Sha256;
                record.TotalBytes = manifest.Size;
                record.Name = manifest.Name;
            }
            else
            {
                sourceUri = TransferLocation.Parse(request.Source ?? "");
                record.Name = TransferLocation.FileName(sourceUri);
                if (source is IFileNameSource names
                    && await names.GetFileNameAsync(context, sourceUri, options).ConfigureAwait(false) is { } suggested
                    && TransferLocation.IsPlainFileName(suggested))
                {
                    record.Name = suggested;
                }

                if (!TransferLocation.IsPlainFileName(record.Name))
                {
                    // A URL without a file name of its own (https://example.com/download/) can still be a file that its
                    // server names (Content-Disposition): ask now, since the destination's name is needed before the start.
                    // (Before the transfer exists, with its retries all the same.)
                    var info = await WithRetriesAsync(context, "", options.RetryCount, () => source.GetInfoAsync(context, sourceUri, options),
                        () => !context.CancellationToken.IsCancellationRequested, onRetry: null, context.CancellationToken).ConfigureAwait(false);
                    var shown = TransferLocation.DisplayWithoutQuery(sourceUri);
                    if (!info.Exists)
                    {
                        throw new PluginException(ErrorCode.NotFound, $"The source '{shown}' does not exist.", errorId: "SourceNotFound", target: shown);
                    }

                    if (info.IsDirectory)
                    {
                        throw new PluginException(ErrorCode.InvalidArgument, $"The source '{shown}' is a folder; Receive-Transfer -Source takes the location of one file, or of a folder with -Recurse.",
                            errorId: "SourceIsFolder", target: shown);
                    }

                    if (!IsUsableSuggestedName(info.FileName))
                    {
                        throw new PluginException(ErrorCode.InvalidArgument, $"'{shown}' does not end in a file name, and its server does not name the file either.",
                            errorId: "SourceNameMissing", target: shown);
                    }

                    record.Name = info.FileName!;
                }
            }

            try
            {
                Directory.CreateDirectory(outputDir);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw FileSystemProtocolPlugin.Map(e, outputDir, "CreateDirectory");
            }

            record.SourceUri = sourceUri.ToString();
            record.Source = TransferLocation.Display(sourceUri);
            var folderUri = new Uri(FileSystemProtocolPlugin.ToUri(outputDir) + "/");
            record.RequestedDestination = outputDir;
            record.DestinationUri = folderUri.ToString();
            record.Destination = Path.Combine(outputDir, record.Name);
            return LaunchNew(context, record, options.Credential, source);
        }

        /// <inheritdoc/>
        public Task<Transfer> GetAsync(OperationContext context, string id) => GetTransferAsync(context, id);

        /// <inheritdoc/>
        public Task CancelAsync(OperationContext context, string id) => StopAsync(context, id);

        /// <inheritdoc/>
        public Task ResumeAsync(OperationContext context, string id) => StartResumeAsync(context, id);

        // ---------------------------------------------------------------- running a transfer

        private Transfer LaunchNew(OperationContext context, TransferRecord record, System.Net.NetworkCredential? credential, ITransferEndpoint remote)
        {
            var batch = BatchOf(context);
            if (batch != null && TransferBatch.BatchIdOf(record.Id) == batch.Id)
            {
                // The batch lock (taken with the batch's first journal line) owns every member.
                return Launch(context, record, NoLock.Instance, credential, remote, batch);
            }

            var ownerLock = _journal.TryLock(record.Id) ?? throw Running(record.Id, "elsewhere");
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

        private Transfer Launch(OperationContext context, TransferRecord record, IDisposable ownerLock, System.Net.NetworkCredential? credential, ITransferEndpoint? remote,
            TransferBatch? batch)
        {
            record.OwnerProcessId = CurrentProcessId;
            record.OwnerHost = batch?.MachineName ?? Environment.MachineName;
            record.Status = TransferStatus.Pending;
            record.CompletedAt = null;
            if (batch != null)
            {
                // A new member: no control request can name it yet, and its first journal line follows in a moment with
                // its destination resolved (a separate "pending" line would only be overwritten).
                batch.AddMember();
                batch.Track(record);
            }
            else
            {
                _journal.ClearControl(record.Id);
                _journal.Save(record);
            }

            var run = new RunningTransfer(record, ownerLock, new NetworkCredentialHolder(credential), CancellationTokenSource.CreateLinkedTokenSource(_closing.Token))
            {
                Remote = remote,
                Batch = batch,
            };
            var runContext = context.WithCancellation(run.Cts.Token);
            // (A new transfer's context names it already: a copy of the values only to set the same id is skipped.)
            run.Context = runContext.TransferId == record.Id ? runContext : runContext.WithTransfer(record.Id);
            _running[record.Id] = run;
            EnsureControlWatch();
            var snapshot = run.Snapshot();
            // PreferFairness: through the thread pool's global queue, not the starting thread's local one. A small file's
            // transfer runs start to end without yielding, and a chain of them queued locally would starve the work
            // waiting in the global queue (monitor deliveries, which then drop events).
            run.Completion = Task.Factory.StartNew(() => ExecuteAsync(run), CancellationToken.None,
                TaskCreationOptions.PreferFairness | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();
            return snapshot;
        }

        private async Task ExecuteAsync(RunningTransfer run)
        {
            var context = run.Context;
            // Events go out even after the transfer's own token is cancelled (suspend, stop, shutdown).
            var events = context.WithCancellation(CancellationToken.None);
            var id = run.Record.Id;
            try
            {
                run.Update(r =>
                {
                    r.Status = TransferStatus.Active;
                    r.Error = null;
                    r.ErrorCode = null;
                    r.ErrorId = null;
                    r.ErrorTarget = null;
                });
                if (run.Record.FinalUri != null)
                {
                    // A fresh transfer (no destination resolved yet) is saved durably a few file-system calls from
                    // here, once its destination is known, or as failed: a save now would only add a journal rewrite
                    // (a temp file and a rename) to every transfer, which is what many small files pay for.
                    Save(run, durable: false);
                }

                Notify(() => _session.Monitors.TransferStarted(events, run.Snapshot()));
                var remote = run.Remote ?? await ResolveEndpointAsync(context, run.Record.Protocol).ConfigureAwait(false);
                var (source, destination) = run.Record.Direction == TransferDirection.Send
                    ? ((ITransferEndpoint)_local, remote)
                    : (remote, (ITransferEndpoint)_local);

                await WithRetriesAsync(context, $"Transfer {Short(id)}: ", run.Record.RetryCount,
                    async () =>
                    {
                        await AttemptAsync(run, source, destination).ConfigureAwait(false);
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
                    r.Status = TransferStatus.Completed;
                    r.CompletedAt = DateTimeOffset.UtcNow;
                    r.BytesTransferred = r.Skipped ? 0 : Math.Max(0, r.TotalBytes);
                    r.Error = null;
                    r.ErrorCode = null;
                    r.ErrorId = null;
                    r.BytesPerSecond = run.AverageRate();
                });
                Save(run, durable: true);
                if (run.NeverLogged)
                {
                    _journal.ClearControl(id);
                }
                else
                {
                    _journal.RemoveWorkingFiles(id);
                }

                Notify(() => _session.Monitors.TransferCompleted(events, run.Snapshot()));
            }
            catch (Exception e) when (run.Stop == StopReason.Cancel)
            {
                await RemoveTemporaryAsync(events, run.Record, run.Remote).ConfigureAwait(false);
                _journal.RemoveWorkingFiles(id);
                run.Update(r =>
                {
                    r.Status = TransferStatus.Cancelled;
                    r.CompletedAt = DateTimeOffset.UtcNow;
                    r.Error = "Stopped by Stop-Transfer.";
                    r.ErrorCode = ErrorCode.Cancelled;
                    r.ErrorId = "TransferCancelled";
                });
                Save(run, durable: true);
                Notify(() => _session.Monitors.TransferFailed(events, run.Snapshot(), ToPluginException(e) is { Code: ErrorCode.Cancelled } pe ? pe
                    : new PluginException(ErrorCode.Cancelled, "Stopped by Stop-Transfer.", e, "TransferCancelled", id)));
            }
            catch (Exception e) when (run.Stop != StopReason.None && IsCancellation(e))
            {
                var why = run.Stop == StopReason.Shutdown ? "The session closed." : "Suspended.";
                run.Update(r =>
                {
                    r.Status = TransferStatus.Suspended;
                    r.Error = why + $" Resume-Transfer {Short(id)} continues it.";
                    r.ErrorCode = ErrorCode.Cancelled;
                    r.ErrorId = "TransferSuspended";
                    r.BytesPerSecond = run.AverageRate();
                });
                Save(run, durable: true);
                Notify(() => _session.Monitors.TransferFailed(events, run.Snapshot(), new PluginException(ErrorCode.Cancelled, why, e, "TransferSuspended", id)));
            }
            catch (Exception e)
            {
                var error = ToPluginException(e);
                run.Update(r =>
                {
                    r.Status = TransferStatus.Failed;
                    r.CompletedAt = DateTimeOffset.UtcNow;
                    r.Error = error.Message;
                    r.ErrorCode = error.Code;
                    r.ErrorId = error.ErrorId;
                    // An error about the temporary file is reported against the destination the user named; any other
                    // target (the source above all) stays as it is.
                    r.ErrorTarget = error.Target is string target && r.TemporaryUri != null && target == TransferLocation.Display(new Uri(r.TemporaryUri))
                        ? r.Destination
                        : error.Target?.ToString();
                    r.BytesPerSecond = run.AverageRate();
                });
                try
                {
                    Save(run, durable: true);
                }
                catch (Exception saveError) when (saveError is IOException || saveError is UnauthorizedAccessException)
                {
                    context.Logger.Log(LogLevel.Warning, $"Transfer {Short(id)}: the journal could not be written: {saveError.Message}");
                }

                Notify(() => _session.Monitors.TransferFailed(events, run.Snapshot(), error));
            }
            finally
            {
                var status = run.Record.Status;
                if (run.Batch is null && (status == TransferStatus.Completed || status == TransferStatus.Cancelled))
                {
                    // Nobody may run it again, so nobody needs its lock file (deleted while still held).
                    _journal.RemoveLockFile(id);
                }

                run.Lock.Dispose();
                _running.TryRemove(id, out _);
                run.Batch?.Release();
            }
        }

        private async Task AttemptAsync(RunningTransfer run, ITransferEndpoint source, ITransferEndpoint destination)
        {
            var record = run.Record;
            var id = record.Id;
            var options = record.ToOptions(run.Credential);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(run.Cts.Token);
            var token = attempt.Token;
            var context = run.Context.WithCancellation(token);
            using var stall = new StallWatch(options.StallTimeout, attempt);
            UnnamedFile? unnamed = null;
            try
            {
                // 1. The source, and whether it changed since the transfer began.
                var sourceUri = new Uri(record.SourceUri);
                var info = await source.GetInfoAsync(context, sourceUri, options).ConfigureAwait(false);
                if (!info.Exists)
                {
                    throw new PluginException(ErrorCode.NotFound, $"The source '{SourceInMessages(record)}' does not exist.", errorId: "SourceNotFound", target: SourceInMessages(record));
                }

                if (info.IsDirectory)
                {
                    var hint = record.Direction == TransferDirection.Receive ? "add -Recurse to receive it with everything in it" : "send the files in it";
                    throw new PluginException(ErrorCode.InvalidArgument, $"The source '{SourceInMessages(record)}' is a folder; {hint}.", errorId: "SourceIsFolder", target: SourceInMessages(record));
                }

                if (record.SourceLength >= 0 || record.SourceSizeUnknown)
                {
                    if (HasChanged(record, info))
                    {
                        throw SourceChanged(record, "since the transfer began");
                    }
                }
                else
                {
                    if (record.ExpectedSha256 != null && record.TotalBytes >= 0 && info.Length >= 0 && info.Length != record.TotalBytes)
                    {
                        throw new PluginException(ErrorCode.SourceChanged,
                            $"'{SourceInMessages(record)}' holds {info.Length} bytes but its manifest says {record.TotalBytes}; it is not the file that was sent.",
                            errorId: "SourceChanged", target: SourceInMessages(record));
                    }

                    // A plain receive is named as the source asks (a download's Content-Disposition), before its
                    // destination is chosen; a receive by id keeps the sender's name.
                    var renamed = record.Direction == TransferDirection.Receive && record.ReceivedTransferId is null && record.FinalUri is null
                        && IsUsableSuggestedName(info.FileName) && info.FileName != record.Name;
                    if (renamed)
                    {
                        context.Logger.Log(LogLevel.Verbose, $"Transfer {Short(id)}: '{SourceInMessages(record)}' is named '{info.FileName}' by its server.");
                    }

                    run.Update(r =>
                    {
                        if (renamed)
                        {
                            r.Name = info.FileName!;
                            r.Destination = Path.Combine(r.RequestedDestination, r.Name);
                        }

                        r.SourceLength = info.Length;
                        r.SourceSizeUnknown = info.Length < 0;
                        r.SourceModified = info.LastModified;
                        r.SourceVersion = info.Version;
                        if (info.Length >= 0 || r.ExpectedSha256 is null)
                        {
                            // (A manifest's size stands when the server does not say.)
                            r.TotalBytes = info.Length;
                        }
                    });
                }

                // A source that does not say its size is read to its end, each attempt anew: the size an earlier attempt
                // saw is no promise about this one (a manifest's size is, and is held to).
                var sizeKnown = !record.SourceSizeUnknown || record.ExpectedSha256 != null;
                var total = sizeKnown ? record.TotalBytes : -1L;

                // 2. Where it goes.
                var savedJustNow = false;
                if (record.FinalUri is null)
                {
                    await ResolveDestinationAsync(run, destination, context, options).ConfigureAwait(false);
                    Save(run, durable: true);
                    savedJustNow = true;
                    if (record.Skipped)
                    {
                        return;
                    }
                }
                else
                {
                    await CheckConflictAgainAsync(run, destination, context, options).ConfigureAwait(false);
                    if (record.Skipped)
                    {
                        return;
                    }
                }

                var final = new Uri(record.FinalUri!);
                var temp = new Uri(record.TemporaryUri!);

                // 3. What a partial from an earlier attempt or process still holds, checked chunk by chunk.
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                // A destination resolved just now had no temporary yet, so no chunk of it can be logged.
                var chunks = savedJustNow ? new List<ulong>(0) : _journal.ReadChunks(id);
                var keep = 0;
                if (chunks.Count > 0 && !sizeKnown && record.SourceVersion is null && record.SourceModified is null)
                {
                    // Neither a size nor a version (ETag, Last-Modified): nothing could show that the rest of it belongs
                    // to the same content as the part already here, so it is read again from the start.
                    context.Logger.Log(LogLevel.Warning,
                        $"Transfer {Short(id)}: '{SourceInMessages(record)}' gives neither its size nor a version, so the {chunks.Count} chunk(s) already here cannot be continued safely; reading it again from the start.");
                    chunks = new List<ulong>(0);
                }

                if (chunks.Count > 0)
                {
                    var partialInfo = await destination.GetInfoAsync(context, temp, options).ConfigureAwait(false);
                    if (partialInfo.Exists && partialInfo.Length > 0)
                    {
                        using var partial = await destination.OpenReadAsync(context, temp, 0, null, options).ConfigureAwait(false);
                        keep = await ChunkPipeline.VerifyPartialAsync(partial, partialInfo.Length, chunks, record.ChunkSize, total, sha, stall.Touch, token)
                            .ConfigureAwait(false);
                    }

                    if (keep < chunks.Count)
                    {
                        context.Logger.Log(LogLevel.Warning,
                            $"Transfer {Short(id)}: the partial data holds {keep} intact chunk(s) of {chunks.Count} recorded; sending again from chunk {keep}.");
                    }
                }

                var offset = sizeKnown ? Math.Min(total, (long)keep * record.ChunkSize) : (long)keep * record.ChunkSize;

                // A transfer that is one chunk from start to end needs no chunk log: its only entry would be written
                // right before verification and delivery, and a crash after it costs re-sending that one chunk, which
                // is all the log could save. Small files then skip a file creation and deletion each.
                var singleChunk = chunks.Count == 0 && offset == 0 && sizeKnown && total <= record.ChunkSize;
                if (singleChunk && savedJustNow)
                {
                    // Fresh and in one chunk: no attempt of this run ever has a chunk log to remove at the end.
                    run.NeverLogged = true;
                }

                using (var log = singleChunk ? null : _journal.OpenChunkLog(id, chunks, keep))
                {
                    run.Update(r =>
                    {
                        r.BytesTransferred = offset;
                        if (offset > 0)
                        {
                            r.ResumedFrom = offset;
                        }
                    });
                    run.BeginMeasuring(offset);
                    if (offset > 0)
                    {
                        context.Logger.Log(LogLevel.Verbose, $"Transfer {Short(id)}: keeping {offset} verified bytes; sending from there.");
                    }

                    if (!(savedJustNow && offset == 0))
                    {
                        // (A fresh transfer's record was saved a moment ago and nothing in it changed since.)
                        Save(run, durable: false);
                    }

                    // 4. The bytes: read, hash and write overlap (a small file in one piece: see CopyWholeAsync).
                    if (singleChunk && record.MaxBytesPerSecond == 0 && total <= ChunkPipeline.WholeFileMaxSize)
                    {
                        unnamed = await CopyWholeAsync(run, source, destination, context, options, sourceUri, temp, final, total, sha, stall).ConfigureAwait(false);
                    }
                    else
                    using (var reader = await source.OpenReadAsync(context, sourceUri, offset, record.SourceVersion, options).ConfigureAwait(false))
                    {
                        var writer = await destination.OpenWriteAsync(context, temp, offset, options).ConfigureAwait(false);
                        try
                        {
                            if (sizeKnown && destination is FileSystemProtocolPlugin)
                            {
                                // Before the first byte: a disk without room for the rest fails now, not at 90 %.
                                FileSystemProtocolPlugin.PrepareWrite(writer, offset, total);
                            }

                            var pipeline = new ChunkPipeline(record.ChunkSize, record.MaxBytesPerSecond)
                            {
                                Activity = stall.Touch,
                                ChunkCommitted = (index, hash, end) =>
                                {
                                    log?.Append(hash);
                                    run.Update(r => r.BytesTransferred = end);
                                },
                                Progress = end => ReportProgress(run, end),
                            };
                            var readTo = await pipeline.RunAsync(reader, writer, offset, total, sha, token).ConfigureAwait(false);
                            await writer.FlushAsync(token).ConfigureAwait(false);
                            if (!sizeKnown)
                            {
                                total = readTo;
                                run.Update(r => r.TotalBytes = readTo);
                            }
                        }
                        finally
                        {
                            writer.Dispose();
                        }
                    }
                }

                // A send to a remote folder writes its manifest under a temporary name while the file is verified and
                // delivered: over a WAN those round trips overlap (a small file over SFTP: 13 in a row become 9).
                string? digest = null;
                ManifestAhead? manifestAhead = null;
                if (record.Direction == TransferDirection.Send && record.ExpectedSha256 is null && !(destination is FileSystemProtocolPlugin))
                {
                    digest = ToHex(sha.GetHashAndReset());
                    manifestAhead = StartManifest(run, destination, context, options, final, digest);
                }

                try
                {
                    // 5. Verify before delivery: the size at the destination, the source unchanged, the SHA-256 expected.
                    var written = unnamed != null
                        ? new RemoteFileInfo { Exists = true, Length = unnamed.Length() }
                        : await destination.GetInfoAsync(context, temp, options).ConfigureAwait(false);
                    if (!written.Exists)
                    {
                        throw new PluginException(ErrorCode.NotFound,
                            $"The temporary file of '{record.Name}' vanished from the destination during the transfer (was its folder removed?). Nothing was delivered.",
                            errorId: "DestinationVanished", target: record.Destination);
                    }

                    if (written.Length >= 0 && written.Length != total)
                    {
                        throw new PluginException(ErrorCode.ChecksumMismatch,
                            $"The destination holds {(written.Exists ? written.Length : 0)} bytes of '{record.Name}' after the transfer; {total} were sent.",
                            errorId: "SizeMismatch", target: record.Destination);
                    }

                    var after = await source.GetInfoAsync(context, sourceUri, options).ConfigureAwait(false);
                    if (!after.Exists || HasChanged(record, after))
                    {
                        throw SourceChanged(record, "during the transfer");
                    }

                    digest ??= ToHex(sha.GetHashAndReset());
                    if (record.ExpectedSha256 != null && !string.Equals(digest, record.ExpectedSha256, StringComparison.OrdinalIgnoreCase))
                    {
                        // The partial is worthless: drop it so a resume fetches everything again.
                        _journal.RemoveWorkingFiles(id);
                        if (unnamed is null)
                        {
                            await TryDeleteAsync(destination, context, temp, options).ConfigureAwait(false);
                        }

                        throw new PluginException(ErrorCode.ChecksumMismatch,
                            $"The SHA-256 of '{SourceInMessages(record)}' is {digest}, but the manifest of transfer {Short(record.ReceivedTransferId ?? "")} says {record.ExpectedSha256}. Nothing was delivered.",
                            errorId: "ChecksumMismatch", target: SourceInMessages(record));
                    }

                    run.Update(r => r.Sha256 = digest);

                    // 6. Deliver atomically, then leave the manifest beside it.
                    if (unnamed != null)
                    {
                        await PublishUnnamedAsync(unnamed, context, temp, final, record.Conflict == ConflictPolicy.Overwrite, options).ConfigureAwait(false);
                        Interlocked.Increment(ref _unnamedDeliveries);
                    }
                    else
                    {
                        await destination.CommitAsync(context, temp, final, record.Conflict == ConflictPolicy.Overwrite, options).ConfigureAwait(false);
                    }
                }
                catch when (manifestAhead != null)
                {
                    // Not delivered: the manifest must not appear.
                    await AbandonManifestAsync(manifestAhead, destination, context, options).ConfigureAwait(false);
                    throw;
                }

                if (record.Direction == TransferDirection.Send)
                {
                    await WriteManifestAsync(run, destination, context, options, final, digest, manifestAhead).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException e) when (stall.Stalled && !run.Cts.IsCancellationRequested)
            {
                throw new PluginException(ErrorCode.Timeout, $"No bytes moved for {options.StallTimeout.TotalSeconds:0.#} s.", e, "TransferStalled", record.Destination);
            }
            finally
            {
                // Unless it was given a name, the unnamed file vanishes with its descriptor.
                unnamed?.Dispose();
            }
        }

        /// <summary>
        /// Names a verified unnamed file: one link when the name is free (an existing file or folder fails it, as
        /// Fail, Skip and Rename want after their check); for Overwrite a link to the temporary name, then the same
        /// atomic replace as any transfer.
        /// </summary>
        private async Task PublishUnnamedAsync(UnnamedFile unnamed, OperationContext context, Uri temp, Uri final, bool overwrite, TransferOptions options)
        {
            var finalPath = FileSystemProtocolPlugin.ToLocalPath(final);
            if (!overwrite)
            {
                if (!unnamed.TryLink(finalPath))
                {
                    throw FileSystemProtocolPlugin.Exists(finalPath);
                }

                return;
            }

            if (unnamed.TryLink(finalPath))
            {
                return;
            }

            var tempPath = FileSystemProtocolPlugin.ToLocalPath(temp);
            if (!unnamed.TryLink(tempPath))
            {
                // A leftover of an earlier attempt under this transfer's own temporary name.
                Hosting.AtomicFile.TryDelete(tempPath);
                if (!unnamed.TryLink(tempPath))
                {
                    throw FileSystemProtocolPlugin.Exists(tempPath);
                }
            }

            try
            {
                await _local.CommitAsync(context, temp, final, overwrite: true, options).ConfigureAwait(false);
            }
            catch
            {
                Hosting.AtomicFile.TryDelete(tempPath);
                throw;
            }
        }

        /// <summary>
        /// Copies a file of at most one segment in one read, one hash and one write: the three-stage pipeline's tasks,
        /// channels and segment pool cost a small file more than its bytes do. Same checks, same result.
        /// </summary>
        /// <returns>The unnamed file holding the bytes (see <see cref="UnnamedFile"/>), or null when they are in the temporary file.</returns>
        private async Task<UnnamedFile?> CopyWholeAsync(RunningTransfer run, ITransferEndpoint source, ITransferEndpoint destination, OperationContext context,
            TransferOptions options, Uri sourceUri, Uri temp, Uri final, long total, IncrementalHash sha, StallWatch stall)
        {
            var token = context.CancellationToken;
            var length = (int)total;
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            var local = source is FileSystemProtocolPlugin && destination is FileSystemProtocolPlugin;
            try
            {
                using (var reader = local
                           ? FileSystemProtocolPlugin.OpenWhole(context, sourceUri)
                           : await source.OpenReadAsync(context, sourceUri, 0, run.Record.SourceVersion, options).ConfigureAwait(false))
                {
                    var filled = 0;
                    while (filled < length)
                    {
                        // A local file is read synchronously: an async read of an ordinary file only moves it to another thread.
                        var n = local
                            ? reader.Read(buffer, filled, length - filled)
                            : await reader.ReadAsync(buffer, filled, length - filled, token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new PluginException(ErrorCode.SourceChanged,
                                $"The source ended after {filled} bytes; {total} were expected. It changed during the transfer.", errorId: "SourceChanged");
                        }

                        filled += n;
                        stall.Touch();
                    }
                }

                token.ThrowIfCancellationRequested();
                sha.AppendData(buffer, 0, length);
                if (local && UseUnnamedFiles)
                {
                    var finalPath = FileSystemProtocolPlugin.ToLocalPath(final);
                    var unnamed = UnnamedFile.TryCreate(Path.GetDirectoryName(finalPath) ?? ".", finalPath);
                    if (unnamed != null)
                    {
                        try
                        {
                            unnamed.Write(buffer, length);
                        }
                        catch
                        {
                            unnamed.Dispose();
                            throw;
                        }

                        stall.Touch();
                        run.Update(r => r.BytesTransferred = total);
                        return unnamed;
                    }
                }

                var writer = await destination.OpenWriteAsync(context, temp, 0, options).ConfigureAwait(false);
                try
                {
                    if (local)
                    {
                        writer.Write(buffer, 0, length);
                        writer.Flush();
                    }
                    else
                    {
                        await writer.WriteAsync(buffer, 0, length, token).ConfigureAwait(false);
                        await writer.FlushAsync(token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    writer.Dispose();
                }

                stall.Touch();
                run.Update(r => r.BytesTransferred = total);
                return null;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private async Task ResolveDestinationAsync(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options)
        {
            var record = run.Record;
            var requested = new Uri(record.DestinationUri);
            Uri final;
            if (TransferLocation.EndsWithSlash(requested) && run.Batch != null && run.Batch.KnownFolders.ContainsKey(record.DestinationUri))
            {
                // Checked (or created) for an earlier member of the batch; a folder removed since fails the write clearly.
                final = TransferLocation.Combine(requested, record.Name);
            }
            else if (TransferLocation.EndsWithSlash(requested))
            {
                var folder = await destination.GetInfoAsync(context, requested, options).ConfigureAwait(false);
                if (!folder.Exists)
                {
                    await destination.CreateDirectoryAsync(context, requested, options).ConfigureAwait(false);
                }
                else if (!folder.IsDirectory)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{TransferLocation.Display(requested)}' is a file, not a folder.",
                        errorId: "DestinationNotAFolder", target: TransferLocation.Display(requested));
                }

                final = TransferLocation.Combine(requested, record.Name);
                run.Batch?.KnownFolders.TryAdd(record.DestinationUri, true);
            }
            else
            {
                var info = await destination.GetInfoAsync(context, requested, options).ConfigureAwait(false);
                final = info.Exists && info.IsDirectory ? TransferLocation.Combine(requested, record.Name) : requested;
            }

            var existing = await destination.GetInfoAsync(context, final, options).ConfigureAwait(false);
            if (existing.Exists)
            {
                final = await ApplyConflictPolicyAsync(run, destination, context, options, final, existing).ConfigureAwait(false);
            }

            run.Update(r =>
            {
                r.FinalUri = final.ToString();
                r.TemporaryUri = TransferLocation.Temporary(final, r.Id).ToString();
                r.Destination = TransferLocation.Display(final);
                r.Name = record.Direction == TransferDirection.Send ? r.Name : TransferLocation.FileName(final);
            });
        }

        private async Task CheckConflictAgainAsync(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options)
        {
            var record = run.Record;
            if (record.Conflict == ConflictPolicy.Overwrite)
            {
                return;
            }

            var final = new Uri(record.FinalUri!);
            var existing = await destination.GetInfoAsync(context, final, options).ConfigureAwait(false);
            if (existing.Exists)
            {
                var chosen = await ApplyConflictPolicyAsync(run, destination, context, options, final, existing).ConfigureAwait(false);
                run.Update(r =>
                {
                    r.FinalUri = chosen.ToString();
                    r.Destination = TransferLocation.Display(chosen);
                });
            }
        }

        private static async Task<Uri> ApplyConflictPolicyAsync(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options,
            Uri final, RemoteFileInfo existing)
        {
            var display = TransferLocation.Display(final);
            if (existing.IsDirectory)
            {
                throw new PluginException(ErrorCode.Conflict, $"'{display}' is a folder; a file cannot be delivered under that name.",
                    errorId: "DestinationIsFolder", target: display);
            }

            switch (run.Record.Conflict)
            {
                case ConflictPolicy.Overwrite:
                    return final;
                case ConflictPolicy.Skip:
                    run.Update(r =>
                    {
                        r.Skipped = true;
                        r.FinalUri = final.ToString();
                        r.Destination = display;
                        r.BytesTransferred = 0;
                    });
                    context.Logger.Log(LogLevel.Verbose, $"'{display}' exists; skipped (-Conflict Skip).");
                    return final;
                case ConflictPolicy.Rename:
                    for (var n = 1; n < 10000; n++)
                    {
                        var candidate = TransferLocation.Renamed(final, n);
                        if (!(await destination.GetInfoAsync(context, candidate, options).ConfigureAwait(false)).Exists)
                        {
                            return candidate;
                        }
                    }

                    throw new PluginException(ErrorCode.Conflict, $"No free name found beside '{display}'.", errorId: "DestinationExists", target: display);
                default:
                    throw new PluginException(ErrorCode.Conflict,
                        $"'{display}' exists already. Use -Force or -Conflict Overwrite to replace it, -Conflict Rename to keep both, or -Conflict Skip.",
                        errorId: "DestinationExists", target: display);
            }
        }

        /// <summary>A send's manifest on its way to the destination: written under a temporary name, committed once the
        /// file is delivered (<see cref="WriteManifestAsync"/>), or removed when it is not (<see cref="AbandonManifestAsync"/>).</summary>
        private sealed class ManifestAhead
        {
            public ManifestAhead(TransferManifest manifest, Uri folder, Task<Uri> temporary)
            {
                Manifest = manifest;
                Folder = folder;
                Temporary = temporary;
            }

            public TransferManifest Manifest { get; }

            /// <summary>The folder of the delivered file.</summary>
            public Uri Folder { get; }

            /// <summary>The manifest folder's key in <see cref="TransferBatch.KnownFolders"/>.</summary>
            public string FolderKey => ManifestFolderKey(Folder);

            /// <summary>The temporary manifest being written; faults when it could not be.</summary>
            public Task<Uri> Temporary { get; }
        }

        /// <summary>Starts writing the manifest of a send to <paramref name="final"/> under a temporary name.</summary>
        private ManifestAhead StartManifest(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options, Uri final, string digest)
        {
            var manifest = NewManifest(run, final, digest);
            var folder = TransferLocation.Parent(final);
            var folderExists = run.Batch?.KnownFolders.ContainsKey(ManifestFolderKey(folder)) == true;
            return new ManifestAhead(manifest, folder, manifest.WriteTemporaryAsync(context, destination, folder, options, folderExists));
        }

        /// <summary>The key in <see cref="TransferBatch.KnownFolders"/> of the manifest folder in <paramref name="folder"/>: the
        /// same set as for destination folders, under keys no destination URI can take.</summary>
        private static string ManifestFolderKey(Uri folder) => "manifests:" + folder.AbsoluteUri;

        private static TransferManifest NewManifest(RunningTransfer run, Uri final, string digest)
        {
            var record = run.Record;
            return new TransferManifest
            {
                Id = record.Id,
                Name = TransferLocation.FileName(final),
                Size = record.TotalBytes,
                Sha256 = digest,
                SenderUser = ProcessUserName,
                SenderMachine = run.Batch?.MachineName ?? Environment.MachineName,
                SenderUserId = record.UserId,
                SentAt = DateTimeOffset.UtcNow,
            };
        }

        /// <summary>Leaves the manifest of a delivered send beside the file: the one started ahead, or a new one.</summary>
        private async Task WriteManifestAsync(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options, Uri final,
            string digest, ManifestAhead? ahead)
        {
            var record = run.Record;
            try
            {
                if (ahead is null && run.Batch != null && destination is FileSystemProtocolPlugin)
                {
                    // One line in the batch's manifest file instead of a file (and a rename) per transfer.
                    var manifest = NewManifest(run, final, digest);
                    var path = run.Batch.AppendManifest(FileSystemProtocolPlugin.ToLocalPath(TransferLocation.Parent(final)), manifest);
                    // One manifest file per folder and batch: its URI is built once, not per file.
                    var manifestUri = (string)run.Batch.Memo.GetOrAdd("manifest:" + path, p => FileSystemProtocolPlugin.ToUri(p).ToString());
                    run.Update(r => r.ManifestUri = manifestUri);
                    return;
                }

                ahead ??= StartManifest(run, destination, context, options, final, digest);
                var temporary = await ahead.Temporary.ConfigureAwait(false);
                run.Batch?.KnownFolders.TryAdd(ahead.FolderKey, true);
                await ahead.Manifest.CommitTemporaryAsync(context, destination, ahead.Folder, temporary, options).ConfigureAwait(false);
                run.Update(r => r.ManifestUri = TransferManifest.LocationIn(ahead.Folder, record.Id).ToString());
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !(e is OutOfMemoryException))
            {
                // The file is delivered and verified; a missing manifest only stops Receive-Transfer -TransferId.
                context.Logger.Log(LogLevel.Warning, $"Transfer {Short(record.Id)}: delivered, but the manifest could not be written: {e.Message}");
            }
        }

        /// <summary>Removes a manifest started ahead of a delivery that failed. Never throws: the transfer's own failure is
        /// what matters. One left behind (a stopped transfer or a dead connection) is overwritten by the resume, or removed
        /// with the temporary file when the transfer is cancelled (<see cref="RemoveTemporaryAsync"/>).</summary>
        private static async Task AbandonManifestAsync(ManifestAhead ahead, ITransferEndpoint destination, OperationContext context, TransferOptions options)
        {
            try
            {
                var temporary = await ahead.Temporary.ConfigureAwait(false);
                await TryDeleteAsync(destination, context, temporary, options).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // See above.
            }
        }

        private async Task RemoveTemporaryAsync(OperationContext context, TransferRecord record, ITransferEndpoint? remote)
        {
            if (record.TemporaryUri is null)
            {
                return;
            }

            try
            {
                var endpoint = record.Direction == TransferDirection.Receive ? _local
                    : remote ?? await ResolveEndpointAsync(context, record.Protocol).ConfigureAwait(false);
                await endpoint.DeleteAsync(context, new Uri(record.TemporaryUri), record.ToOptions()).ConfigureAwait(false);
                if (record.Direction == TransferDirection.Send && record.FinalUri != null)
                {
                    // A send stopped while its manifest was being written ahead of the delivery (WriteManifestAsync).
                    var manifest = TransferManifest.TemporaryLocationIn(TransferLocation.Parent(new Uri(record.FinalUri)), record.Id);
                    await TryDeleteAsync(endpoint, context, manifest, record.ToOptions()).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                context.Logger.Log(LogLevel.Warning, $"Transfer {Short(record.Id)}: the temporary file could not be removed: {e.Message}");
            }
        }

        private static async Task TryDeleteAsync(ITransferEndpoint endpoint, OperationContext context, Uri location, TransferOptions options)
        {
            try
            {
                await endpoint.DeleteAsync(context, location, options).ConfigureAwait(false);
            }
            catch (PluginException)
            {
            }
        }

        private void ReportProgress(RunningTransfer run, long end)
        {
            if (run.ReportDue(end, ProgressInterval))
            {
                Notify(() => _session.Monitors.TransferProgress(run.EventContext, run.Snapshot()));
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
            foreach (var run in _running.Values)
            {
                var action = _journal.ReadControl(run.Record.Id);
                if (action is null)
                {
                    continue;
                }

                _journal.ClearControl(run.Record.Id);
                run.RequestStop(string.Equals(action, "cancel", StringComparison.OrdinalIgnoreCase) ? StopReason.Cancel : StopReason.Suspend);
            }
        }

        private async Task<Transfer> ControlOtherAsync(OperationContext context, TransferRecord record, string action, TransferStatus target)
        {
            var id = record.Id;
            using (var ownerLock = _journal.TryLock(id))
            {
                if (ownerLock != null)
                {
                    // Nobody runs it: its owner died, or it is waiting to be resumed. Act on the journal directly.
                    var current = _journal.TryLoad(id) ?? record;
                    if (target == TransferStatus.Cancelled)
                    {
                        await RemoveTemporaryAsync(context, current, null).ConfigureAwait(false);
                        _journal.RemoveWorkingFiles(id);
                        current.CompletedAt = DateTimeOffset.UtcNow;
                        current.Error = "Stopped by Stop-Transfer.";
                        current.ErrorCode = ErrorCode.Cancelled;
                        current.ErrorId = "TransferCancelled";
                    }
                    else
                    {
                        current.Error = $"Suspended. Resume-Transfer {Short(id)} continues it.";
                        current.ErrorCode = ErrorCode.Cancelled;
                        current.ErrorId = "TransferSuspended";
                    }

                    current.Status = target;
                    _journal.Save(current);
                    if (target == TransferStatus.Cancelled)
                    {
                        _journal.RemoveLockFile(id);
                    }

                    return Describe(current);
                }
            }

            _journal.RequestControl(id, action);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, context.CancellationToken).ConfigureAwait(false);
                var now = _journal.TryLoad(id);
                if (now != null && now.Status.IsFinal())
                {
                    return Describe(now);
                }
            }

            throw new PluginException(ErrorCode.Timeout, $"Transfer {Short(id)} runs in process {record.OwnerProcessId} on {record.OwnerHost}, which did not answer the {action} request.",
                errorId: "TransferControlTimeout", target: id);
        }

        // ---------------------------------------------------------------- helpers

        /// <summary>
        /// True for a name a server suggests that can be used as it is: a plain file name, valid on this system, not a
        /// hidden one (a download should not turn up as a dot file the user did not ask for), and one Windows would keep
        /// as given (no device name such as <c>CON</c> or <c>nul.txt</c>, no trailing dot or space), wherever it runs.
        /// </summary>
        internal static bool IsUsableSuggestedName(string? name)
        {
            if (!TransferLocation.IsPlainFileName(name) || name!.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
                || name.StartsWith(".", StringComparison.Ordinal) || name.EndsWith(".", StringComparison.Ordinal) || name.EndsWith(" ", StringComparison.Ordinal))
            {
                return false;
            }

            var stem = name.Split('.')[0].TrimEnd(' ').ToUpperInvariant();
            var device = stem == "CON" || stem == "PRN" || stem == "AUX" || stem == "NUL"
                         || (stem.Length == 4 && (stem.StartsWith("COM", StringComparison.Ordinal) || stem.StartsWith("LPT", StringComparison.Ordinal))
                             && "0123456789¹²³".IndexOf(stem[3]) >= 0);
            return !device;
        }

        /// <summary>The bytes a transfer's chunk log vouches for (no more than its size, once that is known).</summary>
        private long Committed(TransferRecord record)
        {
            var logged = _journal.CountChunks(record.Id) * (long)record.ChunkSize;
            return record.TotalBytes >= 0 ? Math.Min(record.TotalBytes, logged) : logged;
        }

        private Transfer Describe(TransferRecord record)
        {
            var transfer = record.ToTransfer();
            if (record.Streaming && !record.Status.IsFinal() && !_running.ContainsKey(record.Id))
            {
                if (_journal.IsOwned(record.Id))
                {
                    // Running in another process: the chunk log is more current than the record.
                    var committed = Committed(record);
                    transfer.BytesTransferred = Math.Max(transfer.BytesTransferred, committed);
                    transfer.Progress = record.TotalBytes > 0 ? transfer.BytesTransferred * 100.0 / record.TotalBytes : 0;
                }
                else
                {
                    var committed = Committed(record);
                    transfer.BytesTransferred = committed;
                    transfer.Progress = record.TotalBytes > 0 ? committed * 100.0 / record.TotalBytes : 0;
                    transfer.Status = TransferStatus.Failed;
                    transfer.ErrorCode = ErrorCode.Cancelled;
                    transfer.Error = $"Interrupted: the process that ran it (pid {record.OwnerProcessId} on {record.OwnerHost}) is gone. Resume-Transfer {Short(record.Id)} continues it.";
                    transfer.BytesPerSecond = 0;
                }
            }

            return transfer;
        }

        private Transfer RecordForeign(OperationContext context, string id, string protocol, TransferDirection direction, string source, Uri destination,
            TransferOptions options, Transfer reported)
        {
            var record = new TransferRecord
            {
                Id = id,
                ForeignId = reported.Id,
                Streaming = false,
                Direction = direction,
                Protocol = protocol,
                Source = reported.Source.Length > 0 ? reported.Source : source,
                SourceUri = source,
                Destination = reported.Destination.Length > 0 ? reported.Destination : TransferLocation.Display(destination),
                DestinationUri = destination.ToString(),
                Name = reported.Name.Length > 0 ? reported.Name : Path.GetFileName(source),
                Status = reported.Status,
                StartedAt = reported.StartedAt == default ? DateTimeOffset.UtcNow : reported.StartedAt,
                CompletedAt = reported.CompletedAt,
                TotalBytes = reported.TotalBytes,
                BytesTransferred = reported.BytesTransferred,
                Sha256 = reported.Sha256,
                Error = reported.Error,
                ErrorCode = reported.ErrorCode,
                UserId = context.UserId,
                RequestId = context.RequestId,
                OwnerProcessId = CurrentProcessId,
                OwnerHost = Environment.MachineName,
            };
            record.ApplyOptions(options);
            _journal.Save(record);
            return record.ToTransfer();
        }

        private async Task<Transfer> RefreshForeignAsync(OperationContext context, TransferRecord record)
        {
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, record.Protocol).ConfigureAwait(false);
            var status = await plugin.StatusAsync(context.WithTransfer(record.Id), record.ForeignId ?? record.Id).ConfigureAwait(false);
            if (status != record.Status)
            {
                record.Status = status;
                if (status.IsFinal())
                {
                    record.CompletedAt ??= DateTimeOffset.UtcNow;
                }

                if (_journal.TryLock(record.Id) is { } held)
                {
                    using (held)
                    {
                        _journal.Save(record);
                    }
                }
            }

            return record.ToTransfer();
        }

        private async Task<string> FindProtocolAsync(OperationContext context, Uri location)
        {
            var scheme = location.Scheme.ToLowerInvariant();
            return await _session.Plugins.FindProtocolForSchemeAsync(context, scheme).ConfigureAwait(false)
                   ?? throw new PluginException(ErrorCode.NotSupported,
                       $"No protocol plugin serves '{scheme}://' locations. Get-TransferPlugin -Kind Protocol lists them.",
                       errorId: "NoProtocolForScheme", target: TransferLocation.Display(location));
        }

        private async Task<ITransferEndpoint> ResolveEndpointAsync(OperationContext context, string protocol)
        {
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, protocol).ConfigureAwait(false);
            return plugin as ITransferEndpoint ?? throw new PluginException(ErrorCode.NotSupported,
                $"The protocol plugin '{protocol}' does not expose byte-level endpoints.", errorId: "NotAStreamingProtocol", target: protocol);
        }

        private Task DemandAsync(OperationContext context, TransferRecord record) =>
            _session.Auth.DemandAsync(context, Resource(record),
                record.Direction == TransferDirection.Send ? Abstractions.Action.Write : Abstractions.Action.Read);

        /// <summary>
        /// Authorizes a new transfer. In a batch, once no auth plugin is registered the rest of the call skips the check
        /// (each check reads the plugin registry's time stamp): an auth plugin registered meanwhile governs the next
        /// call, as a protocol registration does (see <see cref="ResolveProtocolAsync"/>). With auth enforced every
        /// transfer is authorized on its own.
        /// </summary>
        private async Task DemandTransferAsync(OperationContext context, string resource, Abstractions.Action action, TransferBatch? batch)
        {
            const string OpenKey = "auth:not-enforced";
            if (batch != null && batch.Memo.ContainsKey(OpenKey))
            {
                return;
            }

            await _session.Auth.DemandAsync(context, resource, action).ConfigureAwait(false);
            if (batch != null && !_session.Auth.IsEnforced)
            {
                batch.Memo.TryAdd(OpenKey, true);
            }
        }

        private static string Resource(TransferRecord record) =>
            "transfer/" + (record.Direction == TransferDirection.Send ? record.RequestedDestination : record.Source);

        private TransferRecord NewRecord(OperationContext context, string id, IProtocolPlugin plugin, TransferDirection direction) => new TransferRecord
        {
            Id = id,
            Direction = direction,
            Protocol = context.GetValue(ProtocolContextKey) as string ?? NameOf(plugin),
            Status = TransferStatus.Pending,
            StartedAt = DateTimeOffset.UtcNow,
            UserId = context.UserId,
            RequestId = context.RequestId,
        };

        private string NameOf(IProtocolPlugin plugin)
        {
            foreach (var (name, loaded) in _session.Plugins.Loaded)
            {
                if (ReferenceEquals(loaded, plugin))
                {
                    return name;
                }
            }

            return plugin is FileSystemProtocolPlugin ? "FileSystem" : plugin.Metadata.Name;
        }

        private string ClaimId(OperationContext context)
        {
            var wanted = context.TransferId;
            if (wanted is null || !TransferJournal.IsWellFormedId(wanted) || _running.ContainsKey(wanted))
            {
                return NewId();
            }

            // A member id of the context's own (live) batch is taken once the batch knows it (a resumed member has
            // a record file too, and stays known): no need to look for a record file of a freshly drawn random id.
            var batch = BatchOf(context);
            var taken = batch != null && TransferBatch.BatchIdOf(wanted) == batch.Id
                ? batch.Latest.ContainsKey(wanted)
                : File.Exists(_journal.RecordPath(wanted));
            return taken ? NewId() : wanted;
        }

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

        /// <summary>A source file checked by <see cref="RequireSourceFile"/>: its full path and its size then.</summary>
        private sealed class CheckedSource
        {
            public CheckedSource(string path, long length)
            {
                Path = path;
                Length = length;
            }

            public string Path { get; }
            public long Length { get; }
        }

        /// <summary>Context value carrying the <see cref="CheckedSource"/> from <see cref="StartSendAsync"/> to the coordinator.</summary>
        private const string CheckedSourceContextKey = "TransferTools.CheckedSource";

        private static CheckedSource RequireSourceFile(string file)
        {
            string full;
            try
            {
                full = Path.GetFullPath(file);
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{file}' is not a valid path: {e.Message}", e, "InvalidSourcePath", file);
            }

            // One stat answers both questions (and the size): FileInfo.Exists is false for a folder, whose attributes say so.
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                if (FileSystemProtocolPlugin.IsFolder(info))
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{full}' is a folder; send the files in it (Get-ChildItem -File | Send-Transfer).",
                        errorId: "SourceIsFolder", target: file);
                }

                throw new PluginException(ErrorCode.NotFound, $"The source file '{full}' does not exist.", errorId: "SourceNotFound", target: file);
            }

            // (A link's target's size, not the link's own: reading stops there. A pipe would never end: refused.)
            try
            {
                return new CheckedSource(full, SpecialFiles.Readable(info).Length);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw FileSystemProtocolPlugin.Map(e, full, "Read");
            }
        }

        private static void ValidateOptions(TransferOptions options)
        {
            if (options.ChunkSize < 4096 || options.ChunkSize > 1024 * 1024 * 1024)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The chunk size must be between 4 KiB and 1 GiB; it is {options.ChunkSize}.",
                    errorId: "InvalidChunkSize", target: options.ChunkSize);
            }

            if (options.MaxBytesPerSecond < 0 || options.RetryCount < 0 || options.StallTimeout <= TimeSpan.Zero)
            {
                throw new PluginException(ErrorCode.InvalidArgument, "MaxBytesPerSecond and RetryCount must not be negative, and StallTimeout must be positive.",
                    errorId: "InvalidTransferOptions");
            }
        }

        private static bool HasChanged(TransferRecord record, RemoteFileInfo info) =>
            // (A size never given cannot have changed; the version, if any, still can.)
            (!record.SourceSizeUnknown && info.Length != record.SourceLength)
            || (record.SourceVersion != null && info.Version != null && !string.Equals(record.SourceVersion, info.Version, StringComparison.Ordinal))
            || (record.SourceVersion is null && record.SourceModified != null && info.LastModified != null && record.SourceModified != info.LastModified);

        /// <summary>The source as messages and error targets name it: without a URL's query (<see cref="TransferLocation.DisplayWithoutQuery"/>).</summary>
        private static string SourceInMessages(TransferRecord record) =>
            Uri.TryCreate(record.SourceUri, UriKind.Absolute, out var uri) ? TransferLocation.DisplayWithoutQuery(uri) : record.Source;

        private static PluginException SourceChanged(TransferRecord record, string when) => new PluginException(ErrorCode.SourceChanged,
            $"The source '{SourceInMessages(record)}' changed {when} (size, time stamp or version differ), so the data already transferred cannot be trusted. " +
            "Stop-Transfer removes the partial data; start a new transfer.",
            errorId: "SourceChanged", target: SourceInMessages(record));

        private static PluginException NotFound(string id) => new PluginException(ErrorCode.NotFound,
            $"No transfer with id '{id}'. Get-TransferStatus lists the known transfers.", errorId: "TransferNotFound", target: id);

        private static PluginException Running(string id, string where) => new PluginException(ErrorCode.InvalidState,
            $"Transfer {Short(id)} is running {where}; Suspend-Transfer or Stop-Transfer it first, or Wait-Transfer for it.", errorId: "TransferRunning", target: id);

        internal static PluginException ToPluginException(Exception e)
        {
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Count == 1)
            {
                e = aggregate.InnerExceptions[0];
            }

            return e switch
            {
                PluginException pe => pe,
                OperationCanceledException _ => new PluginException(ErrorCode.Cancelled, "The transfer was cancelled.", e, "TransferCancelled"),
                UnauthorizedAccessException _ => new PluginException(ErrorCode.PermissionDenied, e.Message, e, "AccessDenied"),
                // A raw I/O failure from a remote stream is a dropped connection; local failures arrive mapped by the FileSystem plugin.
                IOException _ => new PluginException(ErrorCode.ConnectionError, e.Message, e, "TransferIOError"),
                _ => new PluginException(ErrorCode.Internal, $"{e.GetType().Name}: {e.Message}", e, "TransferInternalError"),
            };
        }

        private static bool IsCancellation(Exception e) =>
            e is OperationCanceledException || (e is PluginException pe && pe.Code == ErrorCode.Cancelled)
            || (e is AggregateException a && a.InnerExceptions.All(IsCancellation));

        /// <summary>
        /// A transfer's retry policy, for its attempts and for the look at a source before its transfer exists: a
        /// transient failure is retried up to <paramref name="retryCount"/> times with backoff while
        /// <paramref name="mayRetry"/> holds, each retry recorded by <paramref name="onRetry"/> and announced as a warning.
        /// </summary>
        private async Task<T> WithRetriesAsync<T>(OperationContext context, string warningPrefix, int retryCount, Func<Task<T>> operation,
            Func<bool> mayRetry, Action<PluginException>? onRetry, CancellationToken cancellationToken)
        {
            for (var retry = 1; ; retry++)
            {
                try
                {
                    return await operation().ConfigureAwait(false);
                }
                catch (Exception e) when (ToPluginException(e) is { IsTransient: true } transient && retry <= retryCount && mayRetry())
                {
                    var delay = RetryDelay(retry);
                    onRetry?.Invoke(transient);
                    context.Logger.Log(LogLevel.Warning, $"{warningPrefix}{transient.Message} Retry {retry} of {retryCount} in {delay.TotalSeconds:0.#} s.");
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private TimeSpan RetryDelay(int attempt)
        {
            // Exponential backoff with "equal jitter": half the step fixed, half random, so retries from many transfers spread out.
            var step = Math.Min(MaxRetryDelay.TotalMilliseconds, RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
            return TimeSpan.FromMilliseconds(step / 2 + ThreadSafeRandom.NextDouble() * step / 2);
        }

        internal static TimeSpan ComputeRetryDelay(int attempt, TimeSpan baseDelay, TimeSpan max, double random)
        {
            var step = Math.Min(max.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
            return TimeSpan.FromMilliseconds(step / 2 + random * step / 2);
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

        private void Save(RunningTransfer run, bool durable)
        {
            if (run.Batch != null)
            {
                run.Batch.Append(run.CloneRecord(), durable);
            }
            else
            {
                _journal.Save(run.CloneRecord(), durable);
            }
        }

        /// <summary>The protocol registration serving <paramref name="location"/>'s scheme and its plugin, remembered per batch.</summary>
        private async Task<(string Protocol, IProtocolPlugin Plugin)> ResolveProtocolAsync(OperationContext context, Uri location, TransferBatch? batch)
        {
            var key = ProtocolMemoKey(location);
            if (batch != null && batch.Memo.TryGetValue(key, out var known) && known is Tuple<string, IProtocolPlugin> memo)
            {
                return (memo.Item1, memo.Item2);
            }

            var protocol = await FindProtocolAsync(context, location).ConfigureAwait(false);
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, protocol).ConfigureAwait(false);
            batch?.Memo.TryAdd(key, Tuple.Create(protocol, plugin));
            return (protocol, plugin);
        }

        /// <summary>The memo key of a scheme's protocol; "file" (the common case) without building a string.</summary>
        private static string ProtocolMemoKey(Uri location) =>
            location.Scheme == Uri.UriSchemeFile ? "protocol:file" : "protocol:" + location.Scheme.ToLowerInvariant();

        private void ThrowIfClosed()
        {
            if (_closing.IsCancellationRequested)
            {
                throw new PluginException(ErrorCode.LifecycleError, "The session is closing; no new transfer can start.", errorId: "SessionClosed");
            }
        }

        internal static string NewId() => Guid.NewGuid().ToString("n");

        internal static string Short(string id) => TransferIds.Short(id);

        private static string ToHex(byte[] bytes)
        {
            var chars = new char[bytes.Length * 2];
            for (var i = 0; i < bytes.Length; i++)
            {
                chars[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
                chars[2 * i + 1] = "0123456789abcdef"[bytes[i] & 15];
            }

            return new string(chars);
        }

        /// <summary>The process's user name, looked up once (on Unix each lookup reads the user database).</summary>
        private static string ProcessUserName => _processUserName ??= Environment.UserName;

        private static string? _processUserName;

        /// <summary>This process's id, looked up once (it never changes; each lookup cost a Process object and a getpid).</summary>
        private static readonly int CurrentProcessId = GetCurrentProcessId();

        private static int GetCurrentProcessId()
        {
            using var process = Process.GetCurrentProcess();
            return process.Id;
        }

        private static class ThreadSafeRandom
        {
            private static readonly Random Seed = new Random();

            [ThreadStatic]
            private static Random? _local;

            public static double NextDouble()
            {
                if (_local is null)
                {
                    int seed;
                    lock (Seed)
                    {
                        seed = Seed.Next();
                    }

                    _local = new Random(seed);
                }

                return _local.NextDouble();
            }
        }
    }

    /// <summary>What <c>Resume-Transfer</c> may change about a transfer it continues: each value given replaces the
    /// journaled one for the rest of the transfer (null keeps it). What failed for want of the right host key, key file or
    /// protocol option resumes with the right one.</summary>
    public sealed class ResumeOverrides
    {
        /// <summary>A new conflict policy (e.g. Overwrite after a DestinationExists failure), or null to keep.</summary>
        public ConflictPolicy? Conflict { get; set; }
        /// <summary>A new bandwidth limit, or null to keep.</summary>
        public long? MaxBytesPerSecond { get; set; }
        /// <summary>The remote credential (never journaled, so a resume of a credentialed transfer needs it again).</summary>
        public System.Net.NetworkCredential? Credential { get; set; }
        /// <summary>A new number of retries for transient failures, or null to keep.</summary>
        public int? RetryCount { get; set; }
        /// <summary>A new no-progress time-out, or null to keep.</summary>
        public TimeSpan? StallTimeout { get; set; }
        /// <summary>A new private key file (sftp://), or null to keep.</summary>
        public string? KeyFile { get; set; }
        /// <summary>A new host key fingerprint to trust (sftp://), e.g. after the server's key was changed, or null to keep.</summary>
        public string? HostKeyFingerprint { get; set; }
        /// <summary>Protocol options to add or replace (the others are kept), or null.</summary>
        public IDictionary<string, string>? Custom { get; set; }
        /// <summary>The chunk size the caller expects, or null. It cannot change: the journal and the partial data are cut
        /// into the transfer's chunks, so a different value is refused (ChunkSizeFixed).</summary>
        public int? ChunkSize { get; set; }

        /// <summary>Refuses what cannot change, then applies the rest to <paramref name="record"/>.</summary>
        internal void ApplyTo(TransferRecord record)
        {
            if (ChunkSize is int chunkSize && chunkSize != record.ChunkSize)
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"Transfer {TransferManager.Short(record.Id)} moves in chunks of {record.ChunkSize} bytes, which its journal and partial data are cut into; -ChunkSize {chunkSize} cannot change that. Resume it without -ChunkSize, or start a new transfer.",
                    errorId: "ChunkSizeFixed", target: record.Id);
            }

            record.Conflict = Conflict ?? record.Conflict;
            record.MaxBytesPerSecond = MaxBytesPerSecond ?? record.MaxBytesPerSecond;
            record.RetryCount = RetryCount ?? record.RetryCount;
            record.StallTimeoutSeconds = StallTimeout?.TotalSeconds ?? record.StallTimeoutSeconds;
            record.KeyFile = KeyFile ?? record.KeyFile;
            record.HostKeyFingerprint = HostKeyFingerprint ?? record.HostKeyFingerprint;
            if (Custom != null)
            {
                foreach (var option in Custom)
                {
                    record.Custom[option.Key] = option.Value;
                }
            }
        }
    }

    internal enum StopReason
    {
        None,
        Suspend,
        Cancel,
        Shutdown,
    }

    /// <summary>A transfer running in this session: its record, owner lock, cancellation and live figures.</summary>
    internal sealed class RunningTransfer
    {
        private readonly object _gate = new object();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _measureFrom;
        private TimeSpan _measureStart;
        private TimeSpan _lastReport;
        private TimeSpan _lastRecord;
        private long _lastReportBytes;
        private double _rate;
        private int _stop;

        public RunningTransfer(TransferRecord record, IDisposable ownerLock, NetworkCredentialHolder credential, CancellationTokenSource cts)
        {
            Record = record;
            Lock = ownerLock;
            Credential = credential;
            Cts = cts;
        }

        public TransferRecord Record { get; }
        public IDisposable Lock { get; }
        public NetworkCredentialHolder Credential { get; }
        public CancellationTokenSource Cts { get; }
        public OperationContext Context { get; set; } = OperationContext.None;
        /// <summary>The context for monitor events: the same values, never cancelled.</summary>
        public OperationContext EventContext => Context.WithCancellation(CancellationToken.None);
        public ITransferEndpoint? Remote { get; set; }
        /// <summary>True when no chunk log was ever written for this transfer (fresh, one chunk).</summary>
        public bool NeverLogged { get; set; }
        /// <summary>The batch this transfer is journaled in, or null for a record file of its own.</summary>
        public TransferBatch? Batch { get; set; }
        public Task Completion { get; set; } = Task.CompletedTask;
        public StopReason Stop => (StopReason)Volatile.Read(ref _stop);

        public void RequestStop(StopReason reason)
        {
            // The first reason wins: a Stop-Transfer after Ctrl+C still cancels, a suspend after a cancel does not undo it.
            if (Interlocked.CompareExchange(ref _stop, (int)reason, (int)StopReason.None) == (int)StopReason.None
                || (reason == StopReason.Cancel && Interlocked.Exchange(ref _stop, (int)reason) != (int)reason))
            {
                try
                {
                    Cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        public void Update(Action<TransferRecord> change)
        {
            lock (_gate)
            {
                change(Record);
            }
        }

        public TransferRecord CloneRecord()
        {
            lock (_gate)
            {
                return Record.Clone();
            }
        }

        public void BeginMeasuring(long offset)
        {
            lock (_gate)
            {
                _measureFrom = offset;
                _measureStart = _clock.Elapsed;
                _lastReport = _measureStart;
                _lastReportBytes = offset;
                _live = offset;
            }
        }

        private long _live;

        /// <summary>True when a progress report is due; updates the smoothed rate.</summary>
        public bool ReportDue(long bytes, TimeSpan interval)
        {
            lock (_gate)
            {
                _live = bytes;
                var now = _clock.Elapsed;
                var elapsed = now - _lastReport;
                if (elapsed < interval && (Record.TotalBytes < 0 || bytes < Record.TotalBytes))
                {
                    return false;
                }

                var sample = (bytes - _lastReportBytes) / Math.Max(0.001, elapsed.TotalSeconds);
                _rate = _rate <= 0 ? sample : 0.7 * _rate + 0.3 * sample;
                _lastReport = now;
                _lastReportBytes = bytes;
                Record.BytesPerSecond = _rate;
                return true;
            }
        }

        public bool RecordDue(TimeSpan interval)
        {
            lock (_gate)
            {
                if (_clock.Elapsed - _lastRecord < interval)
                {
                    return false;
                }

                _lastRecord = _clock.Elapsed;
                return true;
            }
        }

        public double AverageRate()
        {
            lock (_gate)
            {
                var seconds = (_clock.Elapsed - _measureStart).TotalSeconds;
                var moved = Math.Max(0, Math.Max(_live, Record.BytesTransferred) - _measureFrom);
                return seconds > 0 ? moved / seconds : 0;
            }
        }

        public Transfer Snapshot()
        {
            lock (_gate)
            {
                var transfer = Record.ToTransfer();
                if (transfer.Status == TransferStatus.Active)
                {
                    transfer.BytesTransferred = Math.Max(transfer.BytesTransferred, _live);
                    transfer.Progress = Record.TotalBytes > 0 ? Math.Min(100, transfer.BytesTransferred * 100.0 / Record.TotalBytes) : 0;
                    transfer.BytesPerSecond = _rate;
                }

                return transfer;
            }
        }
    }

    /// <summary>The owner lock of a batch member: the batch's lock covers it.</summary>
    internal sealed class NoLock : IDisposable
    {
        public static readonly NoLock Instance = new NoLock();

        public void Dispose()
        {
        }
    }

    /// <summary>Cancels an attempt when no byte moved for the stall time-out.</summary>
    internal sealed class StallWatch : IDisposable
    {
        private readonly TimeSpan _timeout;
        private readonly CancellationTokenSource _attempt;
        private readonly Timer _timer;
        private long _lastActivity = Stopwatch.GetTimestamp();
        private int _stalled;

        public StallWatch(TimeSpan timeout, CancellationTokenSource attempt)
        {
            _timeout = timeout;
            _attempt = attempt;
            var period = TimeSpan.FromMilliseconds(Math.Max(50, Math.Min(1000, timeout.TotalMilliseconds / 4)));
            _timer = new Timer(_ => Check(), null, period, period);
        }

        public bool Stalled => Volatile.Read(ref _stalled) != 0;

        public void Touch() => Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());

        public void Dispose() => _timer.Dispose();

        private void Check()
        {
            var idle = TimeSpan.FromSeconds((Stopwatch.GetTimestamp() - Interlocked.Read(ref _lastActivity)) / (double)Stopwatch.Frequency);
            if (idle > _timeout && Interlocked.Exchange(ref _stalled, 1) == 0)
            {
                try
                {
                    _attempt.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }
}
