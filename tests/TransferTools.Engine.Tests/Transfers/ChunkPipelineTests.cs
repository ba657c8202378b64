using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    public sealed class ChunkPipelineTests
    {
        private static byte[] Data(int size, int seed = 7)
        {
            var bytes = new byte[size];
            new Random(seed).NextBytes(bytes);
            return bytes;
        }

        private static ulong XxHash(byte[] data, long start, long length) =>
            XxHash64.HashToUInt64(new ReadOnlySpan<byte>(data, (int)start, (int)length));

        [Theory]
        [InlineData(0, 4096)]
        [InlineData(1, 4096)]
        [InlineData(4096, 4096)]
        [InlineData(100_000, 4096)]
        [InlineData(3 * 1024 * 1024 + 17, 1024 * 1024)]
        [InlineData(3 * 1024 * 1024 + 17, 3_000_000)]
        public async Task Copies_hashes_and_commits_every_chunk_in_order(int size, int chunkSize)
        {
            var data = Data(size);
            var destination = new MemoryStream();
            var commits = new List<(int Index, ulong Hash, long End)>();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var pipeline = new ChunkPipeline(chunkSize, 0) { ChunkCommitted = (i, h, e) => commits.Add((i, h, e)) };
            await pipeline.RunAsync(new MemoryStream(data), destination, 0, size, sha, CancellationToken.None);

            Assert.Equal(data, destination.ToArray());
            Assert.Equal(SHA256.HashData(data), sha.GetHashAndReset());
            AssertCommittedInOrder(data, chunkSize, 0, commits);
        }

        /// <summary>Every chunk from <paramref name="first"/> to the end was committed once, in order, with its end and XXH64.</summary>
        private static void AssertCommittedInOrder(byte[] data, int chunkSize, int first, List<(int Index, ulong Hash, long End)> commits)
        {
            Assert.Equal((data.Length + chunkSize - 1) / chunkSize - first, commits.Count);
            for (var i = 0; i < commits.Count; i++)
            {
                var index = first + i;
                var start = (long)index * chunkSize;
                var length = Math.Min(chunkSize, data.Length - start);
                Assert.Equal(index, commits[i].Index);
                Assert.Equal(start + length, commits[i].End);
                Assert.Equal(XxHash(data, start, length), commits[i].Hash);
            }
        }

        [Fact]
        public async Task Pooled_segments_from_earlier_copies_never_leak_into_a_later_one()
        {
            // Segments are rented from the shared pool and sized to what is left: a small copy after a large one may
            // get a longer, dirty array back and must use only its own bytes of it.
            var runs = new[] { (3 * 1024 * 1024 + 17, 1), (5000, 2), (1, 3), (1024 * 1024 + 3, 4), (4095, 5), (2 * 1024 * 1024, 6) };
            foreach (var (size, seed) in runs)
            {
                var data = Data(size, seed);
                var destination = new MemoryStream();
                var commits = 0;
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var pipeline = new ChunkPipeline(1024 * 1024, 0) { ChunkCommitted = (_, _, _) => commits++ };
                await pipeline.RunAsync(new MemoryStream(data), destination, 0, size, sha, CancellationToken.None);
                Assert.Equal(data, destination.ToArray());
                Assert.Equal(SHA256.HashData(data), sha.GetHashAndReset());
                Assert.Equal((size + 1024 * 1024 - 1) / (1024 * 1024), commits);
            }
        }

        [Fact]
        public async Task Continues_from_an_offset_with_a_hash_primed_by_the_kept_part()
        {
            var data = Data(50_000);
            const int chunk = 8192;
            var offset = 3 * chunk;
            var destination = new MemoryStream();
            destination.Write(data, 0, offset);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(data, 0, offset);
            var source = new MemoryStream(data) { Position = offset };
            var first = -1;
            var pipeline = new ChunkPipeline(chunk, 0) { ChunkCommitted = (i, h, e) => first = first < 0 ? i : first };
            await pipeline.RunAsync(source, destination, offset, data.Length, sha, CancellationToken.None);
            Assert.Equal(data, destination.ToArray());
            Assert.Equal(SHA256.HashData(data), sha.GetHashAndReset());
            Assert.Equal(3, first);
        }

        [Fact]
        public async Task A_source_that_ends_early_is_reported_as_changed()
        {
            var data = Data(10_000);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var pipeline = new ChunkPipeline(4096, 0);
            var error = await Assert.ThrowsAsync<PluginException>(() =>
                pipeline.RunAsync(new MemoryStream(data), new MemoryStream(), 0, 20_000, sha, CancellationToken.None));
            Assert.Equal(ErrorCode.SourceChanged, error.Code);
        }

        [Fact]
        public async Task A_failing_destination_stops_the_pipeline_with_its_error()
        {
            var data = Data(200_000);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var pipeline = new ChunkPipeline(4096, 0);
            var error = await Assert.ThrowsAsync<PluginException>(() =>
                pipeline.RunAsync(new MemoryStream(data), new FailingStream(50_000), 0, data.Length, sha, CancellationToken.None));
            Assert.Equal("DiskFull", error.ErrorId);
        }

        [Fact]
        public async Task Verifying_a_partial_stops_at_the_first_damaged_chunk()
        {
            var data = Data(40_000);
            const int chunk = 4096;
            var hashes = new List<ulong>();
            for (var start = 0; start < data.Length; start += chunk)
            {
                hashes.Add(XxHash(data, start, Math.Min(chunk, data.Length - start)));
            }

            var partial = (byte[])data.Clone();
            partial[2 * chunk + 5] ^= 0xFF;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var good = await ChunkPipeline.VerifyPartialAsync(new MemoryStream(partial), partial.Length, hashes, chunk, data.Length, sha, null, CancellationToken.None);
            Assert.Equal(2, good);
            Assert.Equal(SHA256.HashData(new ReadOnlySpan<byte>(data, 0, 2 * chunk)), sha.GetHashAndReset());

            // A partial shorter than the journal claims keeps only its complete chunks.
            using var sha2 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var shortPartial = new MemoryStream(data, 0, 3 * chunk + 100);
            Assert.Equal(3, await ChunkPipeline.VerifyPartialAsync(shortPartial, 3 * chunk + 100, hashes, chunk, data.Length, sha2, null, CancellationToken.None));
        }

        [Fact]
        public void Segments_shrink_under_a_bandwidth_limit()
        {
            Assert.Equal(ChunkPipeline.MaxSegmentSize, ChunkPipeline.SegmentSizeFor(4 * 1024 * 1024, 0));
            Assert.Equal(16384, ChunkPipeline.SegmentSizeFor(16384, 0));
            Assert.Equal(4096, ChunkPipeline.SegmentSizeFor(65536, 32768));
            Assert.Equal(Math.Min(ChunkPipeline.MaxSegmentSize, 131072), ChunkPipeline.SegmentSizeFor(4 * 1024 * 1024, 1024 * 1024));
        }

        [Fact]
        public async Task A_destination_that_confirms_writes_late_gets_each_chunk_committed_once_confirmed_without_a_flush_per_chunk()
        {
            const int chunk = 4096;
            var data = Data(8 * chunk);
            var source = new CountingSource(data);
            // Confirms all but the last 1.5 chunks written, as a stream with requests in flight would; its first write
            // waits until the reader has read every segment, so the writer never runs dry before the end.
            var destination = new LateConfirmingStream(lag: chunk * 3 / 2, holdFirstWriteUntil: () => source.Consumed == data.Length);
            var commits = new List<(int Index, ulong Hash, long End, long ConfirmedThen, int FlushesThen)>();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var pipeline = new ChunkPipeline(chunk, 0)
            {
                ChunkCommitted = (i, h, e) => commits.Add((i, h, e, destination.AcknowledgedOffset, destination.Flushes)),
            };
            await pipeline.RunAsync(source, destination, 0, data.Length, sha, CancellationToken.None);

            Assert.Equal(data, destination.ToArray());
            Assert.Equal(8, commits.Count);
            for (var i = 0; i < commits.Count; i++)
            {
                Assert.Equal(i, commits[i].Index);
                Assert.Equal((i + 1L) * chunk, commits[i].End);
                Assert.Equal(XxHash(data, (long)i * chunk, chunk), commits[i].Hash);
                Assert.True(commits[i].End <= commits[i].ConfirmedThen, $"chunk {i} was committed before the destination confirmed it");
            }

            // Chunks 0..5 were confirmed by later writes; only the end of the copy needed a flush.
            Assert.Equal(1, destination.Flushes);
            Assert.Equal(6, commits.FindAll(c => c.FlushesThen == 0).Count);
        }

        [Fact]
        public async Task A_destination_failing_with_chunks_unconfirmed_leaves_them_uncommitted()
        {
            const int chunk = 4096;
            var data = Data(20 * chunk);
            var destination = new LateConfirmingStream(lag: 2 * chunk, failAt: 12 * chunk + 100);
            var commits = new List<long>();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var pipeline = new ChunkPipeline(chunk, 0) { ChunkCommitted = (i, h, e) => commits.Add(e) };
            var error = await Assert.ThrowsAsync<PluginException>(() =>
                pipeline.RunAsync(new MemoryStream(data), destination, 0, data.Length, sha, CancellationToken.None));

            Assert.Equal("ConnectionLost", error.ErrorId);
            // Committed: a run of whole chunks from the start, all confirmed (by later writes, or by a flush while the
            // writer waited for the reader); nothing written after the last confirmation. A resume truncates past it.
            Assert.NotEmpty(commits);
            for (var i = 0; i < commits.Count; i++)
            {
                Assert.Equal((i + 1L) * chunk, commits[i]);
            }

            Assert.InRange(commits[commits.Count - 1], 1, destination.AcknowledgedOffset);
        }

        [Fact]
        public async Task A_destination_whose_flush_does_not_confirm_its_bytes_fails_the_copy_without_committing_them()
        {
            const int chunk = 4096;
            var data = Data(3 * chunk);
            var destination = new LateConfirmingStream(lag: int.MaxValue, flushConfirms: false);
            var commits = new List<long>();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var pipeline = new ChunkPipeline(chunk, 0) { ChunkCommitted = (i, h, e) => commits.Add(e) };
            var error = await Assert.ThrowsAsync<PluginException>(() =>
                pipeline.RunAsync(new MemoryStream(data), destination, 0, data.Length, sha, CancellationToken.None));

            Assert.Equal("AcknowledgementBehind", error.ErrorId);
            Assert.Equal(ErrorCode.Internal, error.Code);
            Assert.Empty(commits);
        }

        /// <summary>A source that counts what the reader has taken.</summary>
        [Theory]
        [InlineData(0, 0, 4096)]
        [InlineData(1, 0, 4096)]
        [InlineData(4096, 0, 4096)]
        [InlineData(3 * 4096, 0, 4096)]
        [InlineData(100_000, 0, 4096)]
        [InlineData(3 * 1024 * 1024 + 17, 0, 1024 * 1024)]
        [InlineData(2 * 1024 * 1024, 0, 1024 * 1024)]
        [InlineData(100_000, 8 * 4096, 4096)]
        [InlineData(3 * 1024 * 1024 + 17, 2 * 1024 * 1024, 1024 * 1024)]
        public async Task A_source_of_unknown_size_is_read_to_its_end_and_its_last_chunk_committed(int size, int offset, int chunkSize)
        {
            // As a streamed HTTP body: no size up front, and reads that return whatever has arrived.
            var data = Data(size, seed: 11);
            var destination = new MemoryStream();
            destination.Write(data, 0, offset);
            var commits = new List<(int Index, ulong Hash, long End)>();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(data, 0, offset);
            var source = new TricklingSource(data, offset);
            var pipeline = new ChunkPipeline(chunkSize, 0) { ChunkCommitted = (i, h, e) => commits.Add((i, h, e)) };

            var end = await pipeline.RunAsync(source, destination, offset, -1, sha, CancellationToken.None);

            Assert.Equal(size, end);
            Assert.Equal(data, destination.ToArray());
            Assert.Equal(SHA256.HashData(data), sha.GetHashAndReset());
            AssertCommittedInOrder(data, chunkSize, offset / chunkSize, commits);
        }

        [Fact]
        public async Task A_partial_of_unknown_size_keeps_only_its_whole_chunks()
        {
            // The last chunk of a source whose size was not known may be short; the next attempt reads it again.
            var data = Data(3 * 4096 + 100, seed: 12);
            var chunks = new List<ulong> { XxHash(data, 0, 4096), XxHash(data, 4096, 4096), XxHash(data, 8192, 4096), XxHash(data, 12288, 100) };
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var kept = await ChunkPipeline.VerifyPartialAsync(new MemoryStream(data), data.Length, chunks, 4096, -1, sha, null, CancellationToken.None);
            Assert.Equal(3, kept);
            Assert.Equal(SHA256.HashData(new ReadOnlySpan<byte>(data, 0, 3 * 4096)), sha.GetHashAndReset());
        }

        /// <summary>Reads from an offset, at most a few odd-sized bytes at a time, and never says its length.</summary>
        private sealed class TricklingSource : ForwardOnlyStream
        {
            private readonly byte[] _data;
            private readonly Random _random = new Random(3);
            private int _position;

            public TricklingSource(byte[] data, int position)
            {
                _data = data;
                _position = position;
            }

            public override bool CanRead => true;
            public override bool CanWrite => false;
            public override long Position => _position;
            public override void Flush() { }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var n = Math.Min(Math.Min(count, _data.Length - _position), 1 + _random.Next(70_000));
                Buffer.BlockCopy(_data, _position, buffer, offset, n);
                _position += n;
                return n;
            }
        }

        private sealed class CountingSource : MemoryStream
        {
            private long _consumed;

            public CountingSource(byte[] data) : base(data) { }

            public long Consumed => Interlocked.Read(ref _consumed);

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                var n = await base.ReadAsync(buffer, offset, count, cancellationToken);
                Interlocked.Add(ref _consumed, n);
                return n;
            }
        }

        /// <summary>
        /// A destination that sends ahead of its answers (<see cref="IWriteAcknowledgement"/>): it confirms what was
        /// written up to <c>lag</c> bytes ago, and everything at a flush.
        /// </summary>
        private sealed class LateConfirmingStream : MemoryStream, IWriteAcknowledgement
        {
            private readonly long _lag;
            private readonly long _failAt;
            private readonly bool _flushConfirms;
            private readonly Func<bool>? _holdFirstWriteUntil;
            private long _confirmed;
            private int _flushes;
            private bool _held;

            public LateConfirmingStream(long lag, long failAt = long.MaxValue, bool flushConfirms = true, Func<bool>? holdFirstWriteUntil = null)
            {
                _lag = lag;
                _failAt = failAt;
                _flushConfirms = flushConfirms;
                _holdFirstWriteUntil = holdFirstWriteUntil;
            }

            public long AcknowledgedOffset => Interlocked.Read(ref _confirmed);

            public int Flushes => Volatile.Read(ref _flushes);

            public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                if (!_held && _holdFirstWriteUntil != null)
                {
                    _held = true;
                    var waited = System.Diagnostics.Stopwatch.StartNew();
                    while (!_holdFirstWriteUntil() && waited.Elapsed < TimeSpan.FromSeconds(30))
                    {
                        await Task.Delay(1, cancellationToken);
                    }
                }

                if (Length + count > _failAt)
                {
                    throw new PluginException(ErrorCode.ConnectionError, "The connection was lost.", errorId: "ConnectionLost");
                }

                await base.WriteAsync(buffer, offset, count, cancellationToken);
                Interlocked.Exchange(ref _confirmed, Math.Max(AcknowledgedOffset, Length - _lag));
            }

            public override Task FlushAsync(CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref _flushes);
                if (_flushConfirms)
                {
                    Interlocked.Exchange(ref _confirmed, Length);
                }

                return Task.CompletedTask;
            }
        }

        private sealed class FailingStream : MemoryStream
        {
            private readonly long _limit;

            public FailingStream(long limit) => _limit = limit;

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                if (Length + count > _limit)
                {
                    throw new PluginException(ErrorCode.LimitExceeded, "No space left.", errorId: "DiskFull");
                }

                return base.WriteAsync(buffer, offset, count, cancellationToken);
            }
        }
    }
}
