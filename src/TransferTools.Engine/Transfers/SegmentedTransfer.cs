using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// Moves one large file as several ranges at once, each through its own <see cref="ChunkPipeline"/> between a ranged
    /// read (<see cref="IRangedReads"/>) and a ranged write (<see cref="IRangedWrites"/>): over a long round trip one
    /// stream moves at most its window per round trip, and several move several windows (lftp <c>pget -n</c>, rclone's
    /// <c>--multi-thread-streams</c>). Each range commits its own chunks to the chunk log (<see cref="SegmentedChunkLog"/>),
    /// so a resume keeps every range's progress. The SHA-256 of the whole file is still taken in order: a hasher reads
    /// the local side (the source of a send, the temporary of a receive) chunk by chunk as the committed prefix grows,
    /// from the page cache the ranges just filled. The record's <c>BytesTransferred</c> counts committed bytes.
    /// </summary>
    internal sealed class SegmentedTransfer
    {
        /// <summary>The most streams one transfer may use.</summary>
        internal const int MaxStreams = 16;

        /// <summary>Streams when the engine chooses (<c>-Streams</c> not given) for a file of <see cref="AutomaticThreshold"/> or more.</summary>
        internal const int DefaultStreams = 8;

        /// <summary>
        /// The largest range one stream takes at a time. The SHA-256 is taken in order, so with a quarter of the file per
        /// stream three quarters of it would wait to be hashed until the first stream ended; ranges handed out in order
        /// keep the hashed prefix at most a few ranges behind the streams (1 GiB in four equal ranges over HTTP through
        /// the 50 ms proxy: 18.9 s, against 5.0 s for one stream, most of it hashing at the end on a loaded machine).
        /// Each range costs a round trip or two to open: 64 MiB keeps that to a few percent.
        /// </summary>
        internal const long MaxRangeBytes = 64L * 1024 * 1024;

        /// <summary>The size from which the engine splits a file by itself (rclone's <c>--multi-thread-cutoff</c> is 256 MiB too):
        /// below it the ranges' extra opens and round trips cost more than they save on a short link.</summary>
        internal const long AutomaticThreshold = 256L * 1024 * 1024;

        /// <summary>
        /// The round trip under which the engine does not split a file by itself: one stream then moves its window
        /// (2 MiB from OpenSSH's server) at 200 MiB/s or more, about what a core encrypts and hashes, and further streams
        /// only add their connections' handshakes. Measured over SFTP with 256 MiB through the latency proxy
        /// (docs/benchmarks.md): up to 10 ms one stream was as fast as eight or faster both ways, at 14 ms eight won
        /// downloads and tied uploads, at 20 ms they won both. Over loopback (the bench's Sftp case) 8 streams took 1.83 s
        /// up and 1.69 s down, one 1.12 s and 1.16 s.
        /// </summary>
        internal static readonly TimeSpan SplitRoundTrip = TimeSpan.FromMilliseconds(10);

        private readonly TransferRunner _runner;
        private readonly RunningTransfer _run;
        private readonly TransferRecord _record;
        private readonly ITransferEndpoint _source;
        private readonly ITransferEndpoint _destination;
        private readonly OperationContext _context;
        private readonly TransferOptions _options;
        private readonly StallWatch _stall;
        private readonly IncrementalHash _sha;
        private readonly Uri _sourceUri;
        private readonly Uri _temp;
        private readonly long _total;
        private readonly int _chunkSize;
        private readonly int _count;
        private long _moved;
        private long _laneLimit;

        public SegmentedTransfer(TransferRunner runner, RunningTransfer run, ITransferEndpoint source, ITransferEndpoint destination, OperationContext context,
            TransferOptions options, StallWatch stall, IncrementalHash sha, Uri sourceUri, long total)
        {
            _runner = runner;
            _run = run;
            _record = run.Record;
            _source = source;
            _destination = destination;
            _context = context;
            _options = options;
            _stall = stall;
            _sha = sha;
            _sourceUri = sourceUri;
            _temp = new Uri(_record.TemporaryUri!);
            _total = total;
            _chunkSize = _record.ChunkSize;
            _count = (int)((total + _chunkSize - 1) / _chunkSize);
        }

        private string ShortId => TransferManager.Short(_record.Id);

        /// <summary>
        /// How many streams move this transfer: 1 (one stream, the ordinary pipeline) unless both endpoints serve ranges,
        /// exactly one of them is local (its side is read again for the SHA-256; a local copy gains nothing), the size is
        /// known, and the file is at least <see cref="AutomaticThreshold"/> (or two chunks when
        /// <c>-Streams</c> was given). Without <c>-Streams</c>, also 1 where the remote side has measured a round trip
        /// under <see cref="SplitRoundTrip"/> (<see cref="IRoundTripMeasure"/>), which <paramref name="roundTrip"/> then holds.
        /// </summary>
        internal static int StreamsFor(TransferRecord record, ITransferEndpoint source, ITransferEndpoint destination, bool sizeKnown, long total,
            TransferOptions options, out TimeSpan? roundTrip)
        {
            roundTrip = null;
            if (!sizeKnown || total <= 0 || record.Streams == 1 || record.TemporaryUri is null)
            {
                return 1;
            }

            if (!(source is IRangedReads reads) || !(destination is IRangedWrites) || destination is IPartUploadDestination
                || (source is ILocalFileEndpoint) == (destination is ILocalFileEndpoint))
            {
                return 1;
            }

            if (record.Streams == 0 && total < AutomaticThreshold)
            {
                return 1;
            }

            if (record.Streams == 0)
            {
                var remote = source is ILocalFileEndpoint ? destination : source;
                var remoteUri = new Uri(ReferenceEquals(remote, source) ? record.SourceUri : record.TemporaryUri!);
                roundTrip = (remote as IRoundTripMeasure)?.MeasuredRoundTrip(remoteUri, options);
                if (roundTrip < SplitRoundTrip)
                {
                    return 1;
                }
            }

            var chunks = (total + record.ChunkSize - 1) / record.ChunkSize;
            var streams = (int)Math.Min(record.Streams == 0 ? DefaultStreams : record.Streams, chunks);
            return streams >= 2 && reads.CanReadRanges(new Uri(record.SourceUri), record.SourceVersion, options) ? streams : 1;
        }

        /// <summary>Keeps what an earlier attempt committed and still holds, then moves the rest in <paramref name="streams"/> streams.</summary>
        /// <param name="fresh">The destination was resolved by this attempt: nothing of it can be logged yet.</param>
        public async Task RunAsync(int streams, bool fresh)
        {
            var path = _runner.Journal.ChunkPath(_record.Id);
            var logged = fresh ? new Dictionary<int, ulong>() : SegmentedChunkLog.Read(path, _count);
            var kept = logged.Count == 0 ? logged : await KeepAsync(logged).ConfigureAwait(false);
            var keptBytes = kept.Keys.Sum(ChunkLength);
            _run.Update(r =>
            {
                r.BytesTransferred = keptBytes;
                r.ResumedFrom = keptBytes;
            });
            _run.BeginMeasuring(keptBytes);
            _moved = keptBytes;
            if (!fresh)
            {
                _runner.Save(_run, durable: false);
            }

            _context.Logger.Log(LogLevel.Verbose, kept.Count > 0
                ? $"Transfer {ShortId}: keeping {kept.Count} verified chunk(s) ({keptBytes} bytes); moving the rest in {streams} streams."
                : $"Transfer {ShortId}: moving {_total} bytes in {streams} streams.");
            if (kept.Count == 0)
            {
                // A new (or emptied) temporary, created as the ordinary write creates it (mode, parent folders), and
                // room for the whole file reserved before the first byte.
                using var created = await _destination.OpenWriteAsync(_context, _temp, 0, _options).ConfigureAwait(false);
                if (_destination is ISpaceReservation reservation)
                {
                    reservation.ReserveSpace(created, 0, _total);
                }

                await created.FlushAsync(_context.CancellationToken).ConfigureAwait(false);
            }

            using var log = SegmentedChunkLog.Open(path, kept, rewrite: !fresh);
            var committed = new bool[_count];
            foreach (var index in kept.Keys)
            {
                committed[index] = true;
            }

            var pieces = new ConcurrentQueue<(int First, int End)>(Plan(committed, streams, (int)Math.Max(1, MaxRangeBytes / _chunkSize)));
            var lanes = Math.Min(streams, pieces.Count);
            // A bandwidth limit holds for the transfer: each stream gets its share.
            _laneLimit = _record.MaxBytesPerSecond > 0 ? Math.Max(1, _record.MaxBytesPerSecond / Math.Max(1, lanes)) : 0;
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(_context.CancellationToken);
            using var signal = new SemaphoreSlim(0);
            var context = _context.WithCancellation(failed.Token);
            void Commit(int index, ulong hash)
            {
                log.Append(index, hash);
                var length = ChunkLength(index);
                _run.Update(r => r.BytesTransferred += length);
                lock (committed)
                {
                    committed[index] = true;
                }

                signal.Release();
            }

            var tasks = new List<Task>();
            for (var lane = 0; lane < lanes; lane++)
            {
                var number = lane;
                tasks.Add(Guard(() => LaneAsync(context, number, pieces, Commit), failed));
            }

            tasks.Add(Guard(() => HashAsync(context, committed, signal), failed));
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch
            {
                _context.CancellationToken.ThrowIfCancellationRequested();
                foreach (var task in tasks)
                {
                    if (task.IsFaulted && !(task.Exception!.InnerException is OperationCanceledException))
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(task.Exception.InnerException!).Throw();
                    }
                }

                throw;
            }
        }

        /// <summary>Runs a stage on the thread pool; its failure stops the others at once.</summary>
        private static Task Guard(Func<Task> body, CancellationTokenSource failed) => Task.Run(async () =>
        {
            try
            {
                await body().ConfigureAwait(false);
            }
            catch
            {
                failed.Cancel();
                throw;
            }
        });

        /// <summary>
        /// The ranges still to move, in file order, as runs of chunks not committed, cut so that each stream has an equal
        /// share (a fresh file: <paramref name="streams"/> equal ranges), none longer than <paramref name="maxChunks"/>.
        /// A stream that finishes a range takes the next one.
        /// </summary>
        internal static List<(int First, int End)> Plan(bool[] committed, int streams, int maxChunks = int.MaxValue)
        {
            var holes = new List<(int First, int End)>();
            for (var i = 0; i < committed.Length;)
            {
                if (committed[i])
                {
                    i++;
                    continue;
                }

                var start = i;
                while (i < committed.Length && !committed[i])
                {
                    i++;
                }

                holes.Add((start, i));
            }

            // Shares as equal as whole chunks allow (5 chunks in 4 streams: 2, 1, 1, 1); a piece ends early at a committed chunk.
            var missing = holes.Sum(h => h.End - h.First);
            var share = missing / streams;
            var larger = missing % streams;
            var pieces = new List<(int First, int End)>();
            var piece = 0;
            var left = 0;
            foreach (var (first, end) in holes)
            {
                for (var at = first; at < end;)
                {
                    if (left == 0)
                    {
                        left = Math.Min(maxChunks, Math.Max(1, share + (piece++ < larger ? 1 : 0)));
                    }

                    var take = Math.Min(left, end - at);
                    pieces.Add((at, at + take));
                    at += take;
                    left -= take;
                }
            }

            return pieces;
        }

        private long ChunkLength(int index) => Math.Min(_chunkSize, _total - (long)index * _chunkSize);

        /// <summary>One stream: takes ranges until none is left, each from its own ranged read into its own ranged write.</summary>
        private async Task LaneAsync(OperationContext context, int lane, ConcurrentQueue<(int First, int End)> pieces, Action<int, ulong> commit)
        {
            var reads = (IRangedReads)_source;
            var writes = (IRangedWrites)_destination;
            var token = context.CancellationToken;
            while (pieces.TryDequeue(out var piece))
            {
                var start = (long)piece.First * _chunkSize;
                var end = Math.Min(_total, (long)piece.End * _chunkSize);
                using var reader = await reads.OpenReadRangeAsync(context, _sourceUri, start, end - start, _record.SourceVersion, lane, _options)
                    .ConfigureAwait(false);
                var writer = await writes.OpenWriteRangeAsync(context, _temp, start, lane, _options).ConfigureAwait(false);
                try
                {
                    var written = start;
                    var pipeline = new ChunkPipeline(_chunkSize, _laneLimit)
                    {
                        Activity = _stall.Touch,
                        ChunkCommitted = (index, hash, chunkEnd) => commit(index, hash),
                        Progress = at =>
                        {
                            var moved = Interlocked.Add(ref _moved, at - written);
                            written = at;
                            _runner.ReportProgress(_run, moved);
                        },
                    };
                    await pipeline.RunAsync(reader, writer, start, end, null, token).ConfigureAwait(false);
                    await writer.FlushAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    writer.Dispose();
                }
            }
        }

        /// <summary>
        /// The SHA-256 of the whole file, in order: each chunk is read from the local side once it is committed. What it
        /// hashes is what was moved (a receive: the temporary's bytes) or what is moved (a send: the source's, as a resume's
        /// proof re-reads them).
        /// </summary>
        private async Task HashAsync(OperationContext context, bool[] committed, SemaphoreSlim signal)
        {
            var token = context.CancellationToken;
            using var local = _source is ILocalFileEndpoint
                ? await _source.OpenReadAsync(context, _sourceUri, 0, _record.SourceVersion, _options).ConfigureAwait(false)
                : await _destination.OpenReadAsync(context, _temp, 0, null, _options).ConfigureAwait(false);
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkPipeline.MaxSegmentSize);
            try
            {
                var hashed = 0L;
                for (var index = 0; index < _count; index++)
                {
                    while (true)
                    {
                        lock (committed)
                        {
                            if (committed[index])
                            {
                                break;
                            }
                        }

                        await signal.WaitAsync(token).ConfigureAwait(false);
                    }

                    var left = ChunkLength(index);
                    while (left > 0)
                    {
                        var n = await local.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, left), token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new PluginException(ErrorCode.SourceChanged,
                                $"'{_record.Name}' ended after {hashed} bytes while its SHA-256 was taken; {_total} were expected. It changed during the transfer.",
                                errorId: "SourceChanged", target: _record.Destination);
                        }

                        _sha.AppendData(buffer, 0, n);
                        hashed += n;
                        left -= n;
                    }

                    _stall.Touch();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        /// <summary>
        /// The logged chunks that the temporary still holds (each read back and compared), and, from a local source, that
        /// the source still holds too; a remote source's last kept chunk is read again, and when it differs nothing is kept.
        /// </summary>
        private async Task<Dictionary<int, ulong>> KeepAsync(Dictionary<int, ulong> logged)
        {
            var kept = new Dictionary<int, ulong>();
            var partial = await _destination.GetInfoAsync(_context, _temp, _options).ConfigureAwait(false);
            if (!partial.Exists)
            {
                return kept;
            }

            var localSource = _source is ILocalFileEndpoint;
            var indexes = logged.Keys.OrderBy(i => i).ToList();
            for (var i = 0; i < indexes.Count;)
            {
                // One run of consecutive logged chunks: one read of the partial (and of a local source) for all of it.
                var first = indexes[i];
                var end = first;
                while (i < indexes.Count && indexes[i] == end)
                {
                    end++;
                    i++;
                }

                var start = (long)first * _chunkSize;
                if (start >= partial.Length)
                {
                    continue;
                }

                using var written = await _destination.OpenReadAsync(_context, _temp, start, null, _options).ConfigureAwait(false);
                using var source = localSource ? await _source.OpenReadAsync(_context, _sourceUri, start, _record.SourceVersion, _options).ConfigureAwait(false) : null;
                for (var index = first; index < end && (long)index * _chunkSize + ChunkLength(index) <= partial.Length; index++)
                {
                    var held = await ChecksumAsync(written, ChunkLength(index)).ConfigureAwait(false);
                    var still = source is null ? held : await ChecksumAsync(source, ChunkLength(index)).ConfigureAwait(false);
                    if (held == logged[index] && still == logged[index])
                    {
                        kept[index] = logged[index];
                    }
                }
            }

            if (kept.Count > 0 && !localSource)
            {
                var last = kept.Keys.Max();
                using var again = await ((IRangedReads)_source).OpenReadRangeAsync(_context, _sourceUri, (long)last * _chunkSize, ChunkLength(last),
                    _record.SourceVersion, 0, _options).ConfigureAwait(false);
                if (await ChecksumAsync(again, ChunkLength(last)).ConfigureAwait(false) != kept[last])
                {
                    _context.Logger.Log(LogLevel.Warning,
                        $"Transfer {ShortId}: '{TransferErrors.SourceInMessages(_record)}' no longer holds the bytes already received, though its size and version did not change; reading it again from the start.");
                    return new Dictionary<int, ulong>();
                }
            }

            if (kept.Count < logged.Count)
            {
                _context.Logger.Log(LogLevel.Warning,
                    $"Transfer {ShortId}: the partial data holds {kept.Count} intact chunk(s) of {logged.Count} recorded; sending the others again.");
            }

            return kept;
        }

        /// <summary>The XXH64 of the next <paramref name="length"/> bytes of <paramref name="stream"/>; 0 when it ends before (matches no logged chunk in practice).</summary>
        private async Task<ulong> ChecksumAsync(Stream stream, long length)
        {
            var checksum = new ChunkChecksum();
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkPipeline.MaxSegmentSize);
            try
            {
                while (length > 0)
                {
                    var n = await stream.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, length), _context.CancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return 0;
                    }

                    checksum.Append(new ReadOnlySpan<byte>(buffer, 0, n));
                    length -= n;
                    _stall.Touch();
                }

                return checksum.GetCurrentHashAsUInt64();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
