using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;

namespace TransferTools.Engine.BuiltIn.LocalStore
{
    // The sweep: what a crash can leave behind (temporary files, unreferenced blobs) is removed on demand and, at most
    // once per interval, lazily after Init.
    public sealed partial class LocalStorePlugin
    {
        /// <summary>
        /// Removes what a crash can leave behind: temporary files and blob files that no item references, when older than
        /// <paramref name="minimumAge"/> (younger ones may belong to a save in progress).
        /// </summary>
        public Task<SweepResult> SweepAsync(TimeSpan minimumAge, CancellationToken cancellationToken = default)
        {
            var result = new SweepResult();
            var cutoff = DateTime.UtcNow - minimumAge;
            foreach (var temp in SafeEnumerate(TempDirectory))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var info = new FileInfo(temp);
                if (info.Exists && info.LastWriteTimeUtc < cutoff)
                {
                    var length = info.Length;
                    if (TryDelete(temp))
                    {
                        result.TempFilesRemoved++;
                        result.BytesFreed += length;
                    }
                }
            }

            using var lease = Index.Rent();
            var c = lease.Connection;
            foreach (var blob in SafeEnumerate(BlobDirectory))
            {
                cancellationToken.ThrowIfCancellationRequested();
                result.BlobsChecked++;
                var sha = Path.GetFileName(blob);
                var info = new FileInfo(blob);
                if (!info.Exists || info.LastWriteTimeUtc >= cutoff || !IsSha256(sha))
                {
                    continue;
                }

                if (BlobIsReferenced(c, null, sha))
                {
                    continue;
                }

                var length = info.Length;
                if (DeleteBlobIfUnreferenced(c, sha))
                {
                    result.OrphanBlobsRemoved++;
                    result.BytesFreed += length;
                }
            }

            return Task.FromResult(result);
        }

        private void StartLazySweep(TimeSpan interval)
        {
            var stamp = Path.Combine(RootDirectory, "sweep.stamp");
            try
            {
                var last = File.Exists(stamp) ? File.GetLastWriteTimeUtc(stamp) : DateTime.MinValue;
                if (DateTime.UtcNow - last < interval)
                {
                    return;
                }

                // Touch first, so the sessions and processes starting now do not all sweep at once.
                File.WriteAllText(stamp, DateTimeOffset.UtcNow.ToString("o"));
            }
            catch (IOException)
            {
                return;
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }

            var token = _shutdown.Token;
            _backgroundSweep = Task.Run(async () =>
            {
                try
                {
                    await SweepAsync(TimeSpan.FromHours(1), token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Best effort; the next interval tries again.
                }
            });
        }

        private bool DeleteBlobIfUnreferenced(IndexConnection c, string sha)
        {
            // Under the write lock: a concurrent save of the same content either committed its reference before this
            // (the file stays) or runs after it (and finds no file, so it moves its own copy into place).
            using var tx = c.Raw.BeginTransaction(deferred: false);
            if (BlobIsReferenced(c, tx, sha))
            {
                return false;
            }

            var deleted = TryDelete(BlobPath(sha));
            tx.Commit();
            return deleted;
        }

        private static bool BlobIsReferenced(IndexConnection c, SqliteTransaction? tx, string sha)
        {
            var command = c.Command(tx, "SELECT 1 FROM blobs WHERE sha256 = @s AND refs > 0;");
            command.Parameters.AddWithValue("@s", sha);
            return command.ExecuteScalar() != null;
        }
    }

    /// <summary>What <see cref="LocalStorePlugin.SweepAsync"/> removed.</summary>
    public sealed class SweepResult
    {
        /// <summary>Blob files looked at.</summary>
        public long BlobsChecked { get; set; }
        /// <summary>Blob files no item referenced, removed.</summary>
        public long OrphanBlobsRemoved { get; set; }
        /// <summary>Temporary files of interrupted saves, removed.</summary>
        public long TempFilesRemoved { get; set; }
        /// <summary>Disk space given back.</summary>
        public long BytesFreed { get; set; }
    }
}
