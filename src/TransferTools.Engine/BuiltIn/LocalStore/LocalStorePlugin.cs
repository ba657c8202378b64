using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Storage;

namespace TransferTools.Engine.BuiltIn.LocalStore
{
    /// <summary>
    /// The embedded default store: content-addressed blob files (SHA-256, each content stored once however often it is
    /// saved) under <c>HOME/store/blobs/ab/cd/SHA256</c>, and a SQLite index (<c>HOME/store/index.db</c>) of items.
    /// </summary>
    /// <remarks>
    /// <para>Configuration: <c>Path</c> (the store folder; default <c>HOME/store</c>), <c>Durability</c>
    /// (<c>Normal</c>, the default, survives a crash of the process; <c>Full</c> also flushes every blob and commit to
    /// disk, surviving power loss at the cost of speed), <c>SweepIntervalHours</c> (default 24; 0 turns the lazy sweep off).</para>
    /// <para>Crash safety: content streams to <c>tmp/</c> while it is hashed; then, in one BEGIN IMMEDIATE transaction,
    /// the temporary file is moved to its blob path (unless that content is stored already), the blob's reference count
    /// and the item row are written, and the totals updated. A crash before the commit leaves at most a temporary file or
    /// an unreferenced blob, both of which <see cref="SweepAsync"/> removes; an index row never exists without its blob.
    /// Delete removes the row and decrements the count in one transaction, then deletes an unreferenced blob file in a
    /// second one that re-checks the count under the write lock, so a concurrent save of the same content is never lost.</para>
    /// <para>Ids are never used to form a path: blob paths come from the index's SHA-256 only.</para>
    /// </remarks>
    [TransferPlugin("LocalStore", PluginType.Storage, PathKeys = new[] { "Path" },
        Description = "Content-addressed files with a SQLite index under the TransferTools home (the embedded default).")]
    public sealed partial class LocalStorePlugin : IStoragePlugin, IBatchStorage, IDisposable
    {
        /// <summary>Items a listing returns when the filter sets no limit.</summary>
        public const int DefaultPageSize = 1000;

        /// <summary>The most items one listing call returns.</summary>
        public const int MaxPageSize = 10000;

        private const int CopyBufferSize = 81920;
        private readonly CancellationTokenSource _shutdown = new CancellationTokenSource();
        private readonly ConcurrentDictionary<string, bool> _knownDirectories = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        private LocalStoreIndex? _index;
        private Task _backgroundSweep = Task.CompletedTask;
        private bool _fullDurability;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(LocalStorePlugin), "TransferTools contributors", "MIT");

        /// <summary>The store folder.</summary>
        public string RootDirectory { get; private set; } = "";

        private string BlobDirectory => Path.Combine(RootDirectory, "blobs");

        private string TempDirectory => Path.Combine(RootDirectory, "tmp");

        private LocalStoreIndex Index => _index ?? throw new PluginException(ErrorCode.LifecycleError,
            "The local store is not initialized.", errorId: "StoreNotInitialized");

        /// <inheritdoc/>
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            string root;
            if (config.TryGetValue("Path", out var configured) && !string.IsNullOrWhiteSpace(configured))
            {
                root = Path.GetFullPath(configured);
            }
            else
            {
                // The embedded default keeps HOME/store; any other registration gets its own folder, so two
                // registrations without a Path never share (and double-count) one index.
                var home = context.Host?.HomeDirectory ?? TransferToolsHome.Resolve();
                var registration = context.GetValue(PluginHost.RegistrationNameKey) as string ?? StorageService.DefaultStorage;
                root = string.Equals(registration, StorageService.DefaultStorage, StringComparison.OrdinalIgnoreCase) || context.Host is null
                    ? Path.Combine(home, "store")
                    : Path.Combine(context.Host.GetPluginDataDirectory(registration), "store");
            }

            var durability = config.TryGetValue("Durability", out var d) && !string.IsNullOrWhiteSpace(d) ? d.Trim() : "Normal";
            if (string.Equals(durability, "Full", StringComparison.OrdinalIgnoreCase))
            {
                _fullDurability = true;
            }
            else if (!string.Equals(durability, "Normal", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"Durability must be Normal or Full, not '{Validation.Printable(durability)}'.",
                    errorId: "InvalidDurability", target: durability);
            }

            var sweepHours = 24.0;
            if (config.TryGetValue("SweepIntervalHours", out var s) && !string.IsNullOrWhiteSpace(s)
                && (!double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out sweepHours) || sweepHours < 0))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"SweepIntervalHours must be a number of hours (0 turns the sweep off), not '{Validation.Printable(s)}'.",
                    errorId: "InvalidSweepInterval", target: s);
            }

            RootDirectory = root;
            try
            {
                TransferToolsHome.EnsurePrivateDirectory(root);
                Directory.CreateDirectory(BlobDirectory);
                Directory.CreateDirectory(TempDirectory);
                _index = new LocalStoreIndex(Path.Combine(root, "index.db"), _fullDurability);
                _index.EnsureSchema();
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is SqliteException)
            {
                throw new PluginException(ErrorCode.LifecycleError, $"The local store at '{root}' cannot be opened: {e.Message}", e,
                    "StoreOpenFailed", root);
            }

            if (sweepHours > 0)
            {
                StartLazySweep(TimeSpan.FromHours(sweepHours));
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public async Task ShutdownAsync(OperationContext context)
        {
            _shutdown.Cancel();
            try
            {
                await _backgroundSweep.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A sweep stopped by shutdown is retried at a later Init.
            }

            _index?.Dispose();
            _index = null;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            _shutdown.Cancel();
            _index?.Dispose();
            _index = null;
        }

        /// <inheritdoc/>
        public Task<RetrievedItem> RetrieveAsync(OperationContext context, string id)
        {
            StorageKeys.RequireId(id);
            var (metadata, sha) = FindItem(id);
            try
            {
                var stream = new FileStream(BlobPath(sha), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, CopyBufferSize,
                    FileOptions.Asynchronous | FileOptions.SequentialScan);
                return Task.FromResult(new RetrievedItem(stream, metadata));
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                // Deleted between the lookup and the open (a concurrent Remove-StorageItem).
                throw NotFound(id);
            }
        }

        /// <inheritdoc/>
        public Task DeleteAsync(OperationContext context, string id)
        {
            StorageKeys.RequireId(id);
            var index = Index;
            string sha;
            var blobUnreferenced = false;
            try
            {
                using (var lease = index.Rent())
                {
                    var c = lease.Connection;
                    try
                    {
                        using var tx = c.Raw.BeginTransaction(deferred: false);
                        var find = c.Command(tx, "SELECT sha256, size FROM items WHERE id = @id;");
                        find.Parameters.AddWithValue("@id", id);
                        long size;
                        using (var reader = find.ExecuteReader())
                        {
                            if (!reader.Read())
                            {
                                throw NotFound(id);
                            }

                            sha = reader.GetString(0);
                            size = reader.GetInt64(1);
                        }

                        var delete = c.Command(tx, "DELETE FROM items WHERE id = @id;");
                        delete.Parameters.AddWithValue("@id", id);
                        delete.ExecuteNonQuery();

                        var refs = c.Command(tx, "UPDATE blobs SET refs = refs - 1 WHERE sha256 = @s RETURNING refs, size;");
                        refs.Parameters.AddWithValue("@s", sha);
                        long blobSize = 0;
                        using (var reader = refs.ExecuteReader())
                        {
                            if (reader.Read() && reader.GetInt64(0) <= 0)
                            {
                                blobUnreferenced = true;
                                blobSize = reader.GetInt64(1);
                            }
                        }

                        if (blobUnreferenced)
                        {
                            var dropBlob = c.Command(tx, "DELETE FROM blobs WHERE sha256 = @s AND refs <= 0;");
                            dropBlob.Parameters.AddWithValue("@s", sha);
                            dropBlob.ExecuteNonQuery();
                        }

                        var stats = c.Command(tx, "UPDATE stats SET items = items - 1, bytes = bytes - @z, blobs = blobs - @nb, blob_bytes = blob_bytes - @nz WHERE k = 0;");
                        stats.Parameters.AddWithValue("@z", size);
                        stats.Parameters.AddWithValue("@nb", blobUnreferenced ? 1 : 0);
                        stats.Parameters.AddWithValue("@nz", blobSize);
                        stats.ExecuteNonQuery();
                        tx.Commit();
                    }
                    catch (SqliteException)
                    {
                        c.Broken = true;
                        throw;
                    }

                    if (blobUnreferenced)
                    {
                        // Second step, after the commit so that a crash never leaves a row without its blob.
                        DeleteBlobIfUnreferenced(c, sha);
                    }
                }
            }
            catch (SqliteException e)
            {
                throw IndexError(e, "delete", id);
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task<IReadOnlyList<Item>> ListAsync(OperationContext context, ListFilter filter)
        {
            var prefix = StorageKeys.RequirePrefix(filter.Prefix);
            var limit = filter.Limit <= 0 ? DefaultPageSize : Math.Min(filter.Limit, MaxPageSize);
            var upper = prefix.Length == 0 ? null : StorageKeys.PrefixUpperBound(prefix);
            var cursor = filter.StartAfter;
            var sql = ListQuery.Build(prefix.Length > 0, upper != null, cursor != null);
            var items = new List<Item>(Math.Min(limit, 1024));
            try
            {
                using var lease = Index.Rent();
                var command = lease.Connection.Command(null, sql);
                if (prefix.Length > 0)
                {
                    command.Parameters.AddWithValue("@lo", prefix);
                }

                if (upper != null)
                {
                    command.Parameters.AddWithValue("@hi", upper);
                }

                if (cursor != null)
                {
                    command.Parameters.AddWithValue("@cn", cursor.Name ?? "");
                    command.Parameters.AddWithValue("@ci", cursor.Id ?? "");
                }

                command.Parameters.AddWithValue("@limit", limit);
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    var (metadata, _) = ReadItem(reader);
                    items.Add(new Item { Id = reader.GetString(0), Metadata = metadata });
                }
            }
            catch (SqliteException e)
            {
                throw IndexError(e, "list", prefix);
            }

            return Task.FromResult<IReadOnlyList<Item>>(items);
        }

        /// <inheritdoc/>
        public Task<StorageStats> StatsAsync(OperationContext context)
        {
            var (items, bytes, _, _) = ReadStats();
            return Task.FromResult(new StorageStats { TotalItems = items, TotalSize = bytes });
        }

        /// <summary>The totals including the deduplicated blob files: (items, bytes of items, blob files, bytes on disk).</summary>
        public (long Items, long Bytes, long Blobs, long BlobBytes) ReadStats()
        {
            try
            {
                using var lease = Index.Rent();
                var command = lease.Connection.Command(null, "SELECT items, bytes, blobs, blob_bytes FROM stats WHERE k = 0;");
                using var reader = command.ExecuteReader();
                return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)) : (0, 0, 0, 0);
            }
            catch (SqliteException e)
            {
                throw IndexError(e, "stats", null);
            }
        }

        private (ItemMetadata Metadata, string Sha256) FindItem(string id)
        {
            try
            {
                using var lease = Index.Rent();
                var command = lease.Connection.Command(null, $"SELECT {ListQuery.Columns} FROM items WHERE id = @id;");
                command.Parameters.AddWithValue("@id", id);
                using var reader = command.ExecuteReader();
                if (!reader.Read())
                {
                    throw NotFound(id);
                }

                return ReadItem(reader);
            }
            catch (SqliteException e)
            {
                throw IndexError(e, "read", id);
            }
        }

        private static (ItemMetadata, string) ReadItem(SqliteDataReader reader)
        {
            var sha = reader.GetString(5);
            var metadata = new ItemMetadata
            {
                Name = reader.GetString(1),
                Size = reader.GetInt64(2),
                MimeType = reader.GetString(3),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                Sha256 = sha,
            };
            if (!reader.IsDBNull(6))
            {
                var custom = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(6));
                if (custom != null)
                {
                    metadata.Custom = new Dictionary<string, string>(custom, StringComparer.Ordinal);
                }
            }

            return (metadata, sha);
        }

        private string BlobPath(string sha256)
        {
            if (!IsSha256(sha256))
            {
                throw new PluginException(ErrorCode.Internal, "The local store index holds a malformed content hash.", errorId: "StoreCorrupt", target: sha256);
            }

            return Path.Combine(BlobDirectory, sha256.Substring(0, 2), sha256.Substring(2, 2), sha256);
        }

        private void EnsureDirectory(string directory)
        {
            if (_knownDirectories.ContainsKey(directory) && Directory.Exists(directory))
            {
                return;
            }

            Directory.CreateDirectory(directory);
            _knownDirectories[directory] = true;
        }

        private static bool IsSha256(string value)
        {
            if (value.Length != 64)
            {
                return false;
            }

            foreach (var c in value)
            {
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                {
                    return false;
                }
            }

            return true;
        }

        private static IEnumerable<string> SafeEnumerate(string directory)
        {
            if (!Directory.Exists(directory))
            {
                return Array.Empty<string>();
            }

            return Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories);
        }

        private static bool TryDelete(string path)
        {
            try
            {
                if (!File.Exists(path))
                {
                    return false;
                }

                File.Delete(path);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }


        private static PluginException NotFound(string id) =>
            new PluginException(ErrorCode.NotFound, $"The store has no item with id '{Validation.Printable(id)}'.", errorId: "ItemNotFound", target: id);

        private static PluginException IndexError(SqliteException e, string operation, object? target)
        {
            var busy = e.SqliteErrorCode == 5 || e.SqliteErrorCode == 6; // SQLITE_BUSY, SQLITE_LOCKED
            return new PluginException(busy ? ErrorCode.Timeout : ErrorCode.Internal,
                busy ? $"The local store index stayed locked by other writers; the {operation} was not done. Try again."
                     : $"The local store index failed during {operation}: {e.Message}",
                e, busy ? "StoreBusy" : "StoreIndexFailed", target);
        }
    }
}
