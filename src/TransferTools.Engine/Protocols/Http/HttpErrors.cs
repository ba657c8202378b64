using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Protocols.Http
{
    /// <summary>Turns HTTP answers and HttpClient failures into <see cref="PluginException"/>s the engine acts on.</summary>
    internal static class HttpErrors
    {
        /// <summary>The error for a non-success answer to <paramref name="operation"/> on <paramref name="uri"/>.</summary>
        public static PluginException FromStatus(HttpResponseMessage response, Uri uri, string operation)
        {
            var status = (int)response.StatusCode;
            var what = $"{operation} {Redact(uri)}: the server answered {status} {response.ReasonPhrase}";
            switch (status)
            {
                case 404:
                case 410:
                    return new PluginException(ErrorCode.NotFound, $"{what}: nothing is there.", errorId: "HttpNotFound", target: Redact(uri));
                case 401:
                case 407:
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        $"{what}: the request was not authenticated. Pass -Credential (HTTP Basic), or connect a session whose token this server accepts.",
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
                    return new PluginException(ErrorCode.NotSupported, $"{what}: the server does not allow this method here.",
                        errorId: "HttpMethodNotAllowed", target: Redact(uri));
                case 413:
                case 507:
                    return new PluginException(ErrorCode.LimitExceeded, $"{what}: the server has no room for it.", errorId: "HttpTooLarge", target: Redact(uri));
            }

            if (status >= 500)
            {
                return new PluginException(ErrorCode.ConnectionError, $"{what}{RetryAfter(response)} (a server-side failure; transient).",
                    errorId: "HttpServerError", target: Redact(uri));
            }

            return new PluginException(ErrorCode.Unknown, what + ".", errorId: "HttpUnexpectedStatus", target: Redact(uri));
        }

        /// <summary>The error for an exception thrown while talking to <paramref name="uri"/>.</summary>
        public static PluginException FromException(Exception e, Uri uri, string operation)
        {
            if (e is PluginException pe)
            {
                return pe;
            }

            if (e is AggregateException ae && ae.InnerExceptions.Count == 1)
            {
                return FromException(ae.InnerExceptions[0], uri, operation);
            }

            var where = $"{operation} {Redact(uri)}";
            if (Find<AuthenticationException>(e) is AuthenticationException tls)
            {
                return new PluginException(ErrorCode.SecurityError,
                    $"{where}: the server's TLS certificate was not accepted ({tls.Message}). Certificates are always validated; " +
                    "trust the issuing CA on this machine, or (only for a server you control) set SkipCertificateCheck in the Http plugin configuration.",
                    e, "HttpTlsError", Redact(uri));
            }

            if (e is OperationCanceledException)
            {
                return new PluginException(ErrorCode.Timeout, $"{where}: no answer within the stall timeout; it will be retried.", e, "HttpTimeout", Redact(uri));
            }

            if (e is HttpRequestException || e is IOException || e is SocketException || e is ObjectDisposedException || e is WebException)
            {
                var detail = Find<SocketException>(e)?.Message ?? e.Message;
                return new PluginException(ErrorCode.ConnectionError, $"{where}: the connection failed or was dropped ({detail}).", e,
                    "HttpConnectionFailed", Redact(uri));
            }

            return new PluginException(ErrorCode.Internal, $"{where}: {e.Message}", e, "HttpUnexpectedError", Redact(uri));
        }

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
