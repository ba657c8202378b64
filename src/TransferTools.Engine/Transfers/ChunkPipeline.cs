using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Action = System.Action;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// Moves bytes from a source stream to a destination stream in three overlapping stages — read, SHA-256, write —
    /// over a small pool of pooled segments, so memory stays flat whatever the file size and hashing runs on another
    /// core while the disk or network works. The writer computes each chunk's checksum (XXH64, <see cref="ChunkChecksum"/>)
    /// and commits it (to the chunk log) as soon as the chunk's bytes are written.
    /// </summary>
    internal sealed class ChunkPipeline
    {
        /// <summary>
        /// The largest I/O unit; chunks are made of segments of at most this size. Small on purpose: each segment is
        /// written by the reader, read by the hasher and read again by the writer, and with 1–2 MiB of segments in
        /// flight that stays in the CPU's caches; with 1 MiB segments (8 MiB in flight) every stage went to memory, and a
        /// local 1 GiB copy took 1.3–2.8 s instead of 0.65–0.75 s whenever other work shared the cache (measured on the
        /// benchmark machine; docs/benchmarks.md).
        /// </summary>
        internal const int MaxSegmentSize = 128 * 1024;

        /// <summary>Files up to this size move in one piece (one read, one hash, one write) instead of through the pipeline.</summary>
        internal const int WholeFileMaxSize = 1024 * 1024;

        /// <summary>
        /// Segments in flight. 16 (2 MiB) rather than 8: a stage that is descheduled for a few milliseconds (two cores
        /// shared by the hasher, the writer, the socket and the server) no longer stops the others; a fresh session's
        /// 1 GiB download from nginx went from a median of 1.28 s to 1.21 s over 10 alternating runs, and a local copy
        /// did not change (0.78 s against 0.77 s).
        /// </summary>
        private const int SegmentCount = 16;

        private static readonly BandwidthLimiter[] NoLimits = new BandwidthLimiter[0];

        private readonly int _chunkSize;
        private readonly IReadOnlyList<BandwidthLimiter> _limiters;

        /// <summary>A pipeline limited to <paramref name="maxBytesPerSecond"/> on its own (0: unlimited).</summary>
        public ChunkPipeline(int chunkSize, long maxBytesPerSecond)
            : this(chunkSize, maxBytesPerSecond > 0 ? new[] { new BandwidthLimiter(maxBytesPerSecond) } : NoLimits)
        {
        }

        /// <summary>A pipeline that counts its bytes against shared limiters (a command's total, the agent's schedule).</summary>
        public ChunkPipeline(int chunkSize, IReadOnlyList<BandwidthLimiter> limiters)
        {
            _chunkSize = chunkSize;
            _limiters = limiters;
        }

        /// <summary>Called on the writer after each chunk is written (index, XXH64 checksum, end offset).</summary>
        public Action<int, ulong, long>? ChunkCommitted { get; set; }

        /// <summary>Called on the writer after each segment is written, with the bytes written so far (absolute offset).</summary>
        public Action<long>? Progress { get; set; }

        /// <summary>Flush a stream with <see cref="IWriteAcknowledgement"/> whenever there is nothing to write (default); off for
        /// a destination whose flush ends its content (<see cref="IPartUploadDestination"/>: a short part can only be the last).</summary>
        public bool FlushWhenIdle { get; set; } = true;

        /// <summary>Called whenever a stage makes progress (stall detection).</summary>
        public Action? Activity { get; set; }

        /// <summary>The segment size for a chunk size and a bandwidth limit: small enough that throttling stays smooth.</summary>
        internal static int SegmentSizeFor(int chunkSize, long maxBytesPerSecond)
        {
            var size = Math.Min(chunkSize, MaxSegmentSize);
            if (maxBytesPerSecond > 0)
            {
                // About eight segments a second keeps a limited transfer smooth and its commits frequent.
                size = (int)Math.Min(size, Math.Max(4096, maxBytesPerSecond / 8));
            }

            return Math.Max(1, size);
        }

        /// <summary>
        /// Copies <c>[offset, total)</c>, or from <paramref name="offset"/> to the source's end when <paramref name="total"/>
        /// is negative (a source that does not know its size). <paramref name="sha256"/> already holds the bytes before
        /// <paramref name="offset"/>, or is null when the caller hashes the file another way (one range of a segmented
        /// transfer); <paramref name="md5"/>, when given, holds them too (a source whose server announces only an MD5).
        /// </summary>
        /// <returns>The end offset: <paramref name="total"/>, or where an unknown-size source ended.</returns>
        /// <exception cref="PluginException"><see cref="ErrorCode.SourceChanged"/> when a source of known size ends early.</exception>
        public async Task<long> RunAsync(Stream source, Stream destination, long offset, long total, IncrementalHash? sha256, CancellationToken cancellationToken,
            IncrementalHash? md5 = null)
        {
            var sizeKnown = total >= 0;
            if (offset % _chunkSize != 0 && offset != total)
            {
                throw new ArgumentException("A transfer resumes on a chunk boundary.", nameof(offset));
            }

            if (sizeKnown && offset >= total)
            {
                return total;
            }

            // Pooled segments, no larger and no more than the bytes left need: a 4 KiB file takes one 4 KiB buffer,
            // not 8 MiB of fresh large-object heap (which made every small transfer pay for zeroing and page faults).
            var remaining = sizeKnown ? total - offset : long.MaxValue;
            var segmentSize = (int)Math.Min(SegmentSizeFor(_chunkSize, BandwidthLimiter.LowestRate(_limiters)), remaining);
            var segmentCount = sizeKnown ? (int)Math.Min(SegmentCount, (remaining + segmentSize - 1) / segmentSize) : SegmentCount;
            var segments = new Segment[segmentCount];
            var free = Channel.CreateBounded<Segment>(segmentCount);
            for (var i = 0; i < segmentCount; i++)
            {
                segments[i] = new Segment(ArrayPool<byte>.Shared.Rent(segmentSize), segmentSize);
                free.Writer.TryWrite(segments[i]);
            }

            var toHash = Channel.CreateUnbounded<Segment>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var toWrite = Channel.CreateUnbounded<Segment>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var token = failed.Token;

            void Release(Segment segment)
            {
                if (Interlocked.Decrement(ref segment.References) == 0)
                {
                    free.Writer.TryWrite(segment);
                }
            }

            var sourceEnd = offset;
            async Task ReadAsync()
            {
                try
                {
                    var position = offset;
                    var ended = false;
                    while (!ended && (!sizeKnown || position < total))
                    {
                        var segment = await free.Reader.ReadAsync(token).ConfigureAwait(false);
                        var chunkEnd = (position / _chunkSize + 1) * _chunkSize;
                        if (sizeKnown)
                        {
                            chunkEnd = Math.Min(total, chunkEnd);
                        }

                        var want = (int)Math.Min(segment.Size, chunkEnd - position);
                        var filled = 0;
                        while (filled < want)
                        {
                            var n = await source.ReadAsync(segment.Buffer, filled, want - filled, token).ConfigureAwait(false);
                            if (n == 0)
                            {
                                if (sizeKnown)
                                {
                                    throw new PluginException(ErrorCode.SourceChanged,
                                        $"The source ended after {position + filled} bytes; {total} were expected. It changed during the transfer.",
                                        errorId: "SourceChanged");
                                }

                                ended = true;
                                break;
                            }

                            filled += n;
                            Activity?.Invoke();
                        }

                        if (filled == 0 && position % _chunkSize == 0)
                        {
                            // The end fell on a chunk boundary (or the source is empty): no chunk is left open.
                            free.Writer.TryWrite(segment);
                            break;
                        }

                        // At the end of an unknown-size source the open chunk ends here, even with no byte in this segment.
                        segment.Count = filled;
                        segment.Offset = position;
                        segment.ChunkIndex = (int)(position / _chunkSize);
                        segment.EndsChunk = ended || position + filled == chunkEnd;
                        position += filled;
                        sourceEnd = position;
                        if (filled > 0 && sha256 != null)
                        {
                            segment.References = 2;
                            toHash.Writer.TryWrite(segment);
                        }
                        else
                        {
                            segment.References = 1;
                        }

                        toWrite.Writer.TryWrite(segment);

                        if (_limiters.Count > 0 && filled > 0)
                        {
                            // Shared buckets: the command's (or agent's) total stays at the limit however many files move at once.
                            await BandwidthLimiter.TakeAllAsync(_limiters, filled, Activity, token).ConfigureAwait(false);
                        }
                    }
                }
                finally
                {
                    toHash.Writer.TryComplete();
                    toWrite.Writer.TryComplete();
                }
            }

            async Task HashAsync()
            {
                // Its own thread: the SHA-256 of a segment is pure CPU work that should overlap the reader's and writer's I/O.
                await Task.Yield();
                while (await toHash.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    while (toHash.Reader.TryRead(out var segment))
                    {
                        sha256!.AppendData(segment.Buffer, 0, segment.Count);
                        md5?.AppendData(segment.Buffer, 0, segment.Count);
                        Release(segment);
                    }
                }
            }

            async Task WriteAsync()
            {
                var chunkHash = new ChunkChecksum();
                // A chunk counts as committed only once the destination holds it. A stream that reports what its
                // destination confirmed keeps writing while a chunk's answers are on their way (see DeferredCommits);
                // any other stream is flushed at each chunk's end.
                var deferred = destination is IWriteAcknowledgement acknowledgement ? new DeferredCommits(acknowledgement) : null;
                while (await toWrite.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    while (toWrite.Reader.TryRead(out var segment))
                    {
                        if (segment.Count > 0)
                        {
                            await destination.WriteAsync(segment.Buffer, 0, segment.Count, token).ConfigureAwait(false);
                        }

                        chunkHash.Append(new ReadOnlySpan<byte>(segment.Buffer, 0, segment.Count));
                        var end = segment.Offset + segment.Count;
                        var index = segment.ChunkIndex;
                        var endsChunk = segment.EndsChunk;
                        Release(segment);
                        Activity?.Invoke();
                        if (endsChunk)
                        {
                            var checksum = chunkHash.GetCurrentHashAsUInt64();
                            chunkHash.Reset();
                            if (deferred is null)
                            {
                                await destination.FlushAsync(token).ConfigureAwait(false);
                                ChunkCommitted?.Invoke(index, checksum, end);
                            }
                            else
                            {
                                deferred.Add(index, checksum, end);
                            }
                        }

                        deferred?.CommitConfirmed(ChunkCommitted, all: false);
                        Progress?.Invoke(end);
                    }

                    if (FlushWhenIdle && deferred != null && deferred.Count > 0)
                    {
                        // Nothing to write just now (the source is slower, or it has ended): a flush costs no
                        // throughput here, and the journal should not wait for the next segment to catch up.
                        await destination.FlushAsync(token).ConfigureAwait(false);
                        deferred.CommitConfirmed(ChunkCommitted, all: true);
                    }
                }
            }

            var stages = new[] { Stage(ReadAsync), Stage(HashAsync), Stage(WriteAsync) };

            Task Stage(Func<Task> body) => Task.Run(async () =>
            {
                try
                {
                    await body().ConfigureAwait(false);
                }
                catch
                {
                    // One stage failing stops the others at once.
                    failed.Cancel();
                    throw;
                }
            });

            try
            {
                await Task.WhenAll(stages).ConfigureAwait(false);

                // Every stage has finished with the buffers. (After a failure they are left to the GC instead: a
                // cancelled network read is not worth the risk of a late write into a buffer the pool handed on.)
                foreach (var segment in segments)
                {
                    ArrayPool<byte>.Shared.Return(segment.Buffer);
                }

                return sourceEnd;
            }
            catch
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var stage in stages)
                {
                    if (stage.IsFaulted && !(stage.Exception!.InnerException is OperationCanceledException))
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(stage.Exception.InnerException!).Throw();
                    }
                }

                throw;
            }
        }

        /// <summary>
        /// Re-reads a kept partial from its start, checking each chunk against the journal and feeding the SHA-256 (unless
        /// null: a resume that takes the hash from the source instead). <paramref name="total"/> is negative for a source
        /// whose size is not known.
        /// </summary>
        /// <returns>How many leading chunks are intact (at most <paramref name="expected"/>.Count).</returns>
        public static async Task<int> VerifyPartialAsync(Stream partial, long partialLength, System.Collections.Generic.IReadOnlyList<ulong> expected,
            int chunkSize, long total, IncrementalHash? sha256, Action? activity, CancellationToken cancellationToken, IncrementalHash? md5 = null)
        {
            var buffer = new byte[Math.Min(chunkSize, MaxSegmentSize)];
            var chunkHash = new ChunkChecksum();
            var good = 0;
            for (var index = 0; index < expected.Count; index++)
            {
                var start = (long)index * chunkSize;
                // (Of a source whose size was unknown only whole chunks are kept: its last, short one is read again.)
                var length = total < 0 ? chunkSize : Math.Min(chunkSize, total - start);
                if (length <= 0 || start + length > partialLength)
                {
                    break;
                }

                // The chunk is hashed into a scratch SHA-256 first: only intact chunks may reach the transfer's hash.
                var bytes = new System.Collections.Generic.List<byte[]>();
                var left = length;
                var ok = true;
                while (left > 0)
                {
                    var want = (int)Math.Min(buffer.Length, left);
                    var filled = 0;
                    while (filled < want)
                    {
                        var n = await partial.ReadAsync(buffer, filled, want - filled, cancellationToken).ConfigureAwait(false);
                        if (n == 0)
                        {
                            ok = false;
                            break;
                        }

                        filled += n;
                    }

                    if (!ok)
                    {
                        break;
                    }

                    chunkHash.Append(new ReadOnlySpan<byte>(buffer, 0, filled));
                    if (sha256 != null)
                    {
                        var copy = new byte[filled];
                        Buffer.BlockCopy(buffer, 0, copy, 0, filled);
                        bytes.Add(copy);
                    }

                    left -= filled;
                    activity?.Invoke();
                }

                if (!ok || chunkHash.GetCurrentHashAsUInt64() != expected[index])
                {
                    break;
                }

                chunkHash.Reset();
                foreach (var part in bytes)
                {
                    sha256!.AppendData(part);
                    md5?.AppendData(part);
                }

                good++;
            }

            return good;
        }

        /// <summary>
        /// Chunks written to a stream that sends ahead of its answers (<see cref="IWriteAcknowledgement"/>), waiting for
        /// the destination to confirm their last byte. Flushing at each chunk's end instead would empty the stream's
        /// pipeline once per chunk: over a 50 ms round trip, a 64 MiB SFTP upload in 4 MiB chunks took 4.3 s against
        /// 3.4 s without those flushes. Only the writer touches it.
        /// </summary>
        private sealed class DeferredCommits
        {
            private readonly IWriteAcknowledgement _acknowledgement;
            private readonly System.Collections.Generic.Queue<(int Index, ulong Checksum, long End)> _waiting =
                new System.Collections.Generic.Queue<(int, ulong, long)>();

            public DeferredCommits(IWriteAcknowledgement acknowledgement) => _acknowledgement = acknowledgement;

            /// <summary>Chunks written but not yet committed.</summary>
            public int Count => _waiting.Count;

            public void Add(int index, ulong checksum, long end) => _waiting.Enqueue((index, checksum, end));

            /// <summary>Commits, in order, the chunks whose bytes the destination has confirmed.</summary>
            /// <param name="all">The stream was just flushed: every chunk written is confirmed (checked all the same).</param>
            public void CommitConfirmed(Action<int, ulong, long>? commit, bool all)
            {
                if (_waiting.Count == 0)
                {
                    return;
                }

                var confirmed = _acknowledgement.AcknowledgedOffset;
                while (_waiting.Count > 0 && _waiting.Peek().End <= confirmed)
                {
                    var chunk = _waiting.Dequeue();
                    commit?.Invoke(chunk.Index, chunk.Checksum, chunk.End);
                }

                if (all && _waiting.Count > 0)
                {
                    // A plugin's bug; the chunk stays uncommitted, so a resume sends it again.
                    throw new PluginException(ErrorCode.Internal,
                        $"The destination's stream was flushed but confirms only {confirmed} bytes, short of the end of chunk {_waiting.Peek().Index} at {_waiting.Peek().End} (its {nameof(IWriteAcknowledgement)} is wrong).",
                        errorId: "AcknowledgementBehind");
                }
            }
        }

        private sealed class Segment
        {
            public Segment(byte[] buffer, int size)
            {
                Buffer = buffer;
                Size = size;
            }

            /// <summary>A pooled array: it may be longer than <see cref="Size"/>.</summary>
            public readonly byte[] Buffer;

            /// <summary>The bytes of <see cref="Buffer"/> the pipeline uses per segment.</summary>
            public readonly int Size;
            public int Count;
            public long Offset;
            public int ChunkIndex;
            public bool EndsChunk;
            public int References;
        }
    }
}
