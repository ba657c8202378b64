using System;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// What a send leaves beside the delivered file, at <c>FOLDER/.transfertools/ID.json</c>, so that
    /// <c>Receive-Transfer -TransferId ID</c> elsewhere can find, fetch and verify it.
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
        /// <summary>The delivered file's name, in the same folder as <c>.transfertools</c>.</summary>
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

        private static readonly JsonSerializerOptions LineJson = new JsonSerializerOptions
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
            var json = JsonSerializer.SerializeToUtf8Bytes(this, LineJson);
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

            if (manifest is null || !TransferLocation.IsPlainFileName(manifest.Name) || manifest.Size < 0
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

        /// <summary>Reads the manifest of transfer <paramref name="id"/> from <paramref name="folder"/>.</summary>
        internal static async Task<TransferManifest> ReadAsync(OperationContext context, ITransferEndpoint endpoint, Uri folder, string id, TransferOptions options)
        {
            var location = LocationIn(folder, id);
            var info = await endpoint.GetInfoAsync(context, location, options).ConfigureAwait(false);
            if (!info.Exists && id.Length == 32)
            {
                // Sent as one of a batch: its manifest is a line of the batch's manifest file.
                var batchLocation = TransferLocation.Combine(TransferLocation.Combine(folder, FolderName), BatchFileName(id.Substring(16)));
                var batchInfo = await endpoint.GetInfoAsync(context, batchLocation, options).ConfigureAwait(false);
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
                throw new PluginException(ErrorCode.NotFound,
                    $"No manifest for transfer '{id}' at '{TransferLocation.Display(folder)}' (looked for {FolderName}/{id}.json).",
                    errorId: "ManifestNotFound", target: id);
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

        /// <inheritdoc/>
        public override string ToString() => $"{Id} {Name} ({Size} bytes) sha256:{Sha256}";
    }
}
