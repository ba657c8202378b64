using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;
using Action = System.Action;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// The <c>Sftp</c> protocol plugin: <c>sftp://user@host[:port]/path</c> as a transfer source or destination over
    /// SSH.NET. Host keys are always verified (pinned fingerprint or known_hosts); the engine does chunking, journal,
    /// resume and verification through <see cref="ITransferEndpoint"/>.
    /// </summary>
    /// <remarks>
    /// Configuration keys (registration configuration, or per transfer in <see cref="TransferOptions.Custom"/>):
    /// <c>KnownHostsPath</c> (one or more files separated by <c>;</c>; default <c>~/.ssh/known_hosts</c>),
    /// <c>HostKeyFingerprint</c> (the pinned host key; in the configuration, the default pin), <c>KeyFile</c> (per transfer
    /// only: the private key to log in with), <c>BufferSize</c> (bytes per SFTP request),
    /// <c>ConnectTimeoutSeconds</c>, <c>KeepAliveSeconds</c>, <c>PendingReads</c>, <c>PendingWrites</c>, <c>InFlightBytes</c>,
    /// <c>ParallelWrites</c>, <c>WriteSegmentSize</c>.
    /// </remarks>
    [TransferPlugin("Sftp", PluginType.Protocol, PathKeys = new[] { KnownHostsPathKey },
        Description = "SFTP over SSH (SSH.NET) with pinned or known_hosts-verified host keys.", Schemes = new[] { "sftp" })]
    public sealed partial class SftpProtocolPlugin : StreamingProtocolPlugin, IFolderListing, IRangedReads, IRangedWrites, IRoundTripMeasure
    {
        /// <summary>Configuration key: known_hosts file(s), separated by <c>;</c>.</summary>
        public const string KnownHostsPathKey = "KnownHostsPath";
        /// <summary>Protocol option (and configuration key, as the default): the pinned host key fingerprint,
        /// <c>SHA256:...</c> as <c>ssh-keygen -l</c> prints it (<c>-HostKeyFingerprint</c> of the transfer cmdlets).</summary>
        public const string HostKeyFingerprintKey = "HostKeyFingerprint";
        /// <summary>Protocol option: an OpenSSH private key file to log in with (<c>-KeyFile</c> of the transfer cmdlets); its
        /// passphrase, if any, is the password of the transfer's credential.</summary>
        public const string KeyFileKey = "KeyFile";
        /// <summary>Configuration key: payload bytes per SFTP read/write request (default 256 KiB, at least 32 KiB), within
        /// what the server states through <c>limits@openssh.com</c>, or within one SSH channel packet when it states nothing.</summary>
        public const string BufferSizeKey = "BufferSize";
        /// <summary>Configuration key: seconds to wait for the TCP connection and SSH handshake.</summary>
        public const string ConnectTimeoutKey = "ConnectTimeoutSeconds";
        /// <summary>Configuration key: seconds between SSH keep-alive messages (0 turns them off).</summary>
        public const string KeepAliveKey = "KeepAliveSeconds";
        /// <summary>Configuration key: how many SFTP handles write one file concurrently (1 writes strictly in order).</summary>
        public const string ParallelWritesKey = "ParallelWrites";
        /// <summary>Configuration key: bytes each concurrent write takes at a time.</summary>
        public const string WriteSegmentSizeKey = "WriteSegmentSize";
        /// <summary>Configuration key: at most how many write requests one upload keeps in flight on one handle (default 64,
        /// as OpenSSH's sftp; <see cref="InFlightBytesKey"/> usually limits them first; 0 writes through
        /// <see cref="ParallelWritesKey"/> handles instead).</summary>
        public const string PendingWritesKey = "PendingWrites";
        /// <summary>Configuration key: at most how many read requests one download keeps in flight (default 32;
        /// <see cref="InFlightBytesKey"/> usually limits them first; 0 reads through SSH.NET's own stream).</summary>
        public const string PendingReadsKey = "PendingReads";
        /// <summary>Configuration key: bytes of read or write requests one transfer keeps in flight (default 2 MiB, the
        /// channel window OpenSSH's server gives; for uploads the most, see <see cref="SftpWriteWindow"/>).</summary>
        public const string InFlightBytesKey = "InFlightBytes";

        /// <summary>The protocol option that says how the streams of one segmented transfer (<c>-Streams</c>) reach the
        /// server: <c>PerStream</c> (default: a connection each, so each has its own SSH window) or <c>Shared</c> (one
        /// connection, a handle each).</summary>
        public const string StreamConnectionsKey = "StreamConnections";

        private static readonly string[] SchemeList = TransferPluginAttribute.Of(typeof(SftpProtocolPlugin))!.Schemes;
        private readonly SftpConnectionPool _pool = new SftpConnectionPool();

        /// <inheritdoc/>
        public override PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(SftpProtocolPlugin), "TransferTools contributors", "MIT");

        /// <inheritdoc/>
        public override IReadOnlyCollection<string> Schemes => SchemeList;

        /// <inheritdoc/>
        public override Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            var result = base.InitAsync(context, config);
            // Validate the configuration now, so a bad registration fails at Register-TransferPlugin, not mid-transfer.
            Settings(new TransferOptions());
            return result;
        }

        /// <inheritdoc/>
        public override Task ShutdownAsync(OperationContext context)
        {
            _pool.Dispose();
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public override Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options) =>
            RunAsync(context, location, options, "GetInfo", idempotent: true, async (client, loc, ct) =>
            {
                var attributes = await TryGetAttributesAsync(client, loc.Path, ct).ConfigureAwait(false);
                if (attributes != null && !attributes.IsDirectory && !attributes.IsRegularFile)
                {
                    // Before anything opens it: the server's open of a named pipe waits for a writer, and holds up the session.
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{loc.Path}' on {loc.Host} is {KindOf(attributes)}, not a file: only files are transferred.",
                        errorId: "NotARegularFile", target: location);
                }

                return attributes is null ? RemoteFileInfo.Missing : ToInfo(attributes);
            });

        /// <inheritdoc/>
        public override Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options)
        {
            var settings = Settings(options);
            return RunAsync(context, location, options, "OpenRead", idempotent: true, async (client, loc, ct) =>
            {
                var requests = SshNetRequests.Instance;
                var session = requests?.SessionOf(client);
                var paths = settings.PendingReads > 0 && session != null ? requests!.Paths : null;
                // The open goes out together with the stat (one round trip for both, not one each); the handle is closed
                // again when the stat refuses the file.
                var opening = paths?.Open(session!, loc.Path, SshNetRequests.OpenForReading, ct);
                SftpFileAttributes attributes;
                try
                {
                    attributes = await SftpPathRequests.Of(client).GetAttributesAsync(loc.Path, ct).ConfigureAwait(false);
                    CheckReadable(attributes, loc, location, offset, expectedVersion);
                }
                catch
                {
                    if (opening != null)
                    {
                        _ = CloseWhenOpenAsync(opening, paths!, session!);
                    }

                    throw;
                }

                if (opening != null)
                {
                    var opened = await opening.ConfigureAwait(false);
                    return await PipelinedReaderAsync(context, client, session!, requests!, opened, () => paths!.Close(session!, opened), loc, offset,
                        attributes.Size, settings).ConfigureAwait(false);
                }

                if (settings.PendingReads > 0)
                {
                    if (requests != null && session != null)
                    {
                        var stream = await client.OpenAsync(loc.Path, FileMode.Open, FileAccess.Read, ct).ConfigureAwait(false);
                        return await PipelinedReaderAsync(context, client, session, requests, stream.Handle, stream.Dispose, loc, offset, attributes.Size, settings)
                            .ConfigureAwait(false);
                    }

                    context.Logger.Log(LogLevel.Verbose,
                        $"Sftp: pipelined reads are unavailable with this SSH.NET ({SshNetRequests.BindFailure ?? "no SFTP session"}); reading through SSH.NET's stream.");
                }

                return await PlainReaderAsync(client, loc, offset, ct).ConfigureAwait(false);
            });
        }

        /// <summary>Refuses a folder, a changed file and a file shorter than the resume offset.</summary>
        private static void CheckReadable(SftpFileAttributes attributes, SftpLocation loc, Uri location, long offset, string? expectedVersion)
        {
            if (attributes.IsDirectory)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{loc.Path}' on {loc.Host} is a folder, not a file.",
                    errorId: "SftpSourceIsFolder", target: location);
            }

            var version = VersionOf(attributes);
            if (!string.IsNullOrEmpty(expectedVersion) && !string.Equals(expectedVersion, version, StringComparison.Ordinal))
            {
                throw new PluginException(ErrorCode.SourceChanged,
                    $"'{loc.Path}' on {loc.Host} changed since the transfer began (size/time {version}, expected {expectedVersion}); it cannot be resumed.",
                    errorId: "SftpSourceChanged", target: location);
            }

            if (offset > attributes.Size)
            {
                throw new PluginException(ErrorCode.SourceChanged,
                    $"'{loc.Path}' on {loc.Host} is {attributes.Size} bytes, shorter than the resume offset {offset}.",
                    errorId: "SftpSourceChanged", target: location);
            }
        }

        /// <summary>Closes a handle once its open completes; never throws (the open may have failed as well).</summary>
        private static async Task CloseWhenOpenAsync(Task<byte[]> opening, SshNetRequests.PathBinding paths, object session)
        {
            try
            {
                var handle = await opening.ConfigureAwait(false);
                await Task.Run(() => paths.Close(session, handle)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Nothing was opened, or the connection is gone and the handle with it.
            }
        }

        /// <summary>The pipelined reader on an open <paramref name="handle"/>.</summary>
        private Task<Stream> PipelinedReaderAsync(OperationContext context, SftpClient client, object session, SshNetRequests requests, byte[] handle,
            Action closeHandle, SftpLocation location, long offset, long length, SftpConnectionSettings settings) =>
            OnHandleAsync(session, requests, closeHandle, settings, limits =>
            {
                var size = requests.ReadRequestSize(session, settings.BufferSize, limits);
                var inFlight = settings.RequestsInFlight(settings.PendingReads, size);
                if (FirstSizing(session, reading: true))
                {
                    context.Logger.Log(LogLevel.Verbose, $"Sftp: reading {size} bytes per request, {inFlight} in flight (server limits: {limits?.ToString() ?? "not stated"}).");
                }

                return new SftpPipelinedReadStream(client, handle, closeHandle, session, requests, offset, length, inFlight,
                    size, settings.StallTimeout, e => Fail(client, location, "Read", e));
            });

        /// <summary>SSH.NET's own stream, when the pipelined reads are off or unavailable.</summary>
        private async Task<Stream> PlainReaderAsync(SftpClient client, SftpLocation loc, long offset, CancellationToken ct)
        {
            var stream = await client.OpenAsync(loc.Path, FileMode.Open, FileAccess.Read, ct).ConfigureAwait(false);
            try
            {
                if (offset > 0)
                {
                    stream.Seek(offset, SeekOrigin.Begin);
                }
            }
            catch
            {
                stream.Dispose();
                throw;
            }

            return new SftpStream(stream, offset, write: false, e => Fail(client, loc, "Read", e));
        }

        /// <inheritdoc/>
        public override Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options)
        {
            var settings = Settings(options);
            return RunAsync(context, location, options, "OpenWrite", idempotent: true, async (client, loc, ct) =>
            {
                if (offset < 0)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"Negative offset {offset}.", errorId: "SftpInvalidOffset", target: location);
                }

                SftpFileStream stream;
                if (offset == 0)
                {
                    var requests = SshNetRequests.Instance;
                    var session = requests?.SessionOf(client);
                    if (settings.ParallelWrites > 1 && settings.PendingWrites > 0 && session != null && requests!.Paths is { } paths)
                    {
                        // Opened through the session: one round trip (SSH.NET's stream adds an fstat).
                        byte[] handle;
                        try
                        {
                            handle = await paths.Open(session, loc.Path, SshNetRequests.OpenForWriting, ct).ConfigureAwait(false);
                        }
                        catch (SftpPathNotFoundException) when (loc.ParentPath != null)
                        {
                            await CreateDirectoriesAsync(client, loc.ParentPath!, ct).ConfigureAwait(false);
                            handle = await paths.Open(session, loc.Path, SshNetRequests.OpenForWriting, ct).ConfigureAwait(false);
                        }

                        await LimitNewFileAsync(context, client, loc.Path, options, ct).ConfigureAwait(false);
                        return await PipelinedWriterAsync(context, client, session, requests, handle, () => paths.Close(session, handle), loc, 0, settings)
                            .ConfigureAwait(false);
                    }

                    try
                    {
                        stream = await client.OpenAsync(loc.Path, FileMode.Create, FileAccess.Write, ct).ConfigureAwait(false);
                    }
                    catch (SftpPathNotFoundException) when (loc.ParentPath != null)
                    {
                        await CreateDirectoriesAsync(client, loc.ParentPath!, ct).ConfigureAwait(false);
                        stream = await client.OpenAsync(loc.Path, FileMode.Create, FileAccess.Write, ct).ConfigureAwait(false);
                    }

                    await LimitNewFileAsync(context, client, loc.Path, options, ct).ConfigureAwait(false);
                    return await WriterAsync(context, client, stream, loc, 0, settings).ConfigureAwait(false);
                }

                var attributes = await TryGetAttributesAsync(client, loc.Path, ct).ConfigureAwait(false);
                var existing = attributes?.Size ?? -1;
                if (existing < offset)
                {
                    throw new PluginException(ErrorCode.InvalidState,
                        $"The temporary file '{loc.Path}' on {loc.Host} holds {Math.Max(existing, 0)} bytes, fewer than the resume offset {offset}; the upload must restart.",
                        errorId: "SftpTemporaryShorterThanOffset", target: location);
                }

                stream = await client.OpenAsync(loc.Path, FileMode.Open, FileAccess.Write, ct).ConfigureAwait(false);
                try
                {
                    // Opened without truncation, yet a server that cannot write into an existing file (rclone serve sftp
                    // without its write cache) empties it here: then nothing is left to continue, and this attempt
                    // must start from the beginning, never write past a hole.
                    var reopened = await TryGetAttributesAsync(client, loc.Path, ct).ConfigureAwait(false);
                    if ((reopened?.Size ?? 0) < offset)
                    {
                        throw new PluginException(ErrorCode.ConnectionError,
                            $"The server emptied the temporary file '{loc.Path}' on {loc.Host} when it was opened to continue at {offset} bytes " +
                            $"(it holds {Math.Max(0, reopened?.Size ?? 0)} now): this server cannot continue a file in place, so the upload starts again from the beginning.",
                            errorId: "SftpPartialLostOnOpen", target: location);
                    }

                    if (existing > offset)
                    {
                        stream.SetLength(offset);
                    }

                    stream.Seek(offset, SeekOrigin.Begin);
                }
                catch
                {
                    try
                    {
                        stream.Dispose();
                    }
                    catch (Exception)
                    {
                        // The failure that got here is the one to report.
                    }

                    throw;
                }

                return await WriterAsync(context, client, stream, loc, offset, settings).ConfigureAwait(false);
            });
        }

        private async Task<Stream> WriterAsync(OperationContext context, SftpClient client, SftpFileStream stream, SftpLocation location, long offset,
            SftpConnectionSettings settings)
        {
            PluginException Map(Exception e) => offset > 0 && RefusedAtResumePoint(e, offset) ? CannotContinue(client, location, offset, e) : Fail(client, location, "Write", e);
            if (settings.ParallelWrites <= 1)
            {
                return new SftpStream(stream, offset, write: true, Map);
            }

            if (settings.PendingWrites > 0)
            {
                var requests = SshNetRequests.Instance;
                var session = requests?.SessionOf(client);
                if (requests != null && session != null)
                {
                    return await PipelinedWriterAsync(context, client, session, requests, stream.Handle, stream.Dispose, location, offset, settings).ConfigureAwait(false);
                }

                context.Logger.Log(LogLevel.Verbose,
                    $"Sftp: pipelined writes are unavailable with this SSH.NET ({SshNetRequests.BindFailure ?? "no SFTP session"}); writing through {settings.ParallelWrites} handles.");
            }

            return new SftpParallelWriteStream(client, stream, location.Path, offset, settings.ParallelWrites, settings.WriteSegmentSize, Map);
        }

        /// <summary>The pipelined writer on an open <paramref name="handle"/>.</summary>
        private Task<Stream> PipelinedWriterAsync(OperationContext context, SftpClient client, object session, SshNetRequests requests, byte[] handle,
            Action closeHandle, SftpLocation location, long offset, SftpConnectionSettings settings) =>
            OnHandleAsync(session, requests, closeHandle, settings, limits =>
            {
                var size = requests.WriteRequestSize(session, handle, settings.BufferSize, limits);
                var inFlight = settings.RequestsInFlight(settings.PendingWrites, size);
                if (FirstSizing(session, reading: false))
                {
                    context.Logger.Log(LogLevel.Verbose, $"Sftp: writing {size} bytes per request, at most {inFlight} in flight, fewer while the server only queues them (server limits: {limits?.ToString() ?? "not stated"}).");
                }

                return new SftpPipelinedWriteStream(client, handle, closeHandle, session, requests, offset, inFlight, size, settings.StallTimeout,
                    e => offset > 0 && RefusedAtResumePoint(e, offset) ? CannotContinue(client, location, offset, e) : Fail(client, location, "Write", e));
            });

        /// <summary>A pipelined stream on an open handle, made by <paramref name="create"/> once the server's limits are
        /// known (asked once per session); the handle is closed when that fails.</summary>
        private static async Task<Stream> OnHandleAsync(object session, SshNetRequests requests, Action closeHandle, SftpConnectionSettings settings,
            Func<SftpServerLimits?, Stream> create)
        {
            try
            {
                return create(await requests.LimitsAsync(session, settings.ConnectTimeout).ConfigureAwait(false));
            }
            catch
            {
                try
                {
                    closeHandle();
                }
                catch (Exception)
                {
                    // The failure that got here matters more; a dead connection's handles die with it.
                }

                throw;
            }
        }

        /// <inheritdoc/>
        public override Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            var to = SftpLocation.Parse(final);
            return RunAsync(context, temporary, options, "Commit", idempotent: false, async (client, from, ct) =>
            {
                if (!from.SameServer(to))
                {
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"Cannot commit across servers ({from.Host}:{from.Port} to {to.Host}:{to.Port}).", errorId: "SftpCommitAcrossServers", target: final);
                }

                if (overwrite)
                {
                    await ReplaceAsync(context, client, from, to, final, ct).ConfigureAwait(false);
                    return true;
                }

                // Looked at first, although a plain rename fails on an existing file: an SFTP server that does not follow
                // the protocol there would otherwise replace a file the user did not allow to be replaced. OpenSSH's
                // server follows it (link(2), then unlink: EEXIST on a taken name), so there the look is one round trip
                // per file for nothing; a refused rename is still told apart from a taken name below.
                if (!RenameRefusesTakenName(client))
                {
                    var target = await TryGetAttributesAsync(client, to.Path, ct).ConfigureAwait(false);
                    if (target != null)
                    {
                        throw DestinationExists(to, target, final);
                    }
                }

                Exception? failure = null;
                try
                {
                    // A plain SFTP rename never replaces an existing file: a racing writer yields Conflict, not loss.
                    await SftpPathRequests.Of(client).RenameAsync(from.Path, to.Path, ct).ConfigureAwait(false);
                    return true;
                }
                catch (SshException e) when (!(e is SftpPathNotFoundException) && !(e is SftpPermissionDeniedException) && !(e is SshConnectionException))
                {
                    failure = e;
                }

                if (await TryGetAttributesAsync(client, to.Path, ct).ConfigureAwait(false) is { } taken)
                {
                    throw RenameRefusesTakenName(client)
                        ? DestinationExists(to, taken, final, failure)
                        : new PluginException(ErrorCode.Conflict, $"'{to.Path}' appeared on {to.Host} while committing.", failure, "SftpDestinationExists", final);
                }

                throw failure;
            });
        }

        /// <summary>True when the server is OpenSSH's, whose plain rename never replaces an existing file (it links the new
        /// name and fails with EEXIST); other servers (ProFTPD, rclone serve sftp, ...) are looked at before the rename.</summary>
        private static bool RenameRefusesTakenName(SftpClient client) =>
            client.ConnectionInfo?.ServerVersion?.StartsWith("SSH-2.0-OpenSSH_", StringComparison.Ordinal) == true;

        private static PluginException DestinationExists(SftpLocation to, SftpFileAttributes target, Uri final, Exception? cause = null) =>
            new PluginException(ErrorCode.Conflict,
                target.IsDirectory
                    ? $"'{to.Path}' on {to.Host} is a folder; the file cannot replace it."
                    : $"'{to.Path}' exists on {to.Host}; choose another name or allow overwriting.",
                cause, "SftpDestinationExists", final);

        /// <inheritdoc/>
        public override Task DeleteAsync(OperationContext context, Uri location, TransferOptions options) =>
            RunAsync(context, location, options, "Delete", idempotent: true, async (client, loc, ct) =>
            {
                try
                {
                    await SftpPathRequests.Of(client).DeleteFileAsync(loc.Path, ct).ConfigureAwait(false);
                }
                catch (SftpPathNotFoundException)
                {
                    // Already gone.
                }

                return true;
            });

        /// <inheritdoc/>
        public override Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options) =>
            RunAsync(context, location, options, "CreateDirectory", idempotent: true, async (client, loc, ct) =>
            {
                await CreateDirectoriesAsync(client, loc.Path, ct).ConfigureAwait(false);
                return true;
            });

        /// <inheritdoc/>
        public Task<IReadOnlyList<RemoteFolderEntry>> ListFolderAsync(OperationContext context, Uri folder, TransferOptions options) =>
            RunAsync(context, folder, options, "List", idempotent: true, async (client, loc, ct) =>
            {
                var entries = new List<RemoteFolderEntry>();
                var links = new List<string>();
                var folderPath = loc.Path.Length == 0 ? "." : loc.Path;
                string FullName(string name) => folderPath.TrimEnd('/') + "/" + name;
                try
                {
                    foreach (var file in await SftpPathRequests.Of(client).ListAsync(folderPath, ct).ConfigureAwait(false))
                    {
                        if (file.Key == "." || file.Key == "..")
                        {
                            continue;
                        }

                        if (file.Value.IsSymbolicLink)
                        {
                            links.Add(file.Key);
                            continue;
                        }

                        if (file.Value.IsDirectory || file.Value.IsRegularFile)
                        {
                            entries.Add(ToEntry(file.Key, file.Value, isLink: false));
                        }
                        else
                        {
                            context.Logger.Log(LogLevel.Warning, $"Sftp: '{FullName(file.Key)}' on {loc.Host} is {KindOf(file.Value)}, not a file; skipped.");
                        }
                    }
                }
                catch (SshException e) when (!(e is SshConnectionException) && !(e is SftpPermissionDeniedException))
                {
                    // OpenSSH answers opendir on a file with "no such file" (ENOTDIR): look at what is there to say so.
                    var there = await TryGetAttributesAsync(client, loc.Path, ct).ConfigureAwait(false);
                    if (there != null && !there.IsDirectory)
                    {
                        throw new PluginException(ErrorCode.InvalidArgument, $"'{loc.Path}' on {loc.Host} is a file, not a folder.", e, "NotAFolder", loc.Path);
                    }

                    throw;
                }

                // A link is listed as what it points to; the listing only gives the link itself.
                foreach (var link in links)
                {
                    var target = await TryGetAttributesAsync(client, FullName(link), ct).ConfigureAwait(false);
                    if (target is null)
                    {
                        context.Logger.Log(LogLevel.Verbose, $"Sftp: '{FullName(link)}' on {loc.Host} is a link to nothing; left out.");
                    }
                    else if (target.IsDirectory || target.IsRegularFile)
                    {
                        entries.Add(ToEntry(link, target, isLink: true));
                    }
                    else
                    {
                        context.Logger.Log(LogLevel.Warning, $"Sftp: '{FullName(link)}' on {loc.Host} links to {KindOf(target)}, not a file; skipped.");
                    }
                }

                return (IReadOnlyList<RemoteFolderEntry>)entries;
            });

        private static string KindOf(SftpFileAttributes attributes) =>
            attributes.IsNamedPipe ? "a named pipe (FIFO)" : attributes.IsSocket ? "a socket" : attributes.IsCharacterDevice ? "a character device"
            : attributes.IsBlockDevice ? "a block device" : "neither a file nor a folder";

        private static RemoteFolderEntry ToEntry(string name, SftpFileAttributes attributes, bool isLink) => new RemoteFolderEntry
        {
            Name = name,
            IsDirectory = attributes.IsDirectory,
            IsLink = isLink,
            Length = attributes.IsDirectory ? -1 : attributes.Size,
            LastModified = new DateTimeOffset(DateTime.SpecifyKind(attributes.LastWriteTimeUtc, DateTimeKind.Utc)),
        };

        /// <summary>The version of a remote file: modification time and size (SFTP has no content tag).</summary>
        private static string VersionOf(SftpFileAttributes attributes) => VersionOf(attributes.Size, attributes.LastWriteTimeUtc);

        private static string VersionOf(long size, DateTime lastWriteUtc) =>
            string.Format(CultureInfo.InvariantCulture, "{0:x}-{1:x}", new DateTimeOffset(DateTime.SpecifyKind(lastWriteUtc, DateTimeKind.Utc)).ToUnixTimeSeconds(), size);

        private static RemoteFileInfo ToInfo(SftpFileAttributes a) => new RemoteFileInfo
        {
            Exists = true,
            IsDirectory = a.IsDirectory,
            Length = a.IsDirectory ? -1 : a.Size,
            LastModified = new DateTimeOffset(DateTime.SpecifyKind(a.LastWriteTimeUtc, DateTimeKind.Utc)),
            Version = a.IsDirectory ? null : VersionOf(a),
            PosixMode = PosixModeOf(a),
        };

        private static Task<SftpFileAttributes?> TryGetAttributesAsync(SftpClient client, string path, CancellationToken ct) =>
            SftpPathRequests.Of(client).TryGetAttributesAsync(path, ct);

        private static async Task CreateDirectoriesAsync(SftpClient client, string path, CancellationToken ct)
        {
            var trimmed = path.Length > 1 ? path.TrimEnd('/') : path;
            if (trimmed.Length == 0 || trimmed == "." || trimmed == "/")
            {
                return;
            }

            var existing = await TryGetAttributesAsync(client, trimmed, ct).ConfigureAwait(false);
            if (existing != null)
            {
                if (!existing.IsDirectory)
                {
                    throw new PluginException(ErrorCode.Conflict, $"'{trimmed}' exists and is not a folder.", errorId: "SftpNotAFolder", target: trimmed);
                }

                return;
            }

            var slash = trimmed.LastIndexOf('/');
            if (slash > 0)
            {
                await CreateDirectoriesAsync(client, trimmed.Substring(0, slash), ct).ConfigureAwait(false);
            }

            try
            {
                await SftpPathRequests.Of(client).CreateDirectoryAsync(trimmed, ct).ConfigureAwait(false);
            }
            catch (SshException) when (!(ct.IsCancellationRequested))
            {
                // Created by someone else meanwhile, or a real failure: look again.
                var now = await TryGetAttributesAsync(client, trimmed, ct).ConfigureAwait(false);
                if (now is null || !now.IsDirectory)
                {
                    throw;
                }
            }
        }

        /// <summary>Replaces an existing file: posix-rename@openssh.com in one step where the server offers it, otherwise
        /// move the old file aside, rename, then delete the old one (restoring it if the rename fails). A folder is never
        /// replaced (<see cref="ErrorCode.Conflict"/>).</summary>
        private static async Task ReplaceAsync(OperationContext context, SftpClient client, SftpLocation from, SftpLocation to, Uri final, CancellationToken ct)
        {
            Exception failure;
            try
            {
                // Straight away, without looking first (one round trip less per file): posix-rename is rename(2), which
                // replaces a file or takes a free name but fails on a folder.
                await SftpPathRequests.Of(client).PosixRenameAsync(from.Path, to.Path, ct).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is NotSupportedException || (e is SshException && !(e is SshConnectionException)
                                      && !(e is SftpPathNotFoundException) && !(e is SftpPermissionDeniedException)))
            {
                failure = e;
            }

            var target = await TryGetAttributesAsync(client, to.Path, ct).ConfigureAwait(false);
            if (target?.IsDirectory == true)
            {
                throw DestinationExists(to, target, final, failure);
            }

            if (!(failure is NotSupportedException))
            {
                // The server has posix-rename and it failed on a file or a free name: that failure is the answer.
                throw failure;
            }

            context.Logger.Log(LogLevel.Verbose, $"Sftp: {to.Host} has no posix-rename ({failure.Message}); replacing in three steps.");
            if (target is null)
            {
                await SftpPathRequests.Of(client).RenameAsync(from.Path, to.Path, ct).ConfigureAwait(false);
                return;
            }

            var aside = to.Path + ".tt-old-" + Guid.NewGuid().ToString("n").Substring(0, 8);
            await SftpPathRequests.Of(client).RenameAsync(to.Path, aside, ct).ConfigureAwait(false);
            try
            {
                await SftpPathRequests.Of(client).RenameAsync(from.Path, to.Path, ct).ConfigureAwait(false);
            }
            catch
            {
                await SftpPathRequests.Of(client).RenameAsync(aside, to.Path, CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            try
            {
                await SftpPathRequests.Of(client).DeleteFileAsync(aside, ct).ConfigureAwait(false);
            }
            catch (SshException e)
            {
                context.Logger.Log(LogLevel.Warning, $"Sftp: the replaced file was left as '{aside}' on {to.Host}: {e.Message}");
            }
        }

        /// <summary>The server refused the very first write of a resumed upload, at the offset it resumes from.</summary>
        private static bool RefusedAtResumePoint(Exception e, long offset) =>
            SftpErrors.IsServerAnswer(e) && e.Message.IndexOf($" bytes at offset {offset}:", StringComparison.Ordinal) >= 0;

        /// <summary>
        /// A server that cannot write into an existing file (rclone serve sftp without its write cache answers "Illegal
        /// seek", and has emptied the file by then): the kept part is gone or unusable there. The temporary is removed so
        /// that the engine's retry finds nothing to keep and sends the file from the beginning, honestly.
        /// </summary>
        private PluginException CannotContinue(SftpClient client, SftpLocation location, long offset, Exception e)
        {
            try
            {
                client.DeleteFile(location.Path);
            }
            catch (Exception)
            {
                // Already gone, or the retry's check of the partial finds it unusable all the same.
            }

            return new PluginException(ErrorCode.ConnectionError,
                $"Write: the server refused to continue '{location.Path}' on {location.Host} at {offset} bytes{SftpErrors.ServerSaid(e)}: it cannot write into an " +
                "existing file, so the upload starts again from the beginning.",
                e, "SftpCannotContinue", location.Path);
        }

        private PluginException Fail(SftpClient client, SftpLocation location, string operation, Exception e)
        {
            var mapped = SftpErrors.Map(e, location, operation);
            if (mapped.IsTransient || !client.IsConnected)
            {
                _pool.Invalidate(client);
            }

            return mapped;
        }

        private async Task<T> RunAsync<T>(OperationContext context, Uri uri, TransferOptions options, string operation, bool idempotent,
            Func<SftpClient, SftpLocation, CancellationToken, Task<T>> action, int lane = 0)
        {
            var location = SftpLocation.Parse(uri);
            var settings = Settings(options);
            var ct = context.CancellationToken;
            for (var attempt = 1; ; attempt++)
            {
                var client = await _pool.AcquireAsync(context, location, options, settings, lane).ConfigureAwait(false);
                try
                {
                    return await action(client, location, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    throw;
                }
                catch (PluginException)
                {
                    throw;
                }
                catch (Exception e)
                {
                    var mapped = Fail(client, location, operation, e);
                    // A pooled connection may have died unnoticed (server restart): one immediate retry on a fresh
                    // connection for calls that are safe to repeat; anything longer is the engine's backoff.
                    if (mapped.IsTransient && idempotent && attempt == 1)
                    {
                        context.Logger.Log(LogLevel.Verbose, $"Sftp: {operation} failed ({mapped.Message}); retrying once on a new connection.");
                        continue;
                    }

                    throw mapped;
                }
            }
        }
    }
}
