using System;
using System.IO;
using System.Threading.Tasks;
using Renci.SshNet;
using TransferTools.Abstractions;
using TransferTools.Engine.Tests.Http;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>
    /// The pipelined read and write streams (many SFTP requests in flight on one handle, answered by callbacks) against
    /// a real sshd, and the SSH.NET public-stream paths they fall back to: byte-identical from any offset, short answers
    /// and an early end of file handled.
    /// </summary>
    public class SftpPipelineTests : IClassFixture<SshdFixture>
    {
        private readonly SshdFixture _f;

        public SftpPipelineTests(SshdFixture fixture) => _f = fixture;

        /// <summary>Options with small requests (many in flight, many answers out of a 64 KiB window).</summary>
        private TransferOptions Options(int pendingReads = 32, int pendingWrites = 64, int bufferSize = 4096)
        {
            var options = _f.KeyOptions();
            options.Custom[SftpProtocolPlugin.PendingReadsKey] = pendingReads.ToString();
            options.Custom[SftpProtocolPlugin.PendingWritesKey] = pendingWrites.ToString();
            options.Custom[SftpProtocolPlugin.BufferSizeKey] = bufferSize.ToString();
            return options;
        }

        [Fact]
        public void The_request_bridge_binds_against_the_shipped_SSH_NET()
        {
            // A silent fallback after an SSH.NET upgrade would only show as a slow benchmark; fail here instead.
            Assert.True(SshNetRequests.Instance != null, SshNetRequests.BindFailure);

            // The path requests without SSH.NET's realpath: a fallback would only show as twice the round trips per file.
            Assert.NotNull(SshNetRequests.Instance!.Paths);
        }

        [Fact]
        public async Task The_server_limits_are_asked_once_per_session()
        {
            var requests = SshNetRequests.Instance!;
            using var client = new SftpClient("127.0.0.1", _f.Port, _f.KeyUser, new PrivateKeyFile(_f.Server.Get("KeyFile")));
            client.Connect();
            var session = requests.SessionOf(client)!;
            var first = requests.LimitsAsync(session, TimeSpan.FromSeconds(10));
            Assert.Same(first, requests.LimitsAsync(session, TimeSpan.FromSeconds(10)));

            // OpenSSH (8.7 and later) states 255 KiB reads and writes.
            var limits = await first;
            Assert.NotNull(limits);
            Assert.Equal(261_120, limits!.MaxReadLength);
            Assert.Equal(261_120, limits.MaxWriteLength);

            // The session still works: the question's answer was consumed, not left for the next request.
            Assert.True(client.Exists("/"));
        }

        [Fact]
        public async Task Requests_are_as_large_as_the_server_allows_within_the_in_flight_budget()
        {
            var name = $"pipe-sizes-{Guid.NewGuid():n}.bin";
            File.WriteAllBytes(Path.Combine(_f.KeyUserData, name), new byte[600_000]);
            File.WriteAllBytes(Path.Combine(_f.KeyUserData, name + ".small"), new byte[1000]);
            var uri = _f.KeyUri($"/~/{name}");

            // Defaults: OpenSSH's 255 KiB, as many as fill the 2 MiB window.
            using (var read = Assert.IsType<SftpPipelinedReadStream>(await _f.Plugin.OpenReadAsync(OperationContext.None, uri, 0, null, _f.KeyOptions())))
            {
                Assert.Equal(261_120, read.RequestSize);
                Assert.Equal(9, read.MaxInFlight);
            }

            using (var write = Assert.IsType<SftpPipelinedWriteStream>(await _f.Plugin.OpenWriteAsync(OperationContext.None, _f.KeyUri($"/~/{name}.w"), 0, _f.KeyOptions())))
            {
                Assert.Equal(261_120, write.RequestSize);
                Assert.Equal(9, write.MaxInFlight);
            }

            // A small file is read with requests (and buffers) of 32 KiB, not 255 KiB.
            using (var read = Assert.IsType<SftpPipelinedReadStream>(await _f.Plugin.OpenReadAsync(OperationContext.None, _f.KeyUri($"/~/{name}.small"), 0, null, _f.KeyOptions())))
            {
                Assert.Equal(32 * 1024, read.RequestSize);
            }

            // A smaller BufferSize is kept, and the request counts then cap the requests in flight.
            var small = Options(pendingReads: 32, pendingWrites: 64, bufferSize: 32 * 1024);
            using (var read = Assert.IsType<SftpPipelinedReadStream>(await _f.Plugin.OpenReadAsync(OperationContext.None, uri, 0, null, small)))
            {
                Assert.Equal(32 * 1024, read.RequestSize);
                Assert.Equal(32, read.MaxInFlight);
            }

            using (var write = Assert.IsType<SftpPipelinedWriteStream>(await _f.Plugin.OpenWriteAsync(OperationContext.None, _f.KeyUri($"/~/{name}.w"), 0, small)))
            {
                Assert.Equal(32 * 1024, write.RequestSize);
                Assert.Equal(64, write.MaxInFlight);
            }
        }

        [Theory]
        [InlineData(32, 4096)]
        [InlineData(3, 1024)]
        [InlineData(0, 4096)]
        [InlineData(32, 256 * 1024)]
        public async Task Download_from_an_odd_offset_is_byte_identical(int pendingReads, int bufferSize)
        {
            var file = EndpointDriver.NewRandomFile(_f.WorkDir, 1024 * 1024 + 4099, seed: 31);
            var name = $"pipe-down-{Guid.NewGuid():n}.bin";
            File.Copy(file, Path.Combine(_f.KeyUserData, name));
            var uri = _f.KeyUri($"/~/{name}");
            var options = Options(pendingReads: pendingReads, bufferSize: bufferSize);
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, uri, options);
            var back = Path.Combine(_f.WorkDir, name);
            await EndpointDriver.DownloadAsync(_f.Plugin, uri, back, options, stopAfter: 123_457);
            await EndpointDriver.DownloadAsync(_f.Plugin, uri, back, options, offset: 123_457, expectedVersion: info.Version);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(back));
        }

        [Fact]
        public async Task A_file_cut_short_while_reading_ends_the_stream_early_without_hanging()
        {
            var file = EndpointDriver.NewRandomFile(_f.WorkDir, 2 * 1024 * 1024, seed: 32);
            var name = $"pipe-short-{Guid.NewGuid():n}.bin";
            var remote = Path.Combine(_f.KeyUserData, name);
            File.Copy(file, remote);
            var options = Options(pendingReads: 4, bufferSize: 32768);
            using var input = await _f.Plugin.OpenReadAsync(OperationContext.None, _f.KeyUri($"/~/{name}"), 0, null, options);
            var buffer = new byte[100_000];
            var first = await input.ReadAsync(buffer, 0, buffer.Length);
            Assert.True(first > 0);
            using (var cut = new FileStream(remote, FileMode.Open, FileAccess.Write))
            {
                cut.SetLength(300_001);
            }

            long total = first;
            int n;
            while ((n = await input.ReadAsync(buffer, 0, buffer.Length)) > 0)
            {
                total += n;
            }

            // Requests answered before the cut may still carry the old bytes; none goes past the file as it was opened.
            Assert.InRange(total, 300_001, 2 * 1024 * 1024 - 1);
            Assert.Equal(0, await input.ReadAsync(buffer, 0, buffer.Length));
        }

        [Fact]
        public async Task An_upload_reports_what_the_server_confirmed_without_a_flush_and_everything_after_one()
        {
            var name = $"pipe-confirm-{Guid.NewGuid():n}.bin";
            var data = new byte[1024 * 1024 + 333];
            new Random(5).NextBytes(data);
            const long offset = 0;
            using (var write = Assert.IsType<SftpPipelinedWriteStream>(await _f.Plugin.OpenWriteAsync(OperationContext.None, _f.KeyUri($"/~/{name}"), offset, Options(pendingWrites: 4, bufferSize: 32 * 1024))))
            {
                IWriteAcknowledgement acknowledgement = write;
                Assert.Equal(offset, acknowledgement.AcknowledgedOffset);
                var previous = offset;
                for (var at = 0; at < data.Length; at += 10_000)
                {
                    var count = Math.Min(10_000, data.Length - at);
                    await write.WriteAsync(data, at, count);
                    var confirmed = acknowledgement.AcknowledgedOffset;
                    Assert.InRange(confirmed, previous, offset + at + count);
                    previous = confirmed;
                }

                // Answers came back while writing (4 requests of 32 KiB in flight at most, and one being filled): all
                // but those are confirmed before any flush.
                Assert.Equal(4, write.MaxInFlight);
                Assert.InRange(previous, data.Length - 5 * write.RequestSize, data.Length);
                await write.FlushAsync();
                Assert.Equal(offset + data.Length, acknowledgement.AcknowledgedOffset);
            }

            Assert.Equal(data, File.ReadAllBytes(Path.Combine(_f.KeyUserData, name)));
        }

        [Theory]
        [InlineData(64, 4096)]
        [InlineData(2, 1024)]
        [InlineData(0, 4096)]
        [InlineData(64, 256 * 1024)]
        public async Task Upload_resumed_at_an_odd_offset_is_byte_identical(int pendingWrites, int bufferSize)
        {
            var file = EndpointDriver.NewRandomFile(_f.WorkDir, 1024 * 1024 + 333, seed: 33);
            var name = $"pipe-up-{Guid.NewGuid():n}.bin";
            var temp = _f.KeyUri($"/~/{name}.partial");
            var final = _f.KeyUri($"/~/{name}");
            var options = Options(pendingWrites: pendingWrites, bufferSize: bufferSize);
            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, options, stopAfter: 700_001);
            Assert.Equal(700_001, (await _f.Plugin.GetInfoAsync(OperationContext.None, temp, options)).Length);
            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, options, offset: 555_555);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(Path.Combine(_f.KeyUserData, name)));
        }
    }
}
