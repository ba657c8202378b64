using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Sync
{
    /// <summary>
    /// What a folder sync keeps in the journal folder while it runs, so that a killed sync finishes when run again:
    /// <list type="bullet">
    /// <item><c>sync-DKEY.lock</c>: held (an OS lock) by the one sync writing to a destination; a second one refuses.</item>
    /// <item><c>sync-KEY.inflight</c>: <c>+ID</c> when a copy starts, <c>-ID</c> when it ends; a run finds the copies a
    /// killed run left unfinished there and resumes them from their committed chunks before it plans.</item>
    /// <item><c>sync-KEY.deletes</c>: the planned deletes, one relative path a line, done only after every copy
    /// succeeded; on disk, so memory stays flat however many there are. Removed at the end.</item>
    /// <item><c>sync-KEY.job</c>: the sync's line (<see cref="SyncJob"/>, no secret) from its start until a run of it
    /// succeeds, so <c>Resume-Transfer KEY</c> (the SyncResult's SyncId) finishes it as running the same line again would.</item>
    /// </list>
    /// KEY is a hash of the source and destination, DKEY of the destination alone.
    /// </summary>
    public sealed class SyncState : IDisposable
    {
        private readonly FileStream? _lock;
        private readonly string _inflightPath;
        private readonly string _deletesPath;
        private readonly string _jobPath;
        private readonly object _gate = new object();
        private StreamWriter? _inflight;
        private StreamWriter? _deletes;
        private int _open;
        private bool _appended;

        private SyncState(FileStream? lockFile, string inflightPath, string deletesPath, string key)
        {
            _jobPath = Path.Combine(Path.GetDirectoryName(inflightPath)!, "sync-" + key + ".job");
            _lock = lockFile;
            _inflightPath = inflightPath;
            _deletesPath = deletesPath;
            Key = key;
        }

        /// <summary>The ErrorId of a sync refused because another one writes to its destination.</summary>
        public const string InProgressErrorId = "SyncInProgress";

        /// <summary>The sync's key (16 hex digits): names its files in the journal folder.</summary>
        public string Key { get; }

        /// <summary>How many deletes are planned.</summary>
        public long DeferredDeletes { get; private set; }

        /// <summary>Takes the destination's lock and opens the sync's files.</summary>
        /// <param name="journalDirectory">Where the files go.</param>
        /// <param name="source">The source root.</param>
        /// <param name="destination">The destination root.</param>
        /// <param name="writes">False for a run that changes nothing (-WhatIf): it takes no lock and leaves no file.</param>
        /// <exception cref="PluginException"><c>SyncInProgress</c> when another sync holds the destination.</exception>
        public static SyncState Open(string journalDirectory, string source, string destination, bool writes = true)
        {
            Directory.CreateDirectory(journalDirectory);
            var key = KeyOf(source + "\n" + destination);
            var lockPath = Path.Combine(journalDirectory, "sync-" + KeyOf(destination) + ".lock");
            FileStream? lockFile = null;
            try
            {
                if (writes)
                {
                    lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
            }
            catch (IOException e)
            {
                throw new PluginException(ErrorCode.InvalidState,
                    $"Another Sync-TransferFolder is writing to '{destination}' now; run this one when it has ended.", e, InProgressErrorId, destination);
            }

            var deletes = Path.Combine(journalDirectory, "sync-" + key + ".deletes");
            TryDelete(deletes);
            return new SyncState(lockFile, Path.Combine(journalDirectory, "sync-" + key + ".inflight"), deletes, key);
        }

        /// <summary>Keeps the sync's line until <see cref="JobDone"/>, for <c>Resume-Transfer</c> on the sync's key.</summary>
        /// <returns>The error when it could not be written (the sync goes on: running its line again still finishes it).</returns>
        public Exception? RecordJob(SyncJob job)
        {
            var temporary = _jobPath + ".new";
            try
            {
                File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(job, JobJson));
                if (File.Exists(_jobPath))
                {
                    File.Delete(_jobPath);
                }

                File.Move(temporary, _jobPath);
                return null;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return e;
            }
        }

        /// <summary>The sync succeeded: there is nothing left to resume.</summary>
        public void JobDone() => TryDelete(_jobPath);

        /// <summary>True when <paramref name="text"/> has the form of a sync's key (16 hex digits).</summary>
        public static bool IsKey(string? text)
        {
            if (text is null || text.Length != 16)
            {
                return false;
            }

            foreach (var c in text)
            {
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The line of the unfinished sync whose key is <paramref name="key"/>, or null (none, or it finished).</summary>
        public static SyncJob? TryLoadJob(string journalDirectory, string key)
        {
            if (!IsKey(key))
            {
                return null;
            }

            try
            {
                return JsonSerializer.Deserialize<SyncJob>(File.ReadAllBytes(Path.Combine(journalDirectory, "sync-" + key.ToLowerInvariant() + ".job")), JobJson);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException)
            {
                return null;
            }
        }

        private static readonly JsonSerializerOptions JobJson = new JsonSerializerOptions { WriteIndented = true };

        /// <summary>The copies an earlier run started and did not see end (killed): resume them.</summary>
        public IReadOnlyList<string> Unfinished()
        {
            var open = new List<string>();
            if (!File.Exists(_inflightPath))
            {
                return open;
            }

            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(_inflightPath))
            {
                if (line.Length < 2)
                {
                    continue; // a torn last line
                }

                if (line[0] == '+')
                {
                    set.Add(line.Substring(1));
                }
                else if (line[0] == '-')
                {
                    set.Remove(line.Substring(1));
                }
            }

            open.AddRange(set);
            return open;
        }

        /// <summary>Forgets the copies of earlier runs (they were resumed, or are beyond resuming).</summary>
        public void ForgetUnfinished() => TryDelete(_inflightPath);

        /// <summary>A copy started (any thread).</summary>
        public void Started(string id) => Append(ref _inflight, _inflightPath, "+" + id, count: +1);

        /// <summary>A copy ended, whatever its outcome (any thread).</summary>
        public void Finished(string id) => Append(ref _inflight, _inflightPath, "-" + id, count: -1);

        /// <summary>Plans one delete.</summary>
        public void DeferDelete(string relativePath)
        {
            lock (_gate)
            {
                _deletes ??= new StreamWriter(new FileStream(_deletesPath, FileMode.Create, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
                _deletes.Write(relativePath);
                _deletes.Write('\n');
                DeferredDeletes++;
            }
        }

        /// <summary>The planned deletes, in plan order.</summary>
        public IEnumerable<string> Deletes()
        {
            lock (_gate)
            {
                _deletes?.Flush();
            }

            if (!File.Exists(_deletesPath))
            {
                yield break;
            }

            using var reader = new StreamReader(new FileStream(_deletesPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), new UTF8Encoding(false));
            string? line;
            while ((line = reader.ReadLine()) != null)
            {
                if (line.Length > 0)
                {
                    yield return line;
                }
            }
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            lock (_gate)
            {
                _deletes?.Dispose();
                _deletes = null;
                _inflight?.Dispose();
                _inflight = null;
            }

            TryDelete(_deletesPath);
            if (_appended && _open == 0)
            {
                // Every copy of this run ended: nothing to resume next time.
                TryDelete(_inflightPath);
            }

            _lock?.Dispose();
        }

        private void Append(ref StreamWriter? writer, string path, string line, int count)
        {
            lock (_gate)
            {
                writer ??= new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
                writer.Write(line);
                writer.Write('\n');
                // Flushed at once: the line must be on disk before the process can die with the copy under way.
                writer.Flush();
                _open += count;
                _appended = true;
            }
        }

        private static string KeyOf(string text)
        {
            using var sha = SHA256.Create();
            return Hex.ToLowerString(sha.ComputeHash(Encoding.UTF8.GetBytes(text))).Substring(0, 16);
        }

        private static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
