using System;
using System.IO;
using System.Linq;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    public sealed class TransferJournalTests : IDisposable
    {
        private readonly TestHome _home = new TestHome();
        private readonly TransferJournal _journal;

        public TransferJournalTests() => _journal = new TransferJournal(_home.Path);

        public void Dispose() => _home.Dispose();

        private static TransferRecord Record(string id, DateTimeOffset started) => new TransferRecord
        {
            Id = id, Source = "/tmp/a", Destination = "/tmp/b", Name = "a", Status = TransferStatus.Active, StartedAt = started, TotalBytes = 10,
        };

        [Fact]
        public void A_batch_line_is_the_same_json_as_the_reflection_serializer_writes()
        {
            // Every settable property given a value that is not its default (strings, numbers, enums, times, options), so
            // a property the source-generated line writer handled differently from the reflection one would show here.
            var full = Record(TransferManager.NewId(), new DateTimeOffset(2026, 12, 7, 15, 4, 5, 678, TimeSpan.FromHours(1)));
            var rng = new Random(31);
            foreach (var p in typeof(TransferRecord).GetProperties().Where(p => p.CanWrite && p.GetIndexParameters().Length == 0))
            {
                var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
                object? v = t == typeof(string) ? (object)("v\"\u00e9<" + p.Name)
                    : t == typeof(int) ? (object)rng.Next(1, 1000)
                    : t == typeof(long) ? (object)((long)rng.Next(1, 1000) * 1_000_003)
                    : t == typeof(double) ? (object)(rng.NextDouble() * 1000)
                    : t == typeof(bool) ? (object)!(bool)(p.GetValue(new TransferRecord()) ?? false)
                    : t == typeof(DateTimeOffset) ? (object)DateTimeOffset.UtcNow.AddMinutes(rng.Next(1, 1000))
                    : t.IsEnum ? Enum.GetValues(t).Cast<object>().Last()
                    : null;
                if (v != null)
                {
                    p.SetValue(full, v);
                }
            }

            full.Custom = new System.Collections.Generic.Dictionary<string, string> { ["KeyFile"] = "/k", ["port"] = "22" };
            foreach (var record in new[] { full, Record(TransferManager.NewId(), DateTimeOffset.UtcNow), new TransferRecord() })
            {
                var line = TransferJournal.SerializeLine(record).ToArray();
                var reflected = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(record, TransferJournal.LineJson);
                Assert.Equal(System.Text.Encoding.UTF8.GetString(reflected) + "\n", System.Text.Encoding.UTF8.GetString(line));
            }

            // The batch manifest line too (source-generated as well), with and without the optional sender id.
            foreach (var manifest in new[]
            {
                new TransferManifest { Id = full.Id, Name = "tree/sub/\u00e9 \"x\".bin", Size = 4096, Sha256 = new string('a', 64), SenderUser = "u", SenderMachine = "m", SenderUserId = "oidc|1", SentAt = DateTimeOffset.UtcNow },
                new TransferManifest(),
            })
            {
                var reflected = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(manifest, TransferManifest.LineJson);
                Assert.Equal(System.Text.Encoding.UTF8.GetString(reflected) + "\n", System.Text.Encoding.UTF8.GetString(manifest.ToLine()));
            }
        }

        [Fact]
        public void Saves_and_loads_a_record_without_leaving_temporaries()
        {
            var id = TransferManager.NewId();
            _journal.Save(Record(id, DateTimeOffset.UtcNow));
            var loaded = _journal.TryLoad(id);
            Assert.NotNull(loaded);
            Assert.Equal(TransferStatus.Active, loaded!.Status);
            Assert.Single(Directory.GetFiles(_journal.Directory));
            Assert.Contains("\"Active\"", File.ReadAllText(_journal.RecordPath(id)));
        }

        [Fact]
        public void A_truncated_or_garbage_record_is_skipped_by_listing()
        {
            var good = TransferManager.NewId();
            _journal.Save(Record(good, DateTimeOffset.UtcNow));
            File.WriteAllText(_journal.RecordPath(new string('1', 32)), "{ \"Id\": \"111");
            File.WriteAllBytes(_journal.RecordPath(new string('2', 32)), new byte[] { 0, 1, 2, 255 });
            File.WriteAllText(_journal.RecordPath(new string('3', 32)), "");
            File.WriteAllText(Path.Combine(_journal.Directory, "not-an-id.json"), "{}");
            var all = _journal.LoadAll();
            Assert.Equal(new[] { good }, all.Select(r => r.Id).ToArray());
        }

        [Fact]
        public void A_record_whose_id_does_not_match_its_file_is_ignored()
        {
            var a = TransferManager.NewId();
            var b = TransferManager.NewId();
            _journal.Save(Record(a, DateTimeOffset.UtcNow));
            File.Copy(_journal.RecordPath(a), _journal.RecordPath(b));
            Assert.Null(_journal.TryLoad(b));
        }

        [Fact]
        public void The_chunk_log_ignores_a_torn_tail_and_out_of_order_lines()
        {
            var id = TransferManager.NewId();
            using (var log = _journal.OpenChunkLog(id, Array.Empty<ulong>(), 0))
            {
                log.Append(0xAAu);
                log.Append(0xBBu);
                log.Append(0xCCu);
            }

            // A process killed in the middle of an append leaves part of a line.
            File.AppendAllText(_journal.ChunkPath(id), "00000000");
            Assert.Equal(new ulong[] { 0xAA, 0xBB, 0xCC }, _journal.ReadChunks(id));

            File.WriteAllText(_journal.ChunkPath(id), TransferJournal.ChunkLine(0, 1) + TransferJournal.ChunkLine(2, 3) + TransferJournal.ChunkLine(1, 2));
            Assert.Equal(new ulong[] { 1 }, _journal.ReadChunks(id));

            File.WriteAllText(_journal.ChunkPath(id), TransferJournal.ChunkLine(0, 1) + "0000000001 zzzzzzzzzzzzzzzz\n");
            Assert.Equal(new ulong[] { 1 }, _journal.ReadChunks(id));
        }

        [Fact]
        public void Reopening_the_chunk_log_keeps_only_the_verified_prefix()
        {
            var id = TransferManager.NewId();
            using (var log = _journal.OpenChunkLog(id, Array.Empty<ulong>(), 0))
            {
                for (ulong i = 0; i < 5; i++)
                {
                    log.Append(i + 100);
                }
            }

            var chunks = _journal.ReadChunks(id);
            using (var log = _journal.OpenChunkLog(id, chunks, 2))
            {
                Assert.Equal(2, log.Count);
                log.Append(999);
            }

            Assert.Equal(new ulong[] { 100, 101, 999 }, _journal.ReadChunks(id));
            Assert.Equal(3, _journal.CountChunks(id));
        }

        [Fact]
        public void A_batch_journal_keeps_the_newest_whole_line_of_each_member_and_skips_torn_or_garbage_lines()
        {
            var batchId = "0123456789abcdef";
            var a = "aaaaaaaaaaaaaaaa" + batchId;
            var b = "bbbbbbbbbbbbbbbb" + batchId;
            var active = Record(a, DateTimeOffset.UtcNow);
            var done = Record(a, DateTimeOffset.UtcNow);
            done.Status = TransferStatus.Completed;
            var bytes = TransferJournal.SerializeLine(active).ToArray()
                .Concat(System.Text.Encoding.UTF8.GetBytes("garbage line\n"))
                .Concat(TransferJournal.SerializeLine(Record(b, DateTimeOffset.UtcNow)).ToArray())
                .Concat(TransferJournal.SerializeLine(done).ToArray())
                .Concat(System.Text.Encoding.UTF8.GetBytes("{\"FormatVersion\":1,\"Id\":\"" + b + "\",\"Status\":\"Fai"))
                .ToArray();
            File.WriteAllBytes(_journal.BatchPath(batchId), bytes);

            var parsed = TransferJournal.ParseBatch(bytes);
            Assert.Equal(2, parsed.Count);
            Assert.Equal(TransferStatus.Completed, _journal.TryLoad(a)!.Status);
            Assert.Equal(TransferStatus.Active, _journal.TryLoad(b)!.Status);
            Assert.Contains(a, _journal.AllIds());
            Assert.Equal(b, _journal.ResolveId(b.Substring(0, 6)));
            Assert.Equal(2, _journal.LoadAll().Count);
            // No process holds the batch lock: its unfinished member is not owned (shown as interrupted).
            Assert.False(_journal.IsOwned(b));
        }

        [Fact]
        public void A_member_with_a_record_file_of_its_own_is_read_from_it_not_from_the_batch()
        {
            var batchId = "fedcba9876543210";
            var id = "cccccccccccccccc" + batchId;
            File.WriteAllBytes(_journal.BatchPath(batchId), TransferJournal.SerializeLine(Record(id, DateTimeOffset.UtcNow)).ToArray());
            var resumed = Record(id, DateTimeOffset.UtcNow);
            resumed.Status = TransferStatus.Completed;
            _journal.Save(resumed);
            Assert.Equal(TransferStatus.Completed, _journal.TryLoad(id)!.Status);
            Assert.Single(_journal.LoadAll());
        }

        [Fact]
        public void A_batch_manifest_file_yields_the_member_asked_for_and_skips_a_torn_line()
        {
            var id = TransferManager.NewId();
            var manifest = new TransferManifest { Id = id, Name = "x.bin", Size = 3, Sha256 = new string('a', 64), SenderUser = "u", SenderMachine = "m" };
            var other = new TransferManifest { Id = TransferManager.NewId(), Name = "y.bin", Size = 1, Sha256 = new string('b', 64) };
            var bytes = other.ToLine().Concat(manifest.ToLine())
                .Concat(System.Text.Encoding.UTF8.GetBytes("{\"formatVersion\":1,\"id\":\"" + id + "\",\"name\":\"../evil")).ToArray();
            var found = TransferManifest.FindInBatch(bytes, id, "here");
            Assert.NotNull(found);
            Assert.Equal("x.bin", found!.Name);
            Assert.Null(TransferManifest.FindInBatch(bytes, TransferManager.NewId(), "here"));
        }

        [Fact]
        public void The_owner_lock_is_exclusive_and_released_on_dispose()
        {
            var id = TransferManager.NewId();
            using (var first = _journal.TryLock(id))
            {
                Assert.NotNull(first);
                Assert.Null(_journal.TryLock(id));
                Assert.True(_journal.IsOwned(id));
            }

            Assert.False(_journal.IsOwned(id));
            using var again = _journal.TryLock(id);
            Assert.NotNull(again);
        }

        [Fact]
        public void A_probe_in_progress_is_not_taken_for_an_owner()
        {
            // Two Resume-Transfer calls for members of one dead batch probe its lock at the same moment.
            var batchId = TransferManager.NewId();
            File.WriteAllText(_journal.BatchLockPath(batchId), "");
            using (new FileStream(_journal.BatchLockPath(batchId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                Assert.False(_journal.IsBatchOwnedElsewhere(batchId));
            }

            // An owner's exclusive lock is still seen.
            using (new FileStream(_journal.BatchLockPath(batchId), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                Assert.True(_journal.IsBatchOwnedElsewhere(batchId));
            }

            // A probe of a member lock does not stop its owner from taking it.
            var id = TransferManager.NewId();
            _journal.Save(Record(id, DateTimeOffset.UtcNow));
            File.WriteAllText(_journal.LockPath(id), "");
            using (new FileStream(_journal.LockPath(id), FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                Assert.False(_journal.IsOwned(id));
            }

            using var owner = _journal.TryLock(id);
            Assert.NotNull(owner);
            Assert.True(_journal.IsOwned(id));
        }

        [Fact]
        public void Resolves_a_unique_prefix_and_refuses_an_ambiguous_or_unknown_one()
        {
            var one = "abcd1" + new string('0', 27);
            var two = "abcd2" + new string('0', 27);
            _journal.Save(Record(one, DateTimeOffset.UtcNow));
            _journal.Save(Record(two, DateTimeOffset.UtcNow));
            Assert.Equal(one, _journal.ResolveId("ABCD1"));
            Assert.Equal(two, _journal.ResolveId(two));
            Assert.Equal("TransferIdAmbiguous", Assert.Throws<PluginException>(() => _journal.ResolveId("abcd")).ErrorId);
            // Three characters that start both ids: too short to name one, which the user is told (not "no such transfer").
            Assert.Equal("TransferIdTooShort", Assert.Throws<PluginException>(() => _journal.ResolveId("abc")).ErrorId);
            Assert.Equal(ErrorCode.NotFound, Assert.Throws<PluginException>(() => _journal.ResolveId("ffff")).Code);
        }
    }
}
