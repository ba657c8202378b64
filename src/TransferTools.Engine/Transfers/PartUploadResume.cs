using System;
using System.Buffers;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The engine's side of <see cref="IPartUploadDestination"/> (an S3 multipart upload, which cannot be read back):
    /// describes the upload, and on a resume keeps only the parts the destination holds whose MD5 equals that of the
    /// source's bytes, read again, so every kept byte is proven, not trusted.
    /// </summary>
    internal static class PartUploadResume
    {
        /// <summary>The upload a transfer makes through a part-upload destination.</summary>
        public static PartUpload Describe(TransferRecord record, Uri temporary, Uri final, long total, string? sha256 = null, int? sourceMode = null) => new PartUpload
        {
            Temporary = temporary,
            Final = final,
            Length = total,
            ChunkSize = record.ChunkSize,
            Sha256 = sha256,
            // -NoPreserve: the object keeps neither (it is then compared by its upload time, as any object without them).
            SourceModified = record.NoPreserve ? null : record.SourceModified,
            SourceMode = record.NoPreserve ? null : sourceMode,
        };

        /// <summary>
        /// How many of the <paramref name="loggedChunks"/> chunks the destination holds, proven part by part against the
        /// source (a kept part ends on a chunk boundary); their bytes are fed to <paramref name="sha256"/>.
        /// </summary>
        public static async Task<int> KeepAsync(IPartUploadDestination destination, ITransferEndpoint source, OperationContext context, PartUpload upload,
            Uri sourceUri, string? sourceVersion, int loggedChunks, IncrementalHash sha256, System.Action? activity, TransferOptions options)
        {
            var parts = await destination.ListUploadedPartsAsync(context, upload, options).ConfigureAwait(false);
            var limit = (long)loggedChunks * upload.ChunkSize;
            if (upload.Length >= 0)
            {
                limit = Math.Min(limit, upload.Length);
            }

            long kept = 0;
            if (parts.Count == 0 || parts[0].Offset != 0)
            {
                return 0;
            }

            var token = context.CancellationToken;
            using var reader = await source.OpenReadAsync(context, sourceUri, 0, sourceVersion, options).ConfigureAwait(false);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            foreach (var part in parts)
            {
                var end = part.Offset + part.Length;
                var alignedEnd = end % upload.ChunkSize == 0 || end == upload.Length;
                if (part.Offset != kept || end > limit || !alignedEnd || part.Md5 is null || part.Length > int.MaxValue)
                {
                    break;
                }

                var buffer = ArrayPool<byte>.Shared.Rent((int)part.Length);
                try
                {
                    var filled = 0;
                    while (filled < part.Length)
                    {
                        var read = await reader.ReadAsync(buffer, filled, (int)part.Length - filled, token).ConfigureAwait(false);
                        if (read == 0)
                        {
                            break;
                        }

                        filled += read;
                        activity?.Invoke();
                    }

                    if (filled != part.Length)
                    {
                        break;
                    }

                    md5.AppendData(buffer, 0, filled);
                    if (!string.Equals(ToHex(md5.GetHashAndReset()), part.Md5, StringComparison.OrdinalIgnoreCase))
                    {
                        break;
                    }

                    sha256.AppendData(buffer, 0, filled);
                    kept = end;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            // The last kept part may end mid-chunk only at the content's end, where the chunk count rounds up.
            return (int)Math.Min(loggedChunks, (kept + upload.ChunkSize - 1) / upload.ChunkSize);
        }

        private static string ToHex(byte[] bytes) => BitConverter.ToString(bytes).Replace("-", "").ToLowerInvariant();
    }
}
