using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.FileSystem;
using TransferTools.Engine.BuiltIn.Http;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>Segmented transfers (<c>-Streams</c>) through the engine, against the local file system seen as a remote server that serves ranges.</summary>
    public sealed class SegmentedTransferTests : LocalTransferTestBase
    {
        private const int Chunk = 16384;

        [Fact]
        public void A_fresh_file_is_planned_as_equal_ranges_and_a_resume_as_its_holes()
        {
            Assert.Equal(new[] { (0, 2), (2, 4), (4, 6), (6, 8) }, SegmentedTransfer.Plan(new bool[8], 4));
            Assert.Equal(new[] { (0, 3), (3, 5) }, SegmentedTransfer.Plan(new bool[5], 2));
            Assert.Equal(new[] { (0, 2), (2, 3), (3, 4), (4, 5) }, SegmentedTransfer.Plan(new bool[5], 4));
            Assert.Equal(new[] { (0, 1), (1, 2) }, SegmentedTransfer.Plan(new bool[2], 8));
            var committed = new[] { true, true, false, true, false, false, false, true };
            Assert.Equal(new[] { (2, 3), (4, 5), (5, 6), (6, 7) }, SegmentedTransfer.Plan(committed, 4));
            Assert.Empty(SegmentedTransfer.Plan(new[] { true, true }, 4));
            // Ranges no longer than the cap, in file order, so the in-order hash follows the streams closely.
            Assert.Equal(new[] { (0, 2), (2, 4), (4, 6), (6, 8), (8, 10) }, SegmentedTransfer.Plan(new bool[10], 2, maxChunks: 2));
        }

        [Fact]
        public void The_segmented_chunk_log_keeps_chunks_in_any_order_and_stops_at_a_torn_line()
        {
            var path = Path.Combine(Work, "x.chunks");
            using (var log = SegmentedChunkLog.Open(path, new Dictionary<int, ulong>(), rewrite: false))
            {
                log.Append(4, 0xAB);
                log.Append(0, 0xCD);
                log.Append(9, 0xEF);
            }

            File.AppendAllText(path, "0000000002 00");
            var read = SegmentedChunkLog.Read(path, count: 8);
            // (Chunk 9 is past the file's 8 chunks.)
            Assert.Equal(new Dictionary<int, ulong> { [4] = 0xAB, [0] = 0xCD }, read);
        }

        [Fact]
        public void Http_ranges_are_read_apart_only_on_a_strong_ETag_and_when_streams_are_asked_for()
        {
            var http = new HttpProtocolPlugin();
            var uri = new Uri("https://example.com/a.bin");
            var asked = new TransferOptions { Streams = 4 };
            Assert.True(http.CanReadRanges(uri, "\"5f1-abc\"", asked));
            Assert.False(http.CanReadRanges(uri, "W/\"5f1-abc\"", asked));
            Assert.False(http.CanReadRanges(uri, "lm:Mon, 07 Dec 2026 12:00:00 GMT", asked));
            Assert.False(http.CanReadRanges(uri, null, asked));
            // Not by itself: one HTTP stream is not held to a window per round trip (docs/benchmarks.md).
            Assert.False(http.CanReadRanges(uri, "\"5f1-abc\"", new TransferOptions()));
        }

        [Fact]
        public void The_engine_splits_a_file_by_itself_only_where_the_measured_round_trip_is_long()
        {
            var local = new FileSystemProtocolPlugin();
            var remote = new RangedAsRemote();
            var big = SegmentedTransfer.AutomaticThreshold;
            TransferRecord Record(int streams) => new TransferRecord
            {
                SourceUri = "file:///data/big.bin", TemporaryUri = "ranged:///up/big.bin.ttpart", FinalUri = "ranged:///up/big.bin", Streams = streams,
            };
            int Streams(TransferRecord record, ITransferEndpoint source, ITransferEndpoint destination, out TimeSpan? measured) =>
                SegmentedTransfer.StreamsFor(record, source, destination, sizeKnown: true, big, new TransferOptions(), out measured);

            // Nothing measured yet: split, as a long link needs.
            Assert.Equal(SegmentedTransfer.DefaultStreams, Streams(Record(0), local, remote, out var measured));
            Assert.Null(measured);

            // A short round trip (loopback, a LAN): one stream moves the window faster than the streams' handshakes pay.
            remote.RoundTrip = TimeSpan.FromMilliseconds(0.4);
            Assert.Equal(1, Streams(Record(0), local, remote, out measured));
            Assert.Equal(TimeSpan.FromMilliseconds(0.4), measured);
            var download = new TransferRecord
            {
                SourceUri = "ranged:///up/big.bin", TemporaryUri = "file:///data/big.bin.ttpart", FinalUri = "file:///data/big.bin",
            };
            Assert.Equal(1, Streams(download, remote, local, out _));
            // -Streams N is obeyed whatever the round trip.
            Assert.Equal(4, Streams(Record(4), local, remote, out measured));
            Assert.Null(measured);

            // A long one: split.
            remote.RoundTrip = SegmentedTransfer.SplitRoundTrip;
            Assert.Equal(SegmentedTransfer.DefaultStreams, Streams(Record(0), local, remote, out _));
            remote.RoundTrip = TimeSpan.FromMilliseconds(50);
            Assert.Equal(SegmentedTransfer.DefaultStreams, Streams(download, remote, local, out measured));
            Assert.Equal(TimeSpan.FromMilliseconds(50), measured);
        }

        [Fact]
        public async Task A_receive_in_four_streams_is_byte_identical_and_reads_four_ranges()
        {
            await RegisterAsync();
            var file = NewFile("pulled.bin", 10 * Chunk + 123, seed: 1);
            var output = NewFolder("pulled");
            RangedAsRemote.Opened.Clear();
            var done = await ReceiveAsync(file, output, new TransferOptions { ChunkSize = Chunk, Streams = 4 });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(output, "pulled.bin")));
            Assert.Equal(Sha(file), done.Sha256);
            var reads = RangedAsRemote.Opened.Where(o => o.StartsWith("read ", StringComparison.Ordinal)).OrderBy(o => o, StringComparer.Ordinal).ToList();
            Assert.Equal(4, reads.Count);
            Assert.Equal(4, reads.Select(r => r.Split(' ')[2]).Distinct().Count());
        }

        [Fact]
        public async Task A_send_in_three_streams_is_byte_identical_and_one_stream_opens_no_range()
        {
            await RegisterAsync();
            var file = NewFile("pushed.bin", 7 * Chunk, seed: 2);
            var dest = NewFolder("pushed");
            RangedAsRemote.Opened.Clear();
            var done = await SendAsync(file, dest, new TransferOptions { ChunkSize = Chunk, Streams = 3 });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "pushed.bin")));
            Assert.Equal(3, RangedAsRemote.Opened.Count(o => o.StartsWith("write ", StringComparison.Ordinal)));

            RangedAsRemote.Opened.Clear();
            done = await SendAsync(file, dest, new TransferOptions { ChunkSize = Chunk, Streams = 1, Conflict = ConflictPolicy.Overwrite });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Empty(RangedAsRemote.Opened);
            // Below the automatic threshold, no -Streams: one stream.
            done = await SendAsync(file, dest, new TransferOptions { ChunkSize = Chunk, Conflict = ConflictPolicy.Overwrite });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Empty(RangedAsRemote.Opened);
        }

        [Fact]
        public async Task A_suspended_segmented_receive_resumes_keeping_every_ranges_chunks()
        {
            await RegisterAsync();
            var file = NewFile("resumed.bin", 16 * Chunk, seed: 3);
            var output = NewFolder("resumed");
            var started = await Session.Transfers.StartReceiveAsync(Context, new ReceiveRequest
            {
                Source = Remote(file), OutputDir = output,
                Options = new TransferOptions { ChunkSize = Chunk, Streams = 4, MaxBytesPerSecond = 4 * 32 * 1024 },
            });
            while (Session.Transfers.Journal.CountChunks(started.Id) < 4)
            {
                await Task.Delay(20);
            }

            var suspended = await Session.Transfers.SuspendAsync(Context, started.Id);
            var logged = SegmentedChunkLog.Read(Session.Transfers.Journal.ChunkPath(started.Id), 16);
            Assert.True(logged.Keys.Select(i => i / 4).Distinct().Count() >= 2, "chunks of several ranges are logged");
            var resumed = await Session.Transfers.StartResumeAsync(Context, suspended.Id, new ResumeOverrides { MaxBytesPerSecond = 0 });
            var done = (await Session.Transfers.WaitAsync(Context, resumed.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.True(done.ResumedFrom >= (long)logged.Count * Chunk, $"kept {done.ResumedFrom} of {logged.Count} logged chunks");
            Assert.Equal(Sha(file), Sha(Path.Combine(output, "resumed.bin")));
            Assert.Equal(Sha(file), done.Sha256);
        }

        private Task RegisterAsync() =>
            Session.RegisterPluginAsync(Context, "Ranged", typeof(RangedAsRemote).FullName, typeof(RangedAsRemote).Assembly.Location, new Dictionary<string, string>());

        private static string Remote(string path) => "ranged://" + TransferLocation.FromLocalPath(path).AbsolutePath;

        private async Task<Transfer> ReceiveAsync(string file, string output, TransferOptions options)
        {
            var started = await Session.Transfers.StartReceiveAsync(Context, new ReceiveRequest { Source = Remote(file), OutputDir = output, Options = options });
            return (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
        }

        private async Task<Transfer> SendAsync(string file, string folder, TransferOptions options)
        {
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = Remote(folder) + "/", Options = options });
            return (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
        }

        /// <summary>The local file system seen as a remote server (<c>ranged:///path</c>) that serves ranges, noting each it opens.</summary>
        public sealed class RangedAsRemote : StreamingProtocolPlugin, IRangedReads, IRangedWrites, IRoundTripMeasure
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            /// <summary>What <see cref="MeasuredRoundTrip"/> answers (null: nothing measured, as before any request).</summary>
            public TimeSpan? RoundTrip { get; set; }

            public TimeSpan? MeasuredRoundTrip(Uri location, TransferOptions options) => RoundTrip;

            /// <summary>"read LANE OFFSET" / "write LANE OFFSET", for every range opened (tests run one at a time per class).</summary>
            public static ConcurrentBag<string> Opened { get; } = new ConcurrentBag<string>();

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Ranged", Type = PluginType.Protocol, Version = "1.0.0" };
            public override IReadOnlyCollection<string> Schemes => new[] { "ranged" };
            private static Uri Local(Uri l) => new Uri("file://" + l.AbsolutePath);
            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, Local(l), o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, Local(l), off, v, o);
            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, Local(l), off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, Local(l), o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, Local(l), o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, Local(t), Local(f), ow, o);
            public bool CanReadRanges(Uri location, string? version, TransferOptions options) => true;

            public Task<Stream> OpenReadRangeAsync(OperationContext c, Uri l, long offset, long length, string? v, int lane, TransferOptions o)
            {
                Opened.Add($"read {lane} {offset}");
                return _inner.OpenReadRangeAsync(c, Local(l), offset, length, v, lane, o);
            }

            public Task<Stream> OpenWriteRangeAsync(OperationContext c, Uri l, long offset, int lane, TransferOptions o)
            {
                Opened.Add($"write {lane} {offset}");
                return _inner.OpenWriteRangeAsync(c, Local(l), offset, lane, o);
            }
        }
    }
}
