using System;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Tests.Http;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>The Sftp endpoint against a real sshd: round trips, resume from offsets, commit rules, errors.</summary>
    public class SftpEndpointTests : IClassFixture<SshdFixture>
    {
        private readonly SshdFixture _f;

        public SftpEndpointTests(SshdFixture fixture) => _f = fixture;

        private string Local(int size, int seed = 7) => EndpointDriver.NewRandomFile(_f.WorkDir, size, seed);

        [Fact]
        public async Task Upload_with_password_then_download_with_key_is_byte_identical()
        {
            var file = Local(3 * 1024 * 1024 + 17);
            var name = $"round-{Guid.NewGuid():n}.bin";
            var temp = _f.PasswordUri($"{_f.PasswordUserData}/{name}.partial");
            var final = _f.PasswordUri($"{_f.PasswordUserData}/{name}");
            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, _f.PasswordOptions());

            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, final, _f.PasswordOptions());
            Assert.True(info.Exists);
            Assert.False(info.IsDirectory);
            Assert.Equal(new FileInfo(file).Length, info.Length);
            Assert.False(string.IsNullOrEmpty(info.Version));
            Assert.False((await _f.Plugin.GetInfoAsync(OperationContext.None, temp, _f.PasswordOptions())).Exists);

            // The key user reads the same file by absolute path.
            var back = Path.Combine(_f.WorkDir, name);
            await EndpointDriver.DownloadAsync(_f.Plugin, _f.KeyUri($"{_f.PasswordUserData}/{name}"), back, _f.KeyOptions(), expectedVersion: info.Version);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(back));
        }

        [Fact]
        public async Task Upload_resumes_from_offset_and_drops_bytes_past_it()
        {
            var file = Local(2 * 1024 * 1024 + 5, seed: 11);
            var name = $"resume-up-{Guid.NewGuid():n}.bin";
            var temp = _f.PasswordUri($"/~/{name}.partial");
            var final = _f.PasswordUri($"/~/{name}");
            // First attempt dies after 1.5 MiB; the journal only committed 1 MiB.
            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, _f.PasswordOptions(), stopAfter: 1536 * 1024);
            Assert.Equal(1536 * 1024, (await _f.Plugin.GetInfoAsync(OperationContext.None, temp, _f.PasswordOptions())).Length);

            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, _f.PasswordOptions(), offset: 1024 * 1024);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(Path.Combine(_f.PasswordUserData, name)));
        }

        [Fact]
        public async Task Upload_past_the_temporary_length_is_refused()
        {
            var name = $"short-{Guid.NewGuid():n}.partial";
            var temp = _f.PasswordUri($"/~/{name}");
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenWriteAsync(OperationContext.None, temp, 4096, _f.PasswordOptions()));
            Assert.Equal(ErrorCode.InvalidState, e.Code);
        }

        [Fact]
        public async Task Download_resumes_from_offset()
        {
            var file = Local(1024 * 1024 + 3, seed: 5);
            var name = $"resume-down-{Guid.NewGuid():n}.bin";
            File.Copy(file, Path.Combine(_f.KeyUserData, name));
            var uri = _f.KeyUri($"/~/{name}");
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, uri, _f.KeyOptions());
            var back = Path.Combine(_f.WorkDir, name);
            await EndpointDriver.DownloadAsync(_f.Plugin, uri, back, _f.KeyOptions(), stopAfter: 300_000);
            await EndpointDriver.DownloadAsync(_f.Plugin, uri, back, _f.KeyOptions(), offset: 300_000, expectedVersion: info.Version);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(back));
        }

        [Fact]
        public async Task Changed_source_is_refused_on_resume()
        {
            var name = $"changes-{Guid.NewGuid():n}.bin";
            var path = Path.Combine(_f.KeyUserData, name);
            File.WriteAllBytes(path, new byte[1000]);
            var uri = _f.KeyUri($"/~/{name}");
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, uri, _f.KeyOptions());
            File.WriteAllBytes(path, new byte[2000]);
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, uri, 500, info.Version, _f.KeyOptions()));
            Assert.Equal(ErrorCode.SourceChanged, e.Code);
        }

        [Fact]
        public async Task Commit_refuses_to_replace_unless_overwrite()
        {
            var name = $"conflict-{Guid.NewGuid():n}.txt";
            File.WriteAllText(Path.Combine(_f.PasswordUserData, name), "old");
            var file = Local(10_000, seed: 3);
            var temp = _f.PasswordUri($"/~/{name}.partial");
            var final = _f.PasswordUri($"/~/{name}");
            var e = await Assert.ThrowsAsync<PluginException>(() => EndpointDriver.UploadAsync(_f.Plugin, file, temp, final, _f.PasswordOptions()));
            Assert.Equal(ErrorCode.Conflict, e.Code);
            Assert.Equal("old", File.ReadAllText(Path.Combine(_f.PasswordUserData, name)));

            await _f.Plugin.CommitAsync(OperationContext.None, temp, final, overwrite: true, _f.PasswordOptions());
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(Path.Combine(_f.PasswordUserData, name)));
        }

        [Fact]
        public async Task Reading_a_folder_is_refused_every_time_and_the_session_stays_usable()
        {
            // The open goes out together with the stat; when the stat refuses, the handle opened meanwhile is closed in
            // the background while the refusal is reported.
            var folder = $"/~/readdir-{Guid.NewGuid():n}";
            Directory.CreateDirectory(Path.Combine(_f.PasswordUserData, folder.Substring(3)));
            for (var i = 0; i < 50; i++)
            {
                var e = await Assert.ThrowsAsync<PluginException>(() =>
                    _f.Plugin.OpenReadAsync(OperationContext.None, _f.PasswordUri(folder), 0, null, _f.PasswordOptions()));
                Assert.Equal("SftpSourceIsFolder", e.ErrorId);
            }

            var file = Local(1000, seed: 9);
            var name = $"after-{Guid.NewGuid():n}.bin";
            File.Copy(file, Path.Combine(_f.PasswordUserData, name));
            Assert.Equal(1000, await EndpointDriver.DownloadAsync(_f.Plugin, _f.PasswordUri($"/~/{name}"), Path.Combine(_f.WorkDir, name), _f.PasswordOptions()));
        }

        [Fact]
        public async Task Commit_with_overwrite_takes_a_free_name_and_never_replaces_a_folder()
        {
            var name = $"replace-{Guid.NewGuid():n}";
            var file = Local(5_000, seed: 4);
            var temp = _f.PasswordUri($"/~/{name}.partial");

            // A free name: posix-rename takes it straight away.
            await EndpointDriver.UploadAsync(_f.Plugin, file, temp, _f.PasswordUri($"/~/{name}.free"), _f.PasswordOptions(), overwrite: true);
            Assert.Equal(EndpointDriver.Sha256(file), EndpointDriver.Sha256(Path.Combine(_f.PasswordUserData, name + ".free")));

            // A folder: refused as a conflict, the folder and what is in it kept, the temporary left for a retry.
            var folder = Path.Combine(_f.PasswordUserData, name + ".dir");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "inside.txt"), "kept");
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                EndpointDriver.UploadAsync(_f.Plugin, file, temp, _f.PasswordUri($"/~/{name}.dir"), _f.PasswordOptions(), overwrite: true));
            Assert.Equal(ErrorCode.Conflict, e.Code);
            Assert.Equal("SftpDestinationExists", e.ErrorId);
            Assert.Contains("is a folder", e.Message);
            Assert.Equal("kept", File.ReadAllText(Path.Combine(folder, "inside.txt")));
            Assert.True((await _f.Plugin.GetInfoAsync(OperationContext.None, temp, _f.PasswordOptions())).Exists);
        }

        [Fact]
        public async Task A_symbolic_link_is_followed_to_what_it_points_at()
        {
            var name = $"link-{Guid.NewGuid():n}";
            File.WriteAllBytes(Path.Combine(_f.PasswordUserData, name + ".target"), new byte[1234]);
            File.CreateSymbolicLink(Path.Combine(_f.PasswordUserData, name), name + ".target");
            Directory.CreateDirectory(Path.Combine(_f.PasswordUserData, name + ".folder"));
            File.CreateSymbolicLink(Path.Combine(_f.PasswordUserData, name + ".folderlink"), name + ".folder");

            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri($"/~/{name}"), _f.PasswordOptions());
            Assert.True(info.Exists);
            Assert.False(info.IsDirectory);
            Assert.Equal(1234, info.Length);
            Assert.True((await _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri($"/~/{name}.folderlink"), _f.PasswordOptions())).IsDirectory);
            using (var read = await _f.Plugin.OpenReadAsync(OperationContext.None, _f.PasswordUri($"/~/{name}"), 0, null, _f.PasswordOptions()))
            {
                var buffer = new byte[4096];
                var total = 0;
                int n;
                while ((n = await read.ReadAsync(buffer, 0, buffer.Length)) > 0)
                {
                    total += n;
                }

                Assert.Equal(1234, total);
            }
        }

        [Fact]
        public async Task Create_directory_delete_and_missing_files()
        {
            var dir = $"/~/dir-{Guid.NewGuid():n}/a/b";
            await _f.Plugin.CreateDirectoryAsync(OperationContext.None, _f.PasswordUri(dir), _f.PasswordOptions());
            await _f.Plugin.CreateDirectoryAsync(OperationContext.None, _f.PasswordUri(dir), _f.PasswordOptions());
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri(dir), _f.PasswordOptions());
            Assert.True(info.Exists && info.IsDirectory);

            var missing = _f.PasswordUri($"/~/nothing-{Guid.NewGuid():n}");
            Assert.False((await _f.Plugin.GetInfoAsync(OperationContext.None, missing, _f.PasswordOptions())).Exists);
            await _f.Plugin.DeleteAsync(OperationContext.None, missing, _f.PasswordOptions());
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, missing, 0, null, _f.PasswordOptions()));
            Assert.Equal(ErrorCode.NotFound, e.Code);
        }

        [Fact]
        public async Task Writing_where_the_server_forbids_it_is_PermissionDenied()
        {
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.OpenWriteAsync(OperationContext.None, _f.PasswordUri($"/etc/tt-denied-{Guid.NewGuid():n}"), 0, _f.PasswordOptions()));
            Assert.Equal(ErrorCode.PermissionDenied, e.Code);
        }

        [Fact]
        public async Task Wrong_password_is_AuthenticationFailed()
        {
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/x"), _f.PasswordOptions("not-the-password")));
            Assert.Equal(ErrorCode.AuthenticationFailed, e.Code);
            Assert.DoesNotContain("not-the-password", e.Message);
        }

        [Fact]
        public async Task Encrypted_key_needs_its_passphrase()
        {
            var uri = _f.KeyUri("/~/");
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.GetInfoAsync(OperationContext.None, uri, _f.KeyOptions(encrypted: true)));
            Assert.Equal(ErrorCode.AuthenticationFailed, e.Code);
            Assert.Equal("SftpKeyPassphraseRequired", e.ErrorId);

            var wrong = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.GetInfoAsync(OperationContext.None, uri, _f.KeyOptions(encrypted: true, passphrase: "wrong")));
            Assert.Equal(ErrorCode.AuthenticationFailed, wrong.Code);

            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, uri,
                _f.KeyOptions(encrypted: true, passphrase: _f.Server.Get("KeyPassphrase")));
            Assert.True(info.IsDirectory);
        }

        [Fact]
        public async Task Unknown_host_key_is_refused_with_its_fingerprint()
        {
            var empty = Path.Combine(_f.WorkDir, $"empty-{Guid.NewGuid():n}");
            File.WriteAllText(empty, "");
            var plugin = SshdFixture.NewPlugin(empty);
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/"), _f.PasswordOptions()));
            Assert.Equal(ErrorCode.SecurityError, e.Code);
            Assert.Equal("SftpHostKeyUnknown", e.ErrorId);
            Assert.Contains(_f.Fingerprint, e.Message);
            Assert.Contains("-HostKeyFingerprint", e.Message);

            // Pinning the presented fingerprint lets it in.
            var pinned = _f.PasswordOptions();
            pinned.Custom[SftpProtocolPlugin.HostKeyFingerprintKey] = _f.Fingerprint;
            Assert.True((await plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/"), pinned)).IsDirectory);
        }

        [Fact]
        public async Task Wrong_pinned_fingerprint_is_refused()
        {
            var options = _f.PasswordOptions();
            options.Custom[SftpProtocolPlugin.HostKeyFingerprintKey] = "SHA256:" + Convert.ToBase64String(new byte[32]).TrimEnd('=');
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/"), options));
            Assert.Equal(ErrorCode.SecurityError, e.Code);
            Assert.Equal("SftpHostKeyMismatch", e.ErrorId);
            Assert.Contains(_f.Fingerprint, e.Message);
        }

        [Fact]
        public async Task Another_key_in_known_hosts_is_a_mismatch()
        {
            var other = Path.Combine(_f.WorkDir, $"other-{Guid.NewGuid():n}");
            var blob = new System.Collections.Generic.List<byte> { 0, 0, 0, 11 };
            blob.AddRange(System.Text.Encoding.ASCII.GetBytes("ssh-ed25519"));
            blob.AddRange(new byte[] { 0, 0, 0, 32 });
            blob.AddRange(new byte[32]);
            var otherKey = Convert.ToBase64String(blob.ToArray());
            File.WriteAllText(other, $"[127.0.0.1]:{_f.Port} ssh-ed25519 {otherKey}\n");
            var plugin = SshdFixture.NewPlugin(other);
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.GetInfoAsync(OperationContext.None, _f.PasswordUri("/~/"), _f.PasswordOptions()));
            Assert.Equal(ErrorCode.SecurityError, e.Code);
            Assert.Equal("SftpHostKeyMismatch", e.ErrorId);
        }

        [Fact]
        public async Task Password_in_the_uri_is_rejected_without_echoing_it()
        {
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.GetInfoAsync(OperationContext.None, new Uri($"sftp://u:s3cret@127.0.0.1:{_f.Port}/x"), _f.PasswordOptions()));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
            Assert.DoesNotContain("s3cret", e.Message);
        }
    }
}
