using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
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

        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Converters = { new JsonStringEnumConverter() },
        };

        public TransferJournal(string homeDirectory)
        {
            Directory = TransferToolsHome.EnsurePrivateDirectory(Path.Combine(homeDirectory, "journal"));
        }

        public string Directory { get; }

        public string RecordPath(string id) => Path.Combine(Directory, id + ".json");
        public string ChunkPath(string id) => Path.Combine(Directory, id + ".chunks");
        public string LockPath(string id) => Path.Combine(Directory, id + ".lock");
        public string ControlPath(string id) => Path.Combine(Directory, id + ".control");

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
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException || e is NotSupportedException || e is ArgumentException)
            {
                return null;
            }
        }

        /// <summary>Every readable record.</summary>
        public IReadOnlyList<TransferRecord> LoadAll()
        {
            var result = new List<TransferRecord>();
            foreach (var id in AllIds())
            {
                var record = TryLoad(id);
                if (record != null)
                {
                    result.Add(record);
                }
            }

            return result;
        }

        /// <summary>The ids of all records on disk.</summary>
        public IEnumerable<string> AllIds()
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

        /// <summary>The full id for <paramref name="idOrPrefix"/> (an id, or a unique prefix of at least 4 characters).</summary>
        /// <exception cref="PluginException">NotFound, or InvalidArgument when the prefix is ambiguous.</exception>
        public string ResolveId(string idOrPrefix)
        {
            var wanted = (idOrPrefix ?? "").Trim().ToLowerInvariant();
            if (IsWellFormedId(wanted) && File.Exists(RecordPath(wanted)))
            {
                return wanted;
            }

            if (wanted.Length >= 4 && wanted.All(IsHex))
            {
                var matches = AllIds().Where(i => i.StartsWith(wanted, StringComparison.Ordinal)).Take(2).ToList();
                if (matches.Count == 1)
                {
                    return matches[0];
                }

                if (matches.Count > 1)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{idOrPrefix}' matches several transfers; give more of the id.",
                        errorId: "TransferIdAmbiguous", target: idOrPrefix);
                }
            }

            throw new PluginException(ErrorCode.NotFound, $"No transfer with id '{idOrPrefix}'. Get-TransferStatus lists the known transfers.",
                errorId: "TransferNotFound", target: idOrPrefix);
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
            try
            {
                return new FileStream(LockPath(id), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
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

        /// <summary>True when some process holds the transfer's owner lock right now.</summary>
        public bool IsOwned(string id)
        {
            if (!File.Exists(LockPath(id)))
            {
                return false;
            }

            using var probe = TryLock(id);
            return probe is null;
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
