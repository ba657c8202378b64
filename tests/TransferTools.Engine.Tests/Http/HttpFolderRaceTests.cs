using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>
    /// A WebDAV server that answers MKCOL with 423 Locked while another request makes the same folder (rclone's webdav
    /// does): the folder is created once the race settles, and an answer that never settles is still an error.
    /// </summary>
    public class HttpFolderRaceTests
    {
        [Fact]
        public async Task A_folder_locked_by_a_concurrent_mkcol_is_made_once_the_lock_goes()
        {
            using var server = new LockingDavServer(lockedAnswers: 2);
            var plugin = NginxFixture.NewPlugin();
            await plugin.CreateDirectoryAsync(OperationContext.None, server.Url("/trees/.transfertools/"), NginxFixture.Options());
            Assert.Equal(3, server.MkcolCount);
        }

        [Fact]
        public async Task A_folder_locked_for_good_is_an_error_naming_the_folder()
        {
            using var server = new LockingDavServer(lockedAnswers: int.MaxValue);
            var plugin = NginxFixture.NewPlugin();
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                plugin.CreateDirectoryAsync(OperationContext.None, server.Url("/trees/.transfertools/"), NginxFixture.Options()));
            Assert.Contains("423", e.Message);
            Assert.Contains("/trees/.transfertools/", e.Message);
        }

        /// <summary>Answers MKCOL 423 the first <c>lockedAnswers</c> times, then 201; every other request 404 until made.</summary>
        private sealed class LockingDavServer : IDisposable
        {
            private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
            private readonly CancellationTokenSource _stop = new CancellationTokenSource();
            private readonly int _lockedAnswers;
            private int _mkcols;
            private volatile bool _made;

            public LockingDavServer(int lockedAnswers)
            {
                _lockedAnswers = lockedAnswers;
                _listener.Start();
                _ = Task.Run(AcceptAsync);
            }

            public int MkcolCount => Volatile.Read(ref _mkcols);

            public Uri Url(string path) => new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}{path}");

            private async Task AcceptAsync()
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    }
                    catch (Exception)
                    {
                        return;
                    }

                    _ = Task.Run(() => AnswerAsync(client));
                }
            }

            private async Task AnswerAsync(TcpClient client)
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var (text, complete) = await RawHttp.ReadRequestHeadAsync(stream);
                    if (!complete)
                    {
                        return;
                    }

                    string status;
                    if (text.StartsWith("MKCOL ", StringComparison.Ordinal))
                    {
                        var n = Interlocked.Increment(ref _mkcols);
                        _made = n > _lockedAnswers;
                        status = _made ? "201 Created" : "423 Locked";
                    }
                    else
                    {
                        status = _made ? "405 Method Not Allowed" : "404 Not Found";
                    }

                    var reply = Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(reply);
                }
            }

            public void Dispose()
            {
                _stop.Cancel();
                _listener.Stop();
            }
        }
    }
}
