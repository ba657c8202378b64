#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace TransferTools.Bench
{
    /// <summary>
    /// A TCP proxy on 127.0.0.1 that holds every byte for a fixed delay in each direction, so that loopback services
    /// behave as over a WAN's round trip (tc netem is not available on every machine the benchmark runs on). It adds
    /// latency only: bytes are read as fast as they come and queued, so there is no bandwidth limit and no loss.
    /// Runs on the thread pool of the process that starts it (the benchmark's pwsh) until <see cref="Dispose"/>.
    /// </summary>
    public sealed class LatencyProxy : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _targetPort;
        private readonly TimeSpan _delay;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly List<TcpClient> _connections = new List<TcpClient>();

        /// <param name="targetPort">The service on 127.0.0.1 to forward to.</param>
        /// <param name="oneWayDelayMs">The delay in each direction: the round trip grows by twice this.</param>
        public LatencyProxy(int targetPort, int oneWayDelayMs)
        {
            _targetPort = targetPort;
            _delay = TimeSpan.FromMilliseconds(oneWayDelayMs);
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptAsync();
        }

        /// <summary>The port clients connect to.</summary>
        public int Port { get; }

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

                _ = ForwardAsync(client);
            }
        }

        private async Task ForwardAsync(TcpClient client)
        {
            using (client)
            using (var server = new TcpClient())
            {
                lock (_connections)
                {
                    _connections.Add(client);
                    _connections.Add(server);
                }

                try
                {
                    client.NoDelay = true;
                    server.NoDelay = true;
                    await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                    await Task.WhenAll(PumpAsync(client.Client, server.Client), PumpAsync(server.Client, client.Client));
                }
                catch (Exception)
                {
                    // A connection that fails ends; the others go on.
                }
                finally
                {
                    lock (_connections)
                    {
                        _connections.Remove(client);
                        _connections.Remove(server);
                    }
                }
            }
        }

        /// <summary>Reads from one side and writes each piece to the other once it is <see cref="_delay"/> old.</summary>
        private async Task PumpAsync(Socket from, Socket to)
        {
            var queue = Channel.CreateUnbounded<(long Due, byte[]? Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            var writer = Task.Run(async () =>
            {
                await foreach (var (due, data) in queue.Reader.ReadAllAsync(_stop.Token))
                {
                    var wait = TimeSpan.FromTicks((due - Stopwatch.GetTimestamp()) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, _stop.Token);
                    }

                    if (data is null)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await to.SendAsync(data, SocketFlags.None, _stop.Token);
                }
            });

            var buffer = new byte[256 * 1024];
            var delayTicks = (long)(_delay.TotalSeconds * Stopwatch.Frequency);
            try
            {
                while (true)
                {
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    var due = Stopwatch.GetTimestamp() + delayTicks;
                    if (n == 0)
                    {
                        queue.Writer.TryWrite((due, null));
                        break;
                    }

                    queue.Writer.TryWrite((due, buffer.AsSpan(0, n).ToArray()));
                }
            }
            finally
            {
                queue.Writer.TryComplete();
            }

            await writer;
        }

        /// <summary>Stops listening and drops every connection.</summary>
        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_connections)
            {
                foreach (var connection in _connections)
                {
                    connection.Dispose();
                }
            }
        }
    }
}
