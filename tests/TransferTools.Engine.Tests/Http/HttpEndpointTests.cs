using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.Http;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>A real nginx (Start-TestNginx): static files with ETag/Range, WebDAV, Basic auth, 403 and 503 paths.</summary>
    public class NginxFixture : IDisposable
    {
        public NginxFixture()
        {
            Server = TestServiceHost.Start("Nginx");
            WorkDir = Path.Combine(Path.GetTempPath(), $"tt-http-tests-{Guid.NewGuid():n}");
            Directory.CreateDirectory(WorkDir);
            Plugin = NewPlugin();
        }

        public TestServiceHost Server { get; }
        public string WorkDir { get; }
        public HttpProtocolPlugin Plugin { get; }
        public string FilesRoot => Server.Get("FilesRoot");
        public string DavRoot => Server.Get("DavRoot");
        public Uri Url(string path) => new Uri(Server.Get("BaseUri") + path);

        public static HttpProtocolPlugin NewPlugin(Dictionary<string, string>? config = null)
        {
            var plugin = new HttpProtocolPlugin();
            plugin.InitAsync(OperationContext.None, config ?? new Dictionary<string, string>()).GetAwaiter().GetResult();
            return plugin;
        }

        public static TransferOptions Options(NetworkCredential? credential = null) =>
            new TransferOptions { Credential = credential, StallTimeout = TimeSpan.FromSeconds(20) };

        public void Dispose()
        {
            Plugin.ShutdownAsync(OperationContext.None).GetAwaiter().GetResult();
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

    public class HttpEndpointTests : IClassFixture<NginxFixture>
    {
        private readonly NginxFixture _f;

        public HttpEndpointTests(NginxFixture fixture) => _f = fixture;

        private (string Local, Uri Url) Published(int size, int seed)
        {
            var local = EndpointDriver.NewRandomFile(_f.WorkDir, size, seed);
            var name = Path.GetFileName(local);
            File.Copy(local, Path.Combine(_f.FilesRoot, name));
            return (local, _f.Url($"/files/{name}"));
        }

        [Fact]
        public async Task A_streamed_response_has_no_size_and_is_read_to_its_end()
        {
            // nginx's /streamed/ sends the file chunked, as a generated page: no Content-Length, ETag or Last-Modified.
            var (local, _) = Published(300_000, seed: 21);
            var name = Path.GetFileName(local);
            var url = _f.Url($"/streamed/{name}");
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options());
            Assert.True(info.Exists);
            Assert.Equal(-1, info.Length);
            Assert.Null(info.Version);

            using (var stream = await _f.Plugin.OpenReadAsync(OperationContext.None, url, 0, null, NginxFixture.Options()))
            {
                var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                Assert.Equal(File.ReadAllBytes(local), copy.ToArray());
            }

            var versioned = await _f.Plugin.GetInfoAsync(OperationContext.None, _f.Url($"/streamed-versioned/{name}"), NginxFixture.Options());
            Assert.Equal(-1, versioned.Length);
            Assert.NotNull(versioned.Version);
        }

        [Fact]
        public async Task Download_is_byte_identical_and_info_has_size_and_etag()
        {
            var (local, url) = Published(2 * 1024 * 1024 + 1, seed: 1);
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options());
            Assert.True(info.Exists);
            Assert.False(info.IsDirectory);
            Assert.Equal(new FileInfo(local).Length, info.Length);
            Assert.StartsWith("\"", info.Version);
            Assert.NotNull(info.LastModified);

            var back = Path.Combine(_f.WorkDir, "back-" + Path.GetFileName(local));
            await EndpointDriver.DownloadAsync(_f.Plugin, url, back, NginxFixture.Options(), expectedVersion: info.Version);
            Assert.Equal(EndpointDriver.Sha256(local), EndpointDriver.Sha256(back));
        }

        [Fact]
        public async Task Interrupted_download_resumes_with_Range()
        {
            var (local, url) = Published(3 * 1024 * 1024, seed: 2);
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options());
            var back = Path.Combine(_f.WorkDir, "resume-" + Path.GetFileName(local));
            var first = await EndpointDriver.DownloadAsync(_f.Plugin, url, back, NginxFixture.Options(), expectedVersion: info.Version, stopAfter: 1_000_000);
            Assert.Equal(1_000_000, first);
            var rest = await EndpointDriver.DownloadAsync(_f.Plugin, url, back, NginxFixture.Options(), offset: first, expectedVersion: info.Version);
            Assert.Equal(info.Length - first, rest);
            Assert.Equal(EndpointDriver.Sha256(local), EndpointDriver.Sha256(back));

            // At the very end there is nothing left to read.
            using var empty = await _f.Plugin.OpenReadAsync(OperationContext.None, url, info.Length, info.Version, NginxFixture.Options());
            Assert.Equal(0, await empty.ReadAsync(new byte[10], 0, 10));
        }

        [Fact]
        public async Task Changed_file_is_never_spliced()
        {
            var (_, url) = Published(100_000, seed: 3);
            var info = await _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options());
            var path = Path.Combine(_f.FilesRoot, Path.GetFileName(url.AbsolutePath));
            File.WriteAllBytes(path, new byte[120_000]);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(5));

            var resumed = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, url, 50_000, info.Version, NginxFixture.Options()));
            Assert.Equal(ErrorCode.SourceChanged, resumed.Code);
            var restarted = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, url, 0, info.Version, NginxFixture.Options()));
            Assert.Equal(ErrorCode.SourceChanged, restarted.Code);
        }

        [Fact]
        public async Task Missing_file_is_NotFound()
        {
            var url = _f.Url($"/files/missing-{Guid.NewGuid():n}.bin");
            Assert.False((await _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options())).Exists);
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, url, 0, null, NginxFixture.Options()));
            Assert.Equal(ErrorCode.NotFound, e.Code);
            Assert.Equal("HttpNotFound", e.ErrorId);
        }

        [Fact]
        public async Task Forbidden_is_PermissionDenied()
        {
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, _f.Url("/denied/x.bin"), 0, null, NginxFixture.Options()));
            Assert.Equal(ErrorCode.PermissionDenied, e.Code);
            var up = await Assert.ThrowsAnyAsync<PluginException>(() =>
                EndpointDriver.UploadAsync(_f.Plugin, EndpointDriver.NewRandomFile(_f.WorkDir, 1000), _f.Url("/denied/x.partial"), _f.Url("/denied/x"), NginxFixture.Options()));
            Assert.Equal(ErrorCode.PermissionDenied, up.Code);
        }

        [Fact]
        public async Task Basic_auth_needs_the_right_credential()
        {
            var (local, _) = Published(10_000, seed: 4);
            var url = _f.Url($"/basic/{Path.GetFileName(local)}");
            var none = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options()));
            Assert.Equal(ErrorCode.AuthenticationFailed, none.Code);
            var wrong = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.GetInfoAsync(OperationContext.None, url, NginxFixture.Options(new NetworkCredential(_f.Server.Get("BasicUser"), "wrong"))));
            Assert.Equal(ErrorCode.AuthenticationFailed, wrong.Code);

            var good = NginxFixture.Options(new NetworkCredential(_f.Server.Get("BasicUser"), _f.Server.Get("BasicPassword")));
            var back = Path.Combine(_f.WorkDir, "basic-" + Path.GetFileName(local));
            await EndpointDriver.DownloadAsync(_f.Plugin, url, back, good);
            Assert.Equal(EndpointDriver.Sha256(local), EndpointDriver.Sha256(back));
        }

        [Fact]
        public async Task Server_errors_are_transient()
        {
            var e = await Assert.ThrowsAsync<PluginException>(() => _f.Plugin.OpenReadAsync(OperationContext.None, _f.Url("/flaky/x.bin"), 0, null, NginxFixture.Options()));
            Assert.Equal(ErrorCode.ConnectionError, e.Code);
            Assert.True(e.IsTransient);
            Assert.Contains("503", e.Message);
        }

        [Fact]
        public async Task Connection_refused_is_transient()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.GetInfoAsync(OperationContext.None, new Uri($"http://127.0.0.1:{port}/x"), NginxFixture.Options()));
            Assert.Equal(ErrorCode.ConnectionError, e.Code);
        }

        [Fact]
        public async Task Upload_into_a_new_webdav_folder_then_commit_by_move()
        {
            var local = EndpointDriver.NewRandomFile(_f.WorkDir, 3 * 1024 * 1024 + 11, seed: 5);
            var folder = $"/dav/up-{Guid.NewGuid():n}/a/b";
            await _f.Plugin.CreateDirectoryAsync(OperationContext.None, _f.Url(folder), NginxFixture.Options());
            await _f.Plugin.CreateDirectoryAsync(OperationContext.None, _f.Url(folder), NginxFixture.Options());
            var folderInfo = await _f.Plugin.GetInfoAsync(OperationContext.None, _f.Url(folder + "/"), NginxFixture.Options());
            Assert.True(folderInfo.Exists && folderInfo.IsDirectory);

            var temp = _f.Url($"{folder}/file.bin.partial");
            var final = _f.Url($"{folder}/file.bin");
            await EndpointDriver.UploadAsync(_f.Plugin, local, temp, final, NginxFixture.Options());
            var onDisk = Path.Combine(_f.DavRoot, folder.Substring("/dav/".Length), "file.bin");
            Assert.Equal(EndpointDriver.Sha256(local), EndpointDriver.Sha256(onDisk));
            Assert.False(File.Exists(onDisk + ".partial"));
            Assert.Equal(new FileInfo(local).Length, (await _f.Plugin.GetInfoAsync(OperationContext.None, final, NginxFixture.Options())).Length);
        }

        [Fact]
        public async Task Commit_respects_overwrite()
        {
            var name = $"/dav/conflict-{Guid.NewGuid():n}.txt";
            File.WriteAllText(Path.Combine(_f.DavRoot, name.Substring(5)), "old");
            var local = EndpointDriver.NewRandomFile(_f.WorkDir, 5000, seed: 6);
            var temp = _f.Url(name + ".partial");
            var e = await Assert.ThrowsAsync<PluginException>(() => EndpointDriver.UploadAsync(_f.Plugin, local, temp, _f.Url(name), NginxFixture.Options()));
            Assert.Equal(ErrorCode.Conflict, e.Code);
            Assert.Equal("old", File.ReadAllText(Path.Combine(_f.DavRoot, name.Substring(5))));

            await _f.Plugin.CommitAsync(OperationContext.None, temp, _f.Url(name), overwrite: true, NginxFixture.Options());
            Assert.Equal(EndpointDriver.Sha256(local), EndpointDriver.Sha256(Path.Combine(_f.DavRoot, name.Substring(5))));
            await _f.Plugin.DeleteAsync(OperationContext.None, _f.Url(name), NginxFixture.Options());
            await _f.Plugin.DeleteAsync(OperationContext.None, _f.Url(name), NginxFixture.Options());
            Assert.False(File.Exists(Path.Combine(_f.DavRoot, name.Substring(5))));
        }

        [Fact]
        public async Task Upload_resumes_at_an_offset_by_resending_the_servers_copy()
        {
            var local = EndpointDriver.NewRandomFile(_f.WorkDir, 2 * 1024 * 1024 + 7, seed: 8);
            var name = $"/dav/resume-{Guid.NewGuid():n}.bin";
            var temp = _f.Url(name + ".partial");
            // The first attempt flushed 1.5 MiB and ended; the journal committed 1 MiB of it.
            await EndpointDriver.UploadAsync(_f.Plugin, local, temp, _f.Url(name), NginxFixture.Options(), stopAfter: 1536 * 1024);
            Assert.Equal(1536 * 1024, (await _f.Plugin.GetInfoAsync(OperationContext.None, temp, NginxFixture.Options())).Length);

            await EndpointDriver.UploadAsync(_f.Plugin, local, temp, _f.Url(name), NginxFixture.Options(), offset: 1024 * 1024);
            Assert.Equal(EndpointDriver.Sha256(local), EndpointDriver.Sha256(Path.Combine(_f.DavRoot, name.Substring(5))));

            var e = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.OpenWriteAsync(OperationContext.None, _f.Url($"/dav/none-{Guid.NewGuid():n}.partial"), 1000, NginxFixture.Options()));
            Assert.Equal(ErrorCode.InvalidState, e.Code);
            Assert.Equal("HttpUploadRestartRequired", e.ErrorId);
        }

        [Fact]
        public async Task An_abandoned_unflushed_upload_is_not_stored()
        {
            var temp = _f.Url($"/dav/abandoned-{Guid.NewGuid():n}.partial");
            using (var stream = await _f.Plugin.OpenWriteAsync(OperationContext.None, temp, 0, NginxFixture.Options()))
            {
                await stream.WriteAsync(new byte[300_000], 0, 300_000);
            }

            Assert.False((await _f.Plugin.GetInfoAsync(OperationContext.None, temp, NginxFixture.Options())).Exists);
        }

        [Fact]
        public async Task Credentials_in_the_uri_are_refused()
        {
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                _f.Plugin.GetInfoAsync(OperationContext.None, new Uri($"http://u:s3cret@127.0.0.1:{_f.Server.Port}/files/x"), NginxFixture.Options()));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
            Assert.DoesNotContain("s3cret", e.Message);
        }
    }

    /// <summary>The session's bearer token reaches only the hosts the configuration names.</summary>
    public class HttpBearerTokenTests
    {
        private static async Task<string> CaptureAuthorizationAsync(HttpProtocolPlugin plugin)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                var accept = Task.Run(async () =>
                {
                    using var socket = await listener.AcceptTcpClientAsync();
                    var stream = socket.GetStream();
                    var (text, _) = await RawHttp.ReadRequestHeadAsync(stream);
                    var reply = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(reply);
                    foreach (var line in text.Split("\r\n"))
                    {
                        if (line.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))
                        {
                            return line.Substring(14).Trim();
                        }
                    }

                    return "";
                });
                var context = OperationContext.None.WithIdentity("alice", "session-token-123");
                await plugin.GetInfoAsync(context, new Uri($"http://127.0.0.1:{port}/file"), NginxFixture.Options());
                return await accept;
            }
            finally
            {
                listener.Stop();
            }
        }

        [Fact]
        public async Task Token_is_not_sent_by_default()
        {
            Assert.Equal("", await CaptureAuthorizationAsync(NginxFixture.NewPlugin()));
        }

        [Fact]
        public async Task Token_is_sent_to_configured_hosts_only()
        {
            var configured = NginxFixture.NewPlugin(new Dictionary<string, string> { [HttpProtocolPlugin.BearerTokenHostsKey] = "127.0.0.1" });
            Assert.Equal("Bearer session-token-123", await CaptureAuthorizationAsync(configured));
            var elsewhere = NginxFixture.NewPlugin(new Dictionary<string, string> { [HttpProtocolPlugin.BearerTokenHostsKey] = "files.example.org" });
            Assert.Equal("", await CaptureAuthorizationAsync(elsewhere));
        }
    }
}

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>
    /// Stall detection on downloads. nginx cannot be made to stop mid-body, so a socket server plays the stalling
    /// server: it sends the headers and part of the body, then either goes silent or trickles.
    /// </summary>
    public class HttpStallTests
    {
        private const int BodyLength = 1_000_000;

        private static async Task ServeAsync(TcpListener listener, int sendBytes, TimeSpan trickleEvery, Task stop)
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            if (!(await RawHttp.ReadRequestHeadAsync(stream)).Complete)
            {
                return;
            }

            var headers = $"HTTP/1.1 200 OK\r\nContent-Length: {BodyLength}\r\nAccept-Ranges: bytes\r\nETag: \"stall\"\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(headers));
            await stream.WriteAsync(new byte[sendBytes]);
            await stream.FlushAsync();
            if (trickleEvery > TimeSpan.Zero)
            {
                try
                {
                    while (!stop.IsCompleted)
                    {
                        await Task.WhenAny(Task.Delay(trickleEvery), stop);
                        await stream.WriteAsync(new byte[1]);
                        await stream.FlushAsync();
                    }
                }
                catch (IOException)
                {
                    // The client hung up (it read what it wanted, or gave up): the outcome is the client's to report.
                }
            }
            else
            {
                await stop;
            }
        }

        private static async Task<(Exception? Error, long Read)> ReadUntilAsync(TimeSpan stallTimeout, TimeSpan trickleEvery, TimeSpan readFor)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var stop = new TaskCompletionSource<bool>();
            var plugin = NginxFixture.NewPlugin();
            try
            {
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                var server = ServeAsync(listener, 1000, trickleEvery, stop.Task);
                var options = new TransferOptions { StallTimeout = stallTimeout };
                long read = 0;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    // The safety net only keeps a broken watchdog from hanging the test run; it is not what is tested.
                    using var safety = new System.Threading.CancellationTokenSource(TimeSpan.FromSeconds(60));
                    using var body = await plugin.OpenReadAsync(OperationContext.None, new Uri($"http://127.0.0.1:{port}/file"), 0, null, options);
                    var buffer = new byte[65536];
                    while (clock.Elapsed < readFor)
                    {
                        var n = await body.ReadAsync(buffer, 0, buffer.Length, safety.Token);
                        if (n == 0)
                        {
                            break;
                        }

                        read += n;
                    }

                    return (null, read);
                }
                catch (Exception e)
                {
                    return (e, read);
                }
                finally
                {
                    stop.TrySetResult(true);
                    await server;
                }
            }
            finally
            {
                listener.Stop();
                await plugin.ShutdownAsync(OperationContext.None);
            }
        }

        [Fact]
        public async Task A_silent_server_fails_the_read_as_a_transient_stall()
        {
            var (error, read) = await ReadUntilAsync(TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromSeconds(120));

            Assert.Equal(1000, read);
            var stalled = Assert.IsType<PluginException>(error);
            Assert.Equal(ErrorCode.Timeout, stalled.Code);
            Assert.Equal("HttpStalled", stalled.ErrorId);
            Assert.True(stalled.IsTransient);
        }

        [Fact]
        public async Task A_slow_but_moving_server_is_not_a_stall()
        {
            // One byte every 100 ms for 4 s, with a 3 s stall timeout: every read brings bytes far within it (a margin
            // wide enough for a loaded CI machine's late timers), so the watchdog (one per stream, re-armed by each read)
            // must never fire.
            var (error, read) = await ReadUntilAsync(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(4));

            Assert.Null(error);
            Assert.True(read > 1000);
        }
    }
}

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>The request side of the socket servers that play what nginx cannot (capturing headers, stalling).</summary>
    internal static class RawHttp
    {
        /// <summary>Reads a request's head up to the blank line; Complete is false when the client closed before it.</summary>
        public static async Task<(string Text, bool Complete)> ReadRequestHeadAsync(Stream stream)
        {
            var buffer = new byte[8192];
            var text = new StringBuilder();
            while (!text.ToString().Contains("\r\n\r\n"))
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    return (text.ToString(), false);
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            return (text.ToString(), true);
        }
    }
}
