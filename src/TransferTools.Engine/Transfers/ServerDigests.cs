using System;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The whole-content digests a source's server announces (<see cref="RemoteFileInfo.Sha256"/>,
    /// <see cref="RemoteFileInfo.Md5"/>): a copy checked against one is proven by something independent of the transfer's
    /// own reading, which matters where size and validators cannot tell (a server announcing a stale ETag after the file
    /// changed splices a resume). A SHA-256 is preferred; an MD5 alone is checked with an MD5 taken alongside.
    /// </summary>
    internal readonly struct ServerDigests
    {
        private ServerDigests(string? sha256, string? md5)
        {
            Sha256 = sha256;
            Md5 = md5;
        }

        /// <summary>The announced SHA-256, lower-case hex, or null.</summary>
        public string? Sha256 { get; }

        /// <summary>The announced MD5, lower-case hex, or null.</summary>
        public string? Md5 { get; }

        /// <summary>True when an MD5 is announced and no SHA-256: the transfer must take an MD5 too.</summary>
        public bool NeedsMd5 => Sha256 is null && Md5 != null;

        /// <summary>What <paramref name="info"/> announces (values that are not hex of the right length are ignored).</summary>
        public static ServerDigests Of(RemoteFileInfo? info) => new ServerDigests(HexOf(info?.Sha256, 64), HexOf(info?.Md5, 32));

        /// <summary>These digests, or <paramref name="earlier"/> when these announce none.</summary>
        public ServerDigests Or(ServerDigests earlier) => Sha256 != null || Md5 != null ? this : earlier;

        /// <summary>Whether one of these can be checked with the hashes taken (<paramref name="md5"/> null when none was).</summary>
        public bool CanCheck(string? md5) => Sha256 != null || (Md5 != null && md5 != null);

        /// <summary>
        /// Compares the content's <paramref name="sha256"/> (and <paramref name="md5"/>, when taken) with what is announced.
        /// </summary>
        /// <returns>Null when they agree or nothing can be checked; otherwise what differs, for a message.</returns>
        public string? Mismatch(string sha256, string? md5)
        {
            if (Sha256 != null)
            {
                return string.Equals(Sha256, sha256, StringComparison.OrdinalIgnoreCase) ? null : $"SHA-256 is {sha256}, but its server announces {Sha256}";
            }

            if (Md5 != null && md5 != null)
            {
                return string.Equals(Md5, md5, StringComparison.OrdinalIgnoreCase) ? null : $"MD5 is {md5}, but its server announces {Md5}";
            }

            return null;
        }

        private static string? HexOf(string? value, int length)
        {
            var text = value?.Trim().ToLowerInvariant();
            if (text is null || text.Length != length)
            {
                return null;
            }

            foreach (var c in text)
            {
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                {
                    return null;
                }
            }

            return text;
        }
    }
}
