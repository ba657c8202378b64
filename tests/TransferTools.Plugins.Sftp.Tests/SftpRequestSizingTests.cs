using System;
using System.IO;
using System.Net;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Tests.Http;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>rclone serve sftp (Start-TestRcloneSftp): states no limits, and answers at most 32 KiB per read.</summary>
    public sealed class RcloneSftpServerFixture : IDisposable
    {
        public RcloneSftpServerFixture()
        {
            Server = TestServiceHost.Start("RcloneSftp");
            WorkDir = Path.Combine(Path.GetTempPath(), $"tt-sftp-sizing-{Guid.NewGuid():n}");
            Directory.CreateDirectory(WorkDir);
            var knownHosts = Path.Combine(WorkDir, "known_hosts");
            File.WriteAllText(knownHosts, Server.Get("KnownHostsLine") + "\n");
            Plugin = SshdFixture.NewPlugin(knownHosts);
        }

        public TestServiceHost Server { get; }
        public string WorkDir { get; }
        public SftpProtocolPlugin Plugin { get; }

        public TransferOptions Options() => new TransferOptions
        {
            Credential = new NetworkCredential(Server.Get("User"), Server.Get("Password")),
            StallTimeout = TimeSpan.FromSeconds(20),
        };

        public Uri Uri(string name) => new Uri($"sftp://{Server.Get("User")}@127.0.0.1:{Server.Port}/{name}");

        public void Dispose()
        {
            Server.Dispose();
            try
            {
                Directory.Delete(WorkDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Issue 27, D3 (item 4): read requests sized from what the server does. A server that states no limits gets 32 KiB
    /// requests (OpenSSH's client default), which rclone answers whole: no request comes back short, so none is cut and
    /// none needs a second request for its rest. The sizing decision is asserted through the stream's request size,
    /// not through timing.
    /// </summary>
    public class SftpRequestSizingTests : IClassFixture<RcloneSftpServerFixture>
    {
        private readonly RcloneSftpServerFixture _f;

        public SftpRequestSizingTests(RcloneSftpServerFixture fixture) => _f = fixture;

        /// <summary>A file put there through the server (rclone caches what a folder holds, so one copied in behind its
        /// back would not be seen); returns its name and its bytes.</summary>
        private async Task<(string Name, byte[] Bytes)> NewServerFileAsync(int size, int seed)
        {
            var local = EndpointDriver.NewRandomFile(_f.WorkDir, size, seed);
            var name = $"sizing-{Guid.NewGuid():n}.bin";
            await EndpointDriver.UploadAsync(_f.Plugin, local, _f.Uri(name + ".part"), _f.Uri(name), _f.Options());
            return (name, File.ReadAllBytes(local));
        }

        private static async Task<byte[]> ReadAllAsync(Stream stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, 100_000);
            return copy.ToArray();
        }

        [Theory]
        [InlineData(0, 0)]
        [InlineData(100_003, 0)]
        [InlineData(0, 128 * 1024)]
        public async Task A_server_that_states_no_limits_is_asked_32_KiB_per_read_and_never_answers_short(int offset, int bufferSize)
        {
            var (name, expected) = await NewServerFileAsync(1024 * 1024 + 4099, seed: 51);
            var options = _f.Options();
            if (bufferSize > 0)
            {
                // A larger BufferSize is not asked of a server that states no limits: it would answer 32 KiB anyway.
                options.Custom[SftpProtocolPlugin.BufferSizeKey] = bufferSize.ToString();
            }

            using var read = Assert.IsType<SftpPipelinedReadStream>(await _f.Plugin.OpenReadAsync(OperationContext.None, _f.Uri(name), offset, null, options));
            var asked = read.RequestSize;
            // 32 KiB within one SSH channel packet (SSH.NET takes off the SFTP header): what OpenSSH's sftp asks. Before
            // issue 27 it was a whole 64 KiB packet, which rclone answered in halves, each half a second request.
            Assert.InRange(asked, 32 * 1024 - 64, 32 * 1024);
            var bytes = await ReadAllAsync(read);
            Assert.Equal(expected.AsSpan(offset).ToArray(), bytes);
            // No answer came back short before the end, so the size was never cut.
            Assert.Equal(asked, read.RequestSize);
        }
    }
}
