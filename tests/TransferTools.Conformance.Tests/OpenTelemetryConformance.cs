using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Plugins.OpenTelemetry;

namespace TransferTools.Conformance.Tests
{
    /// <summary>
    /// The built-in OpenTelemetry monitor exporting over OTLP/HTTP to a receiver on 127.0.0.1: what it recorded is what
    /// reached the receiver (flushed at Shutdown), so the suite checks that every transfer, metric and no token left.
    /// </summary>
    /// <remarks>The meter and activity source are process-wide; this class is one collection, so its tests run one at a
    /// time, and no other test in this assembly listens to them.</remarks>
    public class OpenTelemetryConformance : MonitorPluginConformance
    {
        private OtlpReceiver? _receiver;

        public override Task InitializeAsync()
        {
            _receiver = new OtlpReceiver();
            return base.InitializeAsync();
        }

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            _receiver?.Dispose();
        }

        protected override IMonitorPlugin CreatePlugin() => new OpenTelemetryMonitorPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) => new Dictionary<string, string>
        {
            ["OtlpEndpoint"] = _receiver!.BaseUri,
            ["OtlpProtocol"] = "http/protobuf",
            ["ExportIntervalSeconds"] = "3600", // everything is pushed by the flush at Shutdown
        };

        // OTLP/protobuf keeps strings as UTF-8 bytes, so names and ids can be found in the bodies as text.
        protected override Task<string?> ReadRecordedAsync() => Task.FromResult<string?>(_receiver!.Text());

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["OtlpEndpoint"] = "not a url" },
            new Dictionary<string, string> { ["OtlpEndpoint"] = _receiver!.BaseUri, ["OtlpProtocol"] = "carrier-pigeon" },
            new Dictionary<string, string> { ["ExportIntervalSeconds"] = "0" },
        };

        /// <summary>An OTLP/HTTP receiver: answers 200 to every POST and keeps the bodies.</summary>
        private sealed class OtlpReceiver : IDisposable
        {
            private readonly HttpListener _listener = new HttpListener();
            private readonly ConcurrentQueue<byte[]> _bodies = new ConcurrentQueue<byte[]>();

            public OtlpReceiver()
            {
                using (var probe = new TcpListener(IPAddress.Loopback, 0))
                {
                    probe.Start();
                    BaseUri = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
                }

                _listener.Prefixes.Add(BaseUri + "/");
                _listener.Start();
                _ = Task.Run(LoopAsync);
            }

            public string BaseUri { get; }

            public string Text() => string.Concat(_bodies.Select(b => Encoding.UTF8.GetString(b)));

            public void Dispose() => _listener.Close();

            private async Task LoopAsync()
            {
                while (true)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception e) when (e is HttpListenerException || e is ObjectDisposedException || e is InvalidOperationException)
                    {
                        return;
                    }

                    using (var body = new MemoryStream())
                    {
                        await context.Request.InputStream.CopyToAsync(body);
                        _bodies.Enqueue(body.ToArray());
                    }

                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/x-protobuf";
                    context.Response.Close();
                }
            }
        }
    }
}
