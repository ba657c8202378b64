using System;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Sync
{
    /// <summary>How a folder sync decides that a file present on both sides differs (<c>-Compare</c>).</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum SyncComparison
    {
        /// <summary>Size equal and modification times equal within the coarser side's precision (the default).</summary>
        SizeAndTime,

        /// <summary>SHA-256 of both sides: a hash an endpoint keeps is used, otherwise the bytes are read.</summary>
        Checksum,

        /// <summary>Size only.</summary>
        Size,
    }

    /// <summary>What a folder sync does with one path.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum SyncAction
    {
        /// <summary>The file is missing at the destination: copied.</summary>
        Copy,

        /// <summary>The destination's file differs: replaced.</summary>
        Update,

        /// <summary>The destination's file is not in the source (<c>-Mirror</c>): deleted after every copy succeeded.</summary>
        Delete,

        /// <summary>Both sides hold the same file: nothing to do.</summary>
        Unchanged,

        /// <summary>A source folder missing at the destination (<c>-IncludeEmptyFolders</c>): created.</summary>
        CreateFolder,

        /// <summary>A destination folder the source does not have (<c>-Mirror</c>): removed once emptied.</summary>
        DeleteFolder,

        /// <summary>Not an action: a problem met while listing (<see cref="SyncItem.Error"/>); the sync then deletes nothing.</summary>
        Error,

        /// <summary>Not an action: a line worth showing at Verbose (<see cref="SyncItem.Message"/>).</summary>
        Note,
    }

    /// <summary>What a folder sync does: comparison, deletes, filters.</summary>
    public sealed class SyncOptions
    {
        /// <summary>How files present on both sides are compared.</summary>
        public SyncComparison Compare { get; set; } = SyncComparison.SizeAndTime;

        /// <summary>Keep a destination file that is newer than the source's (<c>-Update</c>, robocopy /XO).</summary>
        public bool Update { get; set; }

        /// <summary>Delete destination files and folders the source does not have (<c>-Mirror</c>).</summary>
        public bool Mirror { get; set; }

        /// <summary>With <see cref="Mirror"/>: delete destination files the filters leave out, too.</summary>
        public bool DeleteExcluded { get; set; }

        /// <summary>Create source folders that hold no file to copy.</summary>
        public bool IncludeEmptyFolders { get; set; }

        /// <summary>Which files are taken.</summary>
        public SyncFilter Filter { get; set; } = new SyncFilter();

        /// <summary>Times this close count as equal; null: the coarser side's precision (<see cref="FolderSync.TimePrecisionOf"/>).</summary>
        public TimeSpan? TimeWindow { get; set; }
    }

    /// <summary>One step of a folder sync's plan: a path and what happens to it, or a problem met on the way.</summary>
    public sealed class SyncItem
    {
        internal SyncItem(SyncAction action, string relativePath, string reason)
        {
            Action = action;
            RelativePath = relativePath;
            Reason = reason;
        }

        /// <summary>What happens.</summary>
        public SyncAction Action { get; }

        /// <summary>The path below both roots, names joined with '/'.</summary>
        public string RelativePath { get; }

        /// <summary>Why, in words ("missing at the destination", "size differs: 10 B → 12 B", ...).</summary>
        public string Reason { get; }

        /// <summary>True for a folder (<see cref="SyncAction.CreateFolder"/>, <see cref="SyncAction.DeleteFolder"/>).</summary>
        public bool IsFolder { get; internal set; }

        /// <summary>The source's entry, when the source has the path.</summary>
        public FolderWalkEntry? Source { get; internal set; }

        /// <summary>The destination's entry, when the destination has the path.</summary>
        public FolderWalkEntry? Destination { get; internal set; }

        /// <summary>The source's SHA-256, when compared by checksum.</summary>
        public string? SourceSha256 { get; internal set; }

        /// <summary>The destination's SHA-256, when compared by checksum.</summary>
        public string? DestinationSha256 { get; internal set; }

        /// <summary>For <see cref="SyncAction.Error"/>: what went wrong (a <see cref="Abstractions.PluginException"/> with a stable ErrorId).</summary>
        public Exception? Error { get; internal set; }

        /// <summary>For <see cref="SyncAction.Error"/>: true when the problem stops the whole sync (a root that cannot be walked).</summary>
        public bool Fatal { get; internal set; }

        /// <summary>For <see cref="SyncAction.Error"/> and <see cref="SyncAction.Note"/>: what the message is about.</summary>
        public string? Target { get; internal set; }

        /// <summary>For <see cref="SyncAction.Note"/>: the line to show.</summary>
        public string? Message { get; internal set; }
    }
}
