using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Storage;

namespace TransferTools.Engine.BuiltIn.StorageProtocol
{
    /// <summary>
    /// <c>storage://NAME/...</c>: any registered storage plugin as a transfer endpoint, so <c>Send-Transfer
    /// -Destination storage://LocalStore/reports/</c> stores into it and <c>Receive-Transfer -Source
    /// storage://LocalStore/ID</c> fetches from it, with the engine's journal, resume and verification.
    /// </summary>
    /// <remarks>
    /// <para>Paths: an empty path or one ending in <c>/</c> is a folder (a name prefix; it always exists). Otherwise the
    /// path is tried as an item id, then as an exact item name (the newest item of that name), then as a folder
    /// (items exist under <c>path/</c>). Names holding <c>?</c> or <c>#</c> cannot be written in a URI.</para>
    /// <para>Storage plugins take whole streams, so a transfer's temporary is staged under this registration's data
    /// folder (<c>HOME/plugins/Storage/staging/</c>, keyed by the temporary URI); resume appends to it, and Commit stores
    /// it as one item under the final name (replacing items of that name only when overwriting) and removes it.
    /// Reading by id uses Retrieve and skips to the offset; the content's SHA-256 is its version, so a resume
    /// notices a different item behind the same name.</para>
    /// <para>Commit keeps the source's modification time and permission bits in the item's metadata (<c>mtime</c>,
    /// <c>mode</c>, <see cref="FileAttributeMetadata"/>; not with <c>-NoPreserve</c>); GetInfo and listings give them back
    /// as the file's time and mode, so a received copy gets them and a folder sync compares by them.</para>
    /// <para>Delete removes a staged temporary, else the item with that id, else every item of exactly that name (the
    /// file at that location, as Commit with overwrite replaces it).</para>
    /// <para>Every operation goes through the session's storage service, so it is authorized like the storage cmdlets.</para>
    /// </remarks>
    [TransferPlugin("Storage", PluginType.Protocol,
        Description = "storage://NAME/... URIs: any registered storage plugin as a transfer endpoint.", Schemes = new[] { StorageProtocolPlugin.Scheme })]
    public sealed partial class StorageProtocolPlugin : StreamingProtocolPlugin, IFileNameSource, IFolderListing
    {
        /// <summary>The URI scheme served.</summary>
        public const string Scheme = "storage";

        private static readonly string[] SchemeList = TransferPluginAttribute.Of(typeof(StorageProtocolPlugin))!.Schemes;

        /// <inheritdoc/>
        public override PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(StorageProtocolPlugin), "TransferTools contributors", "MIT");

        /// <inheritdoc/>
        public override IReadOnlyCollection<string> Schemes => SchemeList;

        /// <inheritdoc/>
        public override async Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var (storage, path) = Parse(location);
            var staged = StagingPath(context, location);
            if (File.Exists(staged))
            {
                var file = new FileInfo(staged);
                return new RemoteFileInfo { Exists = true, Length = file.Length, LastModified = file.LastWriteTimeUtc };
            }

            if (path.Length == 0 || path.EndsWith("/", StringComparison.Ordinal))
            {
                return new RemoteFileInfo { Exists = true, IsDirectory = true };
            }

            var item = await FindAsync(context, storage, path).ConfigureAwait(false);
            if (item != null)
            {
                // The source's time and mode where the upload kept them (FileAttributeMetadata), else when it was stored.
                var (modified, mode) = FileAttributeMetadata.Read(item.Metadata);
                return new RemoteFileInfo { Exists = true, Length = item.Size, LastModified = modified ?? item.CreatedAt, PosixMode = mode, Version = VersionOf(item) };
            }

            var under = await Service(context).ListAsync(context, storage, new ListFilter { Prefix = path + "/", Limit = 1 }).ConfigureAwait(false);
            return under.Count > 0 ? new RemoteFileInfo { Exists = true, IsDirectory = true } : RemoteFileInfo.Missing;
        }

        /// <summary>The item's own name (its last segment), so receiving <c>storage://NAME/ID</c> delivers <c>report.pdf</c>, not the id.</summary>
        public async Task<string?> GetFileNameAsync(OperationContext context, Uri location, TransferOptions options)
        {
            var (storage, path) = Parse(location);
            if (path.Length == 0 || path.EndsWith("/", StringComparison.Ordinal))
            {
                return null;
            }

            var item = await FindAsync(context, storage, path).ConfigureAwait(false);
            if (item is null)
            {
                return null;
            }

            var slash = item.Name.LastIndexOf('/');
            return slash >= 0 ? item.Name.Substring(slash + 1) : item.Name;
        }

        /// <inheritdoc/>
        public override async Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var (storage, path) = Parse(location);
            var staged = StagingPath(context, location);
            if (File.Exists(staged))
            {
                var file = new FileStream(staged, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
                file.Seek(offset, SeekOrigin.Begin);
                return file;
            }

            var item = await FindAsync(context, storage, path).ConfigureAwait(false) ?? throw new PluginException(ErrorCode.NotFound,
                $"'{Display(location)}' is neither an item id nor an item name in '{storage}'.", errorId: "ItemNotFound", target: Display(location));
            if (expectedVersion != null && !string.Equals(expectedVersion, VersionOf(item), StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.SourceChanged, $"'{Display(location)}' now names different content than when the transfer began.",
                    errorId: "SourceChanged", target: Display(location));
            }

            var retrieved = await Service(context).RetrieveAsync(context, storage, item.Id).ConfigureAwait(false);
            var content = retrieved.Content;
            try
            {
                if (offset > 0)
                {
                    if (content.CanSeek)
                    {
                        content.Seek(offset, SeekOrigin.Begin);
                    }
                    else
                    {
                        await SkipAsync(content, offset, context).ConfigureAwait(false);
                    }
                }

                return content;
            }
            catch
            {
                content.Dispose();
                throw;
            }
        }

        /// <inheritdoc/>
        public override Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            Parse(location);
            var staged = StagingPath(context, location);
            Directory.CreateDirectory(Path.GetDirectoryName(staged)!);
            var file = new FileStream(staged, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 1, FileOptions.Asynchronous);
            try
            {
                if (offset > file.Length)
                {
                    throw new PluginException(ErrorCode.InvalidState,
                        $"The staged data of '{Display(location)}' holds {file.Length} bytes; it cannot be continued at {offset}.",
                        errorId: "StagedDataShort", target: Display(location));
                }

                file.SetLength(offset);
                file.Seek(offset, SeekOrigin.Begin);
                return Task.FromResult<Stream>(file);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <inheritdoc/>
        public override async Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var (storage, name) = Parse(final);
            var (tempStorage, _) = Parse(temporary);
            if (!string.Equals(storage, tempStorage, StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "A temporary and its final location must be in the same storage.",
                    errorId: "CommitAcrossStorages", target: Display(final));
            }

            StorageKeys.RequireName(name);
            var staged = StagingPath(context, temporary);
            if (!File.Exists(staged))
            {
                throw new PluginException(ErrorCode.NotFound, $"Nothing is staged for '{Display(temporary)}'.", errorId: "StagedDataMissing", target: Display(temporary));
            }

            var service = Service(context);
            var existing = await FindByNameAsync(context, storage, name, all: true).ConfigureAwait(false);
            if (existing.Count > 0 && !overwrite)
            {
                throw new PluginException(ErrorCode.Conflict, $"'{Display(final)}' exists already.", errorId: "DestinationExists", target: Display(final));
            }

            var metadata = new ItemMetadata { Name = name, MimeType = MimeTypes.FromFileName(name) };
            // The source's time and mode go with the item, so a receive gives them back and a sync compares by them.
            FileAttributeMetadata.Add(metadata.Custom, options.SourceModified, options.SourceMode);
            var stored = await service.StoreFileAsync(context, storage, staged, metadata).ConfigureAwait(false);
            foreach (var old in existing)
            {
                if (old.Id != stored.Id)
                {
                    try
                    {
                        await service.DeleteAsync(context, storage, old.Id).ConfigureAwait(false);
                    }
                    catch (PluginException e) when (e.Code == ErrorCode.NotFound)
                    {
                        // Replaced by someone else meanwhile.
                    }
                }
            }

            TryDelete(staged);
            context.Logger.Log(LogLevel.Verbose, $"Stored '{name}' in '{storage}' as item {stored.Id}.");
        }

        /// <inheritdoc/>
        public override async Task DeleteAsync(OperationContext context, Uri location, TransferOptions options)
        {
            var (storage, path) = Parse(location);
            var staged = StagingPath(context, location);
            if (File.Exists(staged))
            {
                TryDelete(staged);
                return;
            }

            if (path.Length == 0 || path.EndsWith("/", StringComparison.Ordinal))
            {
                return; // a folder is a name prefix: nothing to delete
            }

            if (path.IndexOf('/') < 0 && path.Length <= StorageKeys.MaxIdLength)
            {
                try
                {
                    await Service(context).DeleteAsync(context, storage, path).ConfigureAwait(false);
                    return;
                }
                catch (PluginException e) when (e.Code == ErrorCode.NotFound || e.Code == ErrorCode.InvalidArgument)
                {
                    // Not an id (or already gone): try it as a name.
                }
            }

            // A name is the file at that location, as Commit with overwrite sees it: every item of exactly that name.
            foreach (var item in await FindByNameAsync(context, storage, path, all: true).ConfigureAwait(false))
            {
                try
                {
                    await Service(context).DeleteAsync(context, storage, item.Id).ConfigureAwait(false);
                }
                catch (PluginException e) when (e.Code == ErrorCode.NotFound)
                {
                    // Deleted by someone else meanwhile.
                }
            }
        }

        /// <inheritdoc/>
        public override Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options)
        {
            Parse(location);
            return Task.CompletedTask; // name prefixes need no creating
        }

        /// <summary>Splits <c>storage://NAME/path</c> into the storage name and the (unescaped) path.</summary>
        public static (string Storage, string Path) Parse(Uri location)
        {
            if (!location.IsAbsoluteUri || !string.Equals(location.Scheme, Scheme, StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{location}' is not a storage:// URI.", errorId: "InvalidStorageUri", target: location.ToString());
            }

            var storage = location.Host;
            // Uri lower-cases the host; the name as the user typed it is what messages should show (storage://Nope/).
            var typed = location.OriginalString;
            var start = typed.IndexOf("://", StringComparison.Ordinal) + 3;
            if (start >= 3 && typed.Length >= start + storage.Length
                && string.Equals(typed.Substring(start, storage.Length), storage, StringComparison.OrdinalIgnoreCase))
            {
                storage = typed.Substring(start, storage.Length);
            }

            if (!Validation.IsSafeName(storage))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{location}' names no storage: use storage://NAME/path (NAME as in Get-TransferPlugin -Kind Storage).",
                    errorId: "InvalidStorageUri", target: location.ToString());
            }

            if (!string.IsNullOrEmpty(location.Query) || !string.IsNullOrEmpty(location.Fragment))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{location}' has a query or fragment; storage:// paths cannot hold '?' or '#'.",
                    errorId: "InvalidStorageUri", target: location.ToString());
            }

            var path = Uri.UnescapeDataString(location.AbsolutePath).TrimStart('/');
            if (path.Length > 0)
            {
                Validation.RequireSafeKey(path, "prefix", StorageKeys.MaxNameLength, allowSlash: true);
            }

            return (storage, path);
        }

        private static string Display(Uri location) => Uri.UnescapeDataString(location.ToString());

        private static string VersionOf(StorageItem item) => string.IsNullOrEmpty(item.Sha256) ? item.Id : item.Sha256!;

        private static StorageService Service(OperationContext context) =>
            (context.Host as TransferSession)?.Storage ?? throw new PluginException(ErrorCode.LifecycleError,
                "storage:// needs the TransferTools engine (it was called outside a TransferTools session).", errorId: "StorageEndpointOutsideSession");

        /// <summary>An item by id, else the newest item with exactly that name; null when there is none.</summary>
        private static async Task<StorageItem?> FindAsync(OperationContext context, string storage, string path)
        {
            if (path.IndexOf('/') < 0 && path.Length <= StorageKeys.MaxIdLength)
            {
                try
                {
                    return await Service(context).GetItemAsync(context, storage, path).ConfigureAwait(false);
                }
                catch (PluginException e) when (e.Code == ErrorCode.NotFound || e.Code == ErrorCode.InvalidArgument)
                {
                    // Not an id: try it as a name.
                }
            }

            var named = await FindByNameAsync(context, storage, path, all: false).ConfigureAwait(false);
            return named.Count > 0 ? named[0] : null;
        }

        /// <summary>The items named exactly <paramref name="name"/>, newest first (only the newest unless <paramref name="all"/>).</summary>
        private static async Task<IReadOnlyList<StorageItem>> FindByNameAsync(OperationContext context, string storage, string name, bool all)
        {
            var service = Service(context);
            var found = new List<StorageItem>();
            ListCursor? cursor = null;
            // Items named exactly `name` come first among those with that prefix ((name, id) order), so stop at the first other name.
            while (true)
            {
                var page = await service.ListItemsAsync(context, storage, new ListFilter { Prefix = name, Limit = 100, StartAfter = cursor }).ConfigureAwait(false);
                var done = page.Count < 100;
                foreach (var item in page)
                {
                    if (item.Name != name)
                    {
                        done = true;
                        break;
                    }

                    found.Add(item);
                }

                if (done || page.Count == 0)
                {
                    break;
                }

                cursor = page[page.Count - 1].ToCursor();
            }

            found.Sort((a, b) => b.CreatedAt.CompareTo(a.CreatedAt));
            return all || found.Count <= 1 ? found : new[] { found[0] };
        }

        private static string StagingPath(OperationContext context, Uri location)
        {
            var host = context.Host ?? throw new PluginException(ErrorCode.LifecycleError,
                "storage:// needs the TransferTools engine (it was called outside a TransferTools session).", errorId: "StorageEndpointOutsideSession");
            var (storage, path) = Parse(location);
            using var sha = SHA256.Create();
            var key = sha.ComputeHash(Encoding.UTF8.GetBytes(storage.ToLowerInvariant() + "\n" + path));
            return Path.Combine(host.GetPluginDataDirectory("Storage"), "staging", Hex.ToLowerString(key) + ".part");
        }

        private static async Task SkipAsync(Stream content, long count, OperationContext context)
        {
            var buffer = new byte[81920];
            while (count > 0)
            {
                var read = await content.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, count), context.CancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new PluginException(ErrorCode.SourceChanged, "The item is shorter than the offset to resume from.", errorId: "SourceChanged");
                }

                count -= read;
            }
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
