using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text;
using Microsoft.Data.Sqlite;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.LocalStore
{
    /// <summary>
    /// The SQLite index of a <see cref="LocalStorePlugin"/>: items, blob reference counts and running totals.
    /// </summary>
    /// <remarks>
    /// Schema (user_version 1):
    /// <code>
    /// items(id TEXT PRIMARY KEY, name, size, mime, created (unix ms), sha256, custom (JSON or NULL)) WITHOUT ROWID
    /// items_by_name ON items(name, id)             -- prefix listing: O(log n + limit)
    /// blobs(sha256 TEXT PRIMARY KEY, size, refs)   -- one row per blob file; refs = items pointing at it
    /// stats(k = 0, items, bytes, blobs, blob_bytes) -- kept in the same transaction as every change: no scan
    /// </code>
    /// WAL journal, busy_timeout, synchronous NORMAL (FULL with Durability=Full). Connections are pooled per plugin
    /// instance with their prepared statements; every change runs in a BEGIN IMMEDIATE transaction, so concurrent
    /// writers in other runspaces and processes serialize on SQLite's write lock.
    /// </remarks>
    internal sealed class LocalStoreIndex : IDisposable
    {
        private const int SchemaVersion = 1;
        private readonly string _connectionString;
        private readonly bool _fullSync;
        private readonly ConcurrentBag<IndexConnection> _pool = new ConcurrentBag<IndexConnection>();
        private volatile bool _disposed;

        public LocalStoreIndex(string databasePath, bool fullSync)
        {
            SqliteNativeLoader.EnsureInitialized();
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = databasePath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                DefaultTimeout = 120,
            }.ToString();
            _fullSync = fullSync;
        }

        /// <summary>Creates the schema when missing (safe when several processes do it at once).</summary>
        public void EnsureSchema()
        {
            using var lease = Rent();
            var c = lease.Connection;
            // journal_mode cannot change inside a transaction; WAL is persistent once set.
            c.Execute("PRAGMA journal_mode=WAL;");
            using var tx = c.Raw.BeginTransaction(deferred: false);
            var version = Convert.ToInt32(c.Scalar(tx, "PRAGMA user_version;"));
            if (version > SchemaVersion)
            {
                throw new PluginException(ErrorCode.InvalidState,
                    $"The local store index was written by a newer TransferTools (schema {version}); this one reads schema {SchemaVersion}.",
                    errorId: "StoreSchemaTooNew");
            }

            if (version < 1)
            {
                c.Execute(tx, @"
CREATE TABLE IF NOT EXISTS items(
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  size INTEGER NOT NULL,
  mime TEXT NOT NULL,
  created INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  custom TEXT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_name ON items(name, id);
CREATE TABLE IF NOT EXISTS blobs(
  sha256 TEXT NOT NULL PRIMARY KEY,
  size INTEGER NOT NULL,
  refs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats(
  k INTEGER PRIMARY KEY CHECK (k = 0),
  items INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  blobs INTEGER NOT NULL,
  blob_bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO stats(k, items, bytes, blobs, blob_bytes) VALUES (0, 0, 0, 0, 0);
PRAGMA user_version = 1;");
            }

            tx.Commit();
        }

        /// <summary>A pooled connection; dispose the lease to return it.</summary>
        public Lease Rent()
        {
            if (_disposed)
            {
                throw new PluginException(ErrorCode.LifecycleError, "The local store was shut down.", errorId: "StoreShutDown");
            }

            if (!_pool.TryTake(out var connection))
            {
                connection = new IndexConnection(_connectionString, _fullSync);
            }

            return new Lease(this, connection);
        }

        private void Return(IndexConnection connection)
        {
            if (_disposed || connection.Broken)
            {
                connection.Dispose();
                return;
            }

            _pool.Add(connection);
            if (_disposed && _pool.TryTake(out var late))
            {
                late.Dispose();
            }
        }

        public void Dispose()
        {
            _disposed = true;
            while (_pool.TryTake(out var connection))
            {
                connection.Dispose();
            }
        }

        /// <summary>A connection borrowed from the pool.</summary>
        public readonly struct Lease : IDisposable
        {
            private readonly LocalStoreIndex _owner;

            public Lease(LocalStoreIndex owner, IndexConnection connection)
            {
                _owner = owner;
                Connection = connection;
            }

            public IndexConnection Connection { get; }

            public void Dispose() => _owner.Return(Connection);
        }
    }

    /// <summary>One open SQLite connection with its prepared statements.</summary>
    internal sealed class IndexConnection : IDisposable
    {
        private readonly Dictionary<string, SqliteCommand> _commands = new Dictionary<string, SqliteCommand>(StringComparer.Ordinal);

        public IndexConnection(string connectionString, bool fullSync)
        {
            Raw = new SqliteConnection(connectionString);
            Raw.Open();
            Execute("PRAGMA busy_timeout=60000; PRAGMA synchronous=" + (fullSync ? "FULL" : "NORMAL") + "; PRAGMA temp_store=MEMORY;");
        }

        public SqliteConnection Raw { get; }

        /// <summary>Set when an operation failed in a way that may leave the connection unusable.</summary>
        public bool Broken { get; set; }

        /// <summary>A cached, prepared command for <paramref name="sql"/> with its parameters cleared.</summary>
        public SqliteCommand Command(SqliteTransaction? tx, string sql)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = Raw.CreateCommand();
                command.CommandText = sql;
                _commands[sql] = command;
            }

            command.Parameters.Clear();
            command.Transaction = tx;
            return command;
        }

        public void Execute(string sql)
        {
            using var command = Raw.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        public void Execute(SqliteTransaction tx, string sql)
        {
            using var command = Raw.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }

        public object? Scalar(SqliteTransaction? tx, string sql)
        {
            using var command = Raw.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            return command.ExecuteScalar();
        }

        public void Dispose()
        {
            foreach (var command in _commands.Values)
            {
                command.Dispose();
            }

            _commands.Clear();
            Raw.Dispose();
        }
    }

    /// <summary>Builds the SQL of a listing: a range on the (name, id) index, never LIKE over user text.</summary>
    internal static class ListQuery
    {
        public const string Columns = "id, name, size, mime, created, sha256, custom";

        public static string Build(bool hasLower, bool hasUpper, bool hasCursor)
        {
            var sql = new StringBuilder("SELECT ").Append(Columns).Append(" FROM items");
            var conditions = new List<string>();
            if (hasLower)
            {
                conditions.Add("name >= @lo");
            }

            if (hasUpper)
            {
                conditions.Add("name < @hi");
            }

            if (hasCursor)
            {
                conditions.Add("(name, id) > (@cn, @ci)");
            }

            if (conditions.Count > 0)
            {
                sql.Append(" WHERE ").Append(string.Join(" AND ", conditions));
            }

            return sql.Append(" ORDER BY name, id LIMIT @limit").ToString();
        }
    }
}
