using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.StorageProtocol
{
    /// <summary>Folder listing of <c>storage://NAME/prefix/</c>, so a folder sync can walk a store like any tree.</summary>
    public sealed partial class StorageProtocolPlugin : IFolderRemoval
    {
        private const int ListPage = 500;

        /// <inheritdoc/>
        /// <remarks>A store's folder is a name prefix: it has gone with its last item, so nothing is removed; true when no
        /// item is left under it.</remarks>
        public async Task<bool> RemoveEmptyFolderAsync(OperationContext context, Uri folder, TransferOptions options)
        {
            var (storage, path) = Parse(folder);
            var prefix = path.Length == 0 || path.EndsWith("/", StringComparison.Ordinal) ? path : path + "/";
            var left = await Service(context).ListItemsAsync(context, storage, new ListFilter { Prefix = prefix, Limit = 1 }).ConfigureAwait(false);
            return left.Count == 0;
        }

        /// <summary>
        /// The items and "folders" directly under the prefix: an item <c>prefix/a/b.txt</c> shows as the folder <c>a</c>.
        /// Several items of one name (a store keeps them apart by id) show once, as the newest, which is the one a read of
        /// that name gets. Sizes and the kept SHA-256 come from the index; the time is the source's modification time where
        /// the upload kept it (<see cref="FileAttributeMetadata"/>), else the item's creation time, which is when it was
        /// stored (<see cref="RemoteFolderEntry.TimeIsStorageTime"/>).
        /// </summary>
        public async Task<IReadOnlyList<RemoteFolderEntry>> ListFolderAsync(OperationContext context, Uri folder, TransferOptions options)
        {
            var (storage, path) = Parse(folder);
            var prefix = path.Length == 0 || path.EndsWith("/", StringComparison.Ordinal) ? path : path + "/";
            var service = Service(context);
            var entries = new List<RemoteFolderEntry>();
            var byName = new Dictionary<string, (RemoteFolderEntry Entry, DateTimeOffset Created)>(StringComparer.Ordinal);
            ListCursor? cursor = null;
            while (true)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                var page = await service.ListItemsAsync(context, storage, new ListFilter { Prefix = prefix, Limit = ListPage, StartAfter = cursor }).ConfigureAwait(false);
                foreach (var item in page)
                {
                    var rest = item.Name.Substring(prefix.Length);
                    var slash = rest.IndexOf('/');
                    var name = slash < 0 ? rest : rest.Substring(0, slash);
                    if (name.Length == 0)
                    {
                        continue;
                    }

                    var key = slash < 0 ? name : name + "/";
                    if (byName.TryGetValue(key, out var seen))
                    {
                        if (slash < 0 && item.CreatedAt > seen.Created)
                        {
                            var (newerTime, _) = FileAttributeMetadata.Read(item.Metadata);
                            seen.Entry.Length = item.Size;
                            seen.Entry.LastModified = newerTime ?? item.CreatedAt;
                            seen.Entry.TimeIsStorageTime = newerTime is null;
                            seen.Entry.Sha256 = string.IsNullOrEmpty(item.Sha256) ? null : item.Sha256!.ToLowerInvariant();
                            byName[key] = (seen.Entry, item.CreatedAt);
                        }

                        continue;
                    }

                    var (kept, _) = slash < 0 ? FileAttributeMetadata.Read(item.Metadata) : (null, null);
                    var entry = slash < 0
                        ? new RemoteFolderEntry
                        {
                            Name = name,
                            Length = item.Size,
                            LastModified = kept ?? item.CreatedAt,
                            Sha256 = string.IsNullOrEmpty(item.Sha256) ? null : item.Sha256!.ToLowerInvariant(),
                            // An item whose upload kept its source's time (FileAttributeMetadata) compares by it.
                            TimeIsStorageTime = kept is null,
                        }
                        : new RemoteFolderEntry { Name = name, IsDirectory = true };
                    byName.Add(key, (entry, item.CreatedAt));
                    entries.Add(entry);
                }

                if (page.Count < ListPage)
                {
                    break;
                }

                cursor = page[page.Count - 1].ToCursor();
            }

            if (entries.Count == 0)
            {
                // A prefix nothing is stored under is no folder (as IFolderListing asks: NotFound), so a sync into a new
                // prefix sees an empty destination; one that names an item is a file.
                if (prefix.Length > 0 && await FindAsync(context, storage, path.TrimEnd('/')).ConfigureAwait(false) != null)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{Display(folder)}' is an item, not a folder.", errorId: "NotAFolder", target: Display(folder));
                }

                throw new PluginException(ErrorCode.NotFound, $"Nothing is stored under '{Display(folder)}'.", errorId: "SourceNotFound", target: Display(folder));
            }

            return entries;
        }
    }
}
