using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
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
    /// <c>s3://[PROFILE@]bucket/key</c> as a transfer endpoint, on AWS S3 and any S3-compatible service (Ceph RGW,
    /// MinIO, Cloudflare R2, Backblaze B2, Wasabi).
    /// </summary>
    /// <remarks>
    /// <para>Configuration (all optional): <c>ServiceUrl</c>, <c>Region</c>, <c>ForcePathStyle</c> (default true with a
    /// ServiceUrl), <c>AccessKeyId</c> + <c>SecretAccessKey</c> (+ <c>SessionToken</c>, kept protected) or <c>Profile</c>,
    /// <c>ChecksumMode</c> (<c>WhenRequired</c>, the default, or <c>WhenSupported</c>), <c>MultipartThreshold</c> in MiB
    /// (default 16), <c>Parallelism</c> (parts or download ranges in flight per file, default 4), <c>CopyPartSize</c> in MiB (a
    /// server-side copy of a larger object goes as parts of this size; default 5120). Unset values come from the AWS standard
    /// chain, as the AWS CLI reads it. <c>-ProtocolOption</c> overrides any of the non-secret settings per transfer, and
    /// <c>s3://PROFILE@bucket/key</c> takes endpoint, region and keys from that AWS profile.</para>
    /// <para>Uploads go through <see cref="IPartUploadDestination"/>: see <see cref="S3PartUploads"/>.</para>
    /// </remarks>
    [TransferPlugin("S3", PluginType.Protocol,
        Description = "s3://[PROFILE@]bucket/key on AWS S3 and S3-compatible services (AWSSDK.S3): resumable multipart uploads, verified downloads.",
        Schemes = new[] { "s3" }, SecretKeys = new[] { "SecretAccessKey", "SessionToken" })]
    public sealed partial class S3ProtocolPlugin : StreamingProtocolPlugin, IFolderListing, IPartUploadDestination, IServerSideCopy
    {
        internal const string ShaMetadata = "sha256";
        private const string RegistrationNameKey = "TransferTools.RegistrationName";
        private readonly ConcurrentDictionary<string, AmazonS3Client> _clients = new ConcurrentDictionary<string, AmazonS3Client>(StringComparer.Ordinal);
        private S3PartUploads? _uploads;

        /// <inheritdoc/>
        public override PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(S3ProtocolPlugin), "TransferTools contributors", "MIT");

        /// <inheritdoc/>
        public override IReadOnlyCollection<string> Schemes { get; } = TransferPluginAttribute.Of(typeof(S3ProtocolPlugin))!.Schemes;

        private S3PartUploads Uploads => _uploads ?? throw new PluginException(ErrorCode.LifecycleError, "The S3 plugin is not initialized.", errorId: "S3NotInitialized");

        /// <inheritdoc/>
        public override async Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            await base.InitAsync(context, config).ConfigureAwait(false);
            var settings = S3Settings.Read(config);
            var name = context.GetValue(RegistrationNameKey) as string ?? "S3";
            var dataDirectory = context.Host?.GetPluginDataDirectory(name)
                                ?? Path.Combine(Path.GetTempPath(), "transfertools-s3-" + Environment.UserName);
            _uploads = new S3PartUploads(this, Path.Combine(dataDirectory, "uploads"));
            if (settings.ServiceUrl != null && config.ContainsKey("ServiceUrl"))
            {
                await S3Probe.RequireS3Async(Client(settings), settings, context.CancellationToken).ConfigureAwait(false);
            }
        }

        /// <inheritdoc/>
        public override Task ShutdownAsync(OperationContext context)
        {
            foreach (var client in _clients.Values)
            {
                client.Dispose();
            }

            _clients.Clear();
            return Task.CompletedTask;
        }

        /// <summary>The settings and client for a location under the given per-transfer options.</summary>
        internal (AmazonS3Client Client, S3Settings Settings) Connect(S3Location location, TransferOptions? options)
        {
            var settings = S3Settings.Read(Configuration, options?.Custom, location.Profile);
            return (Client(settings), settings);
        }

        private AmazonS3Client Client(S3Settings settings) => _clients.GetOrAdd(settings.CacheKey, _ => settings.CreateClient());

        /// <inheritdoc/>
        public override async Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var where = S3Location.Parse(location);
            var pending = Uploads.PendingLength(location);
            if (pending >= 0)
            {
                return new RemoteFileInfo { Exists = true, Length = pending };
            }

            var (client, settings) = Connect(where, options);
            var token = context.CancellationToken;
            try
            {
                if (!where.IsPrefix)
                {
                    try
                    {
                        var head = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = where.Bucket, Key = where.Key }, token).ConfigureAwait(false);
                        return new RemoteFileInfo
                        {
                            Exists = true,
                            Length = head.ContentLength,
                            // The source's own time and mode where the upload kept them (ours or rclone's), else the upload's time.
                            LastModified = FileAttributeMetadata.ParseTime(head.Metadata[FileAttributeMetadata.TimeKey])
                                           ?? (head.LastModified.HasValue ? new DateTimeOffset(head.LastModified.Value.ToUniversalTime(), TimeSpan.Zero) : (DateTimeOffset?)null),
                            PosixMode = FileAttributeMetadata.ParseMode(head.Metadata[FileAttributeMetadata.ModeKey]),
                            Version = head.ETag,
                            Sha256 = NonEmpty(head.Metadata[ShaMetadata]),
                            Md5 = EtagIsMd5(head) ? EtagMd5(head.ETag) : null,
                        };
                    }
                    catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
                    {
                        // Not an object: maybe a "folder" (keys under KEY/), checked below.
                    }
                }

                var listing = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = where.Bucket, Prefix = where.FolderPrefix, MaxKeys = 1 }, token).ConfigureAwait(false);
                var any = (listing.S3Objects?.Count ?? 0) > 0 || (listing.CommonPrefixes?.Count ?? 0) > 0;
                // The bucket and any prefix ending in '/' are folders even when empty: S3 has no folder objects.
                return any || where.IsPrefix ? new RemoteFileInfo { Exists = true, IsDirectory = true } : RemoteFileInfo.Missing;
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "look-up", where.Display, token);
            }
        }

        /// <inheritdoc/>
        public override async Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options)
        {
            var where = S3Location.Parse(location);
            var (client, settings) = Connect(where, options);
            var token = context.CancellationToken;
            var request = new GetObjectRequest { BucketName = where.Bucket, Key = where.Key };
            var ranged = settings.Parallelism > 1;
            if (ranged)
            {
                // The first range tells the object's length: a large one is read as several ranges in flight.
                request.ByteRange = new ByteRange(offset, offset + S3RangedReadStream.RangeSize - 1);
            }
            else if (offset > 0)
            {
                request.ByteRange = new ByteRange("bytes=" + offset.ToString(CultureInfo.InvariantCulture) + "-");
            }

            if (!string.IsNullOrEmpty(expectedVersion))
            {
                // The ETag seen when the transfer began: a replaced object answers 412 and is never spliced.
                request.EtagToMatch = expectedVersion;
            }

            try
            {
                var response = await client.GetObjectAsync(request, token).ConfigureAwait(false);
                var total = ranged ? TotalOf(response.ContentRange) : -1;
                if (total - offset > S3RangedReadStream.RangeSize)
                {
                    // (Checked against x-amz-meta-sha256 by the engine, which the object's look-up announces.)
                    return new S3RangedReadStream(client, settings, where, response, expectedVersion ?? response.ETag, offset, total, settings.Parallelism, token);
                }

                string? sha256 = null;
                if (offset == 0 && response.Metadata != null)
                {
                    sha256 = response.Metadata[ShaMetadata];
                }

                return new S3ReadStream(response, where.Display, settings, string.IsNullOrEmpty(sha256) ? null : sha256!.ToLowerInvariant());
            }
            catch (AmazonS3Exception e) when ((int)e.StatusCode == 416)
            {
                return new MemoryStream(Array.Empty<byte>(), writable: false);
            }
            catch (Exception e) when (S3Errors.IsPreconditionFailed(e))
            {
                throw new PluginException(ErrorCode.SourceChanged,
                    $"'{where.Display}' was replaced at {settings.EndpointDisplay} since the transfer began (its ETag is no longer {expectedVersion}); its bytes are not combined with the earlier ones.",
                    e, "SourceChanged", where.Display);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "download", where.Display, token);
            }
        }

        /// <summary>The object's length from a ranged answer's <c>Content-Range</c> (<c>bytes 0-8388607/41943040</c>), or -1.</summary>
        internal static long TotalOf(string? contentRange)
        {
            var slash = contentRange?.LastIndexOf('/') ?? -1;
            return slash >= 0 && long.TryParse(contentRange!.Substring(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total) ? total : -1;
        }

        /// <inheritdoc/>
        /// <remarks>Small files the engine writes itself (manifests): spooled to a local temporary file and sent in one
        /// PUT when flushed. Transfers go through <see cref="OpenPartUploadAsync"/>.</remarks>
        public override async Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var where = S3Location.Parse(location);
            var (client, settings) = Connect(where, options);
            var stream = new S3PutStream(client, settings, where, context.CancellationToken);
            if (offset > 0)
            {
                // S3 cannot append: the object's first bytes are read back into the spool, and the whole goes up again.
                try
                {
                    using var head = await client.GetObjectAsync(new GetObjectRequest
                    {
                        BucketName = where.Bucket,
                        Key = where.Key,
                        ByteRange = new ByteRange(0, offset - 1),
                    }, context.CancellationToken).ConfigureAwait(false);
                    await head.ResponseStream.CopyToAsync(stream, 81920, context.CancellationToken).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    stream.Dispose();
                    throw S3Errors.Map(e, settings, "resume", where.Display, context.CancellationToken);
                }

                if (stream.Length != offset)
                {
                    stream.Dispose();
                    throw new PluginException(ErrorCode.InvalidState, $"'{where.Display}' holds {stream.Length} bytes, fewer than the {offset} to continue from.",
                        errorId: "S3PartialTooShort", target: where.Display);
                }
            }

            return stream;
        }

        /// <inheritdoc/>
        public override async Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            var from = S3Location.Parse(temporary);
            var to = S3Location.Parse(final);
            var (client, settings) = Connect(to, options);
            var token = context.CancellationToken;
            try
            {
                if (!overwrite)
                {
                    await RequireAbsentAsync(client, to, token).ConfigureAwait(false);
                }

                // S3 cannot rename: a server-side copy (no bytes through this machine), then the temporary goes.
                await client.CopyObjectAsync(new CopyObjectRequest
                {
                    SourceBucket = from.Bucket,
                    SourceKey = from.Key,
                    DestinationBucket = to.Bucket,
                    DestinationKey = to.Key,
                }, token).ConfigureAwait(false);
                await client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = from.Bucket, Key = from.Key }, token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "delivery", to.Display, token);
            }
        }

        /// <summary>Refuses with <see cref="ErrorCode.Conflict"/> when an object exists at <paramref name="location"/>.</summary>
        internal static async Task RequireAbsentAsync(AmazonS3Client client, S3Location location, CancellationToken token)
        {
            try
            {
                await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = location.Bucket, Key = location.Key }, token).ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
            {
                return;
            }

            throw new PluginException(ErrorCode.Conflict, $"'{location.Display}' exists already.", errorId: "DestinationExists", target: location.Display);
        }

        /// <inheritdoc/>
        public override async Task DeleteAsync(OperationContext context, Uri location, TransferOptions options)
        {
            var where = S3Location.Parse(location);
            var (client, settings) = Connect(where, options);
            var token = context.CancellationToken;
            try
            {
                // A transfer's temporary may be a pending multipart upload: aborted, so no orphan parts are billed.
                await Uploads.AbortAsync(client, location, token).ConfigureAwait(false);
                if (!where.IsPrefix)
                {
                    await client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = where.Bucket, Key = where.Key }, token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (S3Errors.IsNotFound(e) && !S3Errors.IsNoSuchBucket(e))
            {
                // Already gone.
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "delete", where.Display, token);
            }
        }

        /// <inheritdoc/>
        /// <remarks>S3 has no folders: a prefix exists as soon as a key under it does. Nothing to create.</remarks>
        public override Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options) => Task.CompletedTask;

        /// <inheritdoc/>
        public async Task<IReadOnlyList<RemoteFolderEntry>> ListFolderAsync(OperationContext context, Uri folder, TransferOptions options)
        {
            var where = S3Location.Parse(folder);
            var (client, settings) = Connect(where, options);
            var token = context.CancellationToken;
            var prefix = where.FolderPrefix;
            var entries = new List<RemoteFolderEntry>();
            try
            {
                string? continuation = null;
                do
                {
                    var page = await client.ListObjectsV2Async(new ListObjectsV2Request
                    {
                        BucketName = where.Bucket,
                        Prefix = prefix,
                        Delimiter = "/",
                        ContinuationToken = continuation,
                    }, token).ConfigureAwait(false);
                    foreach (var common in page.CommonPrefixes ?? new List<string>())
                    {
                        var name = common.Substring(prefix.Length).TrimEnd('/');
                        if (name.Length > 0)
                        {
                            entries.Add(new RemoteFolderEntry { Name = name, IsDirectory = true });
                        }
                    }

                    foreach (var item in page.S3Objects ?? new List<S3Object>())
                    {
                        var name = item.Key.Substring(prefix.Length);
                        if (name.Length == 0 || name.IndexOf('/') >= 0)
                        {
                            continue; // the folder's own marker object
                        }

                        entries.Add(new RemoteFolderEntry
                        {
                            Name = name,
                            Length = item.Size ?? -1,
                            LastModified = item.LastModified.HasValue ? new DateTimeOffset(item.LastModified.Value.ToUniversalTime(), TimeSpan.Zero) : (DateTimeOffset?)null,
                            // A listing gives the upload's time, not the x-amz-meta-mtime kept with the object (that takes a
                            // HEAD per object), so a folder sync compares these by size.
                            TimeIsStorageTime = true,
                        });
                    }

                    continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
                }
                while (continuation != null);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "listing", where.Display, token);
            }

            if (entries.Count == 0 && prefix.Length > 0)
            {
                var info = await GetInfoAsync(context, new Uri(folder.GetLeftPart(UriPartial.Authority) + "/" + Uri.EscapeUriString(where.Key.TrimEnd('/'))), options).ConfigureAwait(false);
                if (info.Exists && !info.IsDirectory)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{where.Display}' is an object, not a prefix.", errorId: "NotAFolder", target: where.Display);
                }

                // S3 has no empty folders: a prefix with nothing under it is not there.
                throw new PluginException(ErrorCode.NotFound, $"Nothing at {settings.EndpointDisplay} has a key under '{where.Bucket}/{prefix}'.", errorId: "S3ObjectNotFound", target: where.Display);
            }

            return entries;
        }

        /// <inheritdoc/>
        public Task<Stream> OpenPartUploadAsync(OperationContext context, PartUpload upload, long offset, TransferOptions options) =>
            Uploads.OpenAsync(context, upload, offset, options);

        /// <inheritdoc/>
        public Task<IReadOnlyList<UploadedPart>> ListUploadedPartsAsync(OperationContext context, PartUpload upload, TransferOptions options) =>
            Uploads.ListPartsAsync(context, upload, options);

        /// <inheritdoc/>
        public Task CompletePartUploadAsync(OperationContext context, PartUpload upload, bool overwrite, TransferOptions options) =>
            Uploads.CompleteAsync(context, upload, overwrite, options);

        /// <summary>Lower-case hex.</summary>
        internal static string ToHex(byte[] bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes)
            {
                sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }

            return sb.ToString();
        }

        /// <summary>An ETag as lower-case hex MD5, or null when it is not one (multipart or encrypted objects).</summary>
        internal static string? EtagMd5(string? etag)
        {
            var t = (etag ?? "").Trim('"').ToLowerInvariant();
            return t.Length == 32 && t.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) ? t : null;
        }

        /// <summary>
        /// True when the object's ETag is the MD5 of its bytes: a single-part object (<see cref="EtagMd5"/> rejects the
        /// <c>-N</c> of a multipart one) stored without KMS or customer-key encryption, whose ETags are not MD5s.
        /// </summary>
        private static bool EtagIsMd5(GetObjectMetadataResponse head) =>
            (head.ServerSideEncryptionMethod is null || head.ServerSideEncryptionMethod == ServerSideEncryptionMethod.None
                || head.ServerSideEncryptionMethod == ServerSideEncryptionMethod.AES256)
            && (head.ServerSideEncryptionCustomerMethod is null || head.ServerSideEncryptionCustomerMethod == ServerSideEncryptionCustomerMethod.None);

        private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value!.Trim().ToLowerInvariant();

        /// <summary>
        /// The metadata the plugin stores with a delivered object: SHA-256, and the source's modification time and
        /// permission bits in rclone's format (<see cref="FileAttributeMetadata"/>), so either tool reads the other's.
        /// </summary>
        internal static void AddContentMetadata(MetadataCollection metadata, string? sha256, DateTimeOffset? sourceModified, int? sourceMode)
        {
            if (!string.IsNullOrEmpty(sha256))
            {
                metadata[ShaMetadata] = sha256!.ToLowerInvariant();
            }

            if (sourceModified.HasValue)
            {
                metadata[FileAttributeMetadata.TimeKey] = FileAttributeMetadata.FormatTime(sourceModified.Value);
            }

            if (sourceMode.HasValue)
            {
                metadata[FileAttributeMetadata.ModeKey] = FileAttributeMetadata.FormatMode(sourceMode.Value);
            }
        }
    }
}
