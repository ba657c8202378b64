using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Storage;

namespace TransferTools.Engine.BuiltIn.LocalStore
{
    // Saving: content streams to tmp/ while it is hashed, then one index transaction moves it into blobs/ and writes
    // the item (see the class remarks for the crash rules).
    public sealed partial class LocalStorePlugin
    {
        /// <inheritdoc/>
        public async Task<string> StoreAsync(OperationContext context, Stream content, ItemMetadata metadata)
        {
            var prepared = await PrepareAsync(context, content, metadata).ConfigureAwait(false);
            try
            {
                CommitPrepared(new[] { prepared });
                return prepared.Id;
            }
            finally
            {
                TryDelete(prepared.Temp);
            }
        }

        /// <summary>
        /// Stores several items with one index transaction (piping many small files into Save-StorageItem). Each
        /// entry's content is opened, hashed and written on its own, so one unreadable file fails only its entry; the
        /// index rows of all the others are committed together.
        /// </summary>
        /// <returns>Per entry: the new id, or the error that entry met (nothing of it stored).</returns>
        public async Task<IReadOnlyList<(string? Id, Exception? Error)>> StoreManyAsync(OperationContext context,
            IReadOnlyList<(Func<Stream> Open, ItemMetadata Metadata)> entries)
        {
            var results = new (string? Id, Exception? Error)[entries.Count];
            var prepared = new List<(int Index, PreparedItem Item)>();
            try
            {
                for (var i = 0; i < entries.Count; i++)
                {
                    context.CancellationToken.ThrowIfCancellationRequested();
                    try
                    {
                        using var content = entries[i].Open();
                        prepared.Add((i, await PrepareAsync(context, content, entries[i].Metadata).ConfigureAwait(false)));
                    }
                    catch (Exception e) when (e is PluginException || e is IOException || e is UnauthorizedAccessException)
                    {
                        results[i] = (null, e);
                    }
                }

                if (prepared.Count > 0)
                {
                    CommitPrepared(prepared.Select(p => p.Item).ToList());
                    foreach (var (index, item) in prepared)
                    {
                        results[index] = (item.Id, null);
                    }
                }

                return results;
            }
            finally
            {
                foreach (var (_, item) in prepared)
                {
                    TryDelete(item.Temp);
                }
            }
        }

        private async Task<PreparedItem> PrepareAsync(OperationContext context, Stream content, ItemMetadata metadata)
        {
            var name = StorageKeys.RequireName(metadata.Name);
            var mime = StorageKeys.RequireMimeType(metadata.MimeType);
            StorageKeys.RequireCustomMetadata(metadata.Custom);
            _ = Index;
            var token = context.CancellationToken;
            var id = ItemIds.NewId();
            var temp = Path.Combine(TempDirectory, id + ".tmp");
            long size = 0;
            string sha256;
            try
            {
                using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.SequentialScan))
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
                    var behind = WriteBehind.For(file.SafeFileHandle, 0);
                    try
                    {
                        int read;
                        while ((read = await content.ReadAsync(buffer, 0, CopyBufferSize, token).ConfigureAwait(false)) > 0)
                        {
                            hash.AppendData(buffer, 0, read);
                            file.Write(buffer, 0, read);
                            size += read;
                            behind?.Written(size);
                        }
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }

                    file.Flush(_fullDurability);
                    sha256 = Hex.ToLowerString(hash.GetHashAndReset());
                }

                if (!string.IsNullOrEmpty(metadata.Sha256) && !string.Equals(metadata.Sha256, sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new PluginException(ErrorCode.ChecksumMismatch,
                        $"The content's SHA-256 is {sha256}, not the expected {metadata.Sha256}; nothing was stored.",
                        errorId: "ItemChecksumMismatch", target: name);
                }

                token.ThrowIfCancellationRequested();
                return new PreparedItem
                {
                    Id = id,
                    Name = name,
                    Mime = mime,
                    Custom = metadata.Custom is { Count: > 0 } ? JsonSerializer.Serialize(metadata.Custom) : null,
                    Temp = temp,
                    Size = size,
                    Sha256 = sha256,
                    Metadata = metadata,
                };
            }
            catch (IOException e)
            {
                TryDelete(temp);
                throw new PluginException(ErrorCode.Internal, $"The local store could not write '{Validation.Printable(name)}': {e.Message}", e, "StoreWriteFailed", name);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }

        /// <summary>Moves the prepared blobs into place and writes their rows and the totals in one transaction.</summary>
        private void CommitPrepared(IReadOnlyList<PreparedItem> items)
        {
            var createdMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var movedHere = new List<string>();
            try
            {
                using var lease = Index.Rent();
                var c = lease.Connection;
                try
                {
                    using var tx = c.Raw.BeginTransaction(deferred: false);
                    long totalSize = 0, newBlobs = 0, newBlobBytes = 0;
                    foreach (var item in items)
                    {
                        var blob = BlobPath(item.Sha256);
                        var refs = c.Command(tx, "UPDATE blobs SET refs = refs + 1 WHERE sha256 = @s;");
                        refs.Parameters.AddWithValue("@s", item.Sha256);
                        var isNewBlob = refs.ExecuteNonQuery() == 0;
                        if (isNewBlob)
                        {
                            // No row: the file is absent, or an orphan left by a crash or a delete's second step; both
                            // hold exactly this content, so an existing file is adopted.
                            if (!File.Exists(blob))
                            {
                                EnsureDirectory(Path.GetDirectoryName(blob)!);
                                File.Move(item.Temp, blob);
                                movedHere.Add(blob);
                            }

                            var insertBlob = c.Command(tx, "INSERT INTO blobs(sha256, size, refs) VALUES (@s, @z, 1);");
                            insertBlob.Parameters.AddWithValue("@s", item.Sha256);
                            insertBlob.Parameters.AddWithValue("@z", item.Size);
                            insertBlob.ExecuteNonQuery();
                            newBlobs++;
                            newBlobBytes += item.Size;
                        }
                        else if (!File.Exists(blob))
                        {
                            // Repair: a referenced blob went missing outside our control; this content restores it.
                            EnsureDirectory(Path.GetDirectoryName(blob)!);
                            File.Move(item.Temp, blob);
                            movedHere.Add(blob);
                        }

                        var insert = c.Command(tx, "INSERT INTO items(id, name, size, mime, created, sha256, custom) VALUES (@id, @n, @z, @m, @c, @s, @x);");
                        insert.Parameters.AddWithValue("@id", item.Id);
                        insert.Parameters.AddWithValue("@n", item.Name);
                        insert.Parameters.AddWithValue("@z", item.Size);
                        insert.Parameters.AddWithValue("@m", item.Mime);
                        insert.Parameters.AddWithValue("@c", createdMs);
                        insert.Parameters.AddWithValue("@s", item.Sha256);
                        insert.Parameters.AddWithValue("@x", (object?)item.Custom ?? DBNull.Value);
                        insert.ExecuteNonQuery();
                        totalSize += item.Size;
                    }

                    var stats = c.Command(tx, "UPDATE stats SET items = items + @n, bytes = bytes + @z, blobs = blobs + @nb, blob_bytes = blob_bytes + @nz WHERE k = 0;");
                    stats.Parameters.AddWithValue("@n", items.Count);
                    stats.Parameters.AddWithValue("@z", totalSize);
                    stats.Parameters.AddWithValue("@nb", newBlobs);
                    stats.Parameters.AddWithValue("@nz", newBlobBytes);
                    stats.ExecuteNonQuery();
                    tx.Commit();
                }
                catch (Exception)
                {
                    c.Broken = true;
                    // Still under the write lock until the rollback: nobody else references these new files.
                    foreach (var blob in movedHere)
                    {
                        TryDelete(blob);
                    }

                    throw;
                }
            }
            catch (SqliteException e)
            {
                throw IndexError(e, "store", items.Count == 1 ? items[0].Name : null);
            }
            catch (IOException e)
            {
                throw new PluginException(ErrorCode.Internal, $"The local store could not place content: {e.Message}", e, "StoreWriteFailed", items.Count == 1 ? items[0].Name : null);
            }

            foreach (var item in items)
            {
                var m = item.Metadata;
                m.Name = item.Name;
                m.MimeType = item.Mime;
                m.Size = item.Size;
                m.Sha256 = item.Sha256;
                m.CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(createdMs);
            }
        }

        private sealed class PreparedItem
        {
            public string Id = "";
            public string Name = "";
            public string Mime = "";
            public string? Custom;
            public string Temp = "";
            public long Size;
            public string Sha256 = "";
            public ItemMetadata Metadata = new ItemMetadata();
        }
    }
}
