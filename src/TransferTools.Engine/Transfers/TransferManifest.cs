using System;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// What a send leaves at its destination, at <c>ROOT/.transfertools/ID.json</c> (or a line of a batch's
    /// <c>ROOT/.transfertools/BATCH.batch.json</c>), so that <c>Receive-Transfer -TransferId ID</c> elsewhere can find,
    /// fetch and verify it. ROOT is the delivered file's folder, or for a tree sent with <c>-Recurse</c> the destination
    /// folder of the whole tree (<see cref="SendRequest.ManifestRoot"/>): one manifest folder per tree, none in its
    /// subfolders, and <see cref="FolderWalk"/> never sends one on.
    /// </summary>
    public sealed class TransferManifest
    {
        /// <summary>The folder (beside the delivered files) that holds manifests.</summary>
        public const string FolderName = ".transfertools";

        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };

        /// <summary>The manifest format version.</summary>
        public int FormatVersion { get; set; } = 1;
        /// <summary>The transfer id.</summary>
        public string Id { get; set; } = "";
        /// <summary>The delivered file's path relative to the folder holding <c>.transfertools</c>: its name, or for a file of a
        /// tree sent with -Recurse a '/'-separated path of plain names (<c>tree/sub/file.txt</c>).</summary>
        public string Name { get; set; } = "";
        /// <summary>Size in bytes.</summary>
        public long Size { get; set; }
        /// <summary>Lower-case hex SHA-256 of the content.</summary>
        public string Sha256 { get; set; } = "";
        /// <summary>The sending OS user.</summary>
        public string SenderUser { get; set; } = "";
        /// <summary>The sending machine.</summary>
        public string SenderMachine { get; set; } = "";
        /// <summary>The TransferTools user id when an auth plugin was in use.</summary>
        public string? SenderUserId { get; set; }
        /// <summary>When the transfer was delivered (UTC).</summary>
        public DateTimeOffset SentAt { get; set; }

        /// <summary>The manifest location for transfer <paramref name="id"/> in <paramref name="folder"/>.</summary>
        public static Uri LocationIn(Uri folder, string id) =>
            TransferLocation.Combine(TransferLocation.Combine(folder, FolderName), id + ".json");

        /// <summary>Where <see cref="WriteTemporaryAsync"/> writes the manifest of transfer <paramref name="id"/> before it is
        /// put in place: the same name for every attempt, so a resume overwrites one left behind and a cancel can remove it.</summary>
        internal static Uri TemporaryLocationIn(Uri folder, string id) =>
            TransferLocation.Sibling(LocationIn(folder, id), "." + id + ".tmp");

        /// <summary>The options of a batch manifest line as read (written by <see cref="TransferManifestLineJson"/>, the same JSON).</summary>
        internal static readonly JsonSerializerOptions LineJson = new JsonSerializerOptions
        {
            WriteIndented = false,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };

        /// <summary>The largest batch manifest file a reader accepts.</summary>
        private const long MaxBatchFileLength = 256L * 1024 * 1024;

        /// <summary>Serialized form.</summary>
        public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

        /// <summary>
        /// The name (in <see cref="FolderName"/>) of the file that holds the manifests of a batch of sends, one JSON object
        /// per line: <c>BATCH.batch.json</c>, BATCH being the last 16 hex digits of each member's id.
        /// </summary>
        public static string BatchFileName(string batchId) => batchId + ".batch.json";

        /// <summary>One line of a batch manifest file: compact JSON and a newline.</summary>
        internal byte[] ToLine()
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(this, TransferManifestLineJson.Default.TransferManifest);
            var line = new byte[json.Length + 1];
            Buffer.BlockCopy(json, 0, line, 0, json.Length);
            line[json.Length] = (byte)'\n';
            return line;
        }

        /// <summary>The manifest of <paramref name="id"/> in the lines of a batch manifest file, or null (torn or foreign lines are skipped).</summary>
        internal static TransferManifest? FindInBatch(byte[] bytes, string id, string where)
        {
            TransferManifest? found = null;
            var start = 0;
            while (start < bytes.Length)
            {
                var end = Array.IndexOf(bytes, (byte)'\n', start);
                if (end < 0)
                {
                    break; // a torn last line
                }

                var line = new byte[end - start];
                Buffer.BlockCopy(bytes, start, line, 0, line.Length);
                start = end + 1;
                if (line.Length == 0 || System.Text.Encoding.UTF8.GetString(line).IndexOf(id, StringComparison.Ordinal) < 0)
                {
                    continue;
                }

                try
                {
                    var manifest = Parse(line, where);
                    if (manifest.Id == id)
                    {
                        found = manifest;
                    }
                }
                catch (PluginException)
                {
                }
            }

            return found;
        }

        /// <summary>Reads and validates a manifest.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> when it is not a valid manifest.</exception>
        public static TransferManifest Parse(byte[] bytes, string where)
        {
            TransferManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<TransferManifest>(bytes, Json);
            }
            catch (JsonException e)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The manifest at '{where}' is not valid JSON: {e.Message}", e, "ManifestInvalid", where);
            }

            if (manifest is null || !TransferLocation.IsPlainRelativePath(manifest.Name) || manifest.Size < 0
                || manifest.Sha256.Length != 64 || !TransferJournal.IsWellFormedId(manifest.Id))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The manifest at '{where}' is incomplete or names an unsafe file.",
                    errorId: "ManifestInvalid", target: where);
            }

            return manifest;
        }

        /// <summary>
        /// Writes the manifest through <paramref name="endpoint"/> under a temporary name in the manifest folder of
        /// <paramref name="folder"/>; <see cref="CommitTemporaryAsync"/> then puts it in place (atomic where the endpoint is).
        /// </summary>
        /// <param name="folderExists">The manifest folder was made (or found) for an earlier transfer of the batch: one
        /// round trip less per file to a remote folder.</param>
        /// <returns>The temporary location.</returns>
        internal async Task<Uri> WriteTemporaryAsync(OperationContext context, ITransferEndpoint endpoint, Uri folder, TransferOptions options, bool folderExists)
        {
            if (!folderExists)
            {
                await endpoint.CreateDirectoryAsync(context, TransferLocation.Combine(folder, FolderName), options).ConfigureAwait(false);
            }

            var temp = TemporaryLocationIn(folder, Id);
            var bytes = ToBytes();
            using (var stream = await endpoint.OpenWriteAsync(context, temp, 0, options).ConfigureAwait(false))
            {
                await stream.WriteAsync(bytes, 0, bytes.Length, context.CancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(context.CancellationToken).ConfigureAwait(false);
            }

            return temp;
        }

        /// <summary>Puts the manifest written by <see cref="WriteTemporaryAsync"/> in place beside the delivered file.</summary>
        internal Task CommitTemporaryAsync(OperationContext context, ITransferEndpoint endpoint, Uri folder, Uri temporary, TransferOptions options) =>
            endpoint.CommitAsync(context, temporary, LocationIn(folder, Id), overwrite: true, options);

        /// <summary>How many folders up from the one given <see cref="ReadAsync"/> looks for a manifest: a tree sent with
        /// -Recurse keeps its manifests at its root, and a user may name the folder of the file instead.</summary>
        private const int MaxLevelsUp = FolderWalk.MaxDepth;

        /// <summary>
        /// Reads the manifest of transfer <paramref name="id"/> from <paramref name="folder"/> or, when it is not there,
        /// from the nearest folder above it that has it (the root of a tree sent with -Recurse).
        /// </summary>
        /// <returns>The manifest and the folder whose <c>.transfertools</c> held it (its <see cref="Name"/> is relative to that).</returns>
        internal static async Task<(TransferManifest Manifest, Uri Root)> ReadAsync(OperationContext context, ITransferEndpoint endpoint, Uri folder, string id, TransferOptions options)
        {
            var current = TransferLocation.AsFolder(folder);
            for (var level = 0; level <= MaxLevelsUp; level++)
            {
                var found = await TryReadInAsync(context, endpoint, current, id, options, above: level > 0).ConfigureAwait(false);
                if (found != null)
                {
                    return (found, current);
                }

                if (current.AbsolutePath == "/")
                {
                    break;
                }

                current = new Uri(current, "../");
            }

            throw new PluginException(ErrorCode.NotFound,
                $"No manifest for transfer '{id}' at '{TransferLocation.Display(folder)}' or above it (looked for {FolderName}/{id}.json).",
                errorId: "ManifestNotFound", target: id);
        }

        /// <summary>The manifest of <paramref name="id"/> in <paramref name="folder"/>'s <c>.transfertools</c>, or null when it has none.</summary>
        private static async Task<TransferManifest?> TryReadInAsync(OperationContext context, ITransferEndpoint endpoint, Uri folder, string id, TransferOptions options, bool above)
        {
            var location = LocationIn(folder, id);
            var info = await GetInfoOrMissingAsync(context, endpoint, location, options, above).ConfigureAwait(false);
            if (!info.Exists && id.Length == 32)
            {
                // Sent as one of a batch: its manifest is a line of the batch's manifest file.
                var batchLocation = TransferLocation.Combine(TransferLocation.Combine(folder, FolderName), BatchFileName(id.Substring(16)));
                var batchInfo = await GetInfoOrMissingAsync(context, endpoint, batchLocation, options, above).ConfigureAwait(false);
                if (batchInfo.Exists && !batchInfo.IsDirectory && batchInfo.Length <= MaxBatchFileLength)
                {
                    using var batchStream = await endpoint.OpenReadAsync(context, batchLocation, 0, null, options).ConfigureAwait(false);
                    using var batchMemory = new MemoryStream();
                    await batchStream.CopyToAsync(batchMemory, 81920, context.CancellationToken).ConfigureAwait(false);
                    var inBatch = FindInBatch(batchMemory.ToArray(), id, TransferLocation.Display(batchLocation));
                    if (inBatch != null)
                    {
                        return inBatch;
                    }
                }
            }

            if (!info.Exists)
            {
                return null;
            }

            if (info.Length > 1024 * 1024)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The manifest at '{location}' is too large.", errorId: "ManifestInvalid", target: location.ToString());
            }

            using var stream = await endpoint.OpenReadAsync(context, location, 0, null, options).ConfigureAwait(false);
            using var memory = new MemoryStream();
            await stream.CopyToAsync(memory, 81920, context.CancellationToken).ConfigureAwait(false);
            var manifest = Parse(memory.ToArray(), TransferLocation.Display(location));
            if (manifest.Id != id)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The manifest at '{location}' is for transfer '{manifest.Id}', not '{id}'.",
                    errorId: "ManifestInvalid", target: id);
            }

            return manifest;
        }

        /// <summary>The endpoint's answer for <paramref name="location"/>; a missing one, and in a folder
        /// <paramref name="above"/> the one given one that cannot be looked into, count as no manifest there.</summary>
        private static async Task<RemoteFileInfo> GetInfoOrMissingAsync(OperationContext context, ITransferEndpoint endpoint, Uri location, TransferOptions options, bool above)
        {
            try
            {
                return await endpoint.GetInfoAsync(context, location, options).ConfigureAwait(false);
            }
            catch (PluginException e) when (e.Code == ErrorCode.NotFound || (above && e.Code == ErrorCode.PermissionDenied))
            {
                return RemoteFileInfo.Missing;
            }
        }

        // ------------------------------------------------------------ a send's manifest

        /// <summary>A send's manifest on its way to the destination: written under a temporary name (<see cref="StartAhead"/>),
        /// committed once the file is delivered (<see cref="WriteForAsync"/>), or removed when it is not (<see cref="AbandonAsync"/>).</summary>
        internal sealed class Ahead
        {
            public Ahead(TransferManifest manifest, Uri folder, Task<Uri> temporary)
            {
                Manifest = manifest;
                Folder = folder;
                Temporary = temporary;
            }

            public TransferManifest Manifest { get; }

            /// <summary>The folder whose <c>.transfertools</c> gets the manifest (<see cref="RootOf"/>).</summary>
            public Uri Folder { get; }

            /// <summary>The manifest folder's key in <see cref="TransferBatch.KnownFolders"/>.</summary>
            public string FolderKey => FolderKeyOf(Folder);

            /// <summary>The temporary manifest being written; faults when it could not be.</summary>
            public Task<Uri> Temporary { get; }
        }

        /// <summary>Starts writing the manifest of a send to <paramref name="final"/> under a temporary name.</summary>
        internal static Ahead StartAhead(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options, Uri final, string digest)
        {
            var (folder, name) = RootOf(run.Record, final);
            var manifest = For(run, name, digest);
            var folderExists = run.Batch?.KnownFolders.ContainsKey(FolderKeyOf(folder)) == true;
            return new Ahead(manifest, folder, manifest.WriteTemporaryAsync(context, destination, folder, options, folderExists));
        }

        /// <summary>Leaves the manifest of a delivered send beside the file: the one started ahead, or a new one.</summary>
        internal static async Task WriteForAsync(RunningTransfer run, ITransferEndpoint destination, OperationContext context, TransferOptions options, Uri final,
            string digest, Ahead? ahead)
        {
            var record = run.Record;
            try
            {
                if (ahead is null && run.Batch != null && destination is ILocalFileEndpoint)
                {
                    // One line in the batch's manifest file instead of a file (and a rename) per transfer.
                    var (root, name) = RootOf(record, final);
                    var manifest = For(run, name, digest);
                    var path = run.Batch.AppendManifest(TransferLocation.ToLocalPath(root), manifest);
                    // One manifest file per folder and batch: its URI is built once, not per file.
                    var manifestUri = (string)run.Batch.Memo.GetOrAdd("manifest:" + path, _ => TransferLocation.FromLocalPath(path).ToString());
                    run.Update(r => r.ManifestUri = manifestUri);
                    return;
                }

                if (ahead is null && GoesToBatchFile(run, destination))
                {
                    // A line in the batch's manifest file at the root, stored in groups with the lines of the files
                    // delivered meanwhile: a few requests per group instead of four (open, write, close, rename) per file.
                    var (root, name) = RootOf(record, final);
                    var batch = run.Batch!;
                    var group = (RemoteBatchManifest)batch.Memo.GetOrAdd("remote-manifest:" + root.AbsoluteUri,
                        _ => new RemoteBatchManifest(destination, root, BatchFileIn(root, batch.Id)));
                    await group.AppendAsync(For(run, name, digest).ToLine(), context, options, batch.KnownFolders.ContainsKey(FolderKeyOf(root))).ConfigureAwait(false);
                    batch.KnownFolders.TryAdd(FolderKeyOf(root), true);
                    run.Update(r => r.ManifestUri = group.Location.ToString());
                    return;
                }

                ahead ??= StartAhead(run, destination, context, options, final, digest);
                var temporary = await ahead.Temporary.ConfigureAwait(false);
                run.Batch?.KnownFolders.TryAdd(ahead.FolderKey, true);
                await ahead.Manifest.CommitTemporaryAsync(context, destination, ahead.Folder, temporary, options).ConfigureAwait(false);
                run.Update(r => r.ManifestUri = LocationIn(ahead.Folder, record.Id).ToString());
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !(e is OutOfMemoryException))
            {
                // The file is delivered and verified; a missing manifest only stops Receive-Transfer -TransferId. A folder
                // that takes no manifest (a web server with PUT only) refuses every file of a batch alike: it is said once,
                // and the batch's other files into that root do not try again.
                var (root, _) = RootOf(record, final);
                if (run.Batch is null || run.Batch.Memo.TryAdd(FailedKeyOf(root), e.Message))
                {
                    run.Batch?.Memo.TryAdd(AnyFailedKey, true);
                    var others = run.Batch is null ? "" : " (nor for the other files of this command sent there)";
                    context.Logger.Log(LogLevel.Warning,
                        $"Transfer {TransferManager.Short(record.Id)}: delivered, but the manifest could not be written{others}: {e.Message}");
                }
            }
        }

        /// <summary>Whether the manifest of a send of the batch of <paramref name="run"/> goes in as a line of the batch's manifest
        /// file through <see cref="RemoteBatchManifest"/>: a remote destination that can write into an existing file.</summary>
        internal static bool GoesToBatchFile(RunningTransfer run, ITransferEndpoint destination) =>
            run.Batch != null && destination is IRangedWrites && !(destination is ILocalFileEndpoint);

        /// <summary>The batch manifest file of batch <paramref name="batchId"/> in the manifest folder of <paramref name="folder"/>.</summary>
        internal static Uri BatchFileIn(Uri folder, string batchId) =>
            TransferLocation.Combine(TransferLocation.Combine(folder, FolderName), BatchFileName(batchId));

        /// <summary>Removes a manifest started ahead of a delivery that failed. Never throws: the transfer's own failure is
        /// what matters. One left behind (a stopped transfer or a dead connection) is overwritten by the resume, or removed
        /// with the temporary file when the transfer is cancelled (<see cref="TransferRunner.RemoveTemporaryAsync"/>).</summary>
        internal static async Task AbandonAsync(Ahead ahead, ITransferEndpoint destination, OperationContext context, TransferOptions options)
        {
            try
            {
                var temporary = await ahead.Temporary.ConfigureAwait(false);
                await TransferRunner.TryDeleteAsync(destination, context, temporary, options).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // See above.
            }
        }

        /// <summary>
        /// Whether the send of <paramref name="run"/>, delivered to <paramref name="final"/>, leaves a manifest: not with
        /// -NoManifest, and not where a manifest of the same batch could not be written before (see <see cref="WriteForAsync"/>).
        /// </summary>
        internal static bool IsWanted(RunningTransfer run, Uri final)
        {
            if (run.Record.NoManifest)
            {
                return false;
            }

            var batch = run.Batch;
            // (The root is worked out only once some root of the batch failed: most batches never see one.)
            return batch is null || !batch.Memo.ContainsKey(AnyFailedKey) || !batch.Memo.ContainsKey(FailedKeyOf(RootOf(run.Record, final).Root));
        }

        /// <summary>The key in <see cref="TransferBatch.Memo"/> that marks a root whose manifest could not be written.</summary>
        private static string FailedKeyOf(Uri root) => "manifest-failed:" + root.AbsoluteUri;

        /// <summary>The key in <see cref="TransferBatch.Memo"/> set once any root of the batch failed.</summary>
        private const string AnyFailedKey = "manifest-failed";

        /// <summary>The key in <see cref="TransferBatch.KnownFolders"/> of the manifest folder in <paramref name="folder"/>: the
        /// same set as for destination folders, under keys no destination URI can take.</summary>
        private static string FolderKeyOf(Uri folder) => "manifests:" + folder.AbsoluteUri;

        /// <summary>
        /// Where the manifest of a send delivered to <paramref name="final"/> goes: the root of its tree
        /// (<see cref="TransferRecord.ManifestRoot"/>) when the file lies under it, else the file's own folder; and the
        /// file's path relative to that folder (the manifest's <see cref="Name"/>).
        /// </summary>
        internal static (Uri Root, string Name) RootOf(TransferRecord record, Uri final)
        {
            if (record.ManifestRoot != null)
            {
                var root = new Uri(record.ManifestRoot);
                if (TransferLocation.RelativePath(root, final) is { } relative)
                {
                    return (root, relative);
                }
            }

            return (TransferLocation.Parent(final), TransferLocation.FileName(final));
        }

        private static TransferManifest For(RunningTransfer run, string name, string digest)
        {
            var record = run.Record;
            return new TransferManifest
            {
                Id = record.Id,
                Name = name,
                Size = record.TotalBytes,
                Sha256 = digest,
                SenderUser = ProcessUserName,
                SenderMachine = run.Batch?.MachineName ?? Environment.MachineName,
                SenderUserId = record.UserId,
                SentAt = DateTimeOffset.UtcNow,
            };
        }

        /// <summary>The process's user name, looked up once (on Unix each lookup reads the user database).</summary>
        private static string ProcessUserName => _processUserName ??= Environment.UserName;

        private static string? _processUserName;

        /// <inheritdoc/>
        public override string ToString() => $"{Id} {Name} ({Size} bytes) sha256:{Sha256}";
    }
}
