using System;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// What happens before a transfer runs: its request checked, authorized, its protocol chosen by the location's
    /// scheme, and its journal record written out (names, locations, options), ready for <see cref="TransferRunner"/>.
    /// </summary>
    internal sealed class TransferIntake
    {
        private readonly TransferSession _session;
        private readonly TransferRunner _runner;

        public TransferIntake(TransferSession session, TransferRunner runner)
        {
            _session = session;
            _runner = runner;
        }

        /// <summary>The batch a call's transfers are journaled in (<see cref="TransferManager.BatchContextKey"/>), or null.</summary>
        internal static TransferBatch? BatchOf(OperationContext context) => context.GetValue(TransferManager.BatchContextKey) as TransferBatch;

        /// <summary>The record of a new send of the checked local file <paramref name="source"/>.</summary>
        internal TransferRecord NewSendRecord(OperationContext context, string id, string protocol, CheckedSource source, Uri destination, SendRequest request)
        {
            var record = NewRecord(context, id, protocol, TransferDirection.Send);
            record.Source = source.Path;
            record.SourceUri = TransferLocation.FromLocalPath(source.Path).ToString();
            record.Name = Path.GetFileName(source.Path);
            record.RequestedDestination = request.Destination;
            record.DestinationUri = destination.ToString();
            record.Destination = TransferLocation.Display(destination);
            record.TotalBytes = source.Length;
            record.ApplyOptions(request.Options);
            record.DestinationListed = request.DestinationListed;
            if (!string.IsNullOrEmpty(request.ManifestRoot) && !record.NoManifest)
            {
                record.ManifestRoot = TransferLocation.AsFolder(TransferLocation.Parse(request.ManifestRoot!)).ToString();
            }

            return record;
        }

        /// <summary>
        /// The record of a new copy from the remote <paramref name="sourceUri"/> (served by <paramref name="sourceProtocol"/>
        /// through <paramref name="source"/>) to a remote destination: a send whose source is read through an endpoint.
        /// </summary>
        internal async Task<TransferRecord> NewRemoteCopyRecordAsync(OperationContext context, string id, string protocol, string sourceProtocol,
            ITransferEndpoint source, Uri sourceUri, Uri destination, SendRequest request)
        {
            var record = NewRecord(context, id, protocol, TransferDirection.Send);
            record.SourceProtocol = sourceProtocol;
            record.SourceUri = sourceUri.ToString();
            record.Source = TransferLocation.Display(sourceUri);
            record.Name = await NameOfSourceAsync(context, source, sourceUri, request.Options).ConfigureAwait(false);
            record.RequestedDestination = request.Destination;
            record.DestinationUri = destination.ToString();
            record.Destination = TransferLocation.Display(destination);
            record.ApplyOptions(request.Options);
            record.DestinationListed = request.DestinationListed;
            if (!string.IsNullOrEmpty(request.ManifestRoot) && !record.NoManifest)
            {
                record.ManifestRoot = TransferLocation.AsFolder(TransferLocation.Parse(request.ManifestRoot!)).ToString();
            }

            return record;
        }

        /// <summary>
        /// The record of a new receive through <paramref name="source"/>: a sent transfer by its manifest, or a plain remote
        /// file, named as its location or its server says; the output folder is created.
        /// </summary>
        internal async Task<TransferRecord> NewReceiveRecordAsync(OperationContext context, string id, string protocol, ReceiveRequest request, ITransferEndpoint source)
        {
            // Without its trailing separator ('./other/'), which would be doubled before the file name (other//big.bin).
            var outputDir = Path.GetFullPath(request.OutputDir);
            var driveRoot = Path.GetPathRoot(outputDir) ?? "";
            while (outputDir.Length > driveRoot.Length && (outputDir.EndsWith("/", StringComparison.Ordinal) || outputDir.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal)))
            {
                outputDir = outputDir.Substring(0, outputDir.Length - 1);
            }

            var record = NewRecord(context, id, protocol, TransferDirection.Receive);
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

                var (manifest, root) = await TransferManifest.ReadAsync(context, source, folder, request.TransferId!.ToLowerInvariant(), options).ConfigureAwait(false);
                sourceUri = TransferLocation.CombinePath(root, manifest.Name);
                record.ReceivedTransferId = manifest.Id;
                record.ExpectedSha256 = manifest.Sha256;
                record.TotalBytes = manifest.Size;
                record.Name = TransferLocation.FileName(sourceUri);
            }
            else
            {
                sourceUri = TransferLocation.Parse(request.Source ?? "");
                record.Name = await NameOfSourceAsync(context, source, sourceUri, options).ConfigureAwait(false);
            }

            // The folder is made by the attempt, once the source is known to be there: a receive that fails before
            // (an unreachable host, a missing file) leaves no empty folder behind. A file in its place is said now.
            if (LocalDestination.FileAbove(outputDir, outputDir) is { } isFile)
            {
                throw isFile;
            }

            record.SourceUri = sourceUri.ToString();
            record.Source = TransferLocation.Display(sourceUri);
            var folderUri = new Uri(TransferLocation.FromLocalPath(outputDir) + "/");
            record.RequestedDestination = outputDir;
            record.DestinationUri = folderUri.ToString();
            record.Destination = Path.Combine(outputDir, record.Name);
            return record;
        }

        /// <summary>The name a plain received file is delivered under: its location's, its endpoint's, or its server's.</summary>
        private async Task<string> NameOfSourceAsync(OperationContext context, ITransferEndpoint source, Uri sourceUri, TransferOptions options)
        {
            var name = TransferLocation.FileName(sourceUri);
            if (source is IFileNameSource names
                && await names.GetFileNameAsync(context, sourceUri, options).ConfigureAwait(false) is { } suggested
                && TransferLocation.IsPlainFileName(suggested))
            {
                name = suggested;
            }

            if (TransferLocation.IsPlainFileName(name))
            {
                return name;
            }

            // A URL without a file name of its own (https://example.com/download/) can still be a file that its
            // server names (Content-Disposition): ask now, since the destination's name is needed before the start.
            // (Before the transfer exists, with its retries all the same.)
            var info = await _runner.Retries.RunAsync(context, options.RetryCount, () => source.GetInfoAsync(context, sourceUri, options)).ConfigureAwait(false);
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

            return info.FileName!;
        }

        private static TransferRecord NewRecord(OperationContext context, string id, string protocol, TransferDirection direction) => new TransferRecord
        {
            Id = id,
            Direction = direction,
            Protocol = protocol,
            Status = TransferStatus.Pending,
            StartedAt = DateTimeOffset.UtcNow,
            UserId = context.UserId,
            RequestId = context.RequestId,
        };

        /// <summary>The protocol registration serving <paramref name="location"/>'s scheme and its plugin, remembered per batch.</summary>
        internal async Task<(string Protocol, IProtocolPlugin Plugin)> ResolveProtocolAsync(OperationContext context, Uri location, TransferBatch? batch)
        {
            var key = ProtocolMemoKey(location);
            if (batch != null && batch.Memo.TryGetValue(key, out var known) && known is Tuple<string, IProtocolPlugin> memo)
            {
                return (memo.Item1, memo.Item2);
            }

            var scheme = location.Scheme.ToLowerInvariant();
            var protocol = await _session.Plugins.FindProtocolForSchemeAsync(context, scheme).ConfigureAwait(false)
                           ?? throw new PluginException(ErrorCode.NotSupported,
                               $"No protocol plugin serves '{scheme}://' locations. Get-TransferPlugin -Kind Protocol lists them.",
                               errorId: "NoProtocolForScheme", target: TransferLocation.Display(location));
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, protocol).ConfigureAwait(false);
            batch?.Memo.TryAdd(key, Tuple.Create(protocol, plugin));
            return (protocol, plugin);
        }

        /// <summary>The memo key of a scheme's protocol; "file" (the common case) without building a string.</summary>
        private static string ProtocolMemoKey(Uri location) =>
            location.Scheme == Uri.UriSchemeFile ? "protocol:file" : "protocol:" + location.Scheme.ToLowerInvariant();

        /// <summary>Authorizes an action on a journaled transfer (a send writes, a receive reads).</summary>
        internal Task DemandAsync(OperationContext context, TransferRecord record) =>
            _session.Auth.DemandAsync(context, Resource(record),
                record.Direction == TransferDirection.Send ? Abstractions.Action.Write : Abstractions.Action.Read);

        /// <summary>
        /// Authorizes a new transfer. In a batch, once no auth plugin is registered the rest of the call skips the check
        /// (each check reads the plugin registry's time stamp): an auth plugin registered meanwhile governs the next
        /// call, as a protocol registration does (see <see cref="ResolveProtocolAsync"/>). With auth enforced every
        /// transfer is authorized on its own.
        /// </summary>
        internal async Task DemandTransferAsync(OperationContext context, string resource, Abstractions.Action action, TransferBatch? batch)
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

        /// <summary>The resource a transfer is authorized as: <c>transfer/</c> and its remote side.</summary>
        internal static string Resource(TransferRecord record) =>
            "transfer/" + (record.Direction == TransferDirection.Send ? record.RequestedDestination : record.Source);

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

        /// <summary>
        /// Checks the local file a send reads: its full path, that it is a file (not a folder, pipe or device), and its size.
        /// </summary>
        internal static CheckedSource RequireSourceFile(string file)
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

            if (SpecialFiles.Of(full) is { Exists: true, IsDirectory: false } status)
            {
                // Linux: one statx, a link followed, tells a file and its size (FileInfo costs an lstat and a user id lookup).
                return status.SpecialKind is null ? new CheckedSource(full, status.Length) : throw LocalFiles.NotARegularFile(full, status.SpecialKind);
            }

            // One stat answers both questions (and the size): FileInfo.Exists is false for a folder, whose attributes say so.
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                if (LocalFiles.IsFolder(info))
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
                throw LocalFiles.Map(e, full, "Read");
            }
        }

        /// <summary>Refuses options no transfer can run with.</summary>
        internal static void ValidateOptions(TransferOptions options)
        {
            if (options.ChunkSize < 4096 || options.ChunkSize > 1024 * 1024 * 1024)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The chunk size must be between 4 KiB and 1 GiB; it is {options.ChunkSize}.",
                    errorId: "InvalidChunkSize", target: options.ChunkSize);
            }

            if (options.Streams < 0 || options.Streams > SegmentedTransfer.MaxStreams)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"Streams must be between 0 (automatic) and {SegmentedTransfer.MaxStreams}; it is {options.Streams}.",
                    errorId: "InvalidStreams", target: options.Streams);
            }

            if (options.MaxBytesPerSecond < 0 || options.RetryCount < 0 || options.StallTimeout <= TimeSpan.Zero)
            {
                throw new PluginException(ErrorCode.InvalidArgument, "MaxBytesPerSecond and RetryCount must not be negative, and StallTimeout must be positive.",
                    errorId: "InvalidTransferOptions");
            }
        }
    }

    /// <summary>A source file checked by <see cref="TransferIntake.RequireSourceFile"/>: its full path and its size then.</summary>
    internal sealed class CheckedSource
    {
        public CheckedSource(string path, long length)
        {
            Path = path;
            Length = length;
        }

        public string Path { get; }
        public long Length { get; }
    }
}
