using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// An S3 bucket (and optional key prefix) as a TransferTools store, on AWS S3 or any S3-compatible service. See
    /// <see cref="ObjectStoreNames"/> for the key layout.
    /// </summary>
    /// <remarks>
    /// <para>Configuration: <c>Bucket</c> (created when missing), optional <c>Prefix</c> (every key lives under it), and
    /// the connection settings of the S3 protocol plugin (<c>ServiceUrl</c>, <c>Region</c>, <c>ForcePathStyle</c>,
    /// <c>AccessKeyId</c> + <c>SecretAccessKey</c> (+ <c>SessionToken</c>) or <c>Profile</c>, <c>ChecksumMode</c>,
    /// <c>MultipartThreshold</c>, <c>Parallelism</c>), defaulting to the AWS standard chain.</para>
    /// <para>An item's content type, SHA-256 (<c>x-amz-meta-sha256</c>), creation time and custom metadata
    /// (<c>x-amz-meta-x&lt;hex of the key&gt;</c>, percent-encoded values) travel with its object. Listing uses
    /// ListObjectsV2 with StartAfter, 1,000 keys a request, and gives name, id, size and time (S3 listings carry no
    /// metadata: Get-StorageItem by id reads it). Stats list every item: one request per 1,000 items.</para>
    /// </remarks>
    [TransferPlugin("S3Bucket", PluginType.Storage,
        Description = "An S3 bucket (and optional prefix) on AWS S3 or an S3-compatible service, one per registration.",
        SecretKeys = new[] { "SecretAccessKey", "SessionToken" })]
    public sealed class S3StoragePlugin : IStoragePlugin
    {
        /// <summary>S3's limit on a key (UTF-8 bytes).</summary>
        private const int MaxKeyLength = 1024;

        private const string CreatedKey = "ttcreated";
        private const string PointerKey = "ttkey";
        private const int ListPageSize = 1000;
        private AmazonS3Client? _client;
        private S3Settings? _settings;
        private string _bucket = "";
        private string _root = "";

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(S3StoragePlugin), "TransferTools contributors", "MIT");

        private AmazonS3Client Client => _client ?? throw new PluginException(ErrorCode.LifecycleError, "The S3Bucket plugin is not initialized.", errorId: "S3NotInitialized");

        private S3Settings Settings => _settings!;

        /// <inheritdoc/>
        public async Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            _bucket = config.TryGetValue("Bucket", out var b) && !string.IsNullOrWhiteSpace(b) ? b.Trim() : "";
            if (_bucket.Length < 3 || _bucket.Length > 63 || !_bucket.All(c => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    _bucket.Length == 0 ? "The configuration key Bucket is required (the S3 bucket to use)." : $"'{_bucket}' is not a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens.",
                    errorId: "S3BucketInvalid", target: "Bucket");
            }

            var prefix = config.TryGetValue("Prefix", out var p) && !string.IsNullOrWhiteSpace(p) ? p.Trim().Trim('/') : "";
            _root = prefix.Length == 0 ? "" : KeyValidation.RequireSafe(prefix, "prefix", 512, allowSlash: true) + "/";
            _settings = S3Settings.Read(config);
            _client = _settings.CreateClient();
            var token = context.CancellationToken;
            try
            {
                await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = _root, MaxKeys = 1 }, token).ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsNoSuchBucket(e))
            {
                try
                {
                    await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, token).ConfigureAwait(false);
                }
                catch (Exception inner)
                {
                    throw S3Errors.Map(inner, Settings, "bucket creation", "s3://" + _bucket, token);
                }
            }
            catch (Exception e) when (e is AmazonS3Exception s && !S3Errors.IsAuthentication(s) && s.StatusCode != System.Net.HttpStatusCode.Forbidden
                                      && (int)s.StatusCode < 500 && !S3Errors.IsNotFound(s) || e is Amazon.Runtime.AmazonUnmarshallingException)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"{Settings.EndpointDisplay} does not answer as an S3 service (check ServiceUrl).", e, "S3EndpointNotS3", "ServiceUrl");
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, Settings, "bucket check", "s3://" + _bucket, token);
            }
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context)
        {
            _client?.Dispose();
            _client = null;
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public async Task<string> StoreAsync(OperationContext context, Stream content, ItemMetadata metadata)
        {
            var name = KeyValidation.RequireSafe(metadata.Name, "item name", 1024, allowSlash: true);
            var mime = string.IsNullOrEmpty(metadata.MimeType) ? "application/octet-stream" : metadata.MimeType;
            var id = Guid.NewGuid().ToString("n");
            var key = _root + ObjectStoreNames.ItemKey(name, id);
            if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxKeyLength)
            {
                throw new PluginException(ErrorCode.InvalidArgument, "The item name is too long for S3 (keys are at most 1,024 bytes).", errorId: "InvalidItemName", target: name);
            }

            var objectMetadata = ObjectStoreNames.WriteCustom(metadata.Custom, out var size);
            if (size > 1800)
            {
                throw new PluginException(ErrorCode.LimitExceeded, "Custom metadata is too large for S3 (2 KB of encoded keys and values).", errorId: "MetadataTooLarge", target: name);
            }

            var token = context.CancellationToken;
            var pointer = _root + ObjectStoreNames.IdKey(id);
            var created = DateTimeOffset.UtcNow;
            objectMetadata[CreatedKey] = created.ToString("o", CultureInfo.InvariantCulture);
            try
            {
                var pointerRequest = new PutObjectRequest { BucketName = _bucket, Key = pointer, InputStream = new MemoryStream(Array.Empty<byte>()) };
                pointerRequest.Metadata[PointerKey] = ObjectStoreNames.EncodeValue(key);
                await Client.PutObjectAsync(pointerRequest, token).ConfigureAwait(false);
                var (length, sha256) = await UploadAsync(key, content, mime, objectMetadata, metadata.Sha256, token).ConfigureAwait(false);
                metadata.Name = name;
                metadata.MimeType = mime;
                metadata.Size = length;
                metadata.Sha256 = sha256;
                metadata.CreatedAt = created;
                return id;
            }
            catch (Exception e)
            {
                try
                {
                    await Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = pointer }, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // A pointer without content reads as not found.
                }

                throw S3Errors.Map(e, Settings, "store", name, token);
            }
        }

        /// <inheritdoc/>
        public async Task<RetrievedItem> RetrieveAsync(OperationContext context, string id)
        {
            var key = await FindKeyAsync(id, context.CancellationToken).ConfigureAwait(false);
            try
            {
                var response = await Client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, context.CancellationToken).ConfigureAwait(false);
                var parsed = ObjectStoreNames.Parse(key.Substring(_root.Length));
                var metadata = ToMetadata(parsed?.Name ?? "", response.ContentLength, response.Headers.ContentType, response.LastModified, response.Metadata);
                return new RetrievedItem(new S3ReadStream(response, id, Settings, metadata.Sha256), metadata);
            }
            catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
            {
                throw NotFound(id);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, Settings, "read", id, context.CancellationToken);
            }
        }

        /// <inheritdoc/>
        public async Task DeleteAsync(OperationContext context, string id)
        {
            var key = await FindKeyAsync(id, context.CancellationToken).ConfigureAwait(false);
            try
            {
                await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, context.CancellationToken).ConfigureAwait(false);
                await Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, context.CancellationToken).ConfigureAwait(false);
                await Client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = _root + ObjectStoreNames.IdKey(id) }, context.CancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
            {
                throw NotFound(id);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, Settings, "delete", id, context.CancellationToken);
            }
        }

        /// <inheritdoc/>
        public async Task<IReadOnlyList<Item>> ListAsync(OperationContext context, ListFilter filter)
        {
            var prefix = string.IsNullOrEmpty(filter.Prefix) ? "" : KeyValidation.RequireSafe(filter.Prefix, "prefix", 1024, allowSlash: true);
            var limit = filter.Limit <= 0 ? ListPageSize : filter.Limit;
            var items = new List<Item>();
            var startAfter = filter.StartAfter is null ? null : _root + ObjectStoreNames.ItemKey(filter.StartAfter.Name, filter.StartAfter.Id);
            string? continuation = null;
            try
            {
                do
                {
                    var page = await Client.ListObjectsV2Async(new ListObjectsV2Request
                    {
                        BucketName = _bucket,
                        Prefix = _root + ObjectStoreNames.ListPrefix(prefix),
                        StartAfter = continuation is null ? startAfter : null,
                        ContinuationToken = continuation,
                        MaxKeys = Math.Min(ListPageSize, limit - items.Count),
                    }, context.CancellationToken).ConfigureAwait(false);
                    foreach (var o in page.S3Objects ?? new List<S3Object>())
                    {
                        var parsed = ObjectStoreNames.Parse(o.Key.Substring(_root.Length));
                        if (parsed is null || (filter.StartAfter != null && ListOrder.Compare(parsed.Value.Name, parsed.Value.Id, filter.StartAfter.Name, filter.StartAfter.Id) <= 0))
                        {
                            continue;
                        }

                        items.Add(new Item
                        {
                            Id = parsed.Value.Id,
                            Metadata = new ItemMetadata
                            {
                                Name = parsed.Value.Name,
                                Size = o.Size ?? 0,
                                CreatedAt = o.LastModified.HasValue ? new DateTimeOffset(o.LastModified.Value.ToUniversalTime(), TimeSpan.Zero) : default,
                            },
                        });
                    }

                    continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
                }
                while (continuation != null && items.Count < limit);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, Settings, "list", "s3://" + _bucket + "/" + _root, context.CancellationToken);
            }

            return items;
        }

        /// <inheritdoc/>
        public async Task<StorageStats> StatsAsync(OperationContext context)
        {
            var stats = new StorageStats();
            string? continuation = null;
            try
            {
                do
                {
                    var page = await Client.ListObjectsV2Async(new ListObjectsV2Request
                    {
                        BucketName = _bucket,
                        Prefix = _root + ObjectStoreNames.ItemsPrefix,
                        ContinuationToken = continuation,
                    }, context.CancellationToken).ConfigureAwait(false);
                    foreach (var o in page.S3Objects ?? new List<S3Object>())
                    {
                        if (ObjectStoreNames.Parse(o.Key.Substring(_root.Length)) != null)
                        {
                            stats.TotalItems++;
                            stats.TotalSize += o.Size ?? 0;
                        }
                    }

                    continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
                }
                while (continuation != null);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, Settings, "measure", "s3://" + _bucket + "/" + _root, context.CancellationToken);
            }

            return stats;
        }

        private async Task<(long Length, string Sha256)> UploadAsync(string key, Stream content, string mime, Dictionary<string, string> objectMetadata,
            string? expectedSha256, CancellationToken token)
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var threshold = (int)Math.Min(Settings.MultipartThreshold, 64L * 1024 * 1024);
            var first = ArrayPool<byte>.Shared.Rent(threshold);
            try
            {
                var filled = 0;
                int read;
                while (filled < threshold && (read = await content.ReadAsync(first, filled, threshold - filled, token).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                }

                sha.AppendData(first, 0, filled);
                if (filled < threshold)
                {
                    var digest = Hex(sha.GetHashAndReset());
                    CheckExpected(digest, expectedSha256);
                    using var md5 = MD5.Create();
                    var put = new PutObjectRequest
                    {
                        BucketName = _bucket,
                        Key = key,
                        ContentType = mime,
                        InputStream = new MemoryStream(first, 0, filled, writable: false),
                        MD5Digest = Convert.ToBase64String(md5.ComputeHash(first, 0, filled)),
                    };
                    Fill(put.Metadata, objectMetadata, digest);
                    await Client.PutObjectAsync(put, token).ConfigureAwait(false);
                    return (filled, digest);
                }

                // Larger: a multipart upload (parts of 8 MiB, several in flight), then the SHA-256 set by a copy onto itself.
                var started = await Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = key, ContentType = mime }, token).ConfigureAwait(false);
                var upload = new S3PartUploads.Pending(S3Location.Of(_bucket, key), started.UploadId, S3PartUploads.PartSize(-1, 8 * 1024 * 1024));
                long length = filled;
                try
                {
                    using (var parts = new S3MultipartStream(Client, Settings, upload, 0, -1, Settings.Parallelism, token))
                    {
                        await parts.WriteAsync(first, 0, filled, token).ConfigureAwait(false);
                        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
                        try
                        {
                            while ((read = await content.ReadAsync(buffer, 0, buffer.Length, token).ConfigureAwait(false)) > 0)
                            {
                                sha.AppendData(buffer, 0, read);
                                await parts.WriteAsync(buffer, 0, read, token).ConfigureAwait(false);
                                length += read;
                            }
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                        }

                        await parts.FlushAsync(token).ConfigureAwait(false);
                    }

                    var digest = Hex(sha.GetHashAndReset());
                    CheckExpected(digest, expectedSha256);
                    var listed = await Client.ListPartsAsync(new ListPartsRequest { BucketName = _bucket, Key = key, UploadId = started.UploadId }, token).ConfigureAwait(false);
                    await Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                    {
                        BucketName = _bucket,
                        Key = key,
                        UploadId = started.UploadId,
                        PartETags = listed.Parts.OrderBy(x => x.PartNumber).Select(x => new PartETag(x.PartNumber ?? 0, x.ETag)).ToList(),
                    }, token).ConfigureAwait(false);
                    var copy = new CopyObjectRequest
                    {
                        SourceBucket = _bucket, SourceKey = key, DestinationBucket = _bucket, DestinationKey = key,
                        MetadataDirective = S3MetadataDirective.REPLACE, ContentType = mime,
                    };
                    Fill(copy.Metadata, objectMetadata, digest);
                    await Client.CopyObjectAsync(copy, token).ConfigureAwait(false);
                    return (length, digest);
                }
                catch
                {
                    try
                    {
                        await Client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = started.UploadId }, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // The original failure matters; an orphan upload expires with the bucket's lifecycle rules.
                    }

                    throw;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(first);
            }
        }

        private static void CheckExpected(string digest, string? expected)
        {
            if (!string.IsNullOrEmpty(expected) && !string.Equals(expected, digest, StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.ChecksumMismatch, $"The content's SHA-256 is {digest}, not the expected {expected}; nothing was stored.", errorId: "ItemChecksumMismatch");
            }
        }

        private static void Fill(MetadataCollection target, Dictionary<string, string> custom, string sha256)
        {
            foreach (var pair in custom)
            {
                target[pair.Key] = pair.Value;
            }

            target[S3ProtocolPlugin.ShaMetadata] = sha256;
        }

        private async Task<string> FindKeyAsync(string id, CancellationToken token)
        {
            KeyValidation.RequireSafe(id, "item id", 256, allowSlash: false);
            if (id.Length != 32 || !id.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            {
                throw NotFound(id);
            }

            try
            {
                var pointer = await Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = _root + ObjectStoreNames.IdKey(id) }, token).ConfigureAwait(false);
                var encoded = pointer.Metadata[PointerKey];
                var key = string.IsNullOrEmpty(encoded) ? null : ObjectStoreNames.DecodeValue(encoded);
                if (key is null || !key.StartsWith(_root, StringComparison.Ordinal) || ObjectStoreNames.Parse(key.Substring(_root.Length))?.Id != id)
                {
                    throw NotFound(id);
                }

                return key;
            }
            catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
            {
                throw NotFound(id);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, Settings, "find", id, token);
            }
        }

        private static ItemMetadata ToMetadata(string name, long length, string? contentType, DateTime? lastModified, MetadataCollection metadata)
        {
            var raw = metadata.Keys.ToDictionary(k => k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k.Substring(11) : k, k => metadata[k], StringComparer.OrdinalIgnoreCase);
            var result = new ItemMetadata
            {
                Name = name,
                Size = length,
                MimeType = string.IsNullOrEmpty(contentType) ? "application/octet-stream" : contentType!,
                CreatedAt = lastModified.HasValue ? new DateTimeOffset(lastModified.Value.ToUniversalTime(), TimeSpan.Zero) : default,
                Custom = ObjectStoreNames.ReadCustom(raw.Where(p => !string.Equals(p.Key, CreatedKey, StringComparison.OrdinalIgnoreCase)).ToDictionary(p => p.Key, p => p.Value)),
            };
            if (raw.TryGetValue(S3ProtocolPlugin.ShaMetadata, out var sha) && !string.IsNullOrEmpty(sha))
            {
                result.Sha256 = sha.ToLowerInvariant();
            }

            if (raw.TryGetValue(CreatedKey, out var created) && DateTimeOffset.TryParse(created, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var when))
            {
                result.CreatedAt = when;
            }

            return result;
        }

        private static string Hex(byte[] bytes) => S3ProtocolPlugin.ToHex(bytes);

        private static PluginException NotFound(string id) =>
            new PluginException(ErrorCode.NotFound, $"The store has no item with id '{id}'.", errorId: "ItemNotFound", target: id);
    }
}
