using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>What is known about a stored item.</summary>
    public sealed class ItemMetadata
    {
        /// <summary>The item's name (a file name, or a path-like key such as <c>reports/2026/q3.csv</c>).</summary>
        public string Name { get; set; } = "";
        /// <summary>Size in bytes.</summary>
        public long Size { get; set; }
        /// <summary>MIME type, e.g. <c>application/octet-stream</c>.</summary>
        public string MimeType { get; set; } = "application/octet-stream";
        /// <summary>When the item was stored (UTC).</summary>
        public DateTimeOffset CreatedAt { get; set; }
        /// <summary>Custom key/value metadata.</summary>
        public IDictionary<string, string> Custom { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Lower-case hex SHA-256 of the content, when the plugin knows it.</summary>
        public string? Sha256 { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"{Name} ({Size} bytes)";
    }

    /// <summary>Which items to list.</summary>
    /// <remarks>Plugins list in <see cref="ListOrder"/>: (<see cref="ItemMetadata.Name"/> in code point order,
    /// <see cref="Item.Id"/> ordinal), so that <see cref="StartAfter"/> pages through any number of items.</remarks>
    public sealed class ListFilter
    {
        /// <summary>Only items whose name starts with this (ordinal); null or empty for all.</summary>
        public string? Prefix { get; set; }
        /// <summary>At most this many items; 0 means the plugin's page size.</summary>
        public int Limit { get; set; }
        /// <summary>Continue after this item (the last one of the previous page); null to start at the beginning.</summary>
        public ListCursor? StartAfter { get; set; }
    }

    /// <summary>
    /// The order every storage plugin lists in: names by Unicode code point (the UTF-8 byte order of SQLite and of blob
    /// services), then ids ordinally.
    /// </summary>
    public static class ListOrder
    {
        /// <summary>Compares two names by code point; differs from ordinal UTF-16 order only above U+E000.</summary>
        public static int CompareNames(string a, string b)
        {
            var length = Math.Min(a.Length, b.Length);
            for (var i = 0; i < length; i++)
            {
                var x = a[i];
                var y = b[i];
                if (x == y)
                {
                    continue;
                }

                // Surrogates (U+D800-DFFF) stand for code points above U+FFFF, so they sort after U+E000-FFFF.
                var xs = char.IsSurrogate(x);
                var ys = char.IsSurrogate(y);
                if (xs != ys && (x >= 0xE000 || y >= 0xE000))
                {
                    return xs ? 1 : -1;
                }

                return x < y ? -1 : 1;
            }

            return a.Length.CompareTo(b.Length);
        }

        /// <summary>Compares (name, id) pairs in listing order.</summary>
        public static int Compare(string nameA, string idA, string nameB, string idB)
        {
            var c = CompareNames(nameA, nameB);
            return c != 0 ? c : string.CompareOrdinal(idA, idB);
        }

        /// <summary>True when <paramref name="item"/> comes after <paramref name="cursor"/> (null: every item does).</summary>
        public static bool IsAfter(Item item, ListCursor? cursor) =>
            cursor is null || Compare(item.Metadata.Name, item.Id, cursor.Name, cursor.Id) > 0;
    }

    /// <summary>A position in a listing: the name and id of the last item seen.</summary>
    public sealed class ListCursor
    {
        /// <summary>Creates a cursor.</summary>
        public ListCursor(string name, string id)
        {
            Name = name;
            Id = id;
        }

        /// <summary>The name of the last item seen.</summary>
        public string Name { get; }
        /// <summary>The id of the last item seen.</summary>
        public string Id { get; }
    }

    /// <summary>A stored item.</summary>
    public sealed class Item
    {
        /// <summary>The id the store gave the item.</summary>
        public string Id { get; set; } = "";
        /// <summary>What is known about it.</summary>
        public ItemMetadata Metadata { get; set; } = new ItemMetadata();

        /// <summary>The cursor that continues a listing after this item.</summary>
        public ListCursor ToCursor() => new ListCursor(Metadata.Name, Id);

        /// <inheritdoc/>
        public override string ToString() => $"{Id} {Metadata.Name}";
    }

    /// <summary>Totals for a store.</summary>
    public sealed class StorageStats
    {
        /// <summary>How many items.</summary>
        public long TotalItems { get; set; }
        /// <summary>The sum of the items' sizes in bytes.</summary>
        public long TotalSize { get; set; }
    }

    /// <summary>The content and metadata of one item, as <see cref="IStoragePlugin.RetrieveAsync"/> returns it.</summary>
    public sealed class RetrievedItem : IDisposable
    {
        /// <summary>Creates a result; the caller disposes it.</summary>
        public RetrievedItem(Stream content, ItemMetadata metadata)
        {
            Content = content;
            Metadata = metadata;
        }

        /// <summary>The content, read from the start.</summary>
        public Stream Content { get; }
        /// <summary>The item's metadata.</summary>
        public ItemMetadata Metadata { get; }

        /// <summary>Closes <see cref="Content"/>.</summary>
        public void Dispose() => Content.Dispose();
    }

    /// <summary>Where items live.</summary>
    /// <remarks>Ids, names and prefixes are validated by the plugin: nothing outside the store is ever read or
    /// written through them; bad ones are refused with <see cref="ErrorCode.InvalidArgument"/>.</remarks>
    public interface IStoragePlugin : IPlugin
    {
        /// <summary>Stores the content of <paramref name="content"/> (read to its end) and returns the new item's id.</summary>
        Task<string> StoreAsync(OperationContext context, Stream content, ItemMetadata metadata);

        /// <summary>Opens one item. <see cref="ErrorCode.NotFound"/> when there is none with that id.</summary>
        Task<RetrievedItem> RetrieveAsync(OperationContext context, string id);

        /// <summary>Deletes one item. <see cref="ErrorCode.NotFound"/> when there is none with that id.</summary>
        Task DeleteAsync(OperationContext context, string id);

        /// <summary>Lists items in (name, id) order; see <see cref="ListFilter"/>.</summary>
        Task<IReadOnlyList<Item>> ListAsync(OperationContext context, ListFilter filter);

        /// <summary>Totals for the store, without scanning every item where the backend allows.</summary>
        Task<StorageStats> StatsAsync(OperationContext context);
    }
}
