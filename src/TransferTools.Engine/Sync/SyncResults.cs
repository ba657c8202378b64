using System;
using System.Collections.Generic;

namespace TransferTools.Engine.Sync
{
    /// <summary>What one <c>Sync-TransferFolder</c> did.</summary>
    public sealed class SyncResult
    {
        /// <summary>The source folder.</summary>
        public string Source { get; set; } = "";

        /// <summary>The destination folder.</summary>
        public string Destination { get; set; } = "";

        /// <summary>Files copied because the destination lacked them.</summary>
        public long Copied { get; set; }

        /// <summary>Files replaced because they differed.</summary>
        public long Updated { get; set; }

        /// <summary>Destination files deleted (or moved to the backup folder) with <c>-Mirror</c>.</summary>
        public long Deleted { get; set; }

        /// <summary>Files found equal on both sides.</summary>
        public long Unchanged { get; set; }

        /// <summary>Files, folders and listings that failed; any failure means nothing was deleted.</summary>
        public long Failed { get; set; }

        /// <summary>Bytes the copies moved (a resumed copy counts what it sent this time).</summary>
        public long BytesMoved { get; set; }

        /// <summary>How long the sync took.</summary>
        public TimeSpan Duration { get; set; }

        /// <summary>True when the delete phase ran (or had nothing to do); false when a failure, an empty source or -MaxDelete held it back.</summary>
        public bool DeletesDone { get; set; }

        /// <summary>The sync's key: names its state files in the journal folder (<c>sync-KEY.*</c>).</summary>
        public string SyncId { get; set; } = "";

        /// <summary>The messages of the errors written, in order.</summary>
        public List<string> Errors { get; } = new List<string>();
    }

    /// <summary>What <c>Compare-TransferFolder</c> found about one path.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum FolderDifferenceKind
    {
        /// <summary>Only the source has the file.</summary>
        SourceOnly,

        /// <summary>Only the destination has the file.</summary>
        DestinationOnly,

        /// <summary>Both have it and it differs.</summary>
        Changed,

        /// <summary>Both have it, equal (only with <c>-IncludeEqual</c>).</summary>
        Equal,
    }

    /// <summary>One difference between two folders (<c>Compare-TransferFolder</c>).</summary>
    public sealed class FolderDifference
    {
        /// <summary>The path below both roots, '/'-separated.</summary>
        public string RelativePath { get; set; } = "";

        /// <summary>SourceOnly, DestinationOnly, Changed or Equal.</summary>
        public FolderDifferenceKind Difference { get; set; }

        /// <summary>Why it counts as changed or equal.</summary>
        public string Reason { get; set; } = "";

        /// <summary>The source's size, or null without a source file.</summary>
        public long? SourceSize { get; set; }

        /// <summary>The destination's size, or null without a destination file.</summary>
        public long? DestinationSize { get; set; }

        /// <summary>The source's modification time, when known.</summary>
        public DateTimeOffset? SourceModified { get; set; }

        /// <summary>The destination's modification time, when known.</summary>
        public DateTimeOffset? DestinationModified { get; set; }

        /// <summary>The source's SHA-256 (<c>-Compare Checksum</c>).</summary>
        public string? SourceSha256 { get; set; }

        /// <summary>The destination's SHA-256 (<c>-Compare Checksum</c>).</summary>
        public string? DestinationSha256 { get; set; }

        /// <summary>The source file's location.</summary>
        public string? SourcePath { get; set; }

        /// <summary>The destination file's location.</summary>
        public string? DestinationPath { get; set; }
    }
}
