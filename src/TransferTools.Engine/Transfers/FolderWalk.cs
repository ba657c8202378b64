using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>What a <see cref="FolderWalkEntry"/> is.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum FolderWalkEntryKind
    {
        /// <summary>A file to transfer.</summary>
        File,

        /// <summary>A folder the walk goes into next (its entries follow it).</summary>
        Folder,

        /// <summary>Something the walk could not take (an unreadable folder, an unsafe name, a tree too deep): <see cref="FolderWalkEntry.Error"/>.</summary>
        Error,

        /// <summary>A note worth a verbose line (a linked folder not followed): <see cref="FolderWalkEntry.Message"/>.</summary>
        Verbose,
    }

    /// <summary>One step of a <see cref="FolderWalk"/>: a file, a folder, or a problem to report.</summary>
    public sealed class FolderWalkEntry
    {
        private readonly Uri? _parent;
        private readonly string? _name;
        private string? _location;
        private string? _display;

        internal FolderWalkEntry(FolderWalkEntryKind kind, string relativePath, string folder, string location, string display)
        {
            Kind = kind;
            RelativePath = relativePath;
            Folder = folder;
            _location = location;
            _display = display;
        }

        /// <summary>A remote file named <paramref name="name"/> in the folder <paramref name="parent"/>: its URI is made when
        /// asked for. A re-sync compares most files by size and time alone, and a URI per entry was a good part of the CPU of
        /// listing a remote tree.</summary>
        internal FolderWalkEntry(FolderWalkEntryKind kind, string relativePath, string folder, Uri parent, string name)
        {
            Kind = kind;
            RelativePath = relativePath;
            Folder = folder;
            _parent = parent;
            _name = name;
        }

        /// <summary>A file, a folder, or a problem.</summary>
        public FolderWalkEntryKind Kind { get; }

        /// <summary>The entry's path below the walk's root, names joined with '/' ("" for a root that is itself a file).</summary>
        public string RelativePath { get; }

        /// <summary>
        /// Where a copy of the entry goes, relative to the destination folder of the walk, names joined with '/': the root's
        /// own name first (as <c>Copy-Item -Recurse</c> copies a folder into a folder), then the subfolders; "" for the
        /// destination folder itself (a root without a plain name of its own, such as '/', or a root that is a file).
        /// </summary>
        public string Folder { get; }

        /// <summary>What to transfer: a local path for a local walk, an absolute URI otherwise (as a transfer's source).</summary>
        public string Location => _location ?? (_location = TransferLocation.Combine(_parent!, _name!).AbsoluteUri);

        /// <summary>The location as users see it in messages (a URI's query left out), also the target of <see cref="Error"/>.</summary>
        public string Display => _display ?? (_display = TransferLocation.DisplayWithoutQuery(TransferLocation.Combine(_parent!, _name!)));

        /// <summary>Size in bytes of a file, or -1 when unknown.</summary>
        public long Length { get; internal set; } = -1;

        /// <summary>Last modification time, when the listing gives it.</summary>
        public DateTimeOffset? LastModified { get; internal set; }

        /// <summary>The file's SHA-256 when the endpoint keeps it (<see cref="RemoteFolderEntry.Sha256"/>), else null.</summary>
        public string? Sha256 { get; internal set; }

        /// <summary>True when <see cref="LastModified"/> is a store's upload time (<see cref="RemoteFolderEntry.TimeIsStorageTime"/>).</summary>
        public bool TimeIsStorageTime { get; internal set; }

        /// <summary>For <see cref="FolderWalkEntryKind.Error"/>: what went wrong (a <see cref="PluginException"/> with a stable ErrorId).</summary>
        public Exception? Error { get; internal set; }

        /// <summary>For <see cref="FolderWalkEntryKind.Verbose"/>: the line to show.</summary>
        public string? Message { get; internal set; }
    }

    /// <summary>
    /// Walks a folder tree through an <see cref="IFolderListing"/>-style lister, local and remote alike: memory holds the
    /// listings of the folders on the current path, never the whole tree. A remote walk lists up to
    /// <see cref="ListAhead"/> of the folders it goes into next while the caller works on the current one (a round trip
    /// per folder would otherwise add up: 200 folders over SFTP cost seconds), a local one <see cref="LocalListAhead"/>
    /// (on another core), still handing out entries in the same order, and holding at most that many listings more.
    /// <para>Order: entries come in ordinal order of their <see cref="FolderWalkEntry.RelativePath"/>, a folder's path
    /// taken with a trailing '/' (so <c>a.txt</c> &lt; <c>a/x</c> &lt; <c>a0</c>), a folder right before its contents. Every
    /// endpoint gives the same order, so two walks can be merged in one pass, as rclone's march does.</para>
    /// <para>Left out: TransferTools' own <c>.transfertools</c> folders and <c>*.ttpart</c> temporaries; folders that are
    /// links (not followed, so a link back up the tree cannot loop; reported at Verbose); names that are not a plain file
    /// name here (<c>SourceNameUnsafe</c>: a separator, a control character or '..' from a server cannot climb out of
    /// the destination); folders more than <see cref="MaxDepth"/> levels down (<c>SourceTreeTooDeep</c>: an HTTP listing
    /// cannot tell a link from a folder). A subfolder that cannot be listed (denied, gone) is reported
    /// (<c>SourceFolderUnreadable</c>) and skipped; any other listing failure is reported and ends the walk. Pipes,
    /// sockets and devices are left out by the listings themselves, with a warning on the context's logger.</para>
    /// <para>Use: call <see cref="TryNext"/> until it returns false, then <see cref="ListNextAsync"/> (which lists the
    /// next folder; off the caller's thread if need be) until that returns false. Not thread-safe: one caller at a time
    /// (the listings ahead run concurrently, through the lister; their log lines reach the context of the call that
    /// takes the listing, in walk order).</para>
    /// </summary>
    public sealed class FolderWalk
    {
        /// <summary>
        /// How many folders down a walk goes. SFTP and local listings say which folders are links, and those are not
        /// followed; a web server's listing cannot, so a link back up the tree there would otherwise be walked for ever.
        /// </summary>
        public const int MaxDepth = 64;

        /// <summary>
        /// How many folders a remote walk lists ahead of the one it is in (listings in flight or done and not yet taken).
        /// SFTP multiplexes them on one connection; 8 hides a loopback or LAN round trip without crowding the copies.
        /// </summary>
        public const int ListAhead = 8;

        /// <summary>
        /// How many folders a local walk lists ahead: a local listing has no round trip to hide, but it is CPU (a
        /// directory read and a stat per entry) that another core can spend while the caller compares or copies what the
        /// walk already gave. A re-sync of 10,050 unchanged files in 200 folders, both sides local: 0.12–0.16 s with 2
        /// against 0.18–0.25 s with none; 4 measured the same as 2, and holds more folders' entries.
        /// </summary>
        public const int LocalListAhead = 2;

        private const string TemporarySuffix = ".ttpart";

        private readonly Func<OperationContext, Uri, Task<IReadOnlyList<RemoteFolderEntry>?>> _list;
        private readonly bool _local;
        private readonly string _rootLocation;
        private readonly string _rootDisplay;
        private readonly string _skippedVerb;
        private readonly Stack<Level> _open = new Stack<Level>();
        private readonly Queue<FolderWalkEntry> _ready = new Queue<FolderWalkEntry>();
        private Level? _unlisted;
        private readonly int _ahead;
        private readonly Dictionary<string, Task<Listed>> _listedAhead = new Dictionary<string, Task<Listed>>(StringComparer.Ordinal);

        /// <summary>A walk of the tree at <paramref name="root"/>.</summary>
        /// <param name="root">The folder (or file) to walk: a local path or an absolute URI.</param>
        /// <param name="list">Lists one folder (any order; the walk sorts), or returns null when a file is there.</param>
        /// <param name="skippedVerb">How a message says what does not happen to the files of an unreadable folder ("sent", "received").</param>
        /// <param name="listAhead">How many folders a remote walk lists ahead (<see cref="ListAhead"/>); 0 lists one at a
        /// time. A local walk lists at most <see cref="LocalListAhead"/> ahead. The lister must then take concurrent
        /// calls.</param>
        public FolderWalk(string root, Func<OperationContext, Uri, Task<IReadOnlyList<RemoteFolderEntry>?>> list, string skippedVerb, int listAhead = ListAhead)
        {
            _list = list ?? throw new ArgumentNullException(nameof(list));
            _skippedVerb = skippedVerb;
            _rootLocation = root;
            var uri = TransferLocation.Parse(root);
            _local = uri.IsFile;
            _ahead = Math.Max(0, _local ? Math.Min(LocalListAhead, listAhead) : listAhead);
            var folder = AsFolder(uri);
            string? path = null;
            if (_local)
            {
                path = LocalRootPath(root);
                _rootDisplay = path;
            }
            else
            {
                _rootDisplay = TransferLocation.DisplayWithoutQuery(folder);
            }

            var name = FileName(folder);
            // The root is listed as given: a file there is then taken as one (a folder form of its name would not be found).
            _unlisted = new Level(folder, path, "", TransferLocation.IsPlainFileName(name) ? name : "", 0, isRoot: true) { ListUri = uri };
        }

        /// <summary>
        /// A walk of the local folder <paramref name="path"/> for a send, listed by the protocol that serves <c>file</c>
        /// (which leaves out pipes, sockets and devices with a warning). The source of a send is not authorized (a send is
        /// authorized at its destination), so neither is this listing.
        /// </summary>
        public static FolderWalk ForSend(TransferSession session, string path)
        {
            IFolderListing? lister = null;
            return new FolderWalk(path, async (context, folder) =>
            {
                if (lister is null)
                {
                    var protocol = await session.Plugins.FindProtocolForSchemeAsync(context, Uri.UriSchemeFile).ConfigureAwait(false)
                                   ?? throw new PluginException(ErrorCode.PluginNotFound, "No protocol plugin serves file://.", errorId: "ProtocolNotFound");
                    lister = await session.Plugins.GetAsync(context, protocol).ConfigureAwait(false) as IFolderListing
                             ?? throw new PluginException(ErrorCode.NotSupported, $"The protocol '{protocol}' cannot list a folder.", errorId: "FolderListingNotSupported");
                }

                try
                {
                    return await lister.ListFolderAsync(context, folder, new TransferOptions()).ConfigureAwait(false);
                }
                catch (PluginException e) when (e.ErrorId == "NotAFolder")
                {
                    return null;
                }
            }, "sent");
        }

        /// <summary>
        /// A walk of the folder at <paramref name="location"/> (a path or a URI) for a receive, listed through
        /// <see cref="TransferManager.ListFolderAsync"/>: authorized as a receive from each folder and retried as a transfer's
        /// requests are.
        /// </summary>
        public static FolderWalk ForReceive(TransferManager manager, string location, TransferOptions options) =>
            new FolderWalk(location, (context, folder) => manager.ListFolderAsync(context, folder.AbsoluteUri, options), "received");

        /// <summary>The root as shown in messages.</summary>
        public string RootDisplay => _rootDisplay;

        /// <summary>
        /// The next entry when the walk has it without listing a folder. False when it needs <see cref="ListNextAsync"/>
        /// first, or has ended.
        /// </summary>
        public bool TryNext(out FolderWalkEntry entry)
        {
            while (true)
            {
                if (_ready.Count > 0)
                {
                    entry = _ready.Dequeue();
                    return true;
                }

                if (_unlisted != null || _open.Count == 0)
                {
                    entry = null!;
                    return false;
                }

                var level = _open.Peek();
                if (level.Next >= level.Entries.Length)
                {
                    _open.Pop();
                    continue;
                }

                Take(level, level.Entries[level.Next++]);
            }
        }

        /// <summary>
        /// Lists the folder the walk goes into next; false when the walk has ended. A listing's failure does not throw: it
        /// comes out of <see cref="TryNext"/> as an <see cref="FolderWalkEntryKind.Error"/> entry.
        /// </summary>
        /// <exception cref="OperationCanceledException">The context was cancelled.</exception>
        public async Task<bool> ListNextAsync(OperationContext context)
        {
            var level = _unlisted;
            if (level is null)
            {
                return _open.Count > 0 || _ready.Count > 0;
            }

            _unlisted = null;
            IReadOnlyList<RemoteFolderEntry>? listed;
            try
            {
                listed = await ListAsync(context, level).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
            {
                var shown = Shown(level);
                if (level.IsRoot)
                {
                    _ready.Enqueue(Problem(level.Relative, level.Folder, _rootDisplay, e));
                }
                else if (e is PluginException pe && (pe.Code == ErrorCode.PermissionDenied || pe.Code == ErrorCode.NotFound || pe.ErrorId == "SourceFolderUnreadable"))
                {
                    // Denied, or gone meanwhile: the rest of the tree is still walked.
                    var reason = pe.ErrorId == "SourceFolderUnreadable" && pe.InnerException != null ? pe.InnerException.Message : pe.Message;
                    _ready.Enqueue(Problem(level.Relative, level.Folder, shown, new PluginException(pe.Code,
                        $"The folder '{shown}' cannot be listed, so its files are not {_skippedVerb}: {reason}", pe, "SourceFolderUnreadable", shown)));
                }
                else
                {
                    // The server lost after the retries, say: the walk ends (listings ahead are dropped; they never throw).
                    _ready.Enqueue(Problem(level.Relative, level.Folder, shown, e));
                    _open.Clear();
                    _listedAhead.Clear();
                }

                return _ready.Count > 0 || _open.Count > 0;
            }

            if (listed is null)
            {
                if (level.IsRoot)
                {
                    // A file: taken as one, into the destination itself.
                    _ready.Enqueue(new FolderWalkEntry(FolderWalkEntryKind.File, "", "", _rootLocation, _rootDisplay));
                }

                return _ready.Count > 0 || _open.Count > 0;
            }

            level.Entries = Sorted(listed);
            _open.Push(level);
            ListAheadOf(context);
            return true;
        }

        /// <summary>Lists one folder: the listing made ahead for it when there is one (its log lines replayed now), else now.</summary>
        private async Task<IReadOnlyList<RemoteFolderEntry>?> ListAsync(OperationContext context, Level level)
        {
            if (!level.IsRoot && _listedAhead.TryGetValue(level.Relative, out var ahead))
            {
                _listedAhead.Remove(level.Relative);
                // A slot is free: start the next listing before waiting for this one.
                ListAheadOf(context);
                var done = await ahead.ConfigureAwait(false);
                done.Log.Replay(context.Logger);
                if (done.Error != null)
                {
                    ExceptionDispatchInfo.Capture(done.Error).Throw();
                }

                return done.Entries;
            }

            ListAheadOf(context);
            return await _list(context, level.ListUri ?? level.Uri).ConfigureAwait(false);
        }

        /// <summary>
        /// Starts listings of the folders the walk goes into next, until <see cref="ListAhead"/> are under way or waiting:
        /// the remaining subfolders of the deepest open folder first (the walk enters them next), then those of the
        /// folders above it. Only folders the walk would enter (<see cref="Take"/>'s rules) are listed.
        /// </summary>
        private void ListAheadOf(OperationContext context)
        {
            if (_ahead == 0)
            {
                return;
            }

            foreach (var level in _open)
            {
                for (var i = Math.Max(level.Next, level.AheadFrom); i < level.Entries.Length && _listedAhead.Count < _ahead; i++)
                {
                    level.AheadFrom = i + 1;
                    var entry = level.Entries[i];
                    if (!entry.IsDirectory || entry.IsLink || entry.Name == TransferManifest.FolderName || !TransferLocation.IsPlainFileName(entry.Name)
                        || level.Depth + 1 > MaxDepth)
                    {
                        continue;
                    }

                    var relative = level.Relative.Length == 0 ? entry.Name : level.Relative + "/" + entry.Name;
                    var folder = AsFolder(TransferLocation.Combine(level.Uri, entry.Name));
                    // Off the caller's thread: the caller goes on walking while this round trip runs.
                    _listedAhead[relative] = Task.Run(() => ListedAsync(context, folder));
                }

                if (_listedAhead.Count >= _ahead)
                {
                    return;
                }
            }
        }

        /// <summary>One listing ahead: never throws (its failure is kept for the walk to report in order), logs kept for later.</summary>
        private async Task<Listed> ListedAsync(OperationContext context, Uri folder)
        {
            var log = new HeldLog();
            try
            {
                var entries = await _list(context.WithLogger(log), folder).ConfigureAwait(false);
                return new Listed(entries, null, log);
            }
            catch (Exception e)
            {
                return new Listed(null, e, log);
            }
        }

        /// <summary>Decides what one listed entry becomes: queued for <see cref="TryNext"/>, or left out silently.</summary>
        private void Take(Level parent, RemoteFolderEntry entry)
        {
            if (!TransferLocation.IsPlainFileName(entry.Name))
            {
                var shownParent = Shown(parent);
                var target = shownParent + entry.Name;
                // The problem carries the path the name would have, so a sync's filters can leave it out (-Exclude).
                var named = parent.Relative.Length == 0 ? entry.Name : parent.Relative + "/" + entry.Name;
                _ready.Enqueue(Problem(named, parent.Folder, target, new PluginException(ErrorCode.InvalidArgument,
                    $"'{entry.Name}' in '{shownParent}' is not a file name this system can hold as one (a separator, a control character or '..'); it is skipped.",
                    errorId: "SourceNameUnsafe", target: target)));
                return;
            }

            if (entry.IsDirectory ? entry.Name == TransferManifest.FolderName : entry.Name.EndsWith(TemporarySuffix, StringComparison.Ordinal))
            {
                // TransferTools' own manifests and half-written files are no part of what the tree holds.
                return;
            }

            var relative = parent.Relative.Length == 0 ? entry.Name : parent.Relative + "/" + entry.Name;
            if (!entry.IsDirectory)
            {
                var path = _local ? Path.Combine(parent.LocalPath!, entry.Name) : null;
                var file = path != null
                    ? new FolderWalkEntry(FolderWalkEntryKind.File, relative, parent.Folder, path, path)
                    : new FolderWalkEntry(FolderWalkEntryKind.File, relative, parent.Folder, parent.Uri, entry.Name);
                file.Length = entry.Length;
                file.LastModified = entry.LastModified;
                file.Sha256 = entry.Sha256;
                file.TimeIsStorageTime = entry.TimeIsStorageTime;
                _ready.Enqueue(file);
                return;
            }

            string location, display;
            Uri? uri = null;
            if (_local)
            {
                location = display = Path.Combine(parent.LocalPath!, entry.Name);
            }
            else
            {
                uri = TransferLocation.Combine(parent.Uri, entry.Name);
                location = uri.AbsoluteUri;
                display = TransferLocation.DisplayWithoutQuery(uri);
            }

            if (entry.IsLink)
            {
                // Not followed: a link back up the tree cannot loop.
                _ready.Enqueue(new FolderWalkEntry(FolderWalkEntryKind.Verbose, relative, parent.Folder, location, display)
                {
                    Message = $"'{display}' links to a folder; not followed.",
                });
                return;
            }

            if (parent.Depth + 1 > MaxDepth)
            {
                _ready.Enqueue(Problem(relative, parent.Folder, display, new PluginException(ErrorCode.LimitExceeded,
                    $"'{display}' is more than {MaxDepth} folders below '{_rootDisplay}', so it is not walked: a server that cannot tell a link from a folder (HTTP) may be leading round a loop.",
                    errorId: "SourceTreeTooDeep", target: display)));
                return;
            }

            var folder = parent.Folder.Length == 0 ? entry.Name : parent.Folder + "/" + entry.Name;
            var child = _local
                ? new Level(TransferLocation.Parse(location), location, relative, folder, parent.Depth + 1, isRoot: false)
                : new Level(AsFolder(uri!), null, relative, folder, parent.Depth + 1, isRoot: false);
            _ready.Enqueue(new FolderWalkEntry(FolderWalkEntryKind.Folder, relative, folder, location, display) { LastModified = entry.LastModified });
            _unlisted = child;
        }

        /// <summary>
        /// The entries in walk order: ordinal by name, a folder's name taken with a trailing '/', which makes the
        /// depth-first walk yield ordinal order of whole relative paths.
        /// </summary>
        internal static RemoteFolderEntry[] Sorted(IReadOnlyList<RemoteFolderEntry> listed)
        {
            var keys = new string[listed.Count];
            var entries = new RemoteFolderEntry[listed.Count];
            for (var i = 0; i < keys.Length; i++)
            {
                entries[i] = listed[i];
                keys[i] = listed[i].IsDirectory ? listed[i].Name + "/" : listed[i].Name;
            }

            Array.Sort(keys, entries, StringComparer.Ordinal);
            return entries;
        }

        private static FolderWalkEntry Problem(string relative, string folder, string target, Exception error) =>
            new FolderWalkEntry(FolderWalkEntryKind.Error, relative, folder, "", target) { Error = error };

        /// <summary>A folder as messages show it, ending with a separator so a name can follow.</summary>
        private string Shown(Level level)
        {
            if (!_local)
            {
                return TransferLocation.DisplayWithoutQuery(level.Uri);
            }

            var path = level.LocalPath!;
            return path.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? path : path + Path.DirectorySeparatorChar;
        }

        /// <summary>A local root without its trailing separators, unless it is a root ('/', 'C:\') itself.</summary>
        private static string LocalRootPath(string root)
        {
            var path = TransferLocation.LooksLikeUri(root) ? TransferLocation.Display(TransferLocation.Parse(root)) : root;
            var trimmed = path.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            return trimmed.Length == 0 || trimmed.EndsWith(":", StringComparison.Ordinal) ? path : trimmed;
        }

        private static string FileName(Uri folder)
        {
            var path = folder.AbsolutePath.TrimEnd('/');
            return Uri.UnescapeDataString(path.Substring(path.LastIndexOf('/') + 1));
        }

        private static Uri AsFolder(Uri location) =>
            TransferLocation.EndsWithSlash(location) ? location : new Uri(location.GetLeftPart(UriPartial.Path) + "/" + location.Query);

        /// <summary>A folder on the current path of the walk.</summary>
        private sealed class Level
        {
            public Level(Uri uri, string? localPath, string relative, string folder, int depth, bool isRoot)
            {
                Uri = uri;
                LocalPath = localPath;
                Relative = relative;
                Folder = folder;
                Depth = depth;
                IsRoot = isRoot;
            }

            public Uri Uri { get; }
            public Uri? ListUri { get; set; }
            public string? LocalPath { get; }
            public string Relative { get; }
            public string Folder { get; }
            public int Depth { get; }
            public bool IsRoot { get; }
            public RemoteFolderEntry[] Entries { get; set; } = Array.Empty<RemoteFolderEntry>();
            public int Next { get; set; }

            /// <summary>Entries before this one have had their listing ahead started (or need none).</summary>
            public int AheadFrom { get; set; }
        }

        /// <summary>What a listing ahead gave: entries (null for a file), or its failure; and its log lines.</summary>
        private sealed class Listed
        {
            public Listed(IReadOnlyList<RemoteFolderEntry>? entries, Exception? error, HeldLog log)
            {
                Entries = entries;
                Error = error;
                Log = log;
            }

            public IReadOnlyList<RemoteFolderEntry>? Entries { get; }
            public Exception? Error { get; }
            public HeldLog Log { get; }
        }

        /// <summary>Log lines of a listing ahead, held until the walk reaches its folder (the caller's pump may be gone by then).</summary>
        private sealed class HeldLog : IPluginLogger
        {
            private readonly List<(LogLevel Level, string Message)> _lines = new List<(LogLevel, string)>();

            public void Log(LogLevel level, string message)
            {
                lock (_lines)
                {
                    _lines.Add((level, message));
                }
            }

            public void Replay(IPluginLogger logger)
            {
                lock (_lines)
                {
                    foreach (var (level, message) in _lines)
                    {
                        logger.Log(level, message);
                    }
                }
            }
        }
    }
}
