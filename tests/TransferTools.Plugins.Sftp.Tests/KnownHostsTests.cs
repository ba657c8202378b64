using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace TransferTools.Plugins.Sftp.Tests
{
    public class KnownHostsTests : IDisposable
    {
        private readonly string _file = Path.Combine(Path.GetTempPath(), $"tt-kh-{Guid.NewGuid():n}");
        private static readonly byte[] KeyA = Blob(1);
        private static readonly byte[] KeyB = Blob(2);

        private static byte[] Blob(byte fill)
        {
            var b = new byte[51];
            b[3] = 11;
            Encoding.ASCII.GetBytes("ssh-ed25519").CopyTo(b, 4);
            b[18] = 32;
            for (var i = 19; i < 51; i++)
            {
                b[i] = fill;
            }

            return b;
        }

        private HostKeyVerdict Check(string content, string host, int port, byte[] key)
        {
            File.WriteAllText(_file, content);
            return KnownHosts.Check(new[] { _file }, host, port, KnownHosts.Fingerprint(key));
        }

        private static string Line(string hosts, byte[] key) => $"{hosts} ssh-ed25519 {Convert.ToBase64String(key)}\n";

        [Fact]
        public void Plain_and_bracketed_port_entries()
        {
            Assert.Equal(HostKeyVerdict.Trusted, Check(Line("example.org", KeyA), "example.org", 22, KeyA));
            Assert.Equal(HostKeyVerdict.Unknown, Check(Line("example.org", KeyA), "example.org", 2222, KeyA));
            Assert.Equal(HostKeyVerdict.Trusted, Check(Line("[example.org]:2222", KeyA), "example.org", 2222, KeyA));
            Assert.Equal(HostKeyVerdict.Mismatch, Check(Line("[example.org]:2222", KeyA), "example.org", 2222, KeyB));
            Assert.Equal(HostKeyVerdict.Trusted, Check(Line("other,EXAMPLE.org", KeyA), "example.org", 22, KeyA));
        }

        [Fact]
        public void Hashed_entries()
        {
            var salt = new byte[20];
            new Random(3).NextBytes(salt);
            using var hmac = new HMACSHA1(salt);
            var hash = hmac.ComputeHash(Encoding.UTF8.GetBytes("[10.0.0.5]:2200"));
            var hashed = $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)}";
            Assert.Equal(HostKeyVerdict.Trusted, Check(Line(hashed, KeyA), "10.0.0.5", 2200, KeyA));
            Assert.Equal(HostKeyVerdict.Unknown, Check(Line(hashed, KeyA), "10.0.0.5", 22, KeyA));
        }

        [Fact]
        public void Wildcards_negation_comments_and_revoked()
        {
            Assert.Equal(HostKeyVerdict.Trusted, Check(Line("*.example.org", KeyA), "a.example.org", 22, KeyA));
            Assert.Equal(HostKeyVerdict.Unknown, Check(Line("*.example.org,!bad.example.org", KeyA), "bad.example.org", 22, KeyA));
            Assert.Equal(HostKeyVerdict.Trusted, Check("# comment\n\n" + Line("h?st", KeyA), "host", 22, KeyA));
            Assert.Equal(HostKeyVerdict.Revoked, Check("@revoked * ssh-ed25519 " + Convert.ToBase64String(KeyA) + "\n" + Line("host", KeyA), "host", 22, KeyA));
            Assert.Equal(HostKeyVerdict.Unknown, Check("@cert-authority * ssh-ed25519 " + Convert.ToBase64String(KeyA) + "\n", "host", 22, KeyA));
        }

        [Fact]
        public void Fingerprints_match_ssh_keygen_format()
        {
            var fp = KnownHosts.Fingerprint(KeyA);
            Assert.StartsWith("SHA256:", fp);
            Assert.DoesNotContain("=", fp);
            Assert.Equal(fp, KnownHosts.NormalizeFingerprint(fp.Substring(7) + "="));
        }

        [Fact]
        public void Missing_file_means_unknown()
        {
            Assert.Equal(HostKeyVerdict.Unknown, KnownHosts.Check(new[] { "/nonexistent/known_hosts" }, "h", 22, KnownHosts.Fingerprint(KeyA)));
        }

        public void Dispose() => File.Delete(_file);
    }
}
