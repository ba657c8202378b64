using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Sync
{
    /// <summary>
    /// The plan of a folder sync, made as two sorted <see cref="FolderWalk"/>s are merged in one pass (rclone's march):
    /// each path of either side comes out once, with what to do and why. Memory holds the two walks' current folders and
    /// one pending item, never the tree, so planning starts (and copies can start) before either listing ends.
    /// <para>Use as a <see cref="FolderWalk"/>: <see cref="TryNext"/> until false, then <see cref="AdvanceAsync"/> (which
    /// lists the next folder of one side, or reads a file to hash it) until that returns false. One caller at a time.</para>
    /// <para>Safety: any listing problem on either side sets <see cref="ListingFailed"/>; the caller must then delete
    /// nothing. Deletes are only planned (<see cref="SyncAction.Delete"/>), never done here.</para>
    /// </summary>
    public sealed class SyncPlan
    {
        private readonly FolderWalk _source;
        private readonly FolderWalk _destination;
        private readonly SyncOptions _options;
        private readonly Func<OperationContext, FolderWalkEntry, Task<string>> _hash;
        private readonly TimeSpan _window;
        private readonly Queue<SyncItem> _out = new Queue<SyncItem>();
        private FolderWalkEntry? _src;
        private FolderWalkEntry? _dst;
        private bool _srcDone;
        private bool _dstDone;
        private int _need; // 1: list the source, 2: list the destination
        private SyncItem? _hashing; // both sides' files, waiting for their hashes
        private bool _srcStarted;
        private bool _dstStarted;
        private bool _stopped;
        private string? _protected; // a source folder not walked (a link): its destination twin is not deleted

        /// <summary>A plan for syncing <paramref name="source"/> onto <paramref name="destination"/>.</summary>
        /// <param name="source">The source's walk.</param>
        /// <param name="destination">The destination's walk (a missing root is an empty destination).</param>
        /// <param name="options">Comparison, deletes, filters.</param>
        /// <param name="hash">Reads one file's SHA-256 (lower-case hex), for <see cref="SyncComparison.Checksum"/> where no hash is kept.</param>
        /// <param name="timeWindow">Times this close count as equal (the coarser side's precision), unless <see cref="SyncOptions.TimeWindow"/> says otherwise.</param>
        public SyncPlan(FolderWalk source, FolderWalk destination, SyncOptions options, Func<OperationContext, FolderWalkEntry, Task<string>> hash, TimeSpan timeWindow)
        {
            _source = source ?? throw new ArgumentNullException(nameof(source));
            _destination = destination ?? throw new ArgumentNullException(nameof(destination));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _hash = hash ?? throw new ArgumentNullException(nameof(hash));
            _window = options.TimeWindow ?? timeWindow;
        }

        /// <summary>True once any listing of either side failed (or a root could not be walked): delete nothing.</summary>
        public bool ListingFailed { get; private set; }

        /// <summary>How many files the source listed (filters applied); 0 at the end means an empty source.</summary>
        public long SourceFiles { get; private set; }

        /// <summary>True when the destination root did not exist (it is created by the first copy).</summary>
        public bool DestinationMissing { get; private set; }

        /// <summary>The next step when the plan has it without listing or reading; false when it needs <see cref="AdvanceAsync"/> or has ended.</summary>
        public bool TryNext(out SyncItem item)
        {
            while (true)
            {
                if (_out.Count > 0)
                {
                    item = _out.Dequeue();
                    return true;
                }

                item = null!;
                if (_stopped || _hashing != null || !Fill(source: true) || !Fill(source: false))
                {
                    if (_out.Count > 0)
                    {
                        continue;
                    }

                    return false;
                }

                if (_src is null && _dst is null)
                {
                    _stopped = true;
                    return false;
                }

                Step();
            }
        }

        /// <summary>Lists the next folder of the side the plan waits for, or reads the files it must hash; false when the plan has ended.</summary>
        public async Task<bool> AdvanceAsync(OperationContext context)
        {
            if (_stopped)
            {
                return _out.Count > 0;
            }

            if (_hashing != null)
            {
                var item = _hashing;
                try
                {
                    item.SourceSha256 ??= await _hash(context, item.Source!).ConfigureAwait(false);
                    item.DestinationSha256 ??= await _hash(context, item.Destination!).ConfigureAwait(false);
                    _out.Enqueue(string.Equals(item.SourceSha256, item.DestinationSha256, StringComparison.OrdinalIgnoreCase)
                        ? With(SyncAction.Unchanged, item, "same SHA-256")
                        : With(SyncAction.Update, item, "SHA-256 differs"));
                }
                catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
                {
                    // A file that cannot be read to compare is neither copied nor deleted; the sync deletes nothing.
                    ListingFailed = true;
                    _out.Enqueue(new SyncItem(SyncAction.Error, item.RelativePath, "cannot be compared") { Error = e, Target = item.Source!.Display });
                }

                _hashing = null;
                return true;
            }

            switch (_need)
            {
                case 1:
                    _need = 0;
                    if (!await _source.ListNextAsync(context).ConfigureAwait(false))
                    {
                        _srcDone = true;
                    }

                    return true;
                case 2:
                    _need = 0;
                    if (!await _destination.ListNextAsync(context).ConfigureAwait(false))
                    {
                        _dstDone = true;
                    }

                    return true;
                default:
                    return !_stopped || _out.Count > 0;
            }
        }

        /// <summary>Takes the next entry of one side as its head; false when that side must list first.</summary>
        private bool Fill(bool source)
        {
            var walk = source ? _source : _destination;
            while ((source ? _src : _dst) is null && !(source ? _srcDone : _dstDone))
            {
                if (!walk.TryNext(out var entry))
                {
                    _need = source ? 1 : 2;
                    return false;
                }

                var first = source ? !_srcStarted : !_dstStarted;
                if (source)
                {
                    _srcStarted = true;
                }
                else
                {
                    _dstStarted = true;
                }

                switch (entry.Kind)
                {
                    case FolderWalkEntryKind.Error:
                        Problem(entry, source, first);
                        break;
                    case FolderWalkEntryKind.Verbose:
                        if (source)
                        {
                            _protected = entry.RelativePath + "/";
                        }

                        _out.Enqueue(new SyncItem(SyncAction.Note, entry.RelativePath, "") { Message = entry.Message, Target = entry.Display });
                        break;
                    case FolderWalkEntryKind.File when entry.RelativePath.Length == 0:
                        // The root is a file: a sync is between folders.
                        _stopped = true;
                        ListingFailed = true;
                        _out.Enqueue(Fatal(entry.Display, source
                            ? new PluginException(ErrorCode.InvalidArgument, $"The source '{entry.Display}' is a file; Sync-TransferFolder keeps folders in step (Send-Transfer or Receive-Transfer copies one file).", errorId: "SyncSourceNotAFolder", target: entry.Display)
                            : new PluginException(ErrorCode.InvalidArgument, $"The destination '{entry.Display}' is a file, not a folder.", errorId: "SyncDestinationNotAFolder", target: entry.Display)));
                        return false;
                    default:
                        if (source)
                        {
                            _src = entry;
                        }
                        else
                        {
                            _dst = entry;
                        }

                        break;
                }

                if (_stopped)
                {
                    return false;
                }
            }

            return true;
        }

        private void Problem(FolderWalkEntry entry, bool source, bool first)
        {
            if (source && entry.Error is PluginException { ErrorId: "SourceNameUnsafe" } && !_options.Filter.Includes(entry.RelativePath, -1, null))
            {
                // A name the destination cannot hold that the filters leave out anyway: not a failure, so deletes may run.
                _out.Enqueue(new SyncItem(SyncAction.Note, entry.RelativePath, "") { Message = $"'{entry.Display}' is excluded by the filters (its name could not be copied).", Target = entry.Display });
                return;
            }

            var rootProblem = first && entry.RelativePath.Length == 0 && !(entry.Error is PluginException { ErrorId: "SourceNameUnsafe" });
            if (rootProblem && !source && entry.Error is PluginException { Code: ErrorCode.NotFound })
            {
                // No destination yet: everything is copied, and the first copy creates it.
                DestinationMissing = true;
                _dstDone = true;
                return;
            }

            ListingFailed = true;
            if (rootProblem)
            {
                _stopped = true;
                var error = entry.Error is PluginException { Code: ErrorCode.NotFound } && source
                    ? new PluginException(ErrorCode.NotFound, $"The source folder '{entry.Display}' does not exist.", entry.Error, "SyncSourceNotFound", entry.Display)
                    : entry.Error!;
                _out.Enqueue(Fatal(entry.Display, error));
                return;
            }

            var pe = entry.Error as PluginException;
            var wrapped = pe?.ErrorId == "SourceFolderUnreadable" || pe?.ErrorId == "SourceNameUnsafe" || pe?.ErrorId == "SourceTreeTooDeep"
                ? entry.Error!
                : new PluginException(pe?.Code ?? ErrorCode.ConnectionError,
                    $"Listing the {(source ? "source" : "destination")} failed at '{entry.Display}': {entry.Error!.Message} Nothing is deleted by this sync.",
                    entry.Error, "SyncListingFailed", entry.Display);
            if (!source)
            {
                // The walk's own messages say "not sent"/"not received"; on the destination side it is deletes that stop.
                wrapped = new PluginException(pe?.Code ?? ErrorCode.ConnectionError,
                    $"The destination could not be listed at '{entry.Display}': {entry.Error!.Message} Nothing is deleted by this sync.",
                    entry.Error, "SyncListingFailed", entry.Display);
            }

            _out.Enqueue(new SyncItem(SyncAction.Error, entry.RelativePath, "listing failed") { Error = wrapped, Target = entry.Display });
        }

        private static SyncItem Fatal(string target, Exception error) =>
            new SyncItem(SyncAction.Error, "", "cannot sync") { Error = error, Target = target, Fatal = true };

        private static string KeyOf(FolderWalkEntry entry) => entry.Kind == FolderWalkEntryKind.Folder ? entry.RelativePath + "/" : entry.RelativePath;

        /// <summary>Merges the two heads: the smaller key goes first; equal keys are the same path on both sides.</summary>
        private void Step()
        {
            int order;
            if (_src is null)
            {
                order = 1;
            }
            else if (_dst is null)
            {
                order = -1;
            }
            else
            {
                order = string.CompareOrdinal(KeyOf(_src), KeyOf(_dst));
            }

            if (order < 0)
            {
                SourceOnly(_src!);
                _src = null;
            }
            else if (order > 0)
            {
                DestinationOnly(_dst!);
                _dst = null;
            }
            else
            {
                Both(_src!, _dst!);
                _src = null;
                _dst = null;
            }
        }

        private void SourceOnly(FolderWalkEntry entry)
        {
            if (entry.Kind == FolderWalkEntryKind.Folder)
            {
                if (_options.IncludeEmptyFolders && !_options.Filter.IsFolderExcluded(entry.RelativePath) && !UnderExcludedFolder(entry.RelativePath))
                {
                    _out.Enqueue(new SyncItem(SyncAction.CreateFolder, entry.RelativePath, "missing at the destination") { IsFolder = true, Source = entry });
                }

                return;
            }

            if (!_options.Filter.Includes(entry.RelativePath, entry.Length, entry.LastModified))
            {
                return;
            }

            SourceFiles++;
            _out.Enqueue(new SyncItem(SyncAction.Copy, entry.RelativePath, "missing at the destination") { Source = entry });
        }

        private void DestinationOnly(FolderWalkEntry entry)
        {
            if (!_options.Mirror || (_protected != null && entry.RelativePath.StartsWith(_protected, StringComparison.Ordinal)))
            {
                return; // kept: without -Mirror a sync only adds and updates
            }

            if (entry.Kind == FolderWalkEntryKind.Folder)
            {
                if (_options.DeleteExcluded || (!_options.Filter.IsFolderExcluded(entry.RelativePath) && !UnderExcludedFolder(entry.RelativePath)))
                {
                    _out.Enqueue(new SyncItem(SyncAction.DeleteFolder, entry.RelativePath, "not in the source") { IsFolder = true, Destination = entry });
                }

                return;
            }

            if (!_options.Filter.Includes(entry.RelativePath, entry.Length, entry.LastModified))
            {
                if (_options.DeleteExcluded)
                {
                    _out.Enqueue(new SyncItem(SyncAction.Delete, entry.RelativePath, "excluded by the filters (-DeleteExcluded)") { Destination = entry });
                }

                return;
            }

            _out.Enqueue(new SyncItem(SyncAction.Delete, entry.RelativePath, "not in the source") { Destination = entry });
        }

        private void Both(FolderWalkEntry src, FolderWalkEntry dst)
        {
            if (src.Kind == FolderWalkEntryKind.Folder)
            {
                return; // present on both sides; their files follow
            }

            if (!_options.Filter.Includes(src.RelativePath, src.Length, src.LastModified))
            {
                if (_options.Mirror && _options.DeleteExcluded)
                {
                    _out.Enqueue(new SyncItem(SyncAction.Delete, dst.RelativePath, "excluded by the filters (-DeleteExcluded)") { Destination = dst });
                }

                return;
            }

            SourceFiles++;
            var item = new SyncItem(SyncAction.Unchanged, src.RelativePath, "") { Source = src, Destination = dst };
            if (src.Length >= 0 && dst.Length >= 0 && src.Length != dst.Length)
            {
                if (!DestinationNewer(src, dst, out _) || !_options.Update)
                {
                    _out.Enqueue(With(SyncAction.Update, item, $"size differs: {src.Length} B at the source, {dst.Length} B at the destination"));
                    return;
                }
            }

            if (_options.Update && DestinationNewer(src, dst, out var newer))
            {
                _out.Enqueue(With(SyncAction.Unchanged, item, $"the destination is newer by {newer} (-Update keeps it)"));
                return;
            }

            switch (_options.Compare)
            {
                case SyncComparison.Size:
                    _out.Enqueue(src.Length < 0 || dst.Length < 0
                        ? With(SyncAction.Update, item, "size unknown")
                        : With(SyncAction.Unchanged, item, "same size"));
                    return;
                case SyncComparison.Checksum:
                    item.SourceSha256 = src.Sha256;
                    item.DestinationSha256 = dst.Sha256;
                    _hashing = item;
                    return;
            }

            if (src.Length < 0 || dst.Length < 0)
            {
                _out.Enqueue(With(SyncAction.Update, item, "size unknown"));
                return;
            }

            if (src.LastModified is null || dst.LastModified is null || src.TimeIsStorageTime || dst.TimeIsStorageTime)
            {
                // An object store's time is when it was stored, not the source's: size is all there is to compare.
                _out.Enqueue(With(SyncAction.Unchanged, item, "same size (no comparable modification times)"));
                return;
            }

            var difference = src.LastModified.Value - dst.LastModified.Value;
            if (difference.Duration() <= _window)
            {
                _out.Enqueue(With(SyncAction.Unchanged, item, "same size and time"));
            }
            else if (difference > TimeSpan.Zero)
            {
                _out.Enqueue(With(SyncAction.Update, item, $"the source is newer by {Shown(difference)}"));
            }
            else
            {
                _out.Enqueue(With(SyncAction.Update, item, $"the destination is newer by {Shown(-difference)} (replaced: a sync is one-way; -Update keeps it)"));
            }
        }

        private bool DestinationNewer(FolderWalkEntry src, FolderWalkEntry dst, out string by)
        {
            by = "";
            if (src.LastModified is null || dst.LastModified is null || dst.TimeIsStorageTime || src.TimeIsStorageTime)
            {
                return false;
            }

            var difference = dst.LastModified.Value - src.LastModified.Value;
            by = Shown(difference);
            return difference > _window;
        }

        private bool UnderExcludedFolder(string relative)
        {
            for (var slash = relative.IndexOf('/'); slash > 0; slash = relative.IndexOf('/', slash + 1))
            {
                if (_options.Filter.IsFolderExcluded(relative.Substring(0, slash)))
                {
                    return true;
                }
            }

            return false;
        }

        private static string Shown(TimeSpan span) =>
            span.TotalDays >= 1 ? $"{span.TotalDays:0.#} d" : span.TotalHours >= 1 ? $"{span.TotalHours:0.#} h" : span.TotalMinutes >= 1 ? $"{span.TotalMinutes:0.#} min" : $"{span.TotalSeconds:0.###} s";

        private static SyncItem With(SyncAction action, SyncItem item, string reason) => new SyncItem(action, item.RelativePath, reason)
        {
            Source = item.Source,
            Destination = item.Destination,
            SourceSha256 = item.SourceSha256,
            DestinationSha256 = item.DestinationSha256,
        };
    }
}
