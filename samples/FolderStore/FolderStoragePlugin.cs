using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace Samples.FolderStore
{
    /// <summary>
    /// A storage plugin that keeps each item as two files in one folder: ID.bin (the content) and ID.meta (its
    /// metadata, written last, so an item exists only once both are complete).
    /// Configuration: Root (required) - the folder; MaxItemSize (optional) - the largest item in bytes.
    /// </summary>
    [TransferPlugin("FolderStore", PluginType.Storage,
        Description = "Items as files in one folder, with their metadata beside them.")]
    public sealed class FolderStoragePlugin : IStoragePlugin
    {
        private static readonly Regex IdPattern = new Regex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant);
        private string _root = "";
        private long _maxItemSize = long.MaxValue;

        // Name, kind and description come from the declaration above: said once.
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(FolderStoragePlugin), "TransferTools samples", "MIT");

        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            if (!config.TryGetValue("Root", out var root) || string.IsNullOrWhiteSpace(root))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "The FolderStore needs the configuration key 'Root' (the folder to keep items in).",
                    errorId: "FolderStoreRootMissing");
            }

            if (config.TryGetValue("MaxItemSize", out var max) && !long.TryParse(max, out _maxItemSize))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"MaxItemSize '{max}' is not a number of bytes.", errorId: "FolderStoreBadLimit");
            }

            _root = Path.GetFullPath(root);
            Directory.CreateDirectory(_root);
            return Task.CompletedTask;
        }

        public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

        public async Task<string> StoreAsync(OperationContext context, Stream content, ItemMetadata metadata)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var id = Guid.NewGuid().ToString("n");
            var data = DataPath(id);
            var partial = data + ".partial";
            try
            {
                long size = 0;
                using (var sha = SHA256.Create())
                using (var output = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
                {
                    var buffer = new byte[81920];
                    int read;
                    while ((read = await content.ReadAsync(buffer, 0, buffer.Length, context.CancellationToken).ConfigureAwait(false)) > 0)
                    {
                        context.CancellationToken.ThrowIfCancellationRequested();
                        size += read;
                        if (size > _maxItemSize)
                        {
                            throw new PluginException(ErrorCode.LimitExceeded, $"Items in this store are at most {_maxItemSize} bytes.", errorId: "ItemTooLarge", target: metadata.Name);
                        }

                        sha.TransformBlock(buffer, 0, read, null, 0);
                        await output.WriteAsync(buffer, 0, read, context.CancellationToken).ConfigureAwait(false);
                    }

                    sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                    metadata.Sha256 = string.Concat(sha.Hash.Select(b => b.ToString("x2")));
                }

                File.Move(partial, data);
                metadata.Size = size;
                metadata.CreatedAt = DateTimeOffset.UtcNow;
                File.WriteAllText(MetaPath(id), Serialize(metadata), Encoding.UTF8);
                return id;
            }
            catch
            {
                File.Delete(partial);
                File.Delete(data);
                throw;
            }
        }

        public Task<RetrievedItem> RetrieveAsync(OperationContext context, string id)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var metadata = ReadMetadata(id);
            var stream = new FileStream(DataPath(id), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, useAsync: true);
            return Task.FromResult(new RetrievedItem(stream, metadata));
        }

        public Task DeleteAsync(OperationContext context, string id)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            ReadMetadata(id);
            File.Delete(MetaPath(id));
            File.Delete(DataPath(id));
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<Item>> ListAsync(OperationContext context, ListFilter filter)
        {
            var limit = filter.Limit > 0 ? filter.Limit : 1000;
            IEnumerable<Item> items = AllItems();
            if (!string.IsNullOrEmpty(filter.Prefix))
            {
                items = items.Where(i => i.Metadata.Name.StartsWith(filter.Prefix, StringComparison.Ordinal));
            }

            items = items.OrderBy(i => i.Metadata.Name, StringComparer.Ordinal).ThenBy(i => i.Id, StringComparer.Ordinal);
            if (filter.StartAfter is { } after)
            {
                items = items.Where(i => string.CompareOrdinal(i.Metadata.Name, after.Name) > 0
                                         || (i.Metadata.Name == after.Name && string.CompareOrdinal(i.Id, after.Id) > 0));
            }

            return Task.FromResult<IReadOnlyList<Item>>(items.Take(limit).ToList());
        }

        public Task<StorageStats> StatsAsync(OperationContext context)
        {
            var items = AllItems().ToList();
            return Task.FromResult(new StorageStats { TotalItems = items.Count, TotalSize = items.Sum(i => i.Metadata.Size) });
        }

        private IEnumerable<Item> AllItems()
        {
            foreach (var meta in Directory.EnumerateFiles(_root, "*.meta"))
            {
                var id = Path.GetFileNameWithoutExtension(meta);
                ItemMetadata metadata;
                try
                {
                    metadata = Deserialize(File.ReadAllText(meta, Encoding.UTF8));
                }
                catch (IOException)
                {
                    continue; // deleted while listing
                }

                yield return new Item { Id = id, Metadata = metadata };
            }
        }

        // Ids are validated before they touch the file system: nothing outside the root is reachable through one.
        private string CheckedId(string id) =>
            id != null && IdPattern.IsMatch(id) ? id
                : throw new PluginException(ErrorCode.InvalidArgument, "An item id is 32 lower-case hex digits.", errorId: "InvalidItemId", target: id);

        private string DataPath(string id) => Path.Combine(_root, CheckedId(id) + ".bin");
        private string MetaPath(string id) => Path.Combine(_root, CheckedId(id) + ".meta");

        private ItemMetadata ReadMetadata(string id)
        {
            var path = MetaPath(id);
            if (!File.Exists(path))
            {
                throw new PluginException(ErrorCode.NotFound, $"No item has the id '{id}'.", errorId: "ItemNotFound", target: id);
            }

            return Deserialize(File.ReadAllText(path, Encoding.UTF8));
        }

        // One "key<TAB>value" line per field; custom keys are prefixed with "x-". Values are escaped.
        private static string Serialize(ItemMetadata m)
        {
            var lines = new List<string>
            {
                "name\t" + Escape(m.Name), "size\t" + m.Size, "mime\t" + Escape(m.MimeType),
                "created\t" + m.CreatedAt.ToString("o"), "sha256\t" + (m.Sha256 ?? ""),
            };
            lines.AddRange(m.Custom.Select(c => "x-" + Escape(c.Key) + "\t" + Escape(c.Value)));
            return string.Join("\n", lines);
        }

        private static ItemMetadata Deserialize(string text)
        {
            var m = new ItemMetadata();
            foreach (var line in text.Split('\n'))
            {
                var tab = line.IndexOf('\t');
                if (tab < 0)
                {
                    continue;
                }

                var key = line.Substring(0, tab);
                var value = Unescape(line.Substring(tab + 1));
                switch (key)
                {
                    case "name": m.Name = value; break;
                    case "size": m.Size = long.Parse(value); break;
                    case "mime": m.MimeType = value; break;
                    case "created": m.CreatedAt = DateTimeOffset.Parse(value, null, System.Globalization.DateTimeStyles.RoundtripKind); break;
                    case "sha256": m.Sha256 = value.Length == 0 ? null : value; break;
                    default:
                        if (key.StartsWith("x-", StringComparison.Ordinal))
                        {
                            m.Custom[Unescape(key.Substring(2))] = value;
                        }

                        break;
                }
            }

            return m;
        }

        private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\t", "\\t").Replace("\n", "\\n").Replace("\r", "\\r");

        private static string Unescape(string s)
        {
            var sb = new StringBuilder(s.Length);
            for (var i = 0; i < s.Length; i++)
            {
                if (s[i] == '\\' && i + 1 < s.Length)
                {
                    i++;
                    sb.Append(s[i] switch { 't' => '\t', 'n' => '\n', 'r' => '\r', _ => s[i] });
                }
                else
                {
                    sb.Append(s[i]);
                }
            }

            return sb.ToString();
        }
    }
}
