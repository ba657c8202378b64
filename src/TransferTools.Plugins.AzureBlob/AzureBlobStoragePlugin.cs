using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.AzureBlob
{
    /// <summary>
    /// Azure Blob Storage as a TransferTools store: one container per registration, the backend a fleet of machines
    /// shares. See <see cref="ObjectStoreNames"/> for the blob layout.
    /// </summary>
    /// <remarks>
    /// <para>Configuration: <c>Container</c> (created when missing) and either <c>ConnectionString</c>, or
    /// <c>AccountUrl</c> with <c>Sas</c>, or <c>AccountUrl</c> with <c>AccountKey</c> (and <c>AccountName</c> when the URL
    /// does not show it). Optional: <c>BlockSizeMB</c> (default 4), <c>Parallelism</c> (default 4), <c>MaxRetries</c>
    /// (default 3). Secrets (ConnectionString, AccountKey, Sas) are kept protected by the registry and never appear in
    /// messages.</para>
    /// <para>Store streams the content in blocks staged in parallel, each with a transactional MD5 the service checks;
    /// the block list is committed with the content type, the whole-content MD5, the SHA-256, the creation time and the
    /// custom metadata, so an item appears complete or not at all. Reads validate MD5 per range.</para>
    /// <para>Stats scans the listing (one request per 5,000 items): a counter blob shared by a fleet would be a write
    /// hot spot and drift on crashes, so the count is computed, not maintained.</para>
    /// <para>Listing continues through Azure's continuation tokens, remembered per cursor within the session; a cursor
    /// from elsewhere is found by listing from the start of the prefix (Azure has no "start after" parameter).</para>
    /// </remarks>
    [TransferPlugin("AzureBlob", PluginType.Storage, Description = "Azure Blob Storage (one container per registration).",
        SecretKeys = new[] { "ConnectionString", "AccountKey", "Sas" })]
    public sealed class AzureBlobStoragePlugin : IStoragePlugin
    {
        /// <summary>Azure's limit on a blob name.</summary>
        private const int MaxBlobNameLength = 1024;

        private const string ShaKey = "ttsha256";
        private const string CreatedKey = "ttcreated";
        private const string PointerKey = "ttblob";
        private const int MaxIdLength = 256;
        private const int ListPageSize = 5000;
        private readonly ConcurrentDictionary<string, string> _continuations = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        private BlobContainerClient? _container;
        private int _blockSize = 4 * 1024 * 1024;
        private int _parallelism = 4;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(AzureBlobStoragePlugin), "TransferTools contributors", "MIT");

        /// <summary>The container this registration uses.</summary>
        public string ContainerName => Container.Name;

        private BlobContainerClient Container => _container ?? throw new PluginException(ErrorCode.LifecycleError,
            "The AzureBlob plugin is not initialized.", errorId: "AzureBlobNotInitialized");

        /// <inheritdoc/>
        public async Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            string Get(string key) => config.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : "";
            var containerName = Get("Container");
            if (containerName.Length < 3 || containerName.Length > 63 || !containerName.All(c => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
                || containerName.StartsWith("-", StringComparison.Ordinal) || containerName.EndsWith("-", StringComparison.Ordinal) || containerName.Contains("--"))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    containerName.Length == 0 ? "The configuration key Container is required (the blob container to use)."
                        : $"'{containerName}' is not a container name: 3 to 63 lower-case letters, digits and single hyphens.",
                    errorId: "AzureContainerInvalid", target: "Container");
            }

            _blockSize = ReadInt(Get("BlockSizeMB"), "BlockSizeMB", 4, 1, 100) * 1024 * 1024;
            _parallelism = ReadInt(Get("Parallelism"), "Parallelism", 4, 1, 32);
            var options = new BlobClientOptions();
            options.Retry.MaxRetries = ReadInt(Get("MaxRetries"), "MaxRetries", 3, 0, 10);
            options.Retry.Delay = TimeSpan.FromMilliseconds(400);
            options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
            options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);

            BlobServiceClient service;
            var connectionString = Get("ConnectionString");
            var accountUrl = Get("AccountUrl");
            try
            {
                if (connectionString.Length > 0)
                {
                    service = new BlobServiceClient(connectionString, options);
                }
                else if (accountUrl.Length > 0)
                {
                    if (!Uri.TryCreate(accountUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                    {
                        throw new PluginException(ErrorCode.InvalidConfiguration, "AccountUrl must be an http(s) URL such as https://ACCOUNT.blob.core.windows.net.",
                            errorId: "AzureAccountUrlInvalid", target: "AccountUrl");
                    }

                    var sas = Get("Sas");
                    var key = Get("AccountKey");
                    if (sas.Length > 0)
                    {
                        service = new BlobServiceClient(uri, new AzureSasCredential(sas.TrimStart('?')), options);
                    }
                    else if (key.Length > 0)
                    {
                        var name = Get("AccountName");
                        if (name.Length == 0)
                        {
                            name = AccountNameFromUrl(uri);
                        }

                        if (name.Length == 0)
                        {
                            throw new PluginException(ErrorCode.InvalidConfiguration, "AccountName is required: the AccountUrl does not show the account.",
                                errorId: "AzureAccountNameMissing", target: "AccountName");
                        }

                        try
                        {
                            Convert.FromBase64String(key);
                        }
                        catch (FormatException)
                        {
                            throw new PluginException(ErrorCode.InvalidConfiguration, "AccountKey is not a base64 storage account key.",
                                errorId: "AzureAccountKeyInvalid", target: "AccountKey");
                        }

                        service = new BlobServiceClient(uri, new StorageSharedKeyCredential(name, key), options);
                    }
                    else
                    {
                        throw new PluginException(ErrorCode.InvalidConfiguration, "AccountUrl needs Sas or AccountKey.",
                            errorId: "AzureCredentialMissing", target: "AccountUrl");
                    }
                }
                else
                {
                    throw new PluginException(ErrorCode.InvalidConfiguration,
                        "Give ConnectionString, or AccountUrl with Sas or AccountKey (and Container).",
                        errorId: "AzureCredentialMissing", target: "ConnectionString");
                }
            }
            catch (Exception e) when (e is FormatException || e is ArgumentException || e is InvalidOperationException)
            {
                // The SDK's parse errors can quote the connection string: report without it.
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    "The Azure Storage connection settings are not valid (check ConnectionString, AccountUrl, Sas, AccountKey).",
                    errorId: "AzureConnectionSettingsInvalid", target: "ConnectionString");
            }

            _container = service.GetBlobContainerClient(containerName);
            try
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: context.CancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 403 && !IsAuthenticationFailure(e))
            {
                // A container-scoped SAS may not create containers; it is enough that this one exists and is readable.
                try
                {
                    await _container.GetPropertiesAsync(cancellationToken: context.CancellationToken).ConfigureAwait(false);
                }
                catch (Exception inner)
                {
                    throw Map(inner, "open the container", containerName, context.CancellationToken);
                }
            }
            catch (Exception e)
            {
                throw Map(e, "open the container", containerName, context.CancellationToken);
            }
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context)
        {
            _continuations.Clear();
            _container = null;
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public async Task<string> StoreAsync(OperationContext context, Stream content, ItemMetadata metadata)
        {
            var name = KeyValidation.RequireSafe(metadata.Name, "item name", 1024, allowSlash: true);
            var mime = string.IsNullOrEmpty(metadata.MimeType) ? "application/octet-stream" : metadata.MimeType;
            var id = Guid.NewGuid().ToString("n");
            var blobName = ObjectStoreNames.ItemKey(name, id);
            if (blobName.Length > MaxBlobNameLength)
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"The item name is too long for Azure Blob Storage (at most {MaxBlobNameLength - 40} characters).",
                    errorId: "InvalidItemName", target: name);
            }

            var blobMetadata = ObjectStoreNames.WriteCustom(metadata.Custom, out var size);
            if (size > 7000)
            {
                throw new PluginException(ErrorCode.LimitExceeded, "Custom metadata is too large for Azure Blob Storage (8 KB of encoded keys and values).",
                    errorId: "MetadataTooLarge", target: name);
            }

            var token = context.CancellationToken;
            var pointer = Container.GetBlobClient(ObjectStoreNames.IdKey(id));
            var blob = Container.GetBlockBlobClient(blobName);
            try
            {
                await pointer.UploadAsync(new MemoryStream(Array.Empty<byte>()), new BlobUploadOptions
                {
                    Metadata = new Dictionary<string, string> { [PointerKey] = ObjectStoreNames.EncodeValue(blobName) },
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                }, token).ConfigureAwait(false);

                var created = DateTimeOffset.UtcNow;
                var (length, sha256) = await UploadContentAsync(blob, content, mime, blobMetadata, metadata.Sha256, created, token).ConfigureAwait(false);
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
                    await pointer.DeleteIfExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // A pointer without content reads as not found; nothing else depends on it.
                }

                throw Map(e, "store", name, token);
            }
        }

        /// <inheritdoc/>
        public async Task<RetrievedItem> RetrieveAsync(OperationContext context, string id)
        {
            var blob = await FindItemBlobAsync(id, context.CancellationToken).ConfigureAwait(false);
            try
            {
                var properties = (await blob.GetPropertiesAsync(cancellationToken: context.CancellationToken).ConfigureAwait(false)).Value;
                var parsed = ObjectStoreNames.Parse(blob.Name);
                var metadata = ToMetadata(parsed?.Name ?? "", properties.ContentLength, properties.ContentType, properties.CreatedOn, properties.Metadata);
                var stream = await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false)
                {
                    BufferSize = _blockSize,
                    TransferValidation = new DownloadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5, AutoValidateChecksum = true },
                }, context.CancellationToken).ConfigureAwait(false);
                return new RetrievedItem(new ErrorMappingStream(stream, this, id), metadata);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw NotFound(id);
            }
            catch (Exception e)
            {
                throw Map(e, "read", id, context.CancellationToken);
            }
        }

        /// <inheritdoc/>
        public async Task DeleteAsync(OperationContext context, string id)
        {
            var blob = await FindItemBlobAsync(id, context.CancellationToken).ConfigureAwait(false);
            try
            {
                var deleted = (await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: context.CancellationToken).ConfigureAwait(false)).Value;
                await Container.GetBlobClient(ObjectStoreNames.IdKey(id)).DeleteIfExistsAsync(cancellationToken: context.CancellationToken).ConfigureAwait(false);
                if (!deleted)
                {
                    throw NotFound(id);
                }
            }
            catch (Exception e)
            {
                throw Map(e, "delete", id, context.CancellationToken);
            }
        }

        /// <inheritdoc/>
        public async Task<IReadOnlyList<Item>> ListAsync(OperationContext context, ListFilter filter)
        {
            var prefix = string.IsNullOrEmpty(filter.Prefix) ? "" : KeyValidation.RequireSafe(filter.Prefix, "prefix", 1024, allowSlash: true);
            var limit = filter.Limit <= 0 ? 1000 : Math.Min(filter.Limit, ListPageSize);
            var cursor = filter.StartAfter;
            var items = new List<Item>();
            string? continuation = null;
            var exactResume = false;
            if (cursor != null && _continuations.TryGetValue(CursorKey(prefix, cursor), out var remembered))
            {
                continuation = remembered;
                exactResume = true;
            }

            try
            {
                while (items.Count < limit)
                {
                    // Ask for exactly what is missing, so a page ends at our last item and its token resumes right after it.
                    var pageSize = exactResume || cursor is null ? limit - items.Count : ListPageSize;
                    var pages = Container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, ObjectStoreNames.ListPrefix(prefix), context.CancellationToken)
                        .AsPages(continuation, pageSize);
                    Page<BlobItem>? page = null;
                    await foreach (var p in pages.ConfigureAwait(false))
                    {
                        page = p;
                        break;
                    }

                    if (page is null)
                    {
                        break;
                    }

                    var stoppedInside = false;
                    foreach (var blobItem in page.Values)
                    {
                        var parsed = ObjectStoreNames.Parse(blobItem.Name);
                        if (parsed is null)
                        {
                            continue;
                        }

                        var (name, id) = parsed.Value;
                        if (cursor != null && ListOrder.Compare(name, id, cursor.Name, cursor.Id) <= 0)
                        {
                            continue;
                        }

                        if (items.Count == limit)
                        {
                            stoppedInside = true;
                            break;
                        }

                        var p = blobItem.Properties;
                        items.Add(new Item { Id = id, Metadata = ToMetadata(name, p.ContentLength ?? 0, p.ContentType, p.CreatedOn ?? default, blobItem.Metadata) });
                    }

                    continuation = page.ContinuationToken;
                    if (string.IsNullOrEmpty(continuation))
                    {
                        break;
                    }

                    if (items.Count == limit && !stoppedInside && items.Count > 0)
                    {
                        RememberContinuation(prefix, items[items.Count - 1], continuation!);
                    }

                    if (stoppedInside)
                    {
                        break;
                    }
                }
            }
            catch (Exception e)
            {
                throw Map(e, "list", prefix, context.CancellationToken);
            }

            return items;
        }

        /// <inheritdoc/>
        public async Task<StorageStats> StatsAsync(OperationContext context)
        {
            var stats = new StorageStats();
            try
            {
                await foreach (var page in Container.GetBlobsAsync(BlobTraits.None, BlobStates.None, ObjectStoreNames.ItemsPrefix, context.CancellationToken)
                                   .AsPages(null, ListPageSize).ConfigureAwait(false))
                {
                    foreach (var blob in page.Values)
                    {
                        if (ObjectStoreNames.Parse(blob.Name) != null)
                        {
                            stats.TotalItems++;
                            stats.TotalSize += blob.Properties.ContentLength ?? 0;
                        }
                    }
                }
            }
            catch (Exception e)
            {
                throw Map(e, "measure", Container.Name, context.CancellationToken);
            }

            return stats;
        }

        private async Task<(long Length, string Sha256)> UploadContentAsync(BlockBlobClient blob, Stream content, string mime,
            Dictionary<string, string> blobMetadata, string? expectedSha256, DateTimeOffset created, CancellationToken token)
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            var blockIds = new List<string>();
            var uploads = new List<Task>();
            using var slots = new SemaphoreSlim(_parallelism, _parallelism);
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(token);
            long length = 0;
            byte[]? single = null;
            var singleLength = 0;
            try
            {
                while (true)
                {
                    await slots.WaitAsync(failed.Token).ConfigureAwait(false);
                    var buffer = ArrayPool<byte>.Shared.Rent(_blockSize);
                    var filled = 0;
                    int read;
                    while (filled < _blockSize && (read = await content.ReadAsync(buffer, filled, _blockSize - filled, failed.Token).ConfigureAwait(false)) > 0)
                    {
                        filled += read;
                    }

                    if (filled == 0 && blockIds.Count > 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        slots.Release();
                        break;
                    }

                    sha.AppendData(buffer, 0, filled);
                    md5.AppendData(buffer, 0, filled);
                    length += filled;
                    if (blockIds.Count == 0 && filled < _blockSize)
                    {
                        // Everything fits one block: one Put Blob with the metadata, no block list.
                        single = buffer;
                        singleLength = filled;
                        slots.Release();
                        break;
                    }

                    var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes(blockIds.Count.ToString("d8", CultureInfo.InvariantCulture)));
                    blockIds.Add(blockId);
                    var count = filled;
                    uploads.Add(Task.Run(async () =>
                    {
                        try
                        {
                            using var block = new MemoryStream(buffer, 0, count, writable: false);
                            await blob.StageBlockAsync(blockId, block, new BlockBlobStageBlockOptions
                            {
                                TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
                            }, failed.Token).ConfigureAwait(false);
                        }
                        catch
                        {
                            failed.Cancel();
                            throw;
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                            slots.Release();
                        }
                    }));

                    if (filled < _blockSize)
                    {
                        break;
                    }
                }

                var sha256 = Hex.ToLowerString(sha.GetHashAndReset());
                if (!string.IsNullOrEmpty(expectedSha256) && !string.Equals(expectedSha256, sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new PluginException(ErrorCode.ChecksumMismatch, $"The content's SHA-256 is {sha256}, not the expected {expectedSha256}; nothing was stored.",
                        errorId: "ItemChecksumMismatch");
                }

                blobMetadata[ShaKey] = sha256;
                blobMetadata[CreatedKey] = created.ToString("o", CultureInfo.InvariantCulture);
                var headers = new BlobHttpHeaders { ContentType = mime, ContentHash = md5.GetHashAndReset() };
                var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
                if (single != null)
                {
                    using var whole = new MemoryStream(single, 0, singleLength, writable: false);
                    await blob.UploadAsync(whole, new BlobUploadOptions
                    {
                        HttpHeaders = headers,
                        Metadata = blobMetadata,
                        Conditions = conditions,
                        TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
                    }, token).ConfigureAwait(false);
                }
                else
                {
                    await Task.WhenAll(uploads).ConfigureAwait(false);
                    await blob.CommitBlockListAsync(blockIds, new CommitBlockListOptions
                    {
                        HttpHeaders = headers,
                        Metadata = blobMetadata,
                        Conditions = conditions,
                    }, token).ConfigureAwait(false);
                }

                return (length, sha256);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested && uploads.Any(u => u.IsFaulted))
            {
                // A block failed and cancelled the others: report the block's error, not the cancellation.
                await Task.WhenAll(uploads).ConfigureAwait(false);
                throw;
            }
            finally
            {
                if (single != null)
                {
                    ArrayPool<byte>.Shared.Return(single);
                }

                try
                {
                    await Task.WhenAll(uploads).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Already reported.
                }
            }
        }

        private async Task<BlobClient> FindItemBlobAsync(string id, CancellationToken token)
        {
            KeyValidation.RequireSafe(id, "item id", MaxIdLength, allowSlash: false);
            if (id.Length != 32 || !id.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            {
                throw NotFound(id); // not an id this plugin gives: no request needed
            }

            try
            {
                var pointer = await Container.GetBlobClient(ObjectStoreNames.IdKey(id)).GetPropertiesAsync(cancellationToken: token).ConfigureAwait(false);
                if (!pointer.Value.Metadata.TryGetValue(PointerKey, out var encoded))
                {
                    throw NotFound(id);
                }

                var blobName = ObjectStoreNames.DecodeValue(encoded);
                var parsed = ObjectStoreNames.Parse(blobName);
                if (parsed is null || parsed.Value.Id != id)
                {
                    throw NotFound(id);
                }

                return Container.GetBlobClient(blobName);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw NotFound(id);
            }
            catch (Exception e)
            {
                throw Map(e, "find", id, token);
            }
        }

        private void RememberContinuation(string prefix, Item last, string continuation)
        {
            if (_continuations.Count > 10000)
            {
                _continuations.Clear();
            }

            _continuations[CursorKey(prefix, last.ToCursor())] = continuation;
        }

        private static string CursorKey(string prefix, ListCursor cursor) => prefix + "\u0000" + cursor.Name + "\u0000" + cursor.Id;

        private static ItemMetadata ToMetadata(string name, long length, string? contentType, DateTimeOffset createdOn, IDictionary<string, string>? metadata)
        {
            var result = new ItemMetadata
            {
                Name = name,
                Size = length,
                MimeType = string.IsNullOrEmpty(contentType) ? "application/octet-stream" : contentType!,
                CreatedAt = createdOn,
                Custom = ObjectStoreNames.ReadCustom(metadata),
            };
            if (metadata != null)
            {
                foreach (var pair in metadata)
                {
                    if (string.Equals(pair.Key, ShaKey, StringComparison.OrdinalIgnoreCase))
                    {
                        result.Sha256 = pair.Value;
                    }
                    else if (string.Equals(pair.Key, CreatedKey, StringComparison.OrdinalIgnoreCase)
                             && DateTimeOffset.TryParse(pair.Value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var created))
                    {
                        result.CreatedAt = created;
                    }
                }
            }

            return result;
        }

        private static int ReadInt(string text, string key, int fallback, int min, int max)
        {
            if (text.Length == 0)
            {
                return fallback;
            }

            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"{key} must be a whole number from {min} to {max}.",
                    errorId: "AzureSettingInvalid", target: key);
            }

            return value;
        }

        private static string AccountNameFromUrl(Uri uri)
        {
            var host = uri.Host;
            if (host.EndsWith(".core.windows.net", StringComparison.OrdinalIgnoreCase) || host.Contains(".blob."))
            {
                return host.Split('.')[0];
            }

            // Emulator style: http://127.0.0.1:10000/ACCOUNT
            var segments = uri.AbsolutePath.Trim('/').Split('/');
            return segments.Length > 0 ? segments[0] : "";
        }


        private static bool IsAuthenticationFailure(RequestFailedException e) =>
            e.Status == 401 || string.Equals(e.ErrorCode, "AuthenticationFailed", StringComparison.OrdinalIgnoreCase)
                            || string.Equals(e.ErrorCode, "InvalidAuthenticationInfo", StringComparison.OrdinalIgnoreCase)
                            // Azurite answers a bad signature with AuthorizationFailure and Azure's authentication text.
                            || (e.Status == 403 && e.Message.IndexOf("failed to authenticate", StringComparison.OrdinalIgnoreCase) >= 0);

        private static PluginException NotFound(string id) =>
            new PluginException(ErrorCode.NotFound, $"The store has no item with id '{id}'.", errorId: "ItemNotFound", target: id);

        /// <summary>Maps an SDK or network failure to a <see cref="PluginException"/> whose message holds no secret.</summary>
        internal PluginException Map(Exception e, string operation, object? target, CancellationToken token)
        {
            if (e is PluginException pe)
            {
                return pe;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Count > 0)
            {
                var firstRequest = aggregate.InnerExceptions.OfType<RequestFailedException>().FirstOrDefault();
                return Map(firstRequest ?? aggregate.InnerExceptions[0], operation, target, token);
            }

            var where = $"Azure Blob Storage (container '{_container?.Name}')";
            switch (e)
            {
                case OperationCanceledException _ when token.IsCancellationRequested:
                    return new PluginException(ErrorCode.Cancelled, $"The attempt to {operation} was cancelled.", e, "OperationCancelled", target);
                case OperationCanceledException _:
                    return new PluginException(ErrorCode.Timeout, $"{where} did not answer in time; the attempt to {operation} failed.", e, "AzureTimeout", target);
                case RequestFailedException r when r.Status == 0:
                    return new PluginException(ErrorCode.ConnectionError, $"{where} could not be reached{Unreachable(e)}; the attempt to {operation} failed.", e, "AzureConnectionFailed", target);
                case RequestFailedException r when r.Status == 404:
                    return new PluginException(ErrorCode.NotFound, $"{where}: not found ({r.ErrorCode}); the attempt to {operation} failed.", e, "AzureNotFound", target);
                case RequestFailedException r when IsAuthenticationFailure(r):
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        $"{where} refused the credentials ({r.ErrorCode}); check the account key, SAS or connection string.", e, "AzureAuthenticationFailed", target);
                case RequestFailedException r when r.Status == 403:
                    return new PluginException(ErrorCode.PermissionDenied, $"{where} denied the request to {operation} ({r.ErrorCode}).", e, "AzurePermissionDenied", target);
                case RequestFailedException r when r.Status == 409 || r.Status == 412:
                    return new PluginException(ErrorCode.Conflict, $"{where}: conflict ({r.ErrorCode}); the attempt to {operation} failed.", e, "AzureConflict", target);
                case RequestFailedException r when r.Status == 429 || r.Status == 503:
                    return new PluginException(ErrorCode.Throttled, $"{where} is busy ({r.ErrorCode}); try again later to {operation}.", e, "AzureBusy", target);
                case RequestFailedException r when r.Status >= 500:
                    return new PluginException(ErrorCode.ConnectionError, $"{where} failed ({r.Status} {r.ErrorCode}); the attempt to {operation} failed.", e, "AzureServerError", target);
                case RequestFailedException r:
                    return new PluginException(ErrorCode.Internal, $"{where} refused the request to {operation} ({r.Status} {r.ErrorCode}).", e, "AzureRequestFailed", target);
                case HttpRequestException _:
                case IOException _:
                case System.Net.Sockets.SocketException _:
                    return new PluginException(ErrorCode.ConnectionError, $"{where} could not be reached{Unreachable(e)}; the attempt to {operation} failed.", e, "AzureConnectionFailed", target);
                case InvalidDataException _:
                    return new PluginException(ErrorCode.ChecksumMismatch, $"{where} returned data that failed its MD5 check while trying to {operation}.", e, "AzureChecksumMismatch", target);
                default:
                    return new PluginException(ErrorCode.Internal, $"{where}: the attempt to {operation} failed ({e.GetType().Name}).", e, "AzureUnexpectedError", target);
            }
        }

        /// <summary>The cause of a connection that never was, in a user's words (" (connection refused)"); empty for others.</summary>
        private static string Unreachable(Exception error)
        {
            for (var e = error; e != null; e = e.InnerException)
            {
                if (e is System.Net.Sockets.SocketException socket)
                {
                    return socket.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused ? " (connection refused)" : $" ({socket.Message})";
                }
            }

            return "";
        }

        /// <summary>Reports network failures while reading content as plugin errors.</summary>
        private sealed class ErrorMappingStream : Stream
        {
            private readonly Stream _inner;
            private readonly AzureBlobStoragePlugin _owner;
            private readonly string _id;

            public ErrorMappingStream(Stream inner, AzureBlobStoragePlugin owner, string id)
            {
                _inner = inner;
                _owner = owner;
                _id = id;
            }

            public override bool CanRead => true;
            public override bool CanSeek => _inner.CanSeek;
            public override bool CanWrite => false;
            public override long Length => _inner.Length;
            public override long Position { get => _inner.Position; set => _inner.Position = value; }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override int Read(byte[] buffer, int offset, int count)
            {
                try
                {
                    return _inner.Read(buffer, offset, count);
                }
                catch (Exception e) when (!(e is PluginException))
                {
                    throw _owner.Map(e, "read", _id, CancellationToken.None);
                }
            }

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                try
                {
                    return await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!(e is PluginException))
                {
                    throw _owner.Map(e, "read", _id, cancellationToken);
                }
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
