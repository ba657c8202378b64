using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// Server-side copies (<see cref="IServerSideCopy"/>): an object up to <c>CopyPartSize</c> (5 GiB, CopyObject's limit)
    /// is copied by one <c>CopyObject</c>, a larger one by a multipart upload whose parts are <c>UploadPartCopy</c> ranges
    /// of the source, <c>Parallelism</c> of them in flight. No byte passes through this machine. The copy keeps the
    /// source's metadata (<c>x-amz-meta-sha256</c>, <c>x-amz-meta-mtime</c>) and content type; every request is guarded
    /// by the source's ETag, so a source replaced meanwhile fails the copy (SourceChanged) instead of mixing versions.
    /// </summary>
    /// <remarks>
    /// A multipart copy is not journaled part by part: a copy interrupted in this process aborts its upload; one killed
    /// with the process is started again from the first part by the resume (the orphaned upload is left for the bucket's
    /// lifecycle rule). Parts are copied at the server's speed, so there is little to keep.
    /// </remarks>
    public sealed partial class S3ProtocolPlugin
    {
        /// <inheritdoc/>
        /// <remarks>True when both locations resolve to the same service URL, region and identity (profile, keys).</remarks>
        public bool CanCopyWithin(Uri source, Uri destination, TransferOptions options)
        {
            if (!string.Equals(source.Scheme, "s3", StringComparison.OrdinalIgnoreCase) || !string.Equals(destination.Scheme, "s3", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            try
            {
                var from = S3Settings.Read(Configuration, options.Custom, S3Location.Parse(source).Profile);
                var to = S3Settings.Read(Configuration, options.Custom, S3Location.Parse(destination).Profile);
                return string.Equals(from.CacheKey, to.CacheKey, StringComparison.Ordinal);
            }
            catch (PluginException)
            {
                return false;
            }
        }

        /// <inheritdoc/>
        public async Task<RemoteFileInfo> CopyWithinAsync(OperationContext context, Uri source, string? expectedVersion, Uri destination, bool overwrite,
            TransferOptions options)
        {
            var from = S3Location.Parse(source);
            var to = S3Location.Parse(destination);
            var (client, settings) = Connect(to, options);
            var token = context.CancellationToken;
            try
            {
                if (!overwrite)
                {
                    await RequireAbsentAsync(client, to, token).ConfigureAwait(false);
                }

                var head = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest
                {
                    BucketName = from.Bucket,
                    Key = from.Key,
                    EtagToMatch = string.IsNullOrEmpty(expectedVersion) ? null : expectedVersion,
                }, token).ConfigureAwait(false);
                var etag = head.ETag;
                if (head.ContentLength <= settings.CopyPartSize)
                {
                    await client.CopyObjectAsync(new CopyObjectRequest
                    {
                        SourceBucket = from.Bucket,
                        SourceKey = from.Key,
                        DestinationBucket = to.Bucket,
                        DestinationKey = to.Key,
                        ETagToMatch = etag,
                        MetadataDirective = S3MetadataDirective.COPY,
                    }, token).ConfigureAwait(false);
                }
                else
                {
                    await CopyInPartsAsync(client, settings, from, to, head, context).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (S3Errors.IsPreconditionFailed(e))
            {
                throw new PluginException(ErrorCode.SourceChanged,
                    $"'{from.Display}' was replaced at {settings.EndpointDisplay} since the transfer began (its ETag is no longer {expectedVersion}); it was not copied.",
                    e, "SourceChanged", from.Display);
            }
            catch (Exception e) when (!(e is PluginException))
            {
                throw S3Errors.Map(e, settings, "copy", to.Display, token);
            }

            return await GetInfoAsync(context, destination, options).ConfigureAwait(false);
        }

        /// <summary>A multipart upload at <paramref name="to"/> whose parts are ranges of <paramref name="from"/> copied by the server.</summary>
        /// <param name="head">The source's look-up: its length, ETag (every part is guarded by it), metadata and content type.</param>
        /// <param name="metadata">Changes to the metadata copied from the source (the SHA-256 set on a freshly uploaded object), or null.</param>
        internal static async Task CopyInPartsAsync(AmazonS3Client client, S3Settings settings, S3Location from, S3Location to, GetObjectMetadataResponse head,
            OperationContext context, Action<MetadataCollection>? metadata = null)
        {
            var token = context.CancellationToken;
            var start = new InitiateMultipartUploadRequest { BucketName = to.Bucket, Key = to.Key, ContentType = head.Headers.ContentType };
            foreach (var key in head.Metadata.Keys)
            {
                // (Keys come as x-amz-meta-NAME; the request adds the prefix only where it is missing.)
                start.Metadata[key] = head.Metadata[key];
            }

            metadata?.Invoke(start.Metadata);

            var upload = await client.InitiateMultipartUploadAsync(start, token).ConfigureAwait(false);
            var length = head.ContentLength;
            var partSize = settings.CopyPartSize;
            var count = (int)((length + partSize - 1) / partSize);
            var etags = new PartETag[count];
            try
            {
                using var slots = new SemaphoreSlim(settings.Parallelism, settings.Parallelism);
                var parts = Enumerable.Range(1, count).Select(async number =>
                {
                    await slots.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        var first = (number - 1) * partSize;
                        var copied = await client.CopyPartAsync(new CopyPartRequest
                        {
                            SourceBucket = from.Bucket,
                            SourceKey = from.Key,
                            DestinationBucket = to.Bucket,
                            DestinationKey = to.Key,
                            UploadId = upload.UploadId,
                            PartNumber = number,
                            FirstByte = first,
                            LastByte = Math.Min(length, first + partSize) - 1,
                            ETagToMatch = new List<string> { head.ETag },
                        }, token).ConfigureAwait(false);
                        etags[number - 1] = new PartETag(number, copied.ETag);
                    }
                    finally
                    {
                        slots.Release();
                    }
                }).ToList();
                await Task.WhenAll(parts).ConfigureAwait(false);
                await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = to.Bucket,
                    Key = to.Key,
                    UploadId = upload.UploadId,
                    PartETags = etags.ToList(),
                }, token).ConfigureAwait(false);
            }
            catch
            {
                // Nothing half-copied is left billed; the object never appeared.
                try
                {
                    await client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = to.Bucket, Key = to.Key, UploadId = upload.UploadId },
                        CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception abort) when (!(abort is OutOfMemoryException))
                {
                    context.Logger.Log(LogLevel.Warning, $"The multipart copy to '{to.Display}' failed and its upload {upload.UploadId} could not be aborted: {abort.Message}");
                }

                throw;
            }
        }
    }
}
