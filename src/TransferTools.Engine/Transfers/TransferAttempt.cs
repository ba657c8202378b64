using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// One attempt at a transfer, one method per step: <see cref="ResolveSourceAsync"/> (the source, and whether it
    /// changed), <see cref="ResolveDestinationAsync"/> (where it goes), <see cref="PrepareAsync"/> (what an earlier attempt
    /// left), <see cref="MoveBytesAsync"/> (the pipeline), <see cref="VerifyAsync"/> and <see cref="CommitAsync"/>. A
    /// transient failure of any step fails the attempt, and <see cref="TransferRunner"/> retries it with a new one.
    /// </summary>
    internal sealed class TransferAttempt : IDisposable
    {
        private readonly TransferRunner _runner;
        private readonly RunningTransfer _run;
        private readonly TransferRecord _record;
        private readonly ITransferEndpoint _source;
        private readonly ITransferEndpoint _destination;
        private readonly CancellationTokenSource _cancellation;
        private readonly OperationContext _context;
        private readonly TransferOptions _options;
        private readonly StallWatch _stall;
        private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // An MD5 alongside the SHA-256 only for a source whose server announces an MD5 and no SHA-256 (ServerDigests).
        private IncrementalHash? _md5;
        private ServerDigests _announced;
        private readonly Uri _sourceUri;
        private bool _sizeKnown;
        private long _total;
        private bool _savedJustNow;
        private List<ulong> _keptChunks = new List<ulong>(0);
        private int _keep;
        private IUnnamedTemporary? _unnamed;
        // The temporary's every byte was confirmed by its server (WholeFileCopy.Acknowledged): its size needs no stat.
        private bool _writeAcknowledged;
        private int? _sourceMode;

        public TransferAttempt(TransferRunner runner, RunningTransfer run, ITransferEndpoint source, ITransferEndpoint destination)
        {
            _runner = runner;
            _run = run;
            _record = run.Record;
            _source = source;
            _destination = destination;
            _options = _record.ToOptions(run.Credential);
            _cancellation = CancellationTokenSource.CreateLinkedTokenSource(run.Cts.Token);
            _context = run.Context.WithCancellation(_cancellation.Token);
            _stall = new StallWatch(_options.StallTimeout, _cancellation);
            _sourceUri = new Uri(_record.SourceUri);
        }

        private string Id => _record.Id;

        private CancellationToken Token => _cancellation.Token;

        /// <summary>Runs the steps in order; returns early for a transfer that <c>-Conflict Skip</c> skips.</summary>
        public async Task RunAsync()
        {
            try
            {
                await ResolveSourceAsync().ConfigureAwait(false);
                if (!await ResolveDestinationAsync().ConfigureAwait(false))
                {
                    return;
                }

                if (await CopyWithinServerAsync().ConfigureAwait(false))
                {
                    return;
                }

                var streams = SegmentedTransfer.StreamsFor(_record, _source, _destination, _sizeKnown, _total, _options, out var roundTrip);
                if (roundTrip < SegmentedTransfer.SplitRoundTrip)
                {
                    _context.Logger.Log(LogLevel.Verbose, $"Transfer {TransferManager.Short(Id)}: round trip {roundTrip.Value.TotalMilliseconds:0.0} ms, under " +
                        $"{SegmentedTransfer.SplitRoundTrip.TotalMilliseconds:0} ms: one stream (-Streams N splits the file all the same).");
                }

                if (streams > 1)
                {
                    var segmented = new SegmentedTransfer(_runner, _run, _source, _destination, _context, _options, _stall, _sha, _sourceUri, _total);
                    await segmented.RunAsync(streams, _savedJustNow).ConfigureAwait(false);
                }
                else
                {
                    var offset = await PrepareAsync().ConfigureAwait(false);
                    await MoveBytesAsync(offset).ConfigureAwait(false);
                }

                // A send to a remote folder writes its manifest under a temporary name while the file is verified and
                // delivered: over a WAN those round trips overlap (a small file over SFTP: 13 in a row become 9).
                string? digest = null;
                TransferManifest.Ahead? manifestAhead = null;
                var manifest = _record.Direction == TransferDirection.Send && TransferManifest.IsWanted(_run, new Uri(_record.FinalUri!));
                if (manifest && _record.ExpectedSha256 is null && !(_destination is ILocalFileEndpoint) && !TransferManifest.GoesToBatchFile(_run, _destination))
                {
                    digest = Hex.ToLowerString(_sha.GetHashAndReset());
                    manifestAhead = TransferManifest.StartAhead(_run, _destination, _context, _options, new Uri(_record.FinalUri!), digest);
                }

                try
                {
                    digest = await VerifyAsync(digest).ConfigureAwait(false);
                    await CommitAsync(digest).ConfigureAwait(false);
                }
                catch when (manifestAhead != null)
                {
                    // Not delivered: the manifest must not appear.
                    await TransferManifest.AbandonAsync(manifestAhead, _destination, _context, _options).ConfigureAwait(false);
                    throw;
                }

                await PreserveAttributesAsync().ConfigureAwait(false);
                if (manifest)
                {
                    await TransferManifest.WriteForAsync(_run, _destination, _context, _options, new Uri(_record.FinalUri!), digest, manifestAhead).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException e) when (_stall.Stalled && !_run.Cts.IsCancellationRequested)
            {
                throw new PluginException(ErrorCode.Timeout, $"No bytes moved for {_options.StallTimeout.TotalSeconds:0.#} s.", e, "TransferStalled", _record.Destination);
            }
        }

        /// <summary>1. The source, and whether it changed since the transfer began.</summary>
        private async Task ResolveSourceAsync()
        {
            var record = _record;
            var info = await _source.GetInfoAsync(_context, _sourceUri, _options).ConfigureAwait(false);
            LimitNewFileMode(info.PosixMode);
            // For a destination that keeps the time with the content (an object store's metadata, at commit).
            _options.SourceModified = record.NoPreserve ? null : info.LastModified;
            _announced = ServerDigests.Of(info);
            if (_announced.NeedsMd5)
            {
                // Before any byte is hashed: the kept chunks of a resume feed it too.
                _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            }

            var shown = TransferErrors.SourceInMessages(record);
            if (!info.Exists)
            {
                throw new PluginException(ErrorCode.NotFound, $"The source '{shown}' does not exist.", errorId: "SourceNotFound", target: shown);
            }

            if (info.IsDirectory)
            {
                var hint = record.Direction == TransferDirection.Receive ? "add -Recurse to receive it with everything in it" : "send the files in it";
                throw new PluginException(ErrorCode.InvalidArgument, $"The source '{shown}' is a folder; {hint}.", errorId: "SourceIsFolder", target: shown);
            }

            if (record.SourceLength >= 0 || record.SourceSizeUnknown)
            {
                if (HasChanged(record, info))
                {
                    throw TransferErrors.SourceChanged(record, "since the transfer began");
                }

                CheckIdentity("since the transfer began");
            }
            else
            {
                if (record.ExpectedSha256 != null && record.TotalBytes >= 0 && info.Length >= 0 && info.Length != record.TotalBytes)
                {
                    throw new PluginException(ErrorCode.SourceChanged,
                        $"'{shown}' holds {info.Length} bytes but its manifest says {record.TotalBytes}; it is not the file that was sent.",
                        errorId: "SourceChanged", target: shown);
                }

                // A plain receive is named as the source asks (a download's Content-Disposition), before its
                // destination is chosen; a receive by id keeps the sender's name.
                var renamed = record.Direction == TransferDirection.Receive && record.ReceivedTransferId is null && record.FinalUri is null
                    && TransferIntake.IsUsableSuggestedName(info.FileName) && info.FileName != record.Name;
                if (renamed)
                {
                    _context.Logger.Log(LogLevel.Verbose, $"Transfer {TransferManager.Short(Id)}: '{shown}' is named '{info.FileName}' by its server.");
                }

                _run.Update(r =>
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
                    // Only a transfer of more than one chunk can be resumed, so only one needs the proof (a small file skips the stat).
                    r.SourceIdentity = info.Length > r.ChunkSize && _source is IFileIdentity identity ? identity.GetFileIdentity(_sourceUri) : null;
                    if (info.Length >= 0 || r.ExpectedSha256 is null)
                    {
                        // (A manifest's size stands when the server does not say.)
                        r.TotalBytes = info.Length;
                    }
                });
            }

            // A source that does not say its size is read to its end, each attempt anew: the size an earlier attempt
            // saw is no promise about this one (a manifest's size is, and is held to).
            _sizeKnown = !record.SourceSizeUnknown || record.ExpectedSha256 != null;
            _total = _sizeKnown ? record.TotalBytes : -1L;
        }

        /// <summary>2. Where it goes: resolved and journaled on the first attempt, checked again on a later one.</summary>
        /// <returns>False when the transfer is skipped (<c>-Conflict Skip</c>).</returns>
        private async Task<bool> ResolveDestinationAsync()
        {
            if (_record.FinalUri is null)
            {
                await ChooseDestinationAsync().ConfigureAwait(false);
                _runner.Save(_run, durable: true);
                _savedJustNow = true;
            }
            else
            {
                await CheckConflictAgainAsync().ConfigureAwait(false);
            }

            return !_record.Skipped;
        }

        private async Task ChooseDestinationAsync()
        {
            var record = _record;
            var requested = new Uri(record.DestinationUri);
            Uri final;
            if (TransferLocation.EndsWithSlash(requested) && _run.Batch != null && _run.Batch.KnownFolders.ContainsKey(record.DestinationUri))
            {
                // Checked (or created) for an earlier member of the batch; a folder removed since fails the write clearly.
                final = TransferLocation.Combine(requested, record.Name);
            }
            else if (TransferLocation.EndsWithSlash(requested))
            {
                var folder = await _destination.GetInfoAsync(_context, requested, _options).ConfigureAwait(false);
                if (!folder.Exists)
                {
                    await _destination.CreateDirectoryAsync(_context, requested, _options).ConfigureAwait(false);
                }
                else if (!folder.IsDirectory)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{TransferLocation.Display(requested)}' is a file, not a folder: nothing can be delivered into it.",
                        errorId: "DestinationIsFile", target: TransferLocation.Display(requested));
                }

                final = TransferLocation.Combine(requested, record.Name);
                TransferDelivery.NoteFolderMade(_run, record.DestinationUri, made: !folder.Exists);
                _run.Batch?.KnownFolders.TryAdd(record.DestinationUri, true);
            }
            else
            {
                var info = await _destination.GetInfoAsync(_context, requested, _options).ConfigureAwait(false);
                final = info.Exists && info.IsDirectory ? TransferLocation.Combine(requested, record.Name) : requested;
            }

            RefuseWhatCannotBeRight(final);
            var existing = TransferDelivery.KnownFree(_run, _destination, final)
                ? RemoteFileInfo.Missing
                : await _destination.GetInfoAsync(_context, final, _options).ConfigureAwait(false);
            if (existing.Exists)
            {
                final = await ApplyConflictPolicyAsync(final, existing).ConfigureAwait(false);
            }

            _run.Update(r =>
            {
                r.FinalUri = final.ToString();
                r.TemporaryUri = TransferLocation.Temporary(final, r.Id).ToString();
                r.Destination = TransferLocation.Display(final);
                r.Name = record.Direction == TransferDirection.Send ? r.Name : TransferLocation.FileName(final);
            });
        }

        private async Task CheckConflictAgainAsync()
        {
            if (_record.Conflict == ConflictPolicy.Overwrite)
            {
                return;
            }

            var final = new Uri(_record.FinalUri!);
            var existing = await _destination.GetInfoAsync(_context, final, _options).ConfigureAwait(false);
            if (existing.Exists)
            {
                var chosen = await ApplyConflictPolicyAsync(final, existing).ConfigureAwait(false);
                _run.Update(r =>
                {
                    r.FinalUri = chosen.ToString();
                    r.Destination = TransferLocation.Display(chosen);
                });
            }
        }

        private async Task<Uri> ApplyConflictPolicyAsync(Uri final, RemoteFileInfo existing)
        {
            var outcome = await ConflictResolution.ResolveAsync(_record.Conflict, _destination, _context, _options, final, existing).ConfigureAwait(false);
            if (outcome.Skip)
            {
                _run.Update(r =>
                {
                    r.Skipped = true;
                    r.FinalUri = outcome.Final.ToString();
                    r.Destination = TransferLocation.Display(outcome.Final);
                    r.BytesTransferred = 0;
                });
            }

            return outcome.Final;
        }

        /// <summary>
        /// Refuses a destination that would lose data whatever the conflict policy: a local file onto itself (an overwrite
        /// would first empty it, as Copy-Item refuses), and a file name that another file of the same call goes to
        /// (several sources into one name would overwrite each other).
        /// </summary>
        private void RefuseWhatCannotBeRight(Uri final)
        {
            var record = _record;
            if (_source is ILocalFileEndpoint && _destination is ILocalFileEndpoint && _sourceUri.IsFile && final.IsFile
                && string.Equals(System.IO.Path.GetFullPath(_sourceUri.LocalPath), System.IO.Path.GetFullPath(final.LocalPath),
                    System.IO.Path.DirectorySeparatorChar == '/' ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{TransferLocation.Display(final)}' is the source itself: a file cannot be copied onto itself. Give another destination.",
                    errorId: "DestinationIsSource", target: TransferLocation.Display(final));
            }

            // (Rename keeps both, Skip and Fail leave the first: only an overwrite loses a file without a word.)
            if (record.Conflict == ConflictPolicy.Overwrite && _run.Batch != null
                && !_run.Batch.ClaimedNames.GetOrAdd(final.ToString(), Id).Equals(Id, StringComparison.Ordinal))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{TransferLocation.Display(final)}' is a file name, and another file of this command goes there too: several sources were given. " +
                    "To send several files, give a folder (end it with / to have it created).",
                    errorId: "DestinationTakenBySource", target: TransferLocation.Display(final));
            }
        }

        /// <summary>
        /// 2b. A copy between two locations of one server that copies within itself (<see cref="IServerSideCopy"/>), of a
        /// source that announces its SHA-256: the server copies, no byte passes through here, and the copy is verified by
        /// the SHA-256 the destination announces afterwards. Steps 3 to 6 are skipped; the manifest is written as usual.
        /// </summary>
        /// <returns>False when the bytes must go through this machine (another server, no announced SHA-256).</returns>
        private async Task<bool> CopyWithinServerAsync()
        {
            var final = new Uri(_record.FinalUri!);
            if (!ReferenceEquals(_source, _destination) || !(_destination is IServerSideCopy copier) || _announced.Sha256 is null
                || !_sizeKnown || !copier.CanCopyWithin(_sourceUri, final, _options))
            {
                return false;
            }

            var sha256 = _announced.Sha256;
            _run.Update(r => r.ResumedFrom = 0);
            _run.BeginMeasuring(0);
            _context.Logger.Log(LogLevel.Verbose, $"Transfer {TransferManager.Short(Id)}: copying '{TransferErrors.SourceInMessages(_record)}' within its server.");
            var copied = await copier.CopyWithinAsync(_context, _sourceUri, _record.SourceVersion, final, _record.Conflict == ConflictPolicy.Overwrite, _options)
                .ConfigureAwait(false);
            var shown = TransferLocation.Display(final);
            if (!copied.Exists || copied.Length != _total || !string.Equals(ServerDigests.Of(copied).Sha256, sha256, StringComparison.Ordinal))
            {
                throw new PluginException(ErrorCode.ChecksumMismatch,
                    $"The server copied '{TransferErrors.SourceInMessages(_record)}' to '{shown}', but the copy announces {copied.Length} bytes and SHA-256 {copied.Sha256 ?? "(none)"}; the source {_total} bytes and {sha256}.",
                    errorId: "ChecksumMismatch", target: shown);
            }

            _run.Update(r =>
            {
                r.BytesTransferred = _total;
                r.Sha256 = sha256;
                r.Verification = TransferVerification.ServerSideCopy;
            });
            _runner.ReportProgress(_run, _total);
            if (_record.Direction == TransferDirection.Send && TransferManifest.IsWanted(_run, final))
            {
                await TransferManifest.WriteForAsync(_run, _destination, _context, _options, final, sha256, null).ConfigureAwait(false);
            }

            return true;
        }

        /// <summary>3. What a partial from an earlier attempt or process still holds, checked chunk by chunk.</summary>
        /// <returns>The offset to go on from.</returns>
        private async Task<long> PrepareAsync()
        {
            var record = _record;
            var temp = new Uri(record.TemporaryUri!);
            // A destination resolved just now had no temporary yet, so no chunk of it can be logged.
            var chunks = _savedJustNow ? new List<ulong>(0) : _runner.Journal.ReadChunks(Id);
            var keep = 0;
            if (chunks.Count > 0 && !_sizeKnown && record.SourceVersion is null && record.SourceModified is null)
            {
                // Neither a size nor a version (ETag, Last-Modified): nothing could show that the rest of it belongs
                // to the same content as the part already here, so it is read again from the start.
                _context.Logger.Log(LogLevel.Warning,
                    $"Transfer {TransferManager.Short(Id)}: '{TransferErrors.SourceInMessages(record)}' gives neither its size nor a version, so the {chunks.Count} chunk(s) already here cannot be continued safely; reading it again from the start.");
                chunks = new List<ulong>(0);
            }

            if (chunks.Count > 0)
            {
                if (_destination is IPartUploadDestination partsHeld)
                {
                    // A multipart upload cannot be read back: its parts are proven against the source instead.
                    keep = await PartUploadResume.KeepAsync(partsHeld, _source, _context, DescribeParts(), _sourceUri, record.SourceVersion,
                        chunks.Count, _sha, _stall.Touch, _options).ConfigureAwait(false);
                }
                else
                {
                    var partialInfo = await _destination.GetInfoAsync(_context, temp, _options).ConfigureAwait(false);
                    // A local source is read again for the hash: the SHA-256 is then of the source's bytes, not the partial's.
                    var localSource = _source is ILocalFileEndpoint;
                    if (partialInfo.Exists && partialInfo.Length > 0)
                    {
                        using var partial = await _destination.OpenReadAsync(_context, temp, 0, null, _options).ConfigureAwait(false);
                        keep = await ChunkPipeline.VerifyPartialAsync(partial, partialInfo.Length, chunks, record.ChunkSize, _total, localSource ? null : _sha,
                            _stall.Touch, Token, localSource ? null : _md5).ConfigureAwait(false);
                    }

                    if (keep > 0)
                    {
                        keep = await ProveKeptChunksAsync(chunks, keep, localSource).ConfigureAwait(false);
                    }
                }

                if (keep < chunks.Count)
                {
                    _context.Logger.Log(LogLevel.Warning,
                        $"Transfer {TransferManager.Short(Id)}: the partial data holds {keep} intact chunk(s) of {chunks.Count} recorded; sending again from chunk {keep}.");
                }
            }

            _keptChunks = chunks;
            _keep = keep;
            return _sizeKnown ? Math.Min(_total, (long)keep * record.ChunkSize) : (long)keep * record.ChunkSize;
        }

        /// <summary>The kept chunks proven against the source (<see cref="KeptChunkProof"/>).</summary>
        /// <returns>How many of the <paramref name="keep"/> chunks the source still holds.</returns>
        private async Task<int> ProveKeptChunksAsync(List<ulong> chunks, int keep, bool localSource)
        {
            if (localSource)
            {
                return await KeptChunkProof.RehashLocalAsync(_source, _context, _sourceUri, _record.SourceVersion, _options, chunks, keep, _record.ChunkSize,
                    _total, _sha, _stall.Touch, TransferManager.Short(Id)).ConfigureAwait(false);
            }

            if (await KeptChunkProof.SampleRemoteAsync(_source, _context, _sourceUri, _record.SourceVersion, _options, chunks, keep, _record.ChunkSize, _total,
                    _stall.Touch).ConfigureAwait(false))
            {
                return keep;
            }

            // Its size and version claim the same content, its bytes say otherwise (a server announcing a stale time or
            // ETag): nothing kept can be trusted, and a read from the start is one consistent pass.
            _context.Logger.Log(LogLevel.Warning,
                $"Transfer {TransferManager.Short(Id)}: '{TransferErrors.SourceInMessages(_record)}' no longer holds the bytes already received, though its size and version did not change; reading it again from the start.");
            _sha.GetHashAndReset();
            _md5?.GetHashAndReset();
            return 0;
        }

        /// <summary>4. The bytes: read, hash and write overlap (a small file in one piece: see <see cref="WholeFileCopy"/>).</summary>
        private async Task MoveBytesAsync(long offset)
        {
            var record = _record;
            // A transfer that is one chunk from start to end needs no chunk log: its only entry would be written
            // right before verification and delivery, and a crash after it costs re-sending that one chunk, which
            // is all the log could save. Small files then skip a file creation and deletion each.
            var singleChunk = _keptChunks.Count == 0 && offset == 0 && _sizeKnown && _total <= record.ChunkSize;
            if (singleChunk && _savedJustNow)
            {
                // Fresh and in one chunk: no attempt of this run ever has a chunk log to remove at the end.
                _run.NeverLogged = true;
            }

            using var log = singleChunk ? null : _runner.Journal.OpenChunkLog(Id, _keptChunks, _keep);
            _run.Update(r =>
            {
                r.BytesTransferred = offset;
                // What this attempt keeps, even nothing: a value from an earlier attempt would claim bytes not kept.
                r.ResumedFrom = offset;
            });
            _run.BeginMeasuring(offset);
            if (offset > 0)
            {
                _context.Logger.Log(LogLevel.Verbose, $"Transfer {TransferManager.Short(Id)}: keeping {offset} verified bytes; sending from there.");
            }

            if (!(_savedJustNow && offset == 0))
            {
                // (A fresh transfer's record was saved a moment ago and nothing in it changed since.)
                _runner.Save(_run, durable: false);
            }

            var temp = new Uri(record.TemporaryUri!);
            var partUpload = _destination as IPartUploadDestination;
            if (singleChunk && _run.Limiters.Count == 0 && _total <= ChunkPipeline.WholeFileMaxSize && partUpload is null)
            {
                var whole = new WholeFileCopy(_run, _source, _destination, _context, _options, _stall, _runner.UseUnnamedFiles);
                _unnamed = await whole.CopyAsync(_sourceUri, temp, new Uri(record.FinalUri!), _total, _sha, _md5).ConfigureAwait(false);
                _writeAcknowledged = whole.Acknowledged;
                return;
            }

            using var reader = await _source.OpenReadAsync(_context, _sourceUri, offset, record.SourceVersion, _options).ConfigureAwait(false);
            var writer = partUpload != null
                ? await partUpload.OpenPartUploadAsync(_context, DescribeParts(), offset, _options).ConfigureAwait(false)
                : await _destination.OpenWriteAsync(_context, temp, offset, _options).ConfigureAwait(false);
            try
            {
                if (_sizeKnown)
                {
                    // Before the first byte: a disk without room for the rest fails now, not at 90 %.
                    EndpointFeatures.PrepareWrite(_destination, writer, offset, _total);
                }

                var pipeline = new ChunkPipeline(record.ChunkSize, _run.Limiters)
                {
                    Activity = _stall.Touch,
                    ChunkCommitted = (index, hash, end) =>
                    {
                        log?.Append(hash);
                        _run.Update(r => r.BytesTransferred = end);
                    },
                    Progress = end => _runner.ReportProgress(_run, end),
                    // A part upload's flush ends a part, and only the last part may be short.
                    FlushWhenIdle = partUpload is null,
                };
                var readTo = await pipeline.RunAsync(reader, writer, offset, _total, _sha, Token, _md5).ConfigureAwait(false);
                await writer.FlushAsync(Token).ConfigureAwait(false);
                if (!_sizeKnown)
                {
                    _total = readTo;
                    _run.Update(r => r.TotalBytes = readTo);
                }
            }
            finally
            {
                writer.Dispose();
            }
        }

        /// <summary>5. Verify before delivery: the size at the destination, the source unchanged, the SHA-256 expected.</summary>
        /// <param name="digest">The SHA-256 when it was taken already (for a manifest written ahead), or null.</param>
        /// <returns>The SHA-256 of what was moved.</returns>
        private async Task<string> VerifyAsync(string? digest)
        {
            var record = _record;
            var temp = new Uri(record.TemporaryUri!);
            var written = _unnamed != null ? new RemoteFileInfo { Exists = true, Length = _unnamed.Length }
                : _writeAcknowledged ? new RemoteFileInfo { Exists = true, Length = _total }
                : await _destination.GetInfoAsync(_context, temp, _options).ConfigureAwait(false);
            if (!written.Exists)
            {
                throw new PluginException(ErrorCode.NotFound,
                    $"The temporary file of '{record.Name}' vanished from the destination during the transfer (was its folder removed?). Nothing was delivered.",
                    errorId: "DestinationVanished", target: record.Destination);
            }

            if (written.Length >= 0 && written.Length != _total)
            {
                throw new PluginException(ErrorCode.ChecksumMismatch,
                    $"The destination holds {(written.Exists ? written.Length : 0)} bytes of '{record.Name}' after the transfer; {_total} were sent.",
                    errorId: "SizeMismatch", target: record.Destination);
            }

            var after = await _source.GetInfoAsync(_context, _sourceUri, _options).ConfigureAwait(false);
            if (!after.Exists || HasChanged(record, after))
            {
                throw TransferErrors.SourceChanged(record, "during the transfer");
            }

            CheckIdentity("during the transfer");

            digest ??= Hex.ToLowerString(_sha.GetHashAndReset());
            if (record.ExpectedSha256 != null && !string.Equals(digest, record.ExpectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                // The partial is worthless: drop it so a resume fetches everything again.
                _runner.Journal.RemoveWorkingFiles(Id);
                if (_unnamed is null)
                {
                    await TransferRunner.TryDeleteAsync(_destination, _context, temp, _options).ConfigureAwait(false);
                }

                throw new PluginException(ErrorCode.ChecksumMismatch,
                    $"The SHA-256 of '{TransferErrors.SourceInMessages(record)}' is {digest}, but the manifest of transfer {TransferManager.Short(record.ReceivedTransferId ?? "")} says {record.ExpectedSha256}. Nothing was delivered.",
                    errorId: "ChecksumMismatch", target: TransferErrors.SourceInMessages(record));
            }

            // The digest the server announces now (a resumed transfer's source may have said nothing at the start).
            var announced = ServerDigests.Of(after).Or(_announced);
            var md5 = _md5 is null ? null : Hex.ToLowerString(_md5.GetHashAndReset());
            var mismatch = announced.Mismatch(digest, md5);
            if (mismatch != null)
            {
                // What the server holds is not what it vouches for (a stale cache, a spliced resume): nothing is delivered.
                _runner.Journal.RemoveWorkingFiles(Id);
                if (_unnamed is null)
                {
                    await TransferRunner.TryDeleteAsync(_destination, _context, temp, _options).ConfigureAwait(false);
                }

                throw new PluginException(ErrorCode.ChecksumMismatch,
                    $"The content of '{TransferErrors.SourceInMessages(record)}' does not match what its server vouches for: its {mismatch}. Nothing was delivered; a resume reads it again from the start.",
                    errorId: "ChecksumMismatch", target: TransferErrors.SourceInMessages(record));
            }

            var destinationChecked = await CheckDestinationDigestAsync(temp, written, digest).ConfigureAwait(false);
            var verification = record.ExpectedSha256 != null ? TransferVerification.ManifestSha256
                : announced.CanCheck(md5) ? TransferVerification.ServerDigest
                : destinationChecked ? TransferVerification.DestinationDigest
                : TransferVerification.SizeOnly;
            _run.Update(r =>
            {
                r.Sha256 = digest;
                r.Verification = verification;
            });
            return digest;
        }

        /// <summary>
        /// An upload's temporary, hashed by the destination's server where it offers that (<see cref="IServerDigest"/>, or a
        /// digest its stat announces), compared with the SHA-256 of the bytes sent, before anything is delivered. A
        /// mismatch drops the temporary and the chunk log: a resume sends everything again.
        /// </summary>
        /// <returns>True when a server digest was compared (and matched); false when none was offered.</returns>
        private async Task<bool> CheckDestinationDigestAsync(Uri temp, RemoteFileInfo written, string digest)
        {
            // A part upload's metadata digest is this transfer's own claim, not the server's reading: no proof.
            if (_unnamed != null || _destination is ILocalFileEndpoint || _destination is IPartUploadDestination)
            {
                return false;
            }

            var held = written.Sha256;
            var how = "announces";
            if (held is null && _destination is IServerDigest hashing)
            {
                // The server reads the whole file first: no byte moves meanwhile, and that is no stall.
                var hashingTask = hashing.ComputeSha256Async(_context, temp, _total, _options);
                while (await Task.WhenAny(hashingTask, Task.Delay(TimeSpan.FromSeconds(1), Token)).ConfigureAwait(false) != hashingTask)
                {
                    _stall.Touch();
                }

                held = await hashingTask.ConfigureAwait(false);
                how = "computes";
            }

            if (held is null)
            {
                return false;
            }

            if (string.Equals(held, digest, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            _runner.Journal.RemoveWorkingFiles(Id);
            await TransferRunner.TryDeleteAsync(_destination, _context, temp, _options).ConfigureAwait(false);
            throw new PluginException(ErrorCode.ChecksumMismatch,
                $"The server {how} SHA-256 {held.ToLowerInvariant()} for what it holds of '{_record.Destination}', but the bytes sent hash to {digest}. Nothing was delivered; a resume sends it again from the start.",
                errorId: "ChecksumMismatch", target: _record.Destination);
        }

        /// <summary>6. Deliver atomically: the temporary (named or not, or a part upload) becomes the destination's file.</summary>
        private async Task CommitAsync(string digest)
        {
            var temp = new Uri(_record.TemporaryUri!);
            var final = new Uri(_record.FinalUri!);
            var overwrite = _record.Conflict == ConflictPolicy.Overwrite;
            if (_unnamed != null)
            {
                await _unnamed.CommitAsync(_context, temp, final, overwrite, _options).ConfigureAwait(false);
                _runner.CountUnnamedDelivery();
            }
            else if (_destination is IPartUploadDestination partUpload)
            {
                await partUpload.CompletePartUploadAsync(_context, DescribeParts(digest), overwrite, _options).ConfigureAwait(false);
            }
            else
            {
                await _destination.CommitAsync(_context, temp, final, overwrite, _options).ConfigureAwait(false);
            }

            if (!(_destination is ILocalFileEndpoint))
            {
                // A server may answer a commit with success and still not hold the file (one that commits on close and
                // fails there, a quota, a gateway): one stat of the final name is the proof. A local rename is atomic
                // and checked, so it needs none.
                await TransferDelivery.ConfirmCommitAsync(_destination, _context, _options, final, _total).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// The source's permission bits, kept for <see cref="PreserveAttributesAsync"/>, and the mode the temporary is
        /// created with: the source's plus owner read and write (a resume must reopen it), without setuid, setgid and
        /// sticky bits (given at the end), so that a file the source keeps private is never readable by others.
        /// </summary>
        private void LimitNewFileMode(int? sourceMode)
        {
            _sourceMode = _record.NoPreserve ? null : sourceMode & 0xFFF;
            _options.NewFileMode = _sourceMode is int mode ? (mode | 0x180) & 0x1FF : (int?)null;
            _options.SourceMode = _sourceMode;
        }

        /// <summary>
        /// 7. The delivered file gets the source's modification time and permission bits (unless -NoPreserve), where the
        /// destination can keep them. The bytes are delivered by now: a failure is a warning, not a failed transfer, as
        /// with <c>cp -p</c> on a file system that cannot keep them.
        /// </summary>
        private async Task PreserveAttributesAsync()
        {
            if (_record.NoPreserve || !(_destination is IFileAttributePreservation preservation) || (_record.SourceModified is null && _sourceMode is null))
            {
                return;
            }

            try
            {
                await preservation.SetFileAttributesAsync(_context, new Uri(_record.FinalUri!), _record.SourceModified, _sourceMode, _options).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                _context.Logger.Log(LogLevel.Warning,
                    $"Transfer {TransferManager.Short(Id)}: '{_record.Destination}' was delivered, but its time and permissions could not be kept: {e.Message}");
            }
        }

        /// <summary>The upload this transfer makes through an <see cref="IPartUploadDestination"/>.</summary>
        private PartUpload DescribeParts(string? digest = null) =>
            PartUploadResume.Describe(_record, new Uri(_record.TemporaryUri!), new Uri(_record.FinalUri!), _total, digest, _sourceMode);

        /// <summary>Refuses a source that is another file now, or was rewritten, though its size and time are the same.</summary>
        private void CheckIdentity(string when)
        {
            if (_record.SourceIdentity != null && _source is IFileIdentity identity)
            {
                var now = identity.GetFileIdentity(_sourceUri);
                if (now != null && !string.Equals(now, _record.SourceIdentity, StringComparison.Ordinal))
                {
                    throw TransferErrors.SourceChanged(_record, when, "it was replaced or rewritten, though its size and time stamp are the same");
                }
            }
        }

        /// <summary>True when <paramref name="info"/> shows that the source is no longer what the transfer began with.</summary>
        internal static bool HasChanged(TransferRecord record, RemoteFileInfo info) =>
            // (A size never given cannot have changed; the version, if any, still can.)
            (!record.SourceSizeUnknown && info.Length != record.SourceLength)
            || (record.SourceVersion != null && info.Version != null && !SourceVersion.Same(record.SourceVersion, info.Version))
            || (record.SourceVersion is null && record.SourceModified != null && info.LastModified != null && record.SourceModified != info.LastModified);

        public void Dispose()
        {
            // Unless it was given a name, the unnamed file vanishes with its descriptor.
            _unnamed?.Dispose();
            _stall.Dispose();
            _sha.Dispose();
            _md5?.Dispose();
            _cancellation.Dispose();
        }
    }
}
