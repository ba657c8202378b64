using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>What a known_hosts lookup decided about a presented host key.</summary>
    public enum HostKeyVerdict
    {
        /// <summary>A line for the host lists exactly this key.</summary>
        Trusted,
        /// <summary>No line names the host: the key is unknown.</summary>
        Unknown,
        /// <summary>Lines name the host, but none with this key: possibly an impostor.</summary>
        Mismatch,
        /// <summary>The key is marked <c>@revoked</c>.</summary>
        Revoked,
    }

    /// <summary>
    /// Reads OpenSSH known_hosts files: plain and <c>[host]:port</c> patterns, comma lists, wildcards
    /// (<c>*</c>, <c>?</c>), negation (<c>!</c>), hashed entries (<c>|1|salt|hash</c>) and the <c>@revoked</c> marker.
    /// <c>@cert-authority</c> lines are skipped (host certificates are not trusted through them).
    /// </summary>
    public static class KnownHosts
    {
        /// <summary>The user's known_hosts file (<c>~/.ssh/known_hosts</c>).</summary>
        public static string UserFile =>
            Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "known_hosts");

        /// <summary>The host name as known_hosts writes it: <c>host</c> on port 22, <c>[host]:port</c> otherwise.</summary>
        public static string HostPattern(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

        /// <summary>The SHA-256 fingerprint (<c>SHA256:</c> and unpadded base64, as <c>ssh-keygen -l</c> prints it) of a public key blob.</summary>
        public static string Fingerprint(byte[] keyBlob)
        {
            using var sha = SHA256.Create();
            return "SHA256:" + Convert.ToBase64String(sha.ComputeHash(keyBlob)).TrimEnd('=');
        }

        /// <summary>Normalizes a user-typed fingerprint: accepts <c>SHA256:x</c>, <c>x</c> and padded base64.</summary>
        public static string NormalizeFingerprint(string fingerprint)
        {
            var f = fingerprint.Trim();
            if (f.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase))
            {
                f = f.Substring(7);
            }

            return "SHA256:" + f.TrimEnd('=');
        }

        /// <summary>
        /// Looks for <paramref name="host"/>:<paramref name="port"/> in <paramref name="files"/> (missing files are skipped)
        /// and decides on the key whose fingerprint is <paramref name="presentedFingerprint"/>.
        /// </summary>
        /// <param name="knownKeyTypes">Receives the key types listed for the host (to prefer them in negotiation).</param>
        public static HostKeyVerdict Check(IEnumerable<string> files, string host, int port, string presentedFingerprint,
            ICollection<string>? knownKeyTypes = null)
        {
            var sawHost = false;
            var trusted = false;
            foreach (var entry in ReadEntries(files))
            {
                if (!entry.Matches(host, port))
                {
                    continue;
                }

                var fingerprint = entry.Fingerprint;
                if (entry.Revoked)
                {
                    if (fingerprint == presentedFingerprint)
                    {
                        return HostKeyVerdict.Revoked;
                    }

                    continue;
                }

                sawHost = true;
                knownKeyTypes?.Add(entry.KeyType);
                if (fingerprint == presentedFingerprint)
                {
                    trusted = true;
                }
            }

            return trusted ? HostKeyVerdict.Trusted : sawHost ? HostKeyVerdict.Mismatch : HostKeyVerdict.Unknown;
        }

        /// <summary>The key types known_hosts lists for a host (empty when none).</summary>
        public static IReadOnlyCollection<string> KeyTypesFor(IEnumerable<string> files, string host, int port)
        {
            var types = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in ReadEntries(files))
            {
                if (!entry.Revoked && entry.Matches(host, port))
                {
                    types.Add(entry.KeyType);
                }
            }

            return types;
        }

        private static IEnumerable<Entry> ReadEntries(IEnumerable<string> files)
        {
            foreach (var file in files)
            {
                string[] lines;
                try
                {
                    if (!File.Exists(file))
                    {
                        continue;
                    }

                    lines = File.ReadAllLines(file);
                }
                catch (IOException)
                {
                    continue;
                }
                catch (UnauthorizedAccessException)
                {
                    continue;
                }

                foreach (var line in lines)
                {
                    var entry = Entry.TryParse(line);
                    if (entry != null)
                    {
                        yield return entry;
                    }
                }
            }
        }

        private sealed class Entry
        {
            private string[] _patterns = Array.Empty<string>();
            private byte[] _blob = Array.Empty<byte>();
            private string? _fingerprint;

            public bool Revoked { get; private set; }
            public string KeyType { get; private set; } = "";
            public string Fingerprint => _fingerprint ??= KnownHosts.Fingerprint(_blob);

            public static Entry? TryParse(string line)
            {
                var fields = line.Trim().Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length == 0 || fields[0].StartsWith("#", StringComparison.Ordinal))
                {
                    return null;
                }

                var i = 0;
                var revoked = false;
                if (fields[0].StartsWith("@", StringComparison.Ordinal))
                {
                    if (fields[0] == "@revoked")
                    {
                        revoked = true;
                    }
                    else
                    {
                        return null; // @cert-authority and unknown markers
                    }

                    i = 1;
                }

                if (fields.Length < i + 3)
                {
                    return null;
                }

                byte[] blob;
                try
                {
                    blob = Convert.FromBase64String(fields[i + 2]);
                }
                catch (FormatException)
                {
                    return null;
                }

                return new Entry { Revoked = revoked, _patterns = fields[i].Split(','), KeyType = fields[i + 1], _blob = blob };
            }

            public bool Matches(string host, int port)
            {
                var names = new List<string> { HostPattern(host, port) };
                var positive = false;
                foreach (var pattern in _patterns)
                {
                    if (pattern.StartsWith("|1|", StringComparison.Ordinal))
                    {
                        if (HashedMatches(pattern, names[0]))
                        {
                            positive = true;
                        }

                        continue;
                    }

                    var negated = pattern.StartsWith("!", StringComparison.Ordinal);
                    var p = negated ? pattern.Substring(1) : pattern;
                    if (WildcardMatches(p, names[0]))
                    {
                        if (negated)
                        {
                            return false;
                        }

                        positive = true;
                    }
                }

                return positive;
            }

            private static bool HashedMatches(string pattern, string name)
            {
                var parts = pattern.Split('|');
                if (parts.Length != 4)
                {
                    return false;
                }

                try
                {
                    var salt = Convert.FromBase64String(parts[2]);
                    var expected = Convert.FromBase64String(parts[3]);
                    using var hmac = new HMACSHA1(salt);
                    var actual = hmac.ComputeHash(Encoding.UTF8.GetBytes(name));
                    return FixedTimeEquals(actual, expected);
                }
                catch (FormatException)
                {
                    return false;
                }
            }

            private static bool FixedTimeEquals(byte[] a, byte[] b)
            {
                if (a.Length != b.Length)
                {
                    return false;
                }

                var diff = 0;
                for (var k = 0; k < a.Length; k++)
                {
                    diff |= a[k] ^ b[k];
                }

                return diff == 0;
            }

            private static bool WildcardMatches(string pattern, string name)
            {
                if (pattern.IndexOf('*') < 0 && pattern.IndexOf('?') < 0)
                {
                    return string.Equals(pattern, name, StringComparison.OrdinalIgnoreCase);
                }

                var regex = "^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$";
                return Regex.IsMatch(name, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
            }
        }
    }
}
