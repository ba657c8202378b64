using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// A resume proves that the chunks it keeps are still its source's, not only the destination's: a source rewritten
    /// with its old size and time restored (or a server announcing stale validators) would otherwise be spliced, old
    /// chunks kept and new ones appended, and called verified. A local source is read again (cheap) and each kept chunk
    /// compared with the chunk log, its bytes feeding the transfer's SHA-256; a remote one is sampled: its last kept chunk
    /// and one other chosen at random are read again and compared before the rest is trusted.
    /// </summary>
    internal static class KeptChunkProof
    {
        /// <summary>
        /// Re-reads the first <paramref name="keep"/> chunks from the local source, checking each against
        /// <paramref name="chunks"/> and feeding <paramref name="sha256"/> with the source's bytes.
        /// </summary>
        /// <returns>How many leading chunks the source still holds (at most <paramref name="keep"/>).</returns>
        public static async Task<int> RehashLocalAsync(ITransferEndpoint source, OperationContext context, Uri sourceUri, string? version,
            TransferOptions options, List<ulong> chunks, int keep, int chunkSize, long total, IncrementalHash sha256, System.Action activity, string shortId)
        {
            using var reader = await source.OpenReadAsync(context, sourceUri, 0, version, options).ConfigureAwait(false);
            var held = await ChunkPipeline.VerifyPartialAsync(reader, total < 0 ? long.MaxValue : total, chunks.GetRange(0, keep), chunkSize, total, sha256,
                activity, context.CancellationToken).ConfigureAwait(false);
            if (held < keep)
            {
                context.Logger.Log(LogLevel.Warning,
                    $"Transfer {shortId}: chunk {held} of the source no longer holds what was sent, though its size and time did not change; sending again from there.");
            }

            return held;
        }

        /// <summary>
        /// Reads the last of the <paramref name="keep"/> kept chunks and one other chosen at random from the remote source
        /// and compares them with <paramref name="chunks"/>.
        /// </summary>
        /// <returns>True when both still match.</returns>
        public static async Task<bool> SampleRemoteAsync(ITransferEndpoint source, OperationContext context, Uri sourceUri, string? version,
            TransferOptions options, List<ulong> chunks, int keep, int chunkSize, long total, System.Action activity)
        {
            var last = keep - 1;
            var other = keep > 1 ? RandomBelow(last) : last;
            var buffer = new byte[Math.Min(chunkSize, ChunkPipeline.MaxSegmentSize)];
            var checksum = new ChunkChecksum();
            foreach (var index in other == last ? new[] { last } : new[] { other, last })
            {
                var start = (long)index * chunkSize;
                var left = total < 0 ? chunkSize : Math.Min(chunkSize, total - start);
                checksum.Reset();
                using var reader = await source.OpenReadAsync(context, sourceUri, start, version, options).ConfigureAwait(false);
                while (left > 0)
                {
                    var n = await reader.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, left), context.CancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return false;
                    }

                    checksum.Append(new ReadOnlySpan<byte>(buffer, 0, n));
                    left -= n;
                    activity();
                }

                if (checksum.GetCurrentHashAsUInt64() != chunks[index])
                {
                    return false;
                }
            }

            return true;
        }

        private static int RandomBelow(int bound)
        {
            var bytes = new byte[4];
            using (var random = RandomNumberGenerator.Create())
            {
                random.GetBytes(bytes);
            }

            return (int)(BitConverter.ToUInt32(bytes, 0) % (uint)bound);
        }
    }
}
