using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using Amazon.Runtime;
using Amazon.S3;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>Turns SDK and network failures into <see cref="PluginException"/>s that name the endpoint and key id, never a secret.</summary>
    internal static class S3Errors
    {
        /// <summary>True for the S3 error codes that mean the signer is not accepted.</summary>
        public static bool IsAuthentication(AmazonServiceException e) =>
            e.ErrorCode is "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken" or "TokenRefreshRequired"
                or "AuthorizationHeaderMalformed" or "InvalidClientTokenId" or "RequestExpired" || e.StatusCode == HttpStatusCode.Unauthorized;

        /// <summary>True when the service answered 404 (the object, upload or bucket is not there).</summary>
        public static bool IsNotFound(Exception e) =>
            e is AmazonServiceException s && (s.StatusCode == HttpStatusCode.NotFound || s.ErrorCode is "NoSuchKey" or "NoSuchBucket" or "NoSuchUpload");

        /// <summary>True when the service said the bucket does not exist.</summary>
        public static bool IsNoSuchBucket(Exception e) => e is AmazonServiceException s && s.ErrorCode == "NoSuchBucket";

        /// <summary>True for a failed If-Match / If-None-Match.</summary>
        public static bool IsPreconditionFailed(Exception e) =>
            e is AmazonServiceException s && (s.StatusCode == HttpStatusCode.PreconditionFailed || s.ErrorCode == "PreconditionFailed");

        /// <summary>Maps <paramref name="e"/>; <paramref name="operation"/> and <paramref name="target"/> say what failed.</summary>
        public static PluginException Map(Exception e, S3Settings settings, string operation, string target, CancellationToken token)
        {
            if (e is PluginException pe)
            {
                return pe;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Count > 0)
            {
                return Map(aggregate.InnerExceptions.FirstOrDefault(i => i is AmazonServiceException) ?? aggregate.InnerExceptions[0], settings, operation, target, token);
            }

            var where = $"S3 at {settings.EndpointDisplay}";
            switch (e)
            {
                case OperationCanceledException _ when token.IsCancellationRequested:
                    return new PluginException(ErrorCode.Cancelled, $"The {operation} of '{target}' was cancelled.", e, "OperationCancelled", target);
                case OperationCanceledException _:
                    return new PluginException(ErrorCode.Timeout, $"{where} did not answer in time; the {operation} of '{target}' failed.", e, "S3Timeout", target);
                case AmazonServiceException s when s.ErrorCode == "NoSuchBucket":
                    return new PluginException(ErrorCode.NotFound, $"{where} has no bucket '{BucketOf(target)}'; the {operation} failed.", e, "S3BucketNotFound", target);
                case AmazonServiceException s when IsNotFound(s):
                    return new PluginException(ErrorCode.NotFound, $"{where}: '{target}' does not exist ({s.ErrorCode ?? "404"}).", e, "S3ObjectNotFound", target);
                case AmazonServiceException s when IsAuthentication(s):
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        $"{where} refused the credentials of {settings.IdentityDisplay} ({s.ErrorCode}); check the access key id and secret, or the profile.", e, "S3AuthenticationFailed", target);
                case AmazonServiceException s when s.StatusCode == HttpStatusCode.Forbidden:
                    return new PluginException(ErrorCode.PermissionDenied, $"{where} denied the {operation} of '{target}' to {settings.IdentityDisplay} ({s.ErrorCode}).", e, "S3AccessDenied", target);
                case AmazonServiceException s when IsPreconditionFailed(s):
                    return new PluginException(ErrorCode.SourceChanged, $"'{target}' changed at {where} during the {operation}.", e, "SourceChanged", target);
                case AmazonServiceException s when s.ErrorCode is "SlowDown" or "ServiceUnavailable" or "InternalError" || (int)s.StatusCode >= 500 || (int)s.StatusCode == 429:
                    // Transient: the engine retries connection errors with backoff.
                    return new PluginException(ErrorCode.ConnectionError, $"{where} is busy or failed ({(int)s.StatusCode} {s.ErrorCode}); the {operation} of '{target}' failed.", e, "S3ServerBusy", target);
                case AmazonServiceException s when s.StatusCode == 0 || s.InnerException is HttpRequestException || s.InnerException is IOException || s.InnerException is WebException:
                    return new PluginException(ErrorCode.ConnectionError, $"{where} could not be reached{Unreachable(e)}; the {operation} of '{target}' failed.", e, "S3ConnectionFailed", target);
                case AmazonServiceException s:
                    return new PluginException(ErrorCode.Internal, $"{where} refused the {operation} of '{target}' ({(int)s.StatusCode} {s.ErrorCode}: {s.Message}).", e, "S3RequestFailed", target);
                case AmazonClientException _ when e.InnerException is HttpRequestException || e.InnerException is IOException || e.InnerException is WebException:
                case HttpRequestException _:
                case IOException _:
                case WebException _:
                case System.Net.Sockets.SocketException _:
                    return new PluginException(ErrorCode.ConnectionError, $"{where} could not be reached{Unreachable(e)}; the {operation} of '{target}' failed.", e, "S3ConnectionFailed", target);
                case AmazonClientException c when c.Message.IndexOf("credential", StringComparison.OrdinalIgnoreCase) >= 0:
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        $"No AWS credentials for {where}: register AccessKeyId and SecretAccessKey or a Profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.", e, "S3CredentialsMissing", target);
                default:
                    return new PluginException(ErrorCode.Internal, $"{where}: the {operation} of '{target}' failed ({e.GetType().Name}).", e, "S3UnexpectedError", target);
            }
        }

        /// <summary>The cause of a connection that never was, in a user's words (" (connection refused)"); empty for others.</summary>
        private static string Unreachable(Exception error)
        {
            for (var e = error; e != null; e = e.InnerException)
            {
                if (e is System.Net.Sockets.SocketException socket)
                {
                    return socket.SocketErrorCode switch
                    {
                        System.Net.Sockets.SocketError.ConnectionRefused => " (connection refused: is the server running, and on this port?)",
                        System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData => $" (the host name does not resolve: {socket.Message})",
                        _ => $" ({socket.Message})",
                    };
                }
            }

            return "";
        }

        private static string BucketOf(string target)
        {
            var t = target.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) ? target.Substring(5) : target;
            var at = t.IndexOf('@');
            var slash = t.IndexOf('/');
            if (at >= 0 && (slash < 0 || at < slash))
            {
                t = t.Substring(at + 1);
                slash = t.IndexOf('/');
            }

            return slash < 0 ? t : t.Substring(0, slash);
        }
    }
}
