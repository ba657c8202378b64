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
        public void Resolves_a_unique_prefix_and_refuses_an_ambiguous_or_unknown_one()
        {
            var one = "abcd1" + new string('0', 27);
            var two = "abcd2" + new string('0', 27);
            _journal.Save(Record(one, DateTimeOffset.UtcNow));
            _journal.Save(Record(two, DateTimeOffset.UtcNow));
            Assert.Equal(one, _journal.ResolveId("ABCD1"));
            Assert.Equal(two, _journal.ResolveId(two));
            Assert.Equal("TransferIdAmbiguous", Assert.Throws<PluginException>(() => _journal.ResolveId("abcd")).ErrorId);
            Assert.Equal("TransferNotFound", Assert.Throws<PluginException>(() => _journal.ResolveId("abc")).ErrorId);
            Assert.Equal(ErrorCode.NotFound, Assert.Throws<PluginException>(() => _journal.ResolveId("ffff")).Code);
        }
    }
}
