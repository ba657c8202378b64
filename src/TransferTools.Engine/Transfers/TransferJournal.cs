using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The transfer journal under <c>HOME/journal/</c>. Per transfer:
    /// <list type="bullet">
    /// <item><c>ID.json</c> — the record, replaced atomically (temp file, then rename) on every state change;</item>
    /// <item><c>ID.chunks</c> — an append-only log of committed chunks, one fixed-width line each
    /// (<c>index xxhash64</c>); a torn or garbled tail is ignored, so it is crash-consistent at any instant;</item>
    /// <item><c>ID.lock</c> — held (exclusive OS file lock) by the process moving the transfer; the OS drops it when
    /// that process dies, which is how a dead owner's "active" transfer is told from a live one;</item>
    /// <item><c>ID.control</c> — a stop or suspend request from another process, polled by the owner.</item>
    /// </list>
    /// Only the lock holder writes a record, so several processes can share the journal.
    /// </summary>
    internal sealed class TransferJournal
    {
        /// <summary>Bytes per chunk-log line: 10 digits, a space, 16 hex digits, a newline.</summary>
        internal const int ChunkLineLength = 28;

        internal static readonly JsonSerializerOptions Json = new JsonSerializerOptions
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Converters = { new JsonStringEnumConverter() },
        };

        /// <summary>The options of a batch journal line (see <see cref="SerializeLine"/>).</summary>
        internal static readonly JsonSerializerOptions LineJson = new JsonSerializerOptions
        {
            WriteIndented = false,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Converters = { new JsonStringEnumConverter() },
        };

        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TransferBatch> _liveBatches =
            new System.Collections.Concurrent.ConcurrentDictionary<string, TransferBatch>(StringComparer.Ordinal);

        private readonly Dictionary<string, BatchFile> _batchCache = new Dictionary<string, BatchFile>(StringComparer.Ordinal);

        public TransferJournal(string homeDirectory)
        {
            Directory = TransferToolsHome.EnsurePrivateDirectory(Path.Combine(homeDirectory, "journal"));
        }

        public string Directory { get; }

        public string RecordPath(string id) => Path.Combine(Directory, id + ".json");
        public string ChunkPath(string id) => Path.Combine(Directory, id + ".chunks");
        public string LockPath(string id) => Path.Combine(Directory, id + ".lock");
        public string ControlPath(string id) => Path.Combine(Directory, id + ".control");
        public string BatchPath(string batchId) => Path.Combine(Directory, batchId + BatchExtension);
        public string BatchLockPath(string batchId) => Path.Combine(Directory, batchId + BatchExtension + ".lock");

        /// <summary>The extension of a batch journal (one record per line, newest line of an id wins).</summary>
        internal const string BatchExtension = ".batch";

        [ThreadStatic]
        private static LineBuffer? _lineBuffer;

        /// <summary>
        /// A record as one line of a batch journal (compact JSON and a newline), in this thread's reusable buffer: valid
        /// until the thread's next call, so that a line per state change allocates no arrays.
        /// </summary>
        internal static ArraySegment<byte> SerializeLine(TransferRecord record)
        {
            var buffer = _lineBuffer;
            if (buffer is null || buffer.Stream.Capacity > 64 * 1024)
            {
                // (An unusually large record does not pin a large buffer to the thread for good.)
                buffer = _lineBuffer = new LineBuffer();
            }

            buffer.Stream.SetLength(0);
            buffer.Writer.Reset(buffer.Stream);
            // Source-generated (TransferLineJson): the JSON of LineJson without its reflection-built serializer.
            JsonSerializer.Serialize(buffer.Writer, record, TransferLineJson.Default.TransferRecord);
            buffer.Writer.Flush();
            buffer.Stream.WriteByte((byte)'\n');
            return new ArraySegment<byte>(buffer.Stream.GetBuffer(), 0, (int)buffer.Stream.Length);
        }

        private sealed class LineBuffer
        {
            public LineBuffer()
            {
                Writer = new Utf8JsonWriter(Stream, new JsonWriterOptions { Encoder = LineJson.Encoder, Indented = false });
            }

            public MemoryStream Stream { get; } = new MemoryStream(2048);
            public Utf8JsonWriter Writer { get; }
        }

        internal void RegisterBatch(TransferBatch batch) => _liveBatches[batch.Id] = batch;

        internal void UnregisterBatch(TransferBatch batch) => _liveBatches.TryRemove(batch.Id, out _);

        /// <summary>True when the batch of a batch member is open in this journal (this session).</summary>
        internal bool IsLiveHere(string batchId) => _liveBatches.ContainsKey(batchId);

        /// <summary>True when another process (or session) holds the lock of the batch <paramref name="batchId"/>.</summary>
        internal bool IsBatchOwnedElsewhere(string batchId)
        {
            if (batchId.Length == 0 || _liveBatches.ContainsKey(batchId))
            {
                return false;
            }

            try
            {
                // FileMode.Open: probing never creates a lock file (a finished batch has none).
                using (OpenProbe(BatchLockPath(batchId)))
                {
                    return false;
                }
            }
            catch (FileNotFoundException)
            {
                return false;
            }
            catch (DirectoryNotFoundException)
            {
                return false;
            }
            catch (IOException)
            {
                return true;
            }
            catch (UnauthorizedAccessException)
            {
                return true;
            }
        }

        /// <summary>The newest record of <paramref name="id"/> in its batch journal, or null.</summary>
        private TransferRecord? TryLoadFromBatch(string id)
        {
            var batchId = TransferBatch.BatchIdOf(id);
            if (_liveBatches.TryGetValue(batchId, out var live) && live.Latest.TryGetValue(id, out var latest))
            {
                return latest.Clone();
            }

            var records = ReadBatch(batchId);
            return records != null && records.TryGetValue(id, out var record) ? record.Clone() : null;
        }

        /// <summary>Every member record of a batch journal on disk (newest line per id), cached while the file is unchanged.</summary>
        private Dictionary<string, TransferRecord>? ReadBatch(string batchId)
        {
            var path = BatchPath(batchId);
            FileInfo info;
            try
            {
                info = new FileInfo(path);
                if (!info.Exists)
                {
                    return null;
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return null;
            }

            lock (_batchCache)
            {
                if (_batchCache.TryGetValue(batchId, out var cached) && cached.Length == info.Length && cached.Modified == info.LastWriteTimeUtc)
                {
                    return cached.Records;
                }
            }

            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return null;
            }

            var records = ParseBatch(bytes);
            lock (_batchCache)
            {
                _batchCache[batchId] = new BatchFile(bytes.Length, info.LastWriteTimeUtc, records);
            }

            return records;
        }

        /// <summary>Parses a batch journal: whole lines only, unreadable lines (a torn tail) skipped, the newest line of an id wins.</summary>
        internal static Dictionary<string, TransferRecord> ParseBatch(byte[] bytes)
        {
            var records = new Dictionary<string, TransferRecord>(StringComparer.Ordinal);
            var start = 0;
            while (start < bytes.Length)
            {
                var end = Array.IndexOf(bytes, (byte)'\n', start);
                if (end < 0)
                {
                    break; // a torn last line: the process died while writing it
                }

                try
                {
                    var record = JsonSerializer.Deserialize<TransferRecord>(new ReadOnlySpan<byte>(bytes, start, end - start), LineJson);
                    if (record != null && IsWellFormedId(record.Id))
                    {
                        records[record.Id] = record;
                    }
                }
                catch (Exception e) when (e is JsonException || e is NotSupportedException || e is ArgumentException)
                {
                }

                start = end + 1;
            }

            return records;
        }

        /// <summary>The ids of the batch journals on disk.</summary>
        private IEnumerable<string> AllBatchIds()
        {
            string[] files;
            try
            {
                files = System.IO.Directory.GetFiles(Directory, "*" + BatchExtension);
            }
            catch (DirectoryNotFoundException)
            {
                yield break;
            }

            foreach (var file in files)
            {
                var batchId = Path.GetFileNameWithoutExtension(file);
                if (batchId.Length == 16 && batchId.All(IsHex))
                {
                    yield return batchId;
                }
            }
        }

        private sealed class BatchFile
        {
            public BatchFile(long length, DateTime modified, Dictionary<string, TransferRecord> records)
            {
                Length = length;
                Modified = modified;
                Records = records;
            }

            public long Length { get; }
            public DateTime Modified { get; }
            public Dictionary<string, TransferRecord> Records { get; }
        }

        /// <summary>Writes the record atomically. <paramref name="durable"/> also flushes it to disk (state changes).</summary>
        public void Save(TransferRecord record, bool durable = true)
        {
            record.UpdatedAt = DateTimeOffset.UtcNow;
            var path = RecordPath(record.Id);
            var temp = path + "." + Guid.NewGuid().ToString("n").Substring(0, 8) + ".tmp";
            try
            {
                var bytes = JsonSerializer.SerializeToUtf8Bytes(record, Json);
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                {
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(flushToDisk: durable);
                }

                AtomicFile.ReplaceOrMove(temp, path);
            }
            catch
            {
                AtomicFile.TryDelete(temp);
                throw;
            }
        }

        /// <summary>The record, or null when it is missing or unreadable (a damaged record never breaks a listing).</summary>
        public TransferRecord? TryLoad(string id)
        {
            if (!IsWellFormedId(id))
            {
                return null;
            }

            try
            {
                var bytes = File.ReadAllBytes(RecordPath(id));
                var record = JsonSerializer.Deserialize<TransferRecord>(bytes, Json);
                return record != null && record.Id == id ? record : null;
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                // Not a record of its own (yet): a member of a batch keeps its record in the batch journal.
                return TryLoadFromBatch(id);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException || e is NotSupportedException || e is ArgumentException)
            {
                return null;
            }
        }

        /// <summary>Every readable record.</summary>
        public IReadOnlyList<TransferRecord> LoadAll()
        {
            var result = new List<TransferRecord>();
            var own = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in RecordIds())
            {
                var record = TryLoad(id);
                if (record != null)
                {
                    result.Add(record);
                    own.Add(id);
                }
            }

            foreach (var batchId in AllBatchIds())
            {
                var live = _liveBatches.TryGetValue(batchId, out var batch) ? batch.Latest : null;
                var records = ReadBatch(batchId);
                foreach (var pair in (IEnumerable<KeyValuePair<string, TransferRecord>>?)live ?? records ?? new Dictionary<string, TransferRecord>())
                {
                    // A member resumed since has a record file of its own, which takes precedence.
                    if (!own.Contains(pair.Key) && !File.Exists(RecordPath(pair.Key)))
                    {
                        result.Add(pair.Value.Clone());
                    }
                }
            }

            return result;
        }

        /// <summary>The ids of all records on disk: record files and batch members.</summary>
        public IEnumerable<string> AllIds()
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in RecordIds())
            {
                seen.Add(id);
                yield return id;
            }

            foreach (var batchId in AllBatchIds())
            {
                var records = _liveBatches.TryGetValue(batchId, out var live) ? (IEnumerable<string>)live.Latest.Keys : ReadBatch(batchId)?.Keys;
                foreach (var id in records ?? Array.Empty<string>())
                {
                    if (seen.Add(id))
                    {
                        yield return id;
                    }
                }
            }
        }

        /// <summary>The ids of the record files on disk (readable or not).</summary>
        internal IEnumerable<string> RecordFileIds() => RecordIds();

        /// <summary>The ids of the record files on disk.</summary>
        private IEnumerable<string> RecordIds()
        {
            string[] files;
            try
            {
                files = System.IO.Directory.GetFiles(Directory, "*.json");
            }
            catch (DirectoryNotFoundException)
            {
                yield break;
            }

            foreach (var file in files)
            {
                var id = Path.GetFileNameWithoutExtension(file);
                if (IsWellFormedId(id))
                {
                    yield return id;
                }
            }
        }

        /// <summary>The fewest characters of an id that <see cref="ResolveId"/> takes as a prefix.</summary>
        public const int MinimumIdPrefix = 4;

        /// <summary>The full id for <paramref name="idOrPrefix"/> (an id, or a unique prefix of at least <see cref="MinimumIdPrefix"/> characters).</summary>
        /// <exception cref="PluginException">NotFound; InvalidArgument when the prefix is ambiguous (the message lists the
        /// candidates) or shorter than <see cref="MinimumIdPrefix"/> while some id starts with it.</exception>
        public string ResolveId(string idOrPrefix)
        {
            var wanted = (idOrPrefix ?? "").Trim().ToLowerInvariant();
            if (IsWellFormedId(wanted) && (File.Exists(RecordPath(wanted)) || TryLoadFromBatch(wanted) != null))
            {
                return wanted;
            }

            if (wanted.Length > 0 && wanted.All(IsHex))
            {
                const int shown = 5;
                var matches = AllIds().Where(i => i.StartsWith(wanted, StringComparison.Ordinal)).Take(shown + 1).ToList();
                if (matches.Count > 0 && wanted.Length < MinimumIdPrefix)
                {
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"'{idOrPrefix}' is too short to name a transfer: give at least {MinimumIdPrefix} characters of its id.",
                        errorId: "TransferIdTooShort", target: idOrPrefix);
                }

                if (matches.Count == 1)
                {
                    return matches[0];
                }

                if (matches.Count > 1)
                {
                    var candidates = string.Join(", ", matches.Take(shown).Select(DescribeCandidate)) + (matches.Count > shown ? ", ..." : "");
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"'{idOrPrefix}' is ambiguous: it starts the ids of several transfers ({candidates}). Give more of the id.",
                        errorId: "TransferIdAmbiguous", target: idOrPrefix);
                }
            }

            throw new PluginException(ErrorCode.NotFound, $"No transfer with id '{idOrPrefix}'. Get-TransferStatus lists the known transfers.",
                errorId: "TransferNotFound", target: idOrPrefix);
        }

        /// <summary>An ambiguous prefix's candidate as a user tells them apart: the start of its id and its file name.</summary>
        private string DescribeCandidate(string id)
        {
            var name = TryLoad(id)?.Name;
            var shortId = id.Substring(0, Math.Min(12, id.Length));
            return string.IsNullOrEmpty(name) ? shortId : $"{shortId} {name}";
        }

        /// <summary>The committed chunks' checksums, in order; stops at the first torn or out-of-order line.</summary>
        public List<ulong> ReadChunks(string id)
        {
            var result = new List<ulong>();
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(ChunkPath(id));
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                return result;
            }

            for (var offset = 0; offset + ChunkLineLength <= bytes.Length; offset += ChunkLineLength)
            {
                var line = Encoding.ASCII.GetString(bytes, offset, ChunkLineLength);
                if (line[10] != ' ' || line[27] != '\n'
                    || !int.TryParse(line.Substring(0, 10), NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index != result.Count
                    || !ulong.TryParse(line.Substring(11, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hash))
                {
                    break;
                }

                result.Add(hash);
            }

            return result;
        }

        /// <summary>How many chunk lines the log holds (a cheap progress figure for transfers owned by other processes).</summary>
        public long CountChunks(string id)
        {
            try
            {
                return new FileInfo(ChunkPath(id)).Length / ChunkLineLength;
            }
            catch (IOException)
            {
                return 0;
            }
        }

        /// <summary>Opens the chunk log for appending after keeping only its first <paramref name="keep"/> entries.</summary>
        public ChunkLog OpenChunkLog(string id, IReadOnlyList<ulong> existing, int keep)
        {
            var path = ChunkPath(id);
            if (keep < existing.Count || CountChunks(id) != existing.Count)
            {
                // Rewrite the good prefix atomically: a crash now leaves the old log or the new one, never a mix.
                var temp = path + ".tmp";
                using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
                {
                    var text = new StringBuilder();
                    for (var i = 0; i < keep; i++)
                    {
                        text.Append(ChunkLine(i, existing[i]));
                    }

                    var bytes = Encoding.ASCII.GetBytes(text.ToString());
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(flushToDisk: true);
                }

                AtomicFile.ReplaceOrMove(temp, path);
            }

            return new ChunkLog(path, keep);
        }

        /// <summary>Removes the chunk log and any control request (after completion or cancellation).</summary>
        public void RemoveWorkingFiles(string id)
        {
            AtomicFile.TryDelete(ChunkPath(id));
            AtomicFile.TryDelete(ControlPath(id));
        }

        /// <summary>Takes the transfer's owner lock, or returns null when another process (or session) holds it.</summary>
        public IDisposable? TryLock(string id)
        {
            // A probe (IsOwned, Get-TransferStatus in any process) holds the lock file for microseconds; an owner holds it
            // for the whole transfer. A few short retries keep a probe from passing for an owner.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var held = new FileStream(LockPath(id), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                    if (!File.Exists(RecordPath(id)) && IsBatchOwnedElsewhere(TransferBatch.BatchIdOf(id)))
                    {
                        // A batch member whose batch still runs in another process: that process owns it.
                        held.Dispose();
                        return null;
                    }

                    return held;
                }
                catch (IOException) when (attempt < LockAttempts)
                {
                    Thread.Sleep(LockRetryDelay);
                }
                catch (IOException)
                {
                    return null;
                }
                catch (UnauthorizedAccessException)
                {
                    return null;
                }
            }
        }

        private const int LockAttempts = 4;
        private static readonly TimeSpan LockRetryDelay = TimeSpan.FromMilliseconds(15);

        /// <summary>
        /// Opens a lock file to learn whether an owner holds it, without excluding other probes: read-only and shared, which
        /// on Unix is a shared <c>flock</c> (it fails only against an owner's exclusive one) and on Windows a handle that
        /// only an owner's <see cref="FileShare.None"/> refuses. Two probes of the same file, say two Resume-Transfer calls
        /// for members of one batch, must not take each other for its owner.
        /// </summary>
        private static FileStream OpenProbe(string path) => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);

        /// <summary>True when some process holds the transfer's owner lock right now.</summary>
        public bool IsOwned(string id)
        {
            if (File.Exists(LockPath(id)))
            {
                try
                {
                    using (OpenProbe(LockPath(id)))
                    {
                    }
                }
                catch (FileNotFoundException)
                {
                }
                catch (IOException)
                {
                    return true;
                }
                catch (UnauthorizedAccessException)
                {
                    return true;
                }
            }

            if (!File.Exists(RecordPath(id)))
            {
                // A batch member without a record file of its own: its batch's owner owns it.
                var batchId = TransferBatch.BatchIdOf(id);
                return _liveBatches.ContainsKey(batchId) || IsBatchOwnedElsewhere(batchId);
            }

            return false;
        }

        /// <summary>Asks the owner of a running transfer to stop (<c>cancel</c>) or pause (<c>suspend</c>).</summary>
        public void RequestControl(string id, string action) => AtomicFile.WriteAllText(ControlPath(id), action);

        /// <summary>The pending control request, or null.</summary>
        public string? ReadControl(string id)
        {
            try
            {
                return File.Exists(ControlPath(id)) ? File.ReadAllText(ControlPath(id)).Trim() : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        public void ClearControl(string id) => AtomicFile.TryDelete(ControlPath(id));

        /// <summary>Removes the lock file of a finished transfer (only when it can never run again).</summary>
        public void RemoveLockFile(string id) => AtomicFile.TryDelete(LockPath(id));

        internal static string ChunkLine(int index, ulong hash) =>
            index.ToString("D10", CultureInfo.InvariantCulture) + " " + hash.ToString("x16", CultureInfo.InvariantCulture) + "\n";

        internal static bool IsWellFormedId(string? id) => id != null && id.Length == 32 && id.All(IsHex);

        private static bool IsHex(char c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }

    /// <summary>The append side of a chunk log: one unbuffered write per committed chunk (survives a killed process).</summary>
    internal sealed class ChunkLog : IDisposable
    {
        private readonly FileStream _stream;

        public ChunkLog(string path, int count)
        {
            _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, 1);
            Count = count;
        }

        /// <summary>Chunks committed so far.</summary>
        public int Count { get; private set; }

        public void Append(ulong hash)
        {
            var bytes = Encoding.ASCII.GetBytes(TransferJournal.ChunkLine(Count, hash));
            _stream.Write(bytes, 0, bytes.Length);
            Count++;
        }

        public void Dispose() => _stream.Dispose();
    }
}
