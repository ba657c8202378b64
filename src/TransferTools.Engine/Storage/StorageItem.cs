using System;
using System.Collections.Generic;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Storage
{
    /// <summary>
    /// A stored item as cmdlets show it: the item's id and metadata, flattened, plus the storage it lives in, so that a
    /// piped item (<c>Get-StorageItem | Export-StorageItem</c>) goes back to its own store by property name.
    /// </summary>
    public sealed class StorageItem
    {
        /// <summary>The registered storage plugin that holds the item (<c>LocalStore</c>, or a registration name).</summary>
        public string Storage { get; set; } = StorageService.DefaultStorage;
        /// <summary>The item's id.</summary>
        public string Id { get; set; } = "";
        /// <summary>The item's name.</summary>
        public string Name { get; set; } = "";
        /// <summary>Size in bytes.</summary>
        public long Size { get; set; }
        /// <summary>MIME type.</summary>
        public string MimeType { get; set; } = "application/octet-stream";
        /// <summary>When it was stored (UTC).</summary>
        public DateTimeOffset CreatedAt { get; set; }
        /// <summary>Lower-case hex SHA-256 of the content, when known.</summary>
        public string? Sha256 { get; set; }
        /// <summary>Custom key/value metadata.</summary>
        public IDictionary<string, string> Metadata { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

        /// <summary>The cursor that continues a listing after this item.</summary>
        public ListCursor ToCursor() => new ListCursor(Name, Id);

        /// <summary>Builds one from a plugin's item.</summary>
        public static StorageItem From(string storage, string id, ItemMetadata metadata) => new StorageItem
        {
            Storage = storage,
            Id = id,
            Name = metadata.Name,
            Size = metadata.Size,
            MimeType = metadata.MimeType,
            CreatedAt = metadata.CreatedAt,
            Sha256 = metadata.Sha256,
            Metadata = new Dictionary<string, string>(metadata.Custom ?? new Dictionary<string, string>(), StringComparer.Ordinal),
        };

        /// <inheritdoc/>
        public override string ToString() => $"{Storage}:{Id} {Name}";
    }

    /// <summary>Totals of one storage, as <c>Measure-StorageItem</c> shows them.</summary>
    public sealed class StorageStatistics
    {
        /// <summary>The storage plugin measured.</summary>
        public string Storage { get; set; } = StorageService.DefaultStorage;
        /// <summary>How many items.</summary>
        public long TotalItems { get; set; }
        /// <summary>The sum of the items' sizes in bytes.</summary>
        public long TotalSize { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"{Storage}: {TotalItems} items, {TotalSize} bytes";
    }
}
