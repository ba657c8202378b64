using System;
using System.IO;
using System.Net.Sockets;
using Renci.SshNet.Common;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>Turns SSH.NET and socket failures into <see cref="PluginException"/>s with the codes the engine acts on.</summary>
    internal static class SftpErrors
    {
        /// <summary>
        /// Whether <paramref name="e"/> is the server's answer to a request (a status other than OK), not a lost
        /// connection: what a failed CLOSE must be to count as the server refusing the file.
        /// </summary>
        public static bool IsServerAnswer(Exception e) =>
            e is SshException && !(e is SshConnectionException) && !(e is SshOperationTimeoutException) && !(e is ProxyException);

        /// <summary>
        /// The server's own words from a status answer, as " (the server said: ...)"; empty when it said nothing beyond
        /// the status name (OpenSSH's sftp-server sends only "Failure", "No such file", "Permission denied").
        /// </summary>
        internal static string ServerSaid(Exception e)
        {
            var message = e.Message.Trim();
            const string failure = "Failure: ";
            if (message.StartsWith(failure, StringComparison.OrdinalIgnoreCase))
            {
                message = message.Substring(failure.Length);
            }

            var plain = message.TrimEnd('.');
            if (plain.Length == 0 || Array.Exists(StatusNames, n => string.Equals(n, plain, StringComparison.OrdinalIgnoreCase)))
            {
                return "";
            }

            return $" (the server said: {(message.Length <= 300 ? message : message.Substring(0, 300) + "…")})";
        }

        // What SSH.NET or a server says for a bare status: nothing worth repeating.
        private static readonly string[] StatusNames = { "Failure", "No such file", "Permission denied", "failure", "No such file or directory" };

        public static PluginException Map(Exception e, SftpLocation location, string operation)
        {
            if (e is PluginException pe)
            {
                return pe;
            }

            if (e is AggregateException ae && ae.InnerExceptions.Count == 1)
            {
                return Map(ae.InnerExceptions[0], location, operation);
            }

            var where = $"sftp://{location.Host}:{location.Port} {location.Path}";
            switch (e)
            {
                case SftpPathNotFoundException:
                    return new PluginException(ErrorCode.NotFound, $"{operation}: '{location.Path}' does not exist on {location.Host}:{location.Port}{ServerSaid(e)}.",
                        e, "SftpPathNotFound", location.Path);
                case SftpPermissionDeniedException:
                    return new PluginException(ErrorCode.PermissionDenied,
                        $"{operation}: the server denied permission for '{location.Path}' on {location.Host}:{location.Port}{ServerSaid(e)}.",
                        e, "SftpPermissionDenied", location.Path);
                case SshAuthenticationException:
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        $"The SSH server {location.Host}:{location.Port} rejected the login of '{location.User}' ({e.Message}). Check -Credential or -KeyFile.",
                        e, "SftpAuthenticationFailed", location.Host);
                case SshPassPhraseNullOrEmptyException:
                    return new PluginException(ErrorCode.AuthenticationFailed,
                        "The private key file is encrypted: pass its passphrase as the password of -Credential.",
                        e, "SftpKeyPassphraseRequired", location.Host);
                case SshOperationTimeoutException:
                    return new PluginException(ErrorCode.Timeout,
                        $"{operation}: {where} made no progress within the stall timeout; the connection will be re-established.",
                        e, "SftpStalled", location.Host);
                case ProxyException:
                case SshConnectionException:
                case SocketException:
                case ObjectDisposedException:
                    return new PluginException(ErrorCode.ConnectionError,
                        $"{operation}: the connection to {location.Host}:{location.Port} failed or was dropped ({e.Message}).",
                        e, "SftpConnectionLost", location.Host);
                case IOException io when io.InnerException is SocketException:
                    return new PluginException(ErrorCode.ConnectionError,
                        $"{operation}: the connection to {location.Host}:{location.Port} failed ({io.InnerException.Message}).",
                        e, "SftpConnectionLost", location.Host);
                case InvalidOperationException when e.Message.IndexOf("not connected", StringComparison.OrdinalIgnoreCase) >= 0:
                    return new PluginException(ErrorCode.ConnectionError,
                        $"{operation}: the connection to {location.Host}:{location.Port} is closed.",
                        e, "SftpConnectionLost", location.Host);
                case OperationCanceledException:
                    return new PluginException(ErrorCode.Timeout,
                        $"{operation}: {where} did not answer in time.", e, "SftpTimeout", location.Host);
                case SshException ssh when ssh.Message.IndexOf("Failure", StringComparison.OrdinalIgnoreCase) >= 0:
                    return new PluginException(ErrorCode.Unknown, $"{operation}: the server reported a failure for '{location.Path}'{ServerSaid(e)}.",
                        e, "SftpServerFailure", location.Path);
                case SshException:
                    return new PluginException(ErrorCode.Unknown, $"{operation}: {where}: {e.Message}", e, "SftpError", location.Path);
                default:
                    return new PluginException(ErrorCode.Internal, $"{operation}: {where}: {e.Message}", e, "SftpUnexpectedError", location.Path);
            }
        }
    }
}
