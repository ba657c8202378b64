using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.BuiltIn.Http
{
    /// <summary>
    /// The <c>Http</c> protocol plugin: <c>http(s)://</c> URIs as a transfer source (GET with Range resume, guarded by
    /// ETag/Last-Modified so a changed file is never spliced) or destination (PUT of a temporary name into a WebDAV
    /// folder, collections created with MKCOL, committed by MOVE). A folder URL is listed for <c>Receive-Transfer -Recurse</c>
    /// from the server's folder listing page (<see cref="HttpFolderListing"/>).
    /// </summary>
    /// <remarks>
    /// Configuration keys (registration configuration; the per-transfer <see cref="TransferOptions.Custom"/> may set
    /// <c>SkipCertificateCheck</c> too): <c>SkipCertificateCheck</c> (<c>true</c> turns off TLS certificate validation; off by
    /// default), <c>BearerTokenHosts</c> (comma-separated <c>host</c> or <c>host:port</c> that receive the session's access
    /// token as a bearer token when no -Credential is given; empty by default, so the token never leaves the machine
    /// unless configured), <c>MaxRedirects</c> (default 5).
    /// A PUT cannot append: <see cref="OpenWriteAsync"/> at an offset past 0 starts a new PUT of the temporary whose body
    /// begins with the server's own copy of the kept bytes (read back with Range), so a resumed upload does not send
    /// them over the upload link again. An upload is abandoned (not stored truncated) when its stream is disposed with
    /// unflushed writes; a finished one is confirmed by the next <see cref="GetInfoAsync"/> or <see cref="CommitAsync"/>.
    /// </remarks>
    [TransferPlugin("Http", PluginType.Protocol,
        Description = "HTTP(S) download with Range resume; PUT and WebDAV upload.", Schemes = new[] { "http", "https" })]
    public sealed partial class HttpProtocolPlugin : StreamingProtocolPlugin, IFolderListing, IRangedReads
    {
        /// <summary>Configuration key: <c>true</c> to accept any TLS certificate (explicit opt-in only).</summary>
        public const string SkipCertificateCheckKey = "SkipCertificateCheck";
        /// <summary>Configuration key: hosts that may receive the session's bearer token.</summary>
        public const string BearerTokenHostsKey = "BearerTokenHosts";
        /// <summary>Configuration key: how many redirects a GET or HEAD follows.</summary>
        public const string MaxRedirectsKey = "MaxRedirects";

        private static readonly string[] SchemeList = TransferPluginAttribute.Of(typeof(HttpProtocolPlugin))!.Schemes;
        private static readonly HttpMethod Head = HttpMethod.Head;
        private static readonly HttpMethod Mkcol = new HttpMethod("MKCOL");
        private static readonly HttpMethod Move = new HttpMethod("MOVE");

        private readonly object _clientLock = new object();
        private readonly ConcurrentDictionary<string, HttpUploadStream> _uploads = new ConcurrentDictionary<string, HttpUploadStream>(StringComparer.Ordinal);
        private readonly HttpPlainPut _plainPut = new HttpPlainPut();
        private HttpClient? _client;
        private HttpClient? _insecureClient;

        /// <inheritdoc/>
        public override PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(HttpProtocolPlugin), "TransferTools contributors", "MIT");

        /// <inheritdoc/>
        public override IReadOnlyCollection<string> Schemes => SchemeList;

        /// <inheritdoc/>
        public override Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            var result = base.InitAsync(context, config);
            _ = MaxRedirects;
            if (SkipCertificateCheck(null))
            {
                context.Logger.Log(LogLevel.Warning, "Http: SkipCertificateCheck is on: TLS certificates are NOT validated for this plugin registration.");
            }

            return result;
        }

        /// <inheritdoc/>
        public override Task ShutdownAsync(OperationContext context)
        {
            foreach (var upload in _uploads.Values)
            {
                upload.Abort();
            }

            _uploads.Clear();
            lock (_clientLock)
            {
                _client?.Dispose();
                _insecureClient?.Dispose();
                _client = _insecureClient = null;
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public override async Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options)
        {
            Check(location);
            location = await UploadTargetAsync(context, options, location).ConfigureAwait(false);
            await FinishUploadAsync(location).ConfigureAwait(false);
            using var head = await SendAsync(context, options, location, Head, null, "GetInfo").ConfigureAwait(false);
            var response = head;
            HttpResponseMessage? probe = null;
            try
            {
                if (response.StatusCode == HttpStatusCode.MethodNotAllowed || response.StatusCode == HttpStatusCode.NotImplemented
                    || response.StatusCode == HttpStatusCode.Forbidden)
                {
                    // No HEAD here, or HEAD refused: a URL signed for GET alone (an S3 or Google Cloud Storage pre-signed
                    // URL) answers HEAD with 403. Ask for the first byte instead; a GET refused as well is a real refusal.
                    probe = await SendAsync(context, options, location, HttpMethod.Get, r => r.Headers.Range = new RangeHeaderValue(0, 0), "GetInfo")
                        .ConfigureAwait(false);
                    response = probe;
                }

                if (response.StatusCode == HttpStatusCode.NotFound || response.StatusCode == HttpStatusCode.Gone)
                {
                    return RemoteFileInfo.Missing;
                }

                if (response.StatusCode == HttpStatusCode.MethodNotAllowed && !location.AbsolutePath.EndsWith("/", StringComparison.Ordinal))
                {
                    // rclone serve webdav refuses HEAD and GET of a folder named without its '/': ask for it as a folder.
                    var folder = new UriBuilder(location) { Path = location.AbsolutePath + "/" }.Uri;
                    var asFolder = await GetInfoAsync(context, folder, options).ConfigureAwait(false);
                    if (asFolder.Exists && asFolder.IsDirectory)
                    {
                        return asFolder;
                    }
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw await HttpErrors.FromStatusAsync(response, location, "GetInfo").ConfigureAwait(false);
                }

                var finalUri = response.RequestMessage?.RequestUri ?? location;
                var length = response.Content.Headers.ContentRange?.Length ?? response.Content.Headers.ContentLength ?? -1;
                if (length < 0 && probe is null && response.Headers.AcceptRanges.Contains("bytes") && VersionOf(response) != null
                    && !finalUri.AbsolutePath.EndsWith("/", StringComparison.Ordinal))
                {
                    // Apache answers HEAD of an empty file without Content-Length: a file that takes ranges tells its
                    // size in the answer to one (206 with Content-Range, 416 with "bytes */0", or 200 with its length).
                    probe = await SendAsync(context, options, location, HttpMethod.Get, r => r.Headers.Range = new RangeHeaderValue(0, 0), "GetInfo")
                        .ConfigureAwait(false);
                    length = probe.Content.Headers.ContentRange?.Length
                        ?? (probe.StatusCode == HttpStatusCode.OK ? probe.Content.Headers.ContentLength : null) ?? -1;
                }

                // A URL ending in '/' is a folder (a listing, a WebDAV collection), unless the server hands it out as a
                // named file: a download page such as https://example.com/download/ that answers with Content-Disposition.
                var suggested = SuggestedFileName(response);
                var isDirectory = finalUri.AbsolutePath.EndsWith("/", StringComparison.Ordinal) && suggested is null;
                var (sha256, md5) = isDirectory ? (null, null) : HttpDigests.Read(response);
                return new RemoteFileInfo
                {
                    Exists = true,
                    IsDirectory = isDirectory,
                    Length = isDirectory ? -1 : length,
                    LastModified = response.Content.Headers.LastModified,
                    Version = isDirectory ? null : VersionOf(response),
                    FileName = isDirectory ? null : suggested ?? RedirectedFileName(location, finalUri),
                    Sha256 = sha256,
                    Md5 = md5,
                };
            }
            finally
            {
                probe?.Dispose();
            }
        }

        /// <inheritdoc/>
        /// <remarks>
        /// A GET of the folder URL; its answer is a listing when it is HTML or JSON from a URL ending in <c>/</c> (after
        /// redirects: nginx and Apache send <c>/pub</c> to <c>/pub/</c>). Anything else there is a file (<c>NotAFolder</c>),
        /// received as one. Only the listing's names are used: each file is then received, and looked at, as usual.
        /// </remarks>
        public async Task<IReadOnlyList<RemoteFolderEntry>> ListFolderAsync(OperationContext context, Uri folder, TransferOptions options)
        {
            Check(folder);
            using var response = await SendAsync(context, options, folder, HttpMethod.Get, null, "List").ConfigureAwait(false);
            var shown = HttpErrors.Redact(folder);
            if (response.StatusCode == HttpStatusCode.NotFound || response.StatusCode == HttpStatusCode.Gone)
            {
                throw new PluginException(ErrorCode.NotFound, $"The folder {shown} does not exist.", errorId: "SourceNotFound", target: shown);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await HttpErrors.FromStatusAsync(response, folder, "List").ConfigureAwait(false);
            }

            var found = response.RequestMessage?.RequestUri ?? folder;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (!found.AbsolutePath.EndsWith("/", StringComparison.Ordinal) || SuggestedFileName(response) != null || !HttpFolderListing.CanRead(mediaType))
            {
                // Disposing the response unread drops the connection: a large file is not downloaded to find that out.
                throw new PluginException(ErrorCode.InvalidArgument, $"{shown} is a file, not a folder listing.", errorId: "NotAFolder", target: shown);
            }

            var body = await ReadListingAsync(response, folder, options, context.CancellationToken).ConfigureAwait(false);
            return HttpFolderListing.Parse(found, mediaType, body);
        }

        /// <summary>A listing's text, at most <see cref="HttpFolderListing.MaxListingBytes"/>, in the charset the server names (UTF-8 otherwise).</summary>
        private static async Task<string> ReadListingAsync(HttpResponseMessage response, Uri folder, TransferOptions options, CancellationToken cancellationToken)
        {
            // Read as a download's body is: the same stall watchdog (a transient HttpStalled) and the same error mapping.
            using var body = new HttpReadStream(response, await response.Content.ReadAsStreamAsync().ConfigureAwait(false), folder, 0, options.StallTimeout);
            using var text = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (text.Length + n > HttpFolderListing.MaxListingBytes)
                {
                    var shown = HttpErrors.Redact(folder);
                    throw new PluginException(ErrorCode.LimitExceeded,
                        $"The folder listing of {shown} is larger than {HttpFolderListing.MaxListingBytes / (1024 * 1024)} MiB; give the files' locations instead.",
                        errorId: "HttpListingTooLarge", target: shown);
                }

                text.Write(buffer, 0, n);
            }

            var encoding = Encoding.UTF8;
            var charset = response.Content.Headers.ContentType?.CharSet?.Trim('"', ' ');
            if (!string.IsNullOrEmpty(charset))
            {
                try
                {
                    encoding = Encoding.GetEncoding(charset);
                }
                catch (ArgumentException)
                {
                    // A charset this runtime does not know: UTF-8, which is what such listings almost always are.
                }
            }

            return encoding.GetString(text.GetBuffer(), 0, (int)text.Length);
        }

        /// <summary>
        /// The name in a Content-Disposition header (its RFC 5987 <c>filename*</c> first), without quotes; null when there is
        /// none. Whether it is usable (no folders, no control characters) is the engine's check.
        /// </summary>
        internal static string? SuggestedFileName(HttpResponseMessage response)
        {
            var disposition = response.Content.Headers.ContentDisposition;
            var name = disposition?.FileNameStar;
            if (string.IsNullOrWhiteSpace(name))
            {
                name = disposition?.FileName;
            }

            name = name?.Trim().Trim('"').Trim();
            return string.IsNullOrEmpty(name) ? null : name;
        }

        /// <summary>
        /// The name a redirect found the file under, when the URL asked for had none of its own: a short link or a
        /// <c>/latest</c> path (no extension) that leads to <c>setup-2.1.msi</c>. A URL that named a file keeps its name
        /// (a redirect to a CDN often ends in an opaque id); null otherwise.
        /// </summary>
        internal static string? RedirectedFileName(Uri requested, Uri found)
        {
            var asked = TransferLocation.FileName(requested);
            var name = TransferLocation.FileName(found);
            return found.AbsolutePath != requested.AbsolutePath && !Path.HasExtension(asked) && Path.HasExtension(name) ? name : null;
        }

        /// <inheritdoc/>
        public override async Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options)
        {
            Check(location);
            location = await UploadTargetAsync(context, options, location).ConfigureAwait(false);
            if (string.IsNullOrEmpty(expectedVersion))
            {
                expectedVersion = null;
            }

            if (offset < 0)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"Negative offset {offset}.", errorId: "HttpInvalidOffset", target: HttpErrors.Redact(location));
            }

            var response = await SendAsync(context, options, location, HttpMethod.Get, request =>
            {
                if (offset > 0)
                {
                    request.Headers.Range = new RangeHeaderValue(offset, null);
                }

                AddVersionCondition(request, expectedVersion, offset);
            }, "Read").ConfigureAwait(false);

            try
            {
                var skip = 0L;
                switch (response.StatusCode)
                {
                    case HttpStatusCode.PartialContent:
                        var range = response.Content.Headers.ContentRange;
                        if (offset == 0 || range?.From != offset)
                        {
                            throw new PluginException(ErrorCode.SourceChanged,
                                $"Read {HttpErrors.Redact(location)}: asked for bytes from {offset}, the server sent {range}.",
                                errorId: "HttpRangeMismatch", target: HttpErrors.Redact(location));
                        }

                        break;
                    case HttpStatusCode.OK:
                        if (offset > 0)
                        {
                            // Either the If-Range condition failed (the file changed) or the server ignores Range.
                            if (expectedVersion != null && !SourceVersion.Same(VersionOf(response), expectedVersion))
                            {
                                break; // reported below
                            }

                            if (expectedVersion is null && response.Headers.AcceptRanges.Count == 0 && VersionOf(response) is null)
                            {
                                throw new PluginException(ErrorCode.SourceChanged,
                                    $"Read {HttpErrors.Redact(location)}: the server ignores Range and gives no ETag or Last-Modified, so a resume cannot be checked.",
                                    errorId: "HttpCannotResume", target: HttpErrors.Redact(location));
                            }

                            context.Logger.Log(LogLevel.Verbose, $"Http: {HttpErrors.Redact(location)} ignores Range; skipping {offset} bytes.");
                            skip = offset;
                        }

                        break;
                    case HttpStatusCode.RequestedRangeNotSatisfiable:
                        var total = response.Content.Headers.ContentRange?.Length;
                        if (total is null)
                        {
                            // Apache (mod_dav) answers a range at the very end without "Content-Range: bytes */N": ask.
                            var now = await GetInfoAsync(context, location, options).ConfigureAwait(false);
                            total = now.Exists && now.Length >= 0 ? now.Length : (long?)null;
                        }

                        if (total == offset && (expectedVersion is null || VersionOf(response) is null || SourceVersion.Same(VersionOf(response), expectedVersion)))
                        {
                            response.Dispose();
                            return new MemoryStream(Array.Empty<byte>(), writable: false);
                        }

                        throw new PluginException(ErrorCode.SourceChanged,
                            $"Read {HttpErrors.Redact(location)}: it is {total?.ToString(CultureInfo.InvariantCulture) ?? "of unknown size"} bytes now, shorter than the resume offset {offset}.",
                            errorId: "HttpSourceChanged", target: HttpErrors.Redact(location));
                    case HttpStatusCode.PreconditionFailed:
                        throw SourceChanged(location, expectedVersion, null);
                    default:
                        throw HttpErrors.FromStatus(response, location, "Read");
                }

                var version = VersionOf(response);
                if (expectedVersion != null && version != null && !SourceVersion.Same(version, expectedVersion))
                {
                    throw SourceChanged(location, expectedVersion, version);
                }

                var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                var stream = new HttpReadStream(response, body, location, offset, options.StallTimeout);
                if (skip > 0)
                {
                    await SkipAsync(stream, skip, context.CancellationToken).ConfigureAwait(false);
                }

                return stream;
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        /// <summary>The version of a response: its ETag, else <c>lm:</c> and its Last-Modified (RFC 1123); null when it has neither.</summary>
        internal static string? VersionOf(HttpResponseMessage response)
        {
            if (response.Headers.ETag is EntityTagHeaderValue etag)
            {
                return etag.ToString();
            }

            return response.Content.Headers.LastModified is DateTimeOffset lm ? "lm:" + lm.ToString("r", CultureInfo.InvariantCulture) : null;
        }

        private static void AddVersionCondition(HttpRequestMessage request, string? expectedVersion, long offset)
        {
            if (string.IsNullOrEmpty(expectedVersion))
            {
                return;
            }

            if (expectedVersion!.StartsWith("lm:", StringComparison.Ordinal))
            {
                if (DateTimeOffset.TryParseExact(expectedVersion.Substring(3), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var lm))
                {
                    if (offset > 0)
                    {
                        request.Headers.IfRange = new RangeConditionHeaderValue(lm);
                    }
                    else
                    {
                        request.Headers.IfUnmodifiedSince = lm;
                    }
                }

                return;
            }

            // Only strong validators may guard a Range (RFC 9110); weak ones are compared after the answer.
            if (!expectedVersion.StartsWith("W/", StringComparison.Ordinal) && EntityTagHeaderValue.TryParse(expectedVersion, out var tag))
            {
                if (offset > 0)
                {
                    request.Headers.IfRange = new RangeConditionHeaderValue(tag);
                }
                else
                {
                    request.Headers.IfMatch.Add(tag);
                }
            }
        }

        private static PluginException SourceChanged(Uri location, string? expected, string? actual) =>
            new PluginException(ErrorCode.SourceChanged,
                $"Read {HttpErrors.Redact(location)}: the file changed since the transfer began (version {actual ?? "changed"}, expected {expected}); " +
                "its parts cannot be spliced together. Start the transfer again.",
                errorId: "HttpSourceChanged", target: HttpErrors.Redact(location));

        private static async Task SkipAsync(Stream stream, long count, CancellationToken ct)
        {
            var buffer = new byte[81920];
            while (count > 0)
            {
                var n = await stream.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, count), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new PluginException(ErrorCode.SourceChanged, "The file ended before the resume offset.", errorId: "HttpSourceChanged");
                }

                count -= n;
            }
        }

        private static Uri AsCollection(Uri location) =>
            location.AbsolutePath.EndsWith("/", StringComparison.Ordinal) ? location : new UriBuilder(location) { Path = location.AbsolutePath + "/" }.Uri;

        private static string Key(Uri location) => location.GetLeftPart(UriPartial.Query);

        private static void Check(Uri location)
        {
            if (location is null || !location.IsAbsoluteUri || (location.Scheme != Uri.UriSchemeHttp && location.Scheme != Uri.UriSchemeHttps))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{location}' is not an http:// or https:// URI.", errorId: "HttpInvalidUri");
            }

            if (!string.IsNullOrEmpty(location.UserInfo))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    "An http(s) URI must not carry a user name or password (it would be journaled and logged); pass -Credential instead.",
                    errorId: "HttpCredentialInUri", target: location.Host);
            }
        }
    }
}
