using System;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// An <c>sftp://user@host[:port]/path</c> URI taken apart. The path after the host is absolute on the server;
    /// <c>/~/dir/file</c> (or <c>/~</c>) is relative to the directory the SFTP session starts in (normally the
    /// user's home, or what the server's <c>internal-sftp -d</c> sets).
    /// </summary>
    public sealed class SftpLocation
    {
        private SftpLocation(string host, int port, string? user, string path)
        {
            Host = host;
            Port = port;
            User = user;
            Path = path;
        }

        /// <summary>The server's host name or address.</summary>
        public string Host { get; }
        /// <summary>The TCP port (22 when the URI names none).</summary>
        public int Port { get; }
        /// <summary>The user from the URI, or null (then the credential's user name is used).</summary>
        public string? User { get; }
        /// <summary>The path on the server: absolute (<c>/srv/x</c>) or home-relative (<c>dir/x</c>, <c>.</c>).</summary>
        public string Path { get; }

        /// <summary>Parses <paramref name="uri"/>.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> for a URI that is not a usable sftp URI.</exception>
        public static SftpLocation Parse(Uri uri)
        {
            if (uri is null || !uri.IsAbsoluteUri || !string.Equals(uri.Scheme, "sftp", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{uri}' is not an sftp:// URI.", errorId: "SftpInvalidUri", target: uri);
            }

            if (string.IsNullOrEmpty(uri.Host))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{uri}' names no host (expected sftp://user@host[:port]/path).",
                    errorId: "SftpInvalidUri", target: uri);
            }

            string? user = null;
            if (!string.IsNullOrEmpty(uri.UserInfo))
            {
                if (uri.UserInfo.IndexOf(':') >= 0)
                {
                    // Never echo the URI here: it holds a password.
                    throw new PluginException(ErrorCode.InvalidArgument,
                        "An sftp:// URI must not carry a password (it would be journaled and logged); pass it with -Credential.",
                        errorId: "SftpPasswordInUri", target: uri.Host);
                }

                user = Uri.UnescapeDataString(uri.UserInfo);
            }

            var path = Uri.UnescapeDataString(uri.AbsolutePath);
            if (path == "/~" || path == "/~/")
            {
                path = ".";
            }
            else if (path.StartsWith("/~/", StringComparison.Ordinal))
            {
                path = path.Substring(3);
            }
            else if (path.Length == 0)
            {
                path = "/";
            }

            var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
            return new SftpLocation(host, uri.IsDefaultPort || uri.Port <= 0 ? 22 : uri.Port, user, path);
        }

        /// <summary>The folder holding <see cref="Path"/>, or null at the root.</summary>
        public string? ParentPath
        {
            get
            {
                var trimmed = Path.TrimEnd('/');
                var slash = trimmed.LastIndexOf('/');
                if (slash < 0)
                {
                    return trimmed.Length == 0 || trimmed == "." ? null : ".";
                }

                return slash == 0 ? (trimmed.Length > 1 ? "/" : null) : trimmed.Substring(0, slash);
            }
        }

        /// <summary>True when both name the same server and account.</summary>
        public bool SameServer(SftpLocation other) =>
            string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase) && Port == other.Port
            && string.Equals(User, other.User, StringComparison.Ordinal);

        /// <summary>The location as <c>user@host:port:path</c>, for messages.</summary>
        public override string ToString() => $"{(User is null ? "" : User + "@")}{Host}:{Port}:{Path}";
    }
}
