using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The transfers one cmdlet call starts together (e.g. <c>Get-ChildItem | Send-Transfer</c>), journaled as a group:
    /// their records go to one append-only file (<c>journal/BATCH.batch</c>) under one owner lock
    /// (<c>journal/BATCH.batch.lock</c>), and the manifests of local sends to one append-only file per destination folder
    /// (<c>FOLDER/.transfertools/BATCH.batch.json</c>), instead of a record file, a lock file and a manifest file (each
    /// written under a temporary name and renamed) per transfer. Creating and deleting those small files was most of the
    /// cost of a small transfer.
    /// </summary>
    /// <remarks>
    /// A member's id is 16 random hex digits followed by the 16 of its batch, so a reader finds the batch file of any id
    /// without an index. Each line is a whole record (or manifest) written by one <c>write(2)</c>, so a killed process
    /// leaves at most a torn last line, which readers skip; the newest line of an id wins. The file is flushed to disk
    /// in groups (at most every <see cref="FlushInterval"/> and when the batch ends), not per line. Only the process that
    /// holds the batch lock appends; a resume (from any process, once the owner is gone or done with the member) moves the
    /// member to its own record file, which takes precedence over the batch line from then on.
    /// </remarks>
    internal sealed class TransferBatch : IDisposable
    {
        /// <summary>How long a journal line may wait for the group <c>fsync</c>.</summary>
        internal static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

        /// <summary>
        /// At most this many manifest files stay open. A folder sent with -Recurse has one per subfolder, and a tree of
        /// thousands of folders must not hold thousands of handles (1,024 is a common limit on Linux). The lines are
        /// written unbuffered, so closing one loses nothing; a folder met again is reopened for appending.
        /// </summary>
        internal const int MaxOpenManifests = 8;

        private readonly TransferJournal _journal;
        private readonly object _gate = new object();
        private readonly Dictionary<string, FileStream> _manifests = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        private FileStream? _log;
        private FileStream? _lock;
        private Timer? _flusher;
        private bool _dirty;
        private bool _closed;
        private int _references = 1; // the creator's

        public TransferBatch(TransferJournal journal)
        {
            _journal = journal;
            Id = NewHex(8);
            // Known to this session's journal from the start: members are found before their first line is written.
            _journal.RegisterBatch(this);
        }

        /// <summary>16 hex digits: the tail of every member id and the name of the batch files.</summary>
        public string Id { get; }

        /// <summary>The newest record of each member (what <see cref="TransferJournal.TryLoad"/> answers while the batch is open).</summary>
        public ConcurrentDictionary<string, TransferRecord> Latest { get; } = new ConcurrentDictionary<string, TransferRecord>(StringComparer.Ordinal);

        /// <summary>Per-batch memo of values that do not change during one call (protocol per scheme, plugin per protocol).</summary>
        public ConcurrentDictionary<string, object> Memo { get; } = new ConcurrentDictionary<string, object>(StringComparer.Ordinal);

        /// <summary>This machine's name, looked up once per batch (each lookup is a <c>uname</c>) for the records and manifests.</summary>
        public string MachineName => _machineName ??= Environment.MachineName;

        private string? _machineName;

        /// <summary>Folders known to exist as folders during this batch: destination URIs as requested, and
        /// <c>manifests:</c> + a destination folder's URI for the manifest folder in it.</summary>
        public ConcurrentDictionary<string, bool> KnownFolders { get; } = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        /// <summary>Final names taken by a member of this batch (URI → member id): two files of one call never go to one name.</summary>
        public ConcurrentDictionary<string, string> ClaimedNames { get; } = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);

        /// <summary>A new member id: 16 random hex digits, then the batch id.</summary>
        public string NewMemberId()
        {
            // Guid.NewGuid draws from the system's secure random source without the setup (and fork check) of a
            // RandomNumberGenerator per id. Its 'n' form has a fixed version digit at 12 and a variant digit at 16:
            // digits 0-11 and 17-20 are all random.
            var guid = Guid.NewGuid().ToString("n");
            return string.Concat(guid.Substring(0, 12), guid.Substring(17, 4), Id);
        }

        /// <summary>The batch id of a member id (its last 16 hex digits).</summary>
        public static string BatchIdOf(string id) => id.Length == 32 ? id.Substring(16) : "";

        /// <summary>A member starts: the batch stays open until it finishes.</summary>
        public void AddMember() => Interlocked.Increment(ref _references);

        /// <summary>A member finished (or the creator is done starting members); the last one closes the batch.</summary>
        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                Close();
            }
        }

        /// <summary>The creator is done starting members.</summary>
        public void Dispose() => Release();

        /// <summary>Makes a member known to this session before its first line is written.</summary>
        public void Track(TransferRecord record) => Latest[record.Id] = record.Clone();

        /// <summary>Appends a member's record (the newest line of an id wins). Opens the journal files on first use.</summary>
        /// <param name="durable">Covered by the next group flush (at most <see cref="FlushInterval"/> later) rather than not at all.</param>
        public void Append(TransferRecord record, bool durable)
        {
            record.UpdatedAt = DateTimeOffset.UtcNow;
            // This thread's buffer, serialized outside the lock and written under it before the thread serializes again.
            var line = TransferJournal.SerializeLine(record);
            lock (_gate)
            {
                if (_closed)
                {
                    throw new InvalidOperationException("The transfer batch is closed.");
                }

                EnsureOpen();
                // One write(2) per line: a kill leaves whole lines and at most one torn tail.
                _log!.Write(line.Array!, line.Offset, line.Count);
                Latest[record.Id] = record;
                if (durable && !_dirty)
                {
                    _dirty = true;
                    _flusher ??= new Timer(_ => Flush(), null, Timeout.Infinite, Timeout.Infinite);
                    _flusher.Change(FlushInterval, Timeout.InfiniteTimeSpan);
                }
            }
        }

        /// <summary>How many manifest files are open now (at most <see cref="MaxOpenManifests"/>).</summary>
        internal int OpenManifests
        {
            get
            {
                lock (_gate)
                {
                    return _manifests.Count;
                }
            }
        }

        /// <summary>Appends a manifest line to <c>FOLDER/.transfertools/BATCH.batch.json</c> (FOLDER a local path).</summary>
        /// <returns>The batch manifest file's path.</returns>
        public string AppendManifest(string folder, TransferManifest manifest)
        {
            var bytes = manifest.ToLine();
            lock (_gate)
            {
                if (!_manifests.TryGetValue(folder, out var stream))
                {
                    if (_manifests.Count >= MaxOpenManifests)
                    {
                        // A tree is sent folder after folder: those opened before are mostly done.
                        foreach (var open in _manifests.Values)
                        {
                            TryFlushAndDispose(open);
                        }

                        _manifests.Clear();
                    }

                    var manifestFolder = Path.Combine(folder, TransferManifest.FolderName);
                    Directory.CreateDirectory(manifestFolder);
                    stream = new FileStream(Path.Combine(manifestFolder, TransferManifest.BatchFileName(Id)), FileMode.Append, FileAccess.Write,
                        FileShare.ReadWrite | FileShare.Delete, 1);
                    _manifests[folder] = stream;
                }

                stream.Write(bytes, 0, bytes.Length);
                return stream.Name;
            }
        }

        private void EnsureOpen()
        {
            if (_log != null)
            {
                return;
            }

            // The lock first: a reader that sees the batch file while its owner lives must find the lock held.
            _lock = new FileStream(_journal.BatchLockPath(Id), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            _log = new FileStream(_journal.BatchPath(Id), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
        }

        private void Flush()
        {
            lock (_gate)
            {
                if (!_dirty || _log is null)
                {
                    return;
                }

                _dirty = false;
                try
                {
                    // One fsync covers every line appended since the last one (group commit).
                    _log.Flush(flushToDisk: true);
                }
                catch (IOException)
                {
                    // The lines are written (a kill cannot lose them); only their way to the disk waits for the next flush.
                    _dirty = true;
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        private void Close()
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                _flusher?.Dispose();
                foreach (var stream in _manifests.Values)
                {
                    TryFlushAndDispose(stream);
                }

                _manifests.Clear();
                _journal.UnregisterBatch(this);
                if (_log != null)
                {
                    TryFlushAndDispose(_log);
                    // Nobody can own a finished batch; members left unfinished are resumed one by one through their own
                    // record files, so the lock file goes (removed while still held, as for single transfers).
                    AtomicFile.TryDelete(_journal.BatchLockPath(Id));
                    _lock?.Dispose();
                }

                Latest.Clear();
                foreach (var value in Memo.Values)
                {
                    // What a member kept open for the batch (a remote manifest file's handle).
                    (value as IDisposable)?.Dispose();
                }

                Memo.Clear();
            }
        }

        private static void TryFlushAndDispose(FileStream stream)
        {
            try
            {
                stream.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
            }
            finally
            {
                stream.Dispose();
            }
        }

        private static string NewHex(int bytes)
        {
            var data = new byte[bytes];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(data);
            }

            return Hex.ToLowerString(data);
        }
    }
}
