using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Hosting;
using Action = TransferTools.Abstractions.Action;
using TransferTools.Engine.BuiltIn.LocalStore;

namespace TransferTools.Engine.Storage
{
    /// <summary>Storage operations on any registered storage plugin, authorized and with validated ids.</summary>
    public sealed class StorageService
    {
        /// <summary>The storage used when a cmdlet gets no <c>-Storage</c>.</summary>
        public const string DefaultStorage = "LocalStore";

        private readonly TransferSession _session;

        /// <summary>Creates the service for a session.</summary>
        public StorageService(TransferSession session) => _session = session;

        /// <summary>The storage name used for <paramref name="storage"/> (the default when null or empty).</summary>
        public static string NameOf(string? storage) => string.IsNullOrEmpty(storage) ? DefaultStorage : storage!;

        /// <summary>The storage plugin registered as <paramref name="storage"/>.</summary>
        public Task<IStoragePlugin> GetPluginAsync(OperationContext context, string? storage) =>
            _session.Plugins.GetAsync<IStoragePlugin>(context, NameOf(storage));

        /// <summary>Stores a stream.</summary>
        public async Task<Item> StoreAsync(OperationContext context, string? storage, Stream content, ItemMetadata metadata)
        {
            StorageKeys.RequireName(metadata.Name);
            StorageKeys.RequireCustomMetadata(metadata.Custom);
            await _session.Auth.DemandAsync(context, Resource(storage, metadata.Name), Action.Write).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            var id = await plugin.StoreAsync(context, content, metadata).ConfigureAwait(false);
            return new Item { Id = id, Metadata = metadata };
        }

        /// <summary>
        /// Keeps a saved file's modification time and permission bits in the item's metadata (<see cref="FileAttributeMetadata"/>),
        /// as a transfer into <c>storage://</c> does, so that exporting or receiving it gives them back; custom metadata that
        /// names either key already stands.
        /// </summary>
        private static void KeepFileAttributes(string path, ItemMetadata metadata)
        {
            if (metadata.Custom.ContainsKey(FileAttributeMetadata.TimeKey) || metadata.Custom.ContainsKey(FileAttributeMetadata.ModeKey))
            {
                return;
            }

            var status = SpecialFiles.WithMode(SpecialFiles.Describe(new FileInfo(path)), path);
            if (status.Exists && status.SpecialKind is null)
            {
                FileAttributeMetadata.Add(metadata.Custom, new DateTimeOffset(status.LastWriteUtc, TimeSpan.Zero), status.PosixMode);
            }
        }

        /// <summary>Stores a local file under <paramref name="metadata"/>'s name and returns the item as cmdlets show it.</summary>
        public async Task<StorageItem> StoreFileAsync(OperationContext context, string? storage, string path, ItemMetadata metadata)
        {
            StorageKeys.RequireName(metadata.Name);
            using (var file = OpenFile(path))
            {
                var item = await StoreAsync(context, storage, file, metadata).ConfigureAwait(false);
                return StorageItem.From(NameOf(storage), item.Id, item.Metadata);
            }
        }

        /// <summary>
        /// Stores several local files: authorized and validated one by one, written with one index transaction where
        /// the plugin supports it (the local store), else one after another. One file's failure fails only its entry.
        /// </summary>
        public async Task<IReadOnlyList<(StorageItem? Item, Exception? Error)>> StoreFilesAsync(OperationContext context, string? storage,
            IReadOnlyList<(string Path, ItemMetadata Metadata)> files)
        {
            var results = new (StorageItem? Item, Exception? Error)[files.Count];
            var allowed = new List<int>();
            for (var i = 0; i < files.Count; i++)
            {
                try
                {
                    KeepFileAttributes(files[i].Path, files[i].Metadata);
                    StorageKeys.RequireName(files[i].Metadata.Name);
                    StorageKeys.RequireCustomMetadata(files[i].Metadata.Custom);
                    await _session.Auth.DemandAsync(context, Resource(storage, files[i].Metadata.Name), Action.Write).ConfigureAwait(false);
                    allowed.Add(i);
                }
                catch (PluginException e)
                {
                    results[i] = (null, e);
                }
            }

            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            if (plugin is IBatchStorage batchStorage)
            {
                var entries = allowed.Select(i => ((Func<Stream>)(() => OpenFile(files[i].Path)), files[i].Metadata)).ToList();
                var stored = await batchStorage.StoreManyAsync(context, entries).ConfigureAwait(false);
                for (var k = 0; k < allowed.Count; k++)
                {
                    var i = allowed[k];
                    results[i] = stored[k].Id != null
                        ? (StorageItem.From(NameOf(storage), stored[k].Id!, files[i].Metadata), null)
                        : (null, stored[k].Error);
                }

                return results;
            }

            foreach (var i in allowed)
            {
                try
                {
                    using var file = OpenFile(files[i].Path);
                    var id = await plugin.StoreAsync(context, file, files[i].Metadata).ConfigureAwait(false);
                    results[i] = (StorageItem.From(NameOf(storage), id, files[i].Metadata), null);
                }
                catch (Exception e) when (e is PluginException || e is IOException || e is UnauthorizedAccessException)
                {
                    results[i] = (null, e);
                }
            }

            return results;
        }

        private static FileStream OpenFile(string path)
        {
            // Opening a named pipe would wait for a writer for ever; a socket or device is no file to store either.
            if (Protocols.SpecialFiles.KindOf(path) is string kind)
            {
                throw LocalFiles.NotARegularFile(path, kind, "stored");
            }

            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                throw new PluginException(ErrorCode.NotFound, $"The file '{path}' does not exist.", e, "FileNotFound", path);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new PluginException(ErrorCode.PermissionDenied, $"The file '{path}' cannot be read: {e.Message}", e, "FileAccessDenied", path);
            }
        }

        /// <summary>Opens one item.</summary>
        public async Task<RetrievedItem> RetrieveAsync(OperationContext context, string? storage, string id)
        {
            StorageKeys.RequireId(id);
            await _session.Auth.DemandAsync(context, Resource(storage, id), Action.Read).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            return await plugin.RetrieveAsync(context, id).ConfigureAwait(false);
        }

        /// <summary>One item's metadata, as cmdlets show it. <see cref="ErrorCode.NotFound"/> for an unknown id.</summary>
        public async Task<StorageItem> GetItemAsync(OperationContext context, string? storage, string id)
        {
            using var retrieved = await RetrieveAsync(context, storage, id).ConfigureAwait(false);
            return StorageItem.From(NameOf(storage), id, retrieved.Metadata);
        }

        /// <summary>
        /// Writes one item to a local file: to a temporary name in the destination's folder, verifying the SHA-256 when
        /// the store knows it, then renamed into place. Never replaces an existing file unless <paramref name="force"/>.
        /// </summary>
        /// <param name="destination">A file path, an existing folder, or a path ending in a separator (a folder, created when
        /// missing); in a folder the file is named after the item's last name segment.</param>
        /// <returns>The full path written.</returns>
        public async Task<string> ExportAsync(OperationContext context, string? storage, string id, string destination, bool force)
        {
            using var retrieved = await RetrieveAsync(context, storage, id).ConfigureAwait(false);
            if (destination.EndsWith("/", StringComparison.Ordinal) || destination.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal))
            {
                // A trailing separator names a folder, created when missing (as Send-Transfer does).
                Directory.CreateDirectory(destination);
            }

            var target = Directory.Exists(destination) ? Path.Combine(destination, LocalFileName(retrieved.Metadata.Name, id)) : destination;
            target = Path.GetFullPath(target);
            if (Directory.Exists(target))
            {
                throw new PluginException(ErrorCode.AlreadyExists, $"'{target}' is a folder; give a file name or another folder.",
                    errorId: "ExportDestinationIsFolder", target: target);
            }

            if (File.Exists(target) && SpecialFiles.KindOf(target) is string kind)
            {
                // -Force replaces a file; a named pipe, socket or device is not one, and replacing it would break whatever uses it.
                throw new PluginException(ErrorCode.InvalidArgument, $"'{target}' is {kind}, not a file: an item is exported only to a file.",
                    errorId: "NotARegularFile", target: target);
            }

            if (!force && File.Exists(target))
            {
                throw new PluginException(ErrorCode.AlreadyExists, $"The file '{target}' exists; use -Force to replace it.",
                    errorId: "ExportDestinationExists", target: target);
            }

            var folder = Path.GetDirectoryName(target)!;
            if (!Directory.Exists(folder))
            {
                throw new PluginException(ErrorCode.NotFound, $"The folder '{folder}' does not exist.", errorId: "ExportFolderNotFound", target: folder);
            }

            var temp = Path.Combine(folder, "." + Path.GetFileName(target) + "." + Guid.NewGuid().ToString("n").Substring(0, 8) + ".ttpart");
            try
            {
                // The mode and time the item kept (FileAttributeMetadata); the temporary is never wider than that mode.
                var (keptTime, keptMode) = FileAttributeMetadata.Read(retrieved.Metadata.Custom);
                var posix = keptMode != null && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
                if (posix)
                {
                    UnixPermissions.CreateIfMissing(temp, (keptMode!.Value | 0x180) & 0x1FF);
                }

                string actual;
                using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                using (var file = new FileStream(temp, posix ? FileMode.OpenOrCreate : FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.SequentialScan))
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(81920);
                    var behind = WriteBehind.For(file.SafeFileHandle, 0);
                    behind?.Expect(retrieved.Metadata.Size);
                    try
                    {
                        int read;
                        while ((read = await retrieved.Content.ReadAsync(buffer, 0, 81920, context.CancellationToken).ConfigureAwait(false)) > 0)
                        {
                            hash.AppendData(buffer, 0, read);
                            await file.WriteAsync(buffer, 0, read, context.CancellationToken).ConfigureAwait(false);
                            behind?.Written(file.Position);
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }

                    file.Flush(flushToDisk: true);
                    actual = Hex.ToLowerString(hash.GetHashAndReset());
                }

                if (posix)
                {
                    UnixPermissions.SetMode(temp, keptMode!.Value);
                }

                if (keptTime != null && !UnixPermissions.TrySetLastWriteTimeUtc(temp, keptTime.Value.UtcDateTime))
                {
                    File.SetLastWriteTimeUtc(temp, keptTime.Value.UtcDateTime);
                }

                var expected = retrieved.Metadata.Sha256;
                if (!string.IsNullOrEmpty(expected) && !string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
                {
                    throw new PluginException(ErrorCode.ChecksumMismatch,
                        $"The content of item '{id}' has SHA-256 {actual}, not the stored {expected}; '{target}' was not written.",
                        errorId: "ItemChecksumMismatch", target: id);
                }

                if (force)
                {
                    AtomicFile.ReplaceOrMove(temp, target);
                }
                else
                {
                    try
                    {
                        File.Move(temp, target); // fails when someone created the file meanwhile: never overwrite silently
                    }
                    catch (IOException) when (File.Exists(target))
                    {
                        throw new PluginException(ErrorCode.AlreadyExists, $"The file '{target}' exists; use -Force to replace it.",
                            errorId: "ExportDestinationExists", target: target);
                    }
                }

                return target;
            }
            finally
            {
                try
                {
                    if (File.Exists(temp))
                    {
                        File.Delete(temp);
                    }
                }
                catch (IOException)
                {
                }
            }
        }

        /// <summary>Deletes one item.</summary>
        public async Task DeleteAsync(OperationContext context, string? storage, string id)
        {
            StorageKeys.RequireId(id);
            await _session.Auth.DemandAsync(context, Resource(storage, id), Action.Delete).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            await plugin.DeleteAsync(context, id).ConfigureAwait(false);
        }

        /// <summary>Lists one page.</summary>
        public async Task<IReadOnlyList<Item>> ListAsync(OperationContext context, string? storage, ListFilter filter)
        {
            StorageKeys.RequirePrefix(filter.Prefix);
            await _session.Auth.DemandAsync(context, Resource(storage, filter.Prefix ?? ""), Action.Read).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            return await plugin.ListAsync(context, filter).ConfigureAwait(false);
        }

        /// <summary>Lists one page as cmdlets show it.</summary>
        public async Task<IReadOnlyList<StorageItem>> ListItemsAsync(OperationContext context, string? storage, ListFilter filter)
        {
            var page = await ListAsync(context, storage, filter).ConfigureAwait(false);
            var result = new List<StorageItem>(page.Count);
            foreach (var item in page)
            {
                result.Add(StorageItem.From(NameOf(storage), item.Id, item.Metadata));
            }

            return result;
        }

        /// <summary>Totals.</summary>
        public async Task<StorageStats> StatsAsync(OperationContext context, string? storage)
        {
            await _session.Auth.DemandAsync(context, Resource(storage, ""), Action.Read).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            return await plugin.StatsAsync(context).ConfigureAwait(false);
        }

        /// <summary>Totals as cmdlets show them.</summary>
        public async Task<StorageStatistics> MeasureAsync(OperationContext context, string? storage)
        {
            var stats = await StatsAsync(context, storage).ConfigureAwait(false);
            return new StorageStatistics { Storage = NameOf(storage), TotalItems = stats.TotalItems, TotalSize = stats.TotalSize };
        }

        /// <summary>The resource name authorization sees: <c>storage/NAME/KEY</c>.</summary>
        public static string Resource(string? storage, string key) => $"storage/{NameOf(storage)}/{key}";

        /// <summary>A local file name for an item: its name's last segment, with characters no file system takes replaced.</summary>
        public static string LocalFileName(string itemName, string id)
        {
            var last = itemName;
            var slash = last.LastIndexOf('/');
            if (slash >= 0)
            {
                last = last.Substring(slash + 1);
            }

            var chars = last.ToCharArray();
            var invalid = Path.GetInvalidFileNameChars();
            for (var i = 0; i < chars.Length; i++)
            {
                if (Array.IndexOf(invalid, chars[i]) >= 0 || chars[i] == ':' || chars[i] == '*' || chars[i] == '?' || chars[i] == '"'
                    || chars[i] == '<' || chars[i] == '>' || chars[i] == '|' || chars[i] == '\\')
                {
                    chars[i] = '_';
                }
            }

            var name = new string(chars).Trim();
            return name.Length == 0 || name == "." || name == ".." ? id : name;
        }
    }
}
