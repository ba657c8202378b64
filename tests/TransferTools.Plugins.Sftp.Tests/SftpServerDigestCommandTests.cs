using System;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>
    /// The command a server runs to hash an upload (<see cref="SftpProtocolPlugin.DigestCommand"/>), run by the shells a
    /// server's account may have, with OpenSSL on the PATH and without it: each prints a digest the plugin reads back.
    /// </summary>
    public sealed class SftpServerDigestCommandTests : IDisposable
    {
        private readonly string _folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "tt-digest-" + Guid.NewGuid().ToString("n"))).FullName;

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Theory]
        [InlineData("/bin/sh", true)]
        [InlineData("/bin/sh", false)]
        [InlineData("/bin/bash", true)]
        [InlineData("/bin/bash", false)]
        public void Prints_the_files_sha256_with_or_without_openssl(string shell, bool withOpenssl)
        {
            if (!OperatingSystem.IsLinux() || !File.Exists(shell))
            {
                return;
            }

            // A name a shell would split or unquote if the command did not quote it.
            var path = Path.Combine(_folder, "it's a -file $(x).bin");
            var bytes = new byte[300_000];
            new Random(31).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);

            var (output, error) = Run(shell, SftpProtocolPlugin.DigestCommand(path), withOpenssl ? null : PathWithout("openssl"));

            Assert.Equal(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(), SftpProtocolPlugin.ParseSha256Sum(output));
            if (!withOpenssl)
            {
                Assert.Contains("openssl", error, StringComparison.Ordinal);
            }
        }

        [Fact]
        public void Reads_both_tools_output_formats()
        {
            var hex = new string('a', 32) + new string('0', 32);
            Assert.Equal(hex, SftpProtocolPlugin.ParseSha256Sum(hex + " */srv/a b.bin\n"));
            Assert.Equal(hex, SftpProtocolPlugin.ParseSha256Sum(hex + "  /srv/a b.bin\n"));
            Assert.Equal(hex, SftpProtocolPlugin.ParseSha256Sum("\\" + hex + "  /srv/a\\nb.bin\n"));
            Assert.Null(SftpProtocolPlugin.ParseSha256Sum("SHA2-256(/srv/a.bin)= " + hex));
        }

        /// <summary>A folder of links to sha256sum and what a shell needs, without <paramref name="missing"/>.</summary>
        private string PathWithout(string missing)
        {
            var bin = Directory.CreateDirectory(Path.Combine(_folder, "bin")).FullName;
            foreach (var tool in new[] { "sha256sum", "openssl" })
            {
                var target = "/usr/bin/" + tool;
                if (tool != missing && File.Exists(target))
                {
                    File.CreateSymbolicLink(Path.Combine(bin, tool), target);
                }
            }

            return bin;
        }

        private static (string Output, string Error) Run(string shell, string command, string? path)
        {
            var info = new ProcessStartInfo(shell, new[] { "-c", command }) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (path != null)
            {
                info.Environment["PATH"] = path;
            }

            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (output, error.Result);
        }
    }
}
