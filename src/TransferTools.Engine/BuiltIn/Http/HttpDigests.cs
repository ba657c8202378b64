using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.Http
{
    /// <summary>
    /// The whole-file digests an HTTP answer announces: <c>Repr-Digest</c> (RFC 9530) and <c>Digest</c> (RFC 3230) describe
    /// the file whatever part of it the answer carries; <c>Content-Digest</c> and <c>Content-MD5</c> describe the answer's
    /// body, so they count only for a whole, unencoded body (a 200 without Content-Encoding).
    /// </summary>
    internal static class HttpDigests
    {
        /// <summary>The announced SHA-256 and MD5 (lower-case hex), each null when not announced.</summary>
        public static (string? Sha256, string? Md5) Read(HttpResponseMessage response)
        {
            string? sha256 = null, md5 = null;
            var wholeBody = response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentEncoding.Count == 0;
            foreach (var (name, structured) in new[] { ("Repr-Digest", true), ("Digest", false), ("Content-Digest", true) })
            {
                if (name == "Content-Digest" && !wholeBody)
                {
                    continue;
                }

                foreach (var value in Values(response, name))
                {
                    foreach (var (algorithm, bytes) in Parse(value, structured))
                    {
                        if (algorithm == "sha-256" && bytes.Length == 32)
                        {
                            sha256 ??= Hex.ToLowerString(bytes);
                        }
                        else if (algorithm == "md5" && bytes.Length == 16)
                        {
                            md5 ??= Hex.ToLowerString(bytes);
                        }
                    }
                }
            }

            if (md5 is null && wholeBody && response.Content.Headers.ContentMD5 is { Length: 16 } contentMd5)
            {
                md5 = Hex.ToLowerString(contentMd5);
            }

            return (sha256, md5);
        }

        /// <summary>
        /// The <c>algorithm=value</c> members of a digest header: <c>sha-256=:BASE64:</c> (structured, RFC 9530) or
        /// <c>SHA-256=BASE64</c> (RFC 3230). Algorithm names are compared without case; anything unreadable is skipped.
        /// </summary>
        internal static IEnumerable<(string Algorithm, byte[] Value)> Parse(string header, bool structured)
        {
            foreach (var member in header.Split(','))
            {
                var eq = member.IndexOf('=');
                if (eq <= 0)
                {
                    continue;
                }

                var algorithm = member.Substring(0, eq).Trim().ToLowerInvariant();
                var value = member.Substring(eq + 1).Trim();
                var semicolon = value.IndexOf(';');
                if (semicolon >= 0)
                {
                    value = value.Substring(0, semicolon).Trim();   // structured-field parameters
                }

                if (structured || (value.Length > 1 && value[0] == ':'))
                {
                    if (value.Length < 2 || value[0] != ':' || value[value.Length - 1] != ':')
                    {
                        continue;
                    }

                    value = value.Substring(1, value.Length - 2);
                }

                byte[] bytes;
                try
                {
                    bytes = Convert.FromBase64String(value);
                }
                catch (FormatException)
                {
                    continue;
                }

                yield return (algorithm, bytes);
            }
        }

        private static IEnumerable<string> Values(HttpResponseMessage response, string name)
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            {
                return values;
            }

            return Array.Empty<string>();
        }
    }
}
