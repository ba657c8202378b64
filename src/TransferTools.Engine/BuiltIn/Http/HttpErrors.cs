using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.Http
{
    /// <summary>Turns HTTP answers and HttpClient failures into <see cref="PluginException"/>s the engine acts on.</summary>
    internal static class HttpErrors
    {
        /// <summary>The operations that write to the server: their refusals are the server's word, not a network fault.</summary>
        private static bool IsWrite(string operation) =>
            operation == "CreateDirectory" || operation == "Upload" || operation == "Commit" || operation == "Delete";

        /// <summary><see cref="FromStatus"/> with the start of the answer's body (an error page, a WebDAV error) in the message.</summary>
        public static async Task<PluginException> FromStatusAsync(HttpResponseMessage response, Uri uri, string operation) =>
            FromStatus(response, uri, operation, await ExcerptAsync(response).ConfigureAwait(false));

        /// <summary>The error for a non-success answer to <paramref name="operation"/> on <paramref name="uri"/>.</summary>
        /// <param name="excerpt">The start of the answer's body as text (<see cref="ExcerptAsync"/>), quoted in the message.</param>
        public static PluginException FromStatus(HttpResponseMessage response, Uri uri, string operation, string? excerpt = null)
        {
            var status = (int)response.StatusCode;
            var said = string.IsNullOrEmpty(excerpt) ? "" : $" (\"{excerpt}\")";
            var what = $"{operation} {Redact(uri)}: the server answered {status} {response.ReasonPhrase}{said}";
            switch (status)
            {
                case 404 when operation == "Upload":
                case 405 when operation == "Upload":
                case 501 when operation == "Upload":
                    // Caddy without WebDAV answers PUT with 404, a static file server with 405.
                    return new PluginException(ErrorCode.NotSupported,
                        $"{what}: this server does not accept uploads here. Upload to a location that accepts PUT, such as a WebDAV folder or an upload endpoint.",
                        errorId: status == 404 ? "HttpUploadNotAccepted" : "HttpMethodNotAllowed", target: Redact(uri));
                case 404:
                case 410:
                    return new PluginException(ErrorCode.NotFound, $"{what}: nothing is there.", errorId: "HttpNotFound", target: Redact(uri));
                case 401:
                case 407:
                    var sent = response.RequestMessage?.Headers.Authorization?.Scheme;
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        sent != null
                            ? $"{what}: the server refused the {sent} credentials sent. Check the user name and password of -Credential, or the session's token."
                            : $"{what}: the request was not authenticated. Pass -Credential (HTTP Basic), or connect a session whose token this server accepts.",
                        errorId: "HttpUnauthorized", target: Redact(uri));
                case 403:
                    return new PluginException(ErrorCode.PermissionDenied, $"{what}: access is forbidden.", errorId: "HttpForbidden", target: Redact(uri));
                case 408:
                case 429:
                    return new PluginException(ErrorCode.ConnectionError, $"{what}{RetryAfter(response)}; it will be retried.",
                        errorId: "HttpThrottled", target: Redact(uri));
                case 412:
                    return new PluginException(ErrorCode.SourceChanged, $"{what}: the resource changed.", errorId: "HttpPreconditionFailed", target: Redact(uri));
                case 405:
                case 501:
                    var writing = IsWrite(operation);
                    return new PluginException(ErrorCode.NotSupported,
                        $"{what}: the server does not allow this method here." +
                        (writing ? " Uploads need a location that accepts PUT (and MKCOL for new folders), such as a WebDAV folder." : ""),
                        errorId: "HttpMethodNotAllowed", target: Redact(uri));
                case 413:
                case 507:
                    return new PluginException(ErrorCode.LimitExceeded, $"{what}: the server has no room for it.", errorId: "HttpTooLarge", target: Redact(uri));
            }

            if (status == 500 && IsWrite(operation))
            {
                // An internal error answering a write (a folder the server may not write, a full disk behind a gateway)
                // comes back the same on every retry: it is the server's refusal, not a network fault.
                return new PluginException(ErrorCode.Unknown, $"{what}: the server could not store it (a folder it may not write to, a full disk?).",
                    errorId: "HttpServerRefused", target: Redact(uri));
            }

            if (status >= 500)
            {
                return new PluginException(ErrorCode.ConnectionError, $"{what}{RetryAfter(response)} (a server-side failure; transient).",
                    errorId: "HttpServerError", target: Redact(uri));
            }

            return new PluginException(ErrorCode.Unknown, what + ".", errorId: "HttpUnexpectedStatus", target: Redact(uri));
        }

        /// <summary>
        /// The start of an error answer's body as one line of plain text (markup dropped, at most 200 characters), or
        /// null when it is not text, is empty, or only repeats the status line (nginx's error pages do).
        /// </summary>
        internal static async Task<string?> ExcerptAsync(HttpResponseMessage response)
        {
            try
            {
                var type = response.Content.Headers.ContentType?.MediaType;
                if (type != null && !type.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
                    && type.IndexOf("xml", StringComparison.OrdinalIgnoreCase) < 0 && type.IndexOf("json", StringComparison.OrdinalIgnoreCase) < 0)
                {
                    return null;
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
                var buffer = new byte[2048];
                var n = 0;
                while (n < buffer.Length)
                {
                    var read = await body.ReadAsync(buffer, n, buffer.Length - n, timeout.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    n += read;
                }

                var text = Regex.Replace(Encoding.UTF8.GetString(buffer, 0, n), "<(script|style|head)[^>]*>.*?</\\1>|<[^>]*>|&[a-z]+;", " ",
                    RegexOptions.Singleline | RegexOptions.IgnoreCase);
                text = Regex.Replace(text, "\\s+", " ").Trim();
                var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (text.Length == 0 || (text.StartsWith(status, StringComparison.Ordinal) && text.Length < 80))
                {
                    return null;
                }

                return text.Length <= 200 ? text : text.Substring(0, 200) + "…";
            }
            catch (Exception)
            {
                // The message goes without it.
                return null;
            }
        }

        /// <summary>The key under which <see cref="RememberCertificateVerdict"/> leaves a refused certificate's description on its request.</summary>
        private const string CertificateRefusalKey = "TransferTools.CertificateRefusal";

        /// <summary>
        /// A certificate validation callback that returns the platform's own verdict (valid only when it found no error)
        /// and, when it refuses, notes on the request what was wrong, for <see cref="FromException"/>.
        /// </summary>
        public static bool RememberCertificateVerdict(HttpRequestMessage request, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            try
            {
#pragma warning disable CS0618 // Properties: the netstandard2.0 surface this assembly is built against.
                request.Properties[CertificateRefusalKey] = DescribeRefusal(request.RequestUri, certificate, chain, errors);
#pragma warning restore CS0618
            }
            catch (Exception)
            {
                // Only the message loses its detail; the certificate is refused all the same.
            }

            return false;
        }

        /// <summary>What was wrong with a refused server certificate, in words, with what identifies it.</summary>
        internal static string DescribeRefusal(Uri? uri, X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            var reasons = new System.Collections.Generic.List<string>();
            if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            {
                reasons.Add("the server sent no certificate");
            }

            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                reasons.Add($"it is not issued for '{uri?.Host}'");
            }

            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                var status = chain?.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status) ?? X509ChainStatusFlags.NoError;
                if ((status & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
                {
                    reasons.Add("it is not signed by a certificate authority this machine trusts (self-signed, or a private CA)");
                }

                if ((status & X509ChainStatusFlags.NotTimeValid) != 0)
                {
                    reasons.Add("it has expired or is not valid yet");
                }

                if ((status & X509ChainStatusFlags.Revoked) != 0)
                {
                    reasons.Add("it has been revoked");
                }

                var other = status & ~(X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.Revoked);
                if (other != X509ChainStatusFlags.NoError || status == X509ChainStatusFlags.NoError)
                {
                    reasons.Add($"its chain does not validate ({(status == X509ChainStatusFlags.NoError ? "no detail" : other.ToString())})");
                }
            }

            var identity = certificate is null ? ""
                : string.Format(System.Globalization.CultureInfo.InvariantCulture, " (certificate '{0}', issued by '{1}', valid {2:yyyy-MM-dd} to {3:yyyy-MM-dd}, SHA-256 {4})",
                    certificate.Subject, certificate.Issuer, certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime(), Sha256Thumbprint(certificate));
            return string.Join("; ", reasons) + identity;
        }

        private static string Sha256Thumbprint(X509Certificate2 certificate)
        {
            using var sha = System.Security.Cryptography.SHA256.Create();
            return BitConverter.ToString(sha.ComputeHash(certificate.RawData)).Replace("-", "");
        }

        /// <summary>The error for an exception thrown while talking to <paramref name="uri"/>.</summary>
        /// <param name="request">The request that failed: a refused certificate is described on it (<see cref="RememberCertificateVerdict"/>).</param>
        public static PluginException FromException(Exception e, Uri uri, string operation, HttpRequestMessage? request)
        {
            if (e is PluginException pe)
            {
                return pe;
            }

            if (e is AggregateException ae && ae.InnerExceptions.Count == 1)
            {
                return FromException(ae.InnerExceptions[0], uri, operation, request);
            }

            var where = $"{operation} {Redact(uri)}";
            if (Find<AuthenticationException>(e) is AuthenticationException tls)
            {
                string? refusal = null;
#pragma warning disable CS0618
                if (request != null && request.Properties.TryGetValue(CertificateRefusalKey, out var noted))
#pragma warning restore CS0618
                {
                    refusal = noted as string;
                }

                if (refusal != null)
                {
                    return new PluginException(ErrorCode.SecurityError,
                        $"{where}: the server's TLS certificate was refused: {refusal}. Certificates are always validated; " +
                        "trust the issuing CA on this machine, or (only for a server you control) pass -ProtocolOption @{ SkipCertificateCheck = 'true' } " +
                        "or set SkipCertificateCheck in the Http plugin configuration.",
                        e, "HttpTlsError", Redact(uri));
                }

                return new PluginException(ErrorCode.SecurityError,
                    $"{where}: the TLS handshake failed before any certificate was checked ({tls.Message}). Is the server speaking TLS on this port " +
                    "(an http:// server addressed as https://?), and does it offer a TLS version and cipher this machine accepts?",
                    e, "HttpTlsHandshakeFailed", Redact(uri));
            }

            if (e is OperationCanceledException)
            {
                return new PluginException(ErrorCode.Timeout, $"{where}: no answer within the stall timeout; it will be retried.", e, "HttpTimeout", Redact(uri));
            }

            if (Unreachable(Find<SocketException>(e), uri) is { } cause)
            {
                // The cause first, in a user's words: the operation and URL (GetInfo http://...) say nothing a user can act on.
                return new PluginException(ErrorCode.ConnectionError, cause, e, "HttpConnectionFailed", Redact(uri));
            }

            if (e is HttpRequestException || e is IOException || e is SocketException || e is ObjectDisposedException || e is WebException)
            {
                var detail = Find<SocketException>(e)?.Message ?? e.Message;
                return new PluginException(ErrorCode.ConnectionError, $"{where}: the connection failed or was dropped ({detail}).", e,
                    "HttpConnectionFailed", Redact(uri));
            }

            return new PluginException(ErrorCode.Internal, $"{where}: {e.Message}", e, "HttpUnexpectedError", Redact(uri));
        }

        /// <summary>
        /// What a user is told of a host that refused the connection or whose name does not resolve, or null for any other
        /// socket error. Shared by the protocols so each says it the same way.
        /// </summary>
        internal static string? Unreachable(SocketException? socket, Uri uri) => Unreachable(socket, uri.Host, uri.Port);

        /// <inheritdoc cref="Unreachable(SocketException?, Uri)"/>
        internal static string? Unreachable(SocketException? socket, string host, int port) => socket?.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => $"Could not connect to {host}:{port}: connection refused (is the server running, and on this port?).",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain =>
                $"Could not connect to {host}:{port}: the host name '{host}' does not resolve ({socket.Message}).",
            SocketError.HostUnreachable or SocketError.NetworkUnreachable => $"Could not connect to {host}:{port}: the host cannot be reached ({socket.Message}).",
            _ => null,
        };

        /// <summary>The URI without user information or query (which may carry signatures or tokens), for messages.</summary>
        public static string Redact(Uri uri)
        {
            var b = new UriBuilder(uri) { UserName = "", Password = "" };
            var text = b.Uri.GetLeftPart(UriPartial.Path);
            return string.IsNullOrEmpty(uri.Query) ? text : text + "?…";
        }

        private static string RetryAfter(HttpResponseMessage response)
        {
            var ra = response.Headers.RetryAfter;
            if (ra?.Delta is TimeSpan d)
            {
                return $" (Retry-After {d.TotalSeconds:0} s)";
            }

            return ra?.Date is DateTimeOffset at ? $" (Retry-After {at:u})" : "";
        }

        private static T? Find<T>(Exception? e) where T : Exception
        {
            for (; e != null; e = e.InnerException)
            {
                if (e is T t)
                {
                    return t;
                }

                if (e is AggregateException agg)
                {
                    var inner = agg.InnerExceptions.Select(Find<T>).FirstOrDefault(x => x != null);
                    if (inner != null)
                    {
                        return inner;
                    }
                }
            }

            return null;
        }
    }
}
