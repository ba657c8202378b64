using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// Uploads to S3 that survive a killed process. Up to <c>MultipartThreshold</c> (16 MiB) an object goes up in one
    /// PUT at completion; above it, as a multipart upload on the final key whose parts hold whole engine chunks (at least
    /// 5 MiB, at most 10,000 parts: the part size grows for big files), several in flight, each sent with its
    /// Content-MD5 and its returned ETag checked.
    /// </summary>
    /// <remarks>
    /// <para>The upload id is written to a small file under the registration's data folder, named after the SHA-256 of
    /// the transfer's temporary location, before the first part is sent; a resume in a new process reads it, lists the
    /// parts the server holds (ListParts), and the engine keeps those whose ETag equals the MD5 of the source's bytes read
    /// again. The object appears only at CompleteMultipartUpload; its SHA-256 and the source's modification time are
    /// then set as <c>x-amz-meta-sha256</c> and <c>x-amz-meta-mtime</c> by a server-side copy onto itself (S3 fixes
    /// metadata when an upload starts, before the SHA-256 is known): CopyObject up to <c>CopyPartSize</c> (5 GiB), a
    /// multipart copy of UploadPartCopy ranges above it. Deleting the temporary (Stop-Transfer) aborts the
    /// upload, so no orphan parts are billed.</para>
    /// </remarks>
    internal sealed class S3PartUploads
    {
        internal const long MinPartSize = 5L * 1024 * 1024;
        internal const long MaxPartSize = 5L * 1024 * 1024 * 1024;
        internal const int MaxParts = 10000;
        private readonly S3ProtocolPlugin _plugin;
        private readonly string _directory;
        private readonly ConcurrentDictionary<string, Pending> _pending = new ConcurrentDictionary<string, Pending>(StringComparer.Ordinal);

        public S3PartUploads(S3ProtocolPlugin plugin, string directory)
        {
            _plugin = plugin;
            _directory = directory;
        }

        /// <summary>The bytes an upload started in this process holds, or -1 when there is none for <paramref name="temporary"/>.</summary>
        public long PendingLength(Uri temporary) => _pending.TryGetValue(temporary.ToString(), out var p) ? p.Length : -1;

        /// <summary>The part size for a content length: whole chunks, at least 5 MiB, at most 10,000 parts.</summary>
        public static long PartSize(long length, int chunkSize)
        {
            var chunk = Math.Max(1, chunkSize);
            var chunks = (MinPartSize + chunk - 1) / chunk;
            if (length > 0)
            {
                var perPart = (length + MaxParts - 1) / MaxParts;
                chunks = Math.Max(chunks, (perPart + chunk - 1) / chunk);
            }

            return Math.Min(chunks * chunk, Math.Max(chunk, MaxPartSize / chunk * chunk));
        }

        public async Task<Stream> OpenAsync(OperationContext context, PartUpload upload, long offset, TransferOptions options)
        {
            var target = S3Location.Parse(upload.Final);
            var (client, settings) = _plugin.Connect(target, options);
            var key = upload.Temporary.ToString();
            var token = context.CancellationToken;
            if (upload.Length >= 0 && upload.Length <= settings.MultipartThreshold)
            {
                var single = new Pending(target, null, 0) { Single = new MemoryStream() };
                _pending[key] = single;
                return new S3SinglePutStream(single);
            }

            var partSize = PartSize(upload.Length, upload.ChunkSize);
            if (offset % partSize != 0 && offset != upload.Length)
            {
                throw new PluginException(ErrorCode.Internal, $"A multipart upload continues at a part boundary ({partSize} bytes), not at {offset}.",
                    errorId: "S3PartMisaligned", target: target.Display);
            }

            var record = ReadRecord(upload.Temporary);
            if (record != null && (record.PartSize != partSize || record.Target.Key != target.Key || record.Target.Bucket != target.Bucket))
            {
                await AbortAsync(client, upload.Temporary, token).ConfigureAwait(false);
                record = null;
            }

            if (record is null)
            {
                if (offset != 0)
                {
                    throw new PluginException(ErrorCode.InvalidState, $"The multipart upload of '{target.Display}' is gone; it must start again.",
                        errorId: "S3UploadGone", target: target.Display);
                }

                try
                {
                    var request = new InitiateMultipartUploadRequest { BucketName = target.Bucket, Key = target.Key };
                    S3ProtocolPlugin.AddContentMetadata(request.Metadata, null, upload.SourceModified, upload.SourceMode);
                    var started = await client.InitiateMultipartUploadAsync(request, token).ConfigureAwait(false);
                    record = new Pending(target, started.UploadId, partSize);
                    WriteRecord(upload.Temporary, record);
                }
                catch (Exception e)
                {
                    throw S3Errors.Map(e, settings, "upload", target.Display, token);
                }
            }

            _pending[key] = record;
            record.Length = offset;
            return new S3MultipartStream(client, settings, record, offset, upload.Length, settings.Parallelism, token);
        }

        public async Task<IReadOnlyList<UploadedPart>> ListPartsAsync(OperationContext context, PartUpload upload, TransferOptions options)
        {
            var record = ReadRecord(upload.Temporary);
            var result = new List<UploadedPart>();
            if (record is null)
            {
                return result;
            }

            var (client, settings) = _plugin.Connect(record.Target, options);
            var parts = await ListServerPartsAsync(client, settings, record, context.CancellationToken).ConfigureAwait(false);
            if (parts is null)
            {
                DeleteRecord(upload.Temporary);
                return result;
            }

            long offset = 0;
            for (var number = 1; parts.TryGetValue(number, out var part); number++)
            {
                var size = part.Size ?? -1;
                var isLast = upload.Length >= 0 && offset + size == upload.Length;
                if (size <= 0 || (size != record.PartSize && !isLast))
                {
                    break;
                }

                result.Add(new UploadedPart { Offset = offset, Length = size, Md5 = S3ProtocolPlugin.EtagMd5(part.ETag) });
                offset += size;
                if (isLast)
                {
                    break;
                }
            }

            return result;
        }

        public async Task CompleteAsync(OperationContext context, PartUpload upload, bool overwrite, TransferOptions options)
        {
            var target = S3Location.Parse(upload.Final);
            var (client, settings) = _plugin.Connect(target, options);
            var token = context.CancellationToken;
            _pending.TryGetValue(upload.Temporary.ToString(), out var pending);
            try
            {
                if (!overwrite)
                {
                    await S3ProtocolPlugin.RequireAbsentAsync(client, target, token).ConfigureAwait(false);
                }

                if (pending?.Single != null)
                {
                    var bytes = pending.Single.ToArray();
                    using var md5 = MD5.Create();
                    var request = new PutObjectRequest
                    {
                        BucketName = target.Bucket,
                        Key = target.Key,
                        InputStream = new MemoryStream(bytes, writable: false),
                        MD5Digest = Convert.ToBase64String(md5.ComputeHash(bytes)),
                    };
                    S3ProtocolPlugin.AddContentMetadata(request.Metadata, upload.Sha256, upload.SourceModified, upload.SourceMode);
                    await client.PutObjectAsync(request, token).ConfigureAwait(false);
                    _pending.TryRemove(upload.Temporary.ToString(), out _);
                    return;
                }

                var record = ReadRecord(upload.Temporary) ?? throw new PluginException(ErrorCode.InvalidState,
                    $"The multipart upload of '{target.Display}' is not known here any more; the transfer must start again.", errorId: "S3UploadGone", target: target.Display);
                var listed = await ListPartsAsync(context, upload, options).ConfigureAwait(false);
                var held = listed.Sum(p => p.Length);
                if (upload.Length >= 0 && held != upload.Length)
                {
                    throw new PluginException(ErrorCode.ChecksumMismatch, $"The server holds {held} bytes of '{target.Display}' in parts; {upload.Length} were sent.",
                        errorId: "SizeMismatch", target: target.Display);
                }

                var parts = await ListServerPartsAsync(client, settings, record, token).ConfigureAwait(false) ?? new SortedDictionary<int, PartDetail>();
                await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = target.Bucket,
                    Key = target.Key,
                    UploadId = record.UploadId,
                    PartETags = Enumerable.Range(1, listed.Count).Select(n => new PartETag(n, parts[n].ETag)).ToList(),
                }, token).ConfigureAwait(false);
                DeleteRecord(upload.Temporary);
                _pending.TryRemove(upload.Temporary.ToString(), out _);
                if (!string.IsNullOrEmpty(upload.Sha256) && held > settings.CopyPartSize)
                {
                    // Beyond CopyObject's 5 GiB (or CopyPartSize): the object is copied onto itself in parts, with the metadata.
                    var head = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = target.Bucket, Key = target.Key }, token).ConfigureAwait(false);
                    await S3ProtocolPlugin.CopyInPartsAsync(client, settings, target, target, head, context,
                        m => S3ProtocolPlugin.AddContentMetadata(m, upload.Sha256, upload.SourceModified, upload.SourceMode)).ConfigureAwait(false);
                }
                else if (!string.IsNullOrEmpty(upload.Sha256))
                {
                    var copy = new CopyObjectRequest
                    {
                        SourceBucket = target.Bucket,
                        SourceKey = target.Key,
                        DestinationBucket = target.Bucket,
                        DestinationKey = target.Key,
                        MetadataDirective = S3MetadataDirective.REPLACE,
                    };
                    S3ProtocolPlugin.AddContentMetadata(copy.Metadata, upload.Sha256, upload.SourceModified, upload.SourceMode);
                    await client.CopyObjectAsync(copy, token).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "delivery", target.Display, token);
            }
        }

        /// <summary>Aborts the pending upload of a temporary location, if any; forgets it either way.</summary>
        public async Task AbortAsync(AmazonS3Client client, Uri temporary, CancellationToken token)
        {
            _pending.TryRemove(temporary.ToString(), out _);
            var record = ReadRecord(temporary);
            if (record?.UploadId is null)
            {
                return;
            }

            try
            {
                await client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = record.Target.Bucket, Key = record.Target.Key, UploadId = record.UploadId }, token)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsNotFound(e))
            {
                // Already aborted or completed.
            }

            DeleteRecord(temporary);
        }

        /// <summary>The server's parts by number, or null when the upload does not exist any more.</summary>
        private static async Task<SortedDictionary<int, PartDetail>?> ListServerPartsAsync(AmazonS3Client client, S3Settings settings, Pending record, CancellationToken token)
        {
            var parts = new SortedDictionary<int, PartDetail>();
            try
            {
                string? marker = null;
                do
                {
                    var page = await client.ListPartsAsync(new ListPartsRequest
                    {
                        BucketName = record.Target.Bucket,
                        Key = record.Target.Key,
                        UploadId = record.UploadId,
                        PartNumberMarker = marker,
                    }, token).ConfigureAwait(false);
                    foreach (var part in page.Parts ?? new List<PartDetail>())
                    {
                        parts[part.PartNumber ?? 0] = part;
                    }

                    marker = page.IsTruncated == true ? page.NextPartNumberMarker?.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
                }
                while (marker != null);
            }
            catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
            {
                return null;
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "part listing", record.Target.Display, token);
            }

            return parts;
        }

        private string RecordPath(Uri temporary)
        {
            using var sha = SHA256.Create();
            return Path.Combine(_directory, S3ProtocolPlugin.ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes(temporary.ToString()))) + ".upload");
        }

        private Pending? ReadRecord(Uri temporary)
        {
            if (_pending.TryGetValue(temporary.ToString(), out var known) && known.UploadId != null)
            {
                return known;
            }

            var path = RecordPath(temporary);
            if (!File.Exists(path))
            {
                return null;
            }

            var lines = File.ReadAllLines(path);
            if (lines.Length < 5 || lines[0] != "s3-upload-1" || !long.TryParse(lines[4], out var partSize))
            {
                return null;
            }

            var target = S3Location.Parse(new Uri(lines[1]));
            return new Pending(target, lines[3], partSize);
        }

        private void WriteRecord(Uri temporary, Pending record)
        {
            // Before the first part is sent, and durably: a resume after kill -9 finds the upload through it.
            Directory.CreateDirectory(_directory);
            var path = RecordPath(temporary);
            var staging = path + ".new";
            var text = string.Join("\n", "s3-upload-1", "s3://" + record.Target.Bucket + "/" + Uri.EscapeDataString(record.Target.Key).Replace("%2F", "/"),
                temporary.ToString(), record.UploadId, record.PartSize.ToString(System.Globalization.CultureInfo.InvariantCulture)) + "\n";
            using (var file = new FileStream(staging, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                file.Write(bytes, 0, bytes.Length);
                file.Flush(flushToDisk: true);
            }

            if (File.Exists(path))
            {
                File.Replace(staging, path, null);
            }
            else
            {
                File.Move(staging, path);
            }
        }

        private void DeleteRecord(Uri temporary)
        {
            try
            {
                File.Delete(RecordPath(temporary));
            }
            catch (IOException)
            {
                // An upload that is gone on the server is forgotten at the next ListParts anyway.
            }
        }

        /// <summary>An upload in progress (or remembered from an earlier process).</summary>
        internal sealed class Pending
        {
            public Pending(S3Location target, string? uploadId, long partSize)
            {
                Target = target;
                UploadId = uploadId;
                PartSize = partSize;
            }

            public S3Location Target { get; }
            public string? UploadId { get; }
            public long PartSize { get; }
            /// <summary>The whole object, for one that goes up in a single PUT.</summary>
            public MemoryStream? Single { get; set; }
            private long _length;
            /// <summary>Bytes the destination holds (buffered for a single PUT, confirmed parts for multipart).</summary>
            public long Length
            {
                get => Single?.Length ?? Interlocked.Read(ref _length);
                set => Interlocked.Exchange(ref _length, value);
            }
        }
    }
}
