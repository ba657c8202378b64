using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Tests.Http;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>Dropped and stalled connections against a real sshd that the tests restart and freeze.</summary>
    public class SftpResilienceTests : IClassFixture<SshdFixture>
    {
        private readonly SshdFixture _f;

        public SftpResilienceTests(SshdFixture fixture) => _f = fixture;

        [Fact]
        public async Task Restarting_sshd_mid_download_is_transient_and_the_next_call_reconnects()
        {
            var file = EndpointDriver.NewRandomFile(_f.WorkDir, 4 * 1024 * 1024, seed: 21);
            var name = $"restart-{Guid.NewGuid():n}.bin";
            File.Copy(file, Path.Combine(_f.PasswordUserData, name));
            var uri = _f.PasswordUri($"/~/{name}");
            var options = _f.PasswordOptions();
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, uri, options);
            var back = Path.Combine(_f.WorkDir, name);

            long done;
            using (var input = await _f.Plugin.OpenReadAsync(OperationContext.None, uri, 0, info.Version, options))
            using (var output = File.Create(back))
            {
                done = await EndpointDriver.CopyAsync(input, output, stopAfter: 1024 * 1024);
                _f.Server.Restart();
                var e = await Assert.ThrowsAsync<PluginException>(() => EndpointDriver.CopyAsync(input, output));
                Assert.True(e.IsTransient, $"{e.Code}: {e.Message}");
            }

            // What the engine does next: retry from its last committed offset; the plugin reconnects by itself.
            await EndpointDriver.DownloadAsync(_f.Plugin, uri, back, options, offset: done, expectedVersion: info.Version);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(back));
        }

        [Fact]
        public async Task Restarting_sshd_mid_upload_is_transient_and_the_upload_resumes_from_the_flushed_offset()
        {
            var file = EndpointDriver.NewRandomFile(_f.WorkDir, 3 * 1024 * 1024 + 99, seed: 22);
            var name = $"restart-up-{Guid.NewGuid():n}.bin";
            var temp = _f.KeyUri($"/~/{name}.partial");
            var final = _f.KeyUri($"/~/{name}");
            var options = _f.KeyOptions();
            const int committed = 1024 * 1024;
            using (var source = File.OpenRead(file))
            using (var output = await _f.Plugin.OpenWriteAsync(OperationContext.None, temp, 0, options))
            {
                await EndpointDriver.CopyAsync(source, output, stopAfter: committed);
                await output.FlushAsync(); // what the journal records as committed
                _f.Server.Restart();
                var e = await Assert.ThrowsAsync<PluginException>(async () =>
                {
                    await EndpointDriver.CopyAsync(source, output);
                    await output.FlushAsync();
                });
                Assert.True(e.IsTransient, $"{e.Code}: {e.Message}");
            }

            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, options, offset: committed);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(Path.Combine(_f.KeyUserData, name)));
        }

        [Fact]
        public async Task Restarting_sshd_between_calls_is_invisible()
        {
            var options = _f.PasswordOptions();
            Assert.True((await _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/"), options)).IsDirectory);
            _f.Server.Restart();
            Assert.True((await _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/"), options)).IsDirectory);
        }

        [Fact]
        public async Task A_frozen_server_is_a_transient_Timeout_not_a_hang()
        {
            var name = $"stall-{Guid.NewGuid():n}.bin";
            File.Copy(EndpointDriver.NewRandomFile(_f.WorkDir, 4 * 1024 * 1024, seed: 4), Path.Combine(_f.KeyUserData, name));
            var options = _f.KeyOptions();
            options.StallTimeout = TimeSpan.FromSeconds(2);
            var plugin = SshdFixture.NewPlugin(_f.KnownHostsFile);
            try
            {
                using var input = await plugin.OpenReadAsync(OperationContext.None, _f.KeyUri($"/~/{name}"), 0, null, options);
                var buffer = new byte[64 * 1024];
                Assert.True(await input.ReadAsync(buffer, 0, buffer.Length) > 0);

                // Freeze the session processes serving the key user (SIGSTOP), like a dead network path.
                var frozen = SessionProcesses(_f.KeyUser);
                Assert.NotEmpty(frozen);
                Signal("STOP", frozen);
                try
                {
                    var e = await Assert.ThrowsAsync<PluginException>(async () =>
                    {
                        while (await input.ReadAsync(buffer, 0, buffer.Length) > 0)
                        {
                        }
                    });
                    Assert.True(e.IsTransient, $"{e.Code}: {e.Message}");
                }
                finally
                {
                    Signal("CONT", frozen);
                }
            }
            finally
            {
                await plugin.ShutdownAsync(OperationContext.None);
            }
        }

        private static int[] SessionProcesses(string user)
        {
            var psi = new ProcessStartInfo("pgrep", $"-u {user} sshd") { RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        }

        private static void Signal(string signal, int[] pids)
        {
            using var p = Process.Start("kill", $"-{signal} {string.Join(' ', pids)}")!;
            p.WaitForExit();
        }
    }
}
