using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Plugins.OpenTelemetry;

namespace TransferTools.Plugins.OpenTelemetry.Tests
{
    /// <summary>
    /// The meter and activity source are process-wide, so tests that listen to them run one at a time and tell their
    /// own measurements apart by a protocol tag unique to the test.
    /// </summary>
    [CollectionDefinition("Telemetry", DisableParallelization = true)]
    public sealed class TelemetryCollection
    {
    }

    [Collection("Telemetry")]
    public class OpenTelemetryMonitorTests
    {

        private static Transfer NewTransfer(string protocol, string id = "t1", long total = 1000) => new Transfer
        {
            Id = id,
            Name = id + ".bin",
            Protocol = protocol,
            Status = TransferStatus.Active,
            TotalBytes = total,
            StartedAt = DateTimeOffset.UtcNow.AddSeconds(-2),
            Direction = TransferDirection.Send,
        };

        private static async Task<OpenTelemetryMonitorPlugin> NewPluginAsync(Dictionary<string, string>? config = null)
        {
            var plugin = new OpenTelemetryMonitorPlugin();
            await plugin.InitAsync(OperationContext.None, config ?? new Dictionary<string, string>());
            return plugin;
        }

        /// <summary>Runs a transfer's events through the plugin: start, 40%, retry, 100%, completed; and one that fails.</summary>
        private static void Feed(OpenTelemetryMonitorPlugin plugin, string protocol, OperationContext context)
        {
            var t = NewTransfer(protocol, "ok-" + protocol);
            plugin.TransferStarted(context, t);
            t.BytesTransferred = 400;
            t.Progress = 40;
            plugin.TransferProgress(context, t, 40);
            t.Retries = 2;
            t.BytesTransferred = 1000;
            t.Progress = 100;
            plugin.TransferProgress(context, t, 100);
            t.Status = TransferStatus.Completed;
            t.CompletedAt = t.StartedAt.AddSeconds(2);
            t.Sha256 = new string('b', 64);
            plugin.TransferCompleted(context, t);

            // A resumed transfer that kept 600 bytes moves 200 more, then fails: 200 bytes counted, not 800.
            var f = NewTransfer(protocol, "bad-" + protocol);
            f.ResumedFrom = 600;
            f.BytesTransferred = 600;
            f.Progress = 60;
            plugin.TransferStarted(context, f);
            f.BytesTransferred = 800;
            f.Status = TransferStatus.Failed;
            f.CompletedAt = f.StartedAt.AddSeconds(1);
            plugin.TransferFailed(context, f, new PluginException(ErrorCode.Timeout, "no byte moved for 60 s"));
        }

        [Fact]
        public async Task Records_bytes_transfers_by_status_duration_active_and_retries()
        {
            var protocol = "proto-" + Guid.NewGuid().ToString("n").Substring(0, 8);
            var longs = new ConcurrentBag<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
            var doubles = new ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
            using var listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Name == "TransferTools")
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
            {
                var d = tags.ToArray().ToDictionary(p => p.Key, p => p.Value);
                if (Equals(d.GetValueOrDefault("protocol"), protocol)) longs.Add((i.Name, v, d));
            });
            listener.SetMeasurementEventCallback<double>((i, v, tags, _) =>
            {
                var d = tags.ToArray().ToDictionary(p => p.Key, p => p.Value);
                if (Equals(d.GetValueOrDefault("protocol"), protocol)) doubles.Add((i.Name, v, d));
            });
            listener.Start();

            var plugin = await NewPluginAsync();
            Feed(plugin, protocol, OperationContext.None);
            await plugin.ShutdownAsync(OperationContext.None);

            Assert.Equal(1000 + 200, longs.Where(m => m.Instrument == "transfertools.transferred").Sum(m => m.Value));
            Assert.Equal(2, longs.Where(m => m.Instrument == "transfertools.retries").Sum(m => m.Value));
            var finished = longs.Where(m => m.Instrument == "transfertools.transfers").ToList();
            Assert.Equal(new[] { "completed", "failed" }, finished.Select(m => (string)m.Tags["status"]!).OrderBy(s => s));
            Assert.All(finished, m => Assert.Equal("send", m.Tags["direction"]));
            Assert.Equal(0, longs.Where(m => m.Instrument == "transfertools.transfers.active").Sum(m => m.Value));
            Assert.Equal(2, longs.Count(m => m.Instrument == "transfertools.transfers.active" && m.Value == 1));
            var durations = doubles.Where(m => m.Instrument == "transfertools.transfer.duration").OrderBy(m => m.Value).ToList();
            Assert.Equal(new[] { 1.0, 2.0 }, durations.Select(m => Math.Round(m.Value, 3)));
        }

        [Fact]
        public async Task Custom_metrics_become_a_histogram_and_a_last_value_gauge_with_their_tags()
        {
            var name = "backup.files-" + Guid.NewGuid().ToString("n").Substring(0, 6);
            var instrument = TransferTelemetry.CustomInstrumentName(name);
            Assert.Matches("^transfertools\\.metric\\.backup\\.files_[0-9a-f]{6}$", instrument);
            var histogram = new List<(double, string?)>();
            var gauge = new List<(double, string?)>();
            using var listener = new MeterListener
            {
                InstrumentPublished = (i, l) =>
                {
                    if (i.Meter.Name == "TransferTools" && i.Name.StartsWith(instrument, StringComparison.Ordinal)) l.EnableMeasurementEvents(i);
                },
            };
            listener.SetMeasurementEventCallback<double>((i, v, tags, _) =>
            {
                var job = tags.ToArray().FirstOrDefault(t => t.Key == "job").Value as string;
                (i.Name.EndsWith(".last", StringComparison.Ordinal) ? gauge : histogram).Add((v, job));
            });
            listener.Start();

            var plugin = await NewPluginAsync();
            plugin.RecordMetric(OperationContext.None, name, 40, new Dictionary<string, string> { ["job"] = "nightly" });
            plugin.RecordMetric(OperationContext.None, name, 42, new Dictionary<string, string> { ["job"] = "nightly" });
            plugin.RecordMetric(OperationContext.None, name, 7, new Dictionary<string, string> { ["job"] = "hourly" });
            plugin.RecordMetric(OperationContext.None, name, double.NaN, new Dictionary<string, string> { ["job"] = "nightly" });
            listener.RecordObservableInstruments();
            await plugin.ShutdownAsync(OperationContext.None);

            Assert.Equal(new[] { (40.0, (string?)"nightly"), (42.0, "nightly"), (7.0, "hourly") }, histogram);
            Assert.Equal(new[] { (7.0, (string?)"hourly"), (42.0, "nightly") }, gauge.OrderBy(g => g.Item1));
        }

        [Fact]
        public async Task One_span_per_transfer_from_start_to_end_with_status()
        {
            var protocol = "span-" + Guid.NewGuid().ToString("n").Substring(0, 8);
            var spans = new ConcurrentBag<Activity>();
            using var listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == "TransferTools",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a =>
                {
                    if (Equals(a.GetTagItem("transfertools.protocol"), protocol)) spans.Add(a);
                },
            };
            ActivitySource.AddActivityListener(listener);

            var plugin = await NewPluginAsync();
            var start = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
            var context = new OperationContext().WithIdentity("alice", "secret").WithEventTimestamp(start);
            Feed(plugin, protocol, context);
            await plugin.ShutdownAsync(OperationContext.None);

            Assert.Null(Activity.Current);
            Assert.Equal(2, spans.Count);
            var ok = spans.Single(s => Equals(s.GetTagItem("transfertools.transfer.id"), "ok-" + protocol));
            Assert.Equal("transfer send", ok.DisplayName);
            Assert.Equal(ActivityStatusCode.Ok, ok.Status);
            Assert.Equal(start.UtcDateTime, ok.StartTimeUtc);
            Assert.Equal("alice", ok.GetTagItem("enduser.id"));
            Assert.Equal(context.RequestId, ok.GetTagItem("transfertools.request.id"));
            Assert.Equal(1000L, ok.GetTagItem("transfertools.bytes"));
            Assert.DoesNotContain(ok.Tags, t => t.Value == "secret");
            var bad = spans.Single(s => Equals(s.GetTagItem("transfertools.transfer.id"), "bad-" + protocol));
            Assert.Equal(ActivityStatusCode.Error, bad.Status);
            Assert.Equal("Timeout", bad.GetTagItem("error.type"));
            Assert.Contains("no byte moved", bad.StatusDescription);
        }

        [Fact]
        public async Task Prometheus_scrape_endpoint_passes_promtool_check_metrics()
        {
            var port = FreePort();
            var endpoint = $"http://127.0.0.1:{port}/metrics";
            var plugin = await NewPluginAsync(new Dictionary<string, string> { ["PrometheusEndpoint"] = endpoint });
            try
            {
                var protocol = "Prom" + port;
                Feed(plugin, protocol, OperationContext.None);
                plugin.TransferStarted(OperationContext.None, NewTransfer(protocol, "still-running"));
                plugin.RecordMetric(OperationContext.None, "backup.files", 42, new Dictionary<string, string> { ["job"] = "nightly" });

                using var http = new HttpClient();
                var text = await http.GetStringAsync(endpoint);
                Assert.Contains("transfertools_transferred_bytes_total{", text);
                Assert.Contains($"transfertools_transfers_total{{otel_scope_name=\"TransferTools\",otel_scope_version=\"0.1.0\",direction=\"send\",protocol=\"{protocol}\",status=\"failed\"}} 1", text);
                Assert.Contains("transfertools_transfer_duration_seconds_bucket{", text);
                Assert.Contains($"transfertools_transfers_active{{otel_scope_name=\"TransferTools\",otel_scope_version=\"0.1.0\",direction=\"send\",protocol=\"{protocol}\"}} 1", text);
                Assert.Contains("transfertools_retries_total{", text);
                Assert.Contains("transfertools_metric_backup_files_last{", text);

                var (exit, output) = await RunAsync("promtool", "check metrics", text);
                Assert.True(exit == 0, "promtool check metrics failed:\n" + output + "\n---\n" + text);
            }
            finally
            {
                await plugin.ShutdownAsync(OperationContext.None);
            }

            // The port is released at shutdown.
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
        }

        [Fact]
        public async Task Two_sessions_configured_alike_share_one_endpoint()
        {
            var endpoint = $"http://127.0.0.1:{FreePort()}/metrics";
            var config = new Dictionary<string, string> { ["PrometheusEndpoint"] = endpoint };
            var first = await NewPluginAsync(config);
            var second = await NewPluginAsync(config);
            Assert.Same(first.Exporters, second.Exporters);
            await first.ShutdownAsync(OperationContext.None);
            using var http = new HttpClient();
            Assert.Contains("target_info", await http.GetStringAsync(endpoint)); // still served for the second
            await second.ShutdownAsync(OperationContext.None);
        }

        [Fact]
        public async Task A_busy_prometheus_port_fails_init_with_a_clear_error()
        {
            using var busy = new HttpListener();
            var port = FreePort();
            busy.Prefixes.Add($"http://127.0.0.1:{port}/");
            busy.Start();
            var e = await Assert.ThrowsAsync<PluginException>(() => NewPluginAsync(new Dictionary<string, string> { ["PrometheusEndpoint"] = $"http://127.0.0.1:{port}/metrics" }));
            Assert.Equal(ErrorCode.InvalidConfiguration, e.Code);
            Assert.Equal("OpenTelemetryExporterFailed", e.ErrorId);
        }

        [Fact]
        public async Task Otlp_http_exporter_delivers_metrics_and_traces_at_shutdown()
        {
            var port = FreePort();
            using var receiver = new OtlpReceiver(port);
            var plugin = await NewPluginAsync(new Dictionary<string, string>
            {
                ["OtlpEndpoint"] = $"http://127.0.0.1:{port}",
                ["OtlpProtocol"] = "http/protobuf",
                ["OtlpHeaders"] = "x-api-key=abc123",
                ["ExportIntervalSeconds"] = "3600", // nothing is pushed before shutdown flushes
            });
            Feed(plugin, "Otlp" + port, OperationContext.None);
            plugin.RecordMetric(OperationContext.None, "otlp.test", 1, new Dictionary<string, string>());
            await plugin.ShutdownAsync(OperationContext.None);

            Assert.True(receiver.Count("/v1/metrics") >= 1, "no POST to /v1/metrics: " + receiver.Describe());
            Assert.True(receiver.Count("/v1/traces") >= 1, "no POST to /v1/traces: " + receiver.Describe());
            Assert.All(receiver.Requests, r => Assert.Equal("application/x-protobuf", r.ContentType));
            Assert.All(receiver.Requests, r => Assert.Equal("abc123", r.ApiKey));
            Assert.Contains(receiver.Requests, r => r.Path == "/v1/metrics" && r.Body.Length > 0);
        }

        [Theory]
        [InlineData("OtlpEndpoint", "not a url")]
        [InlineData("OtlpEndpoint", "ftp://127.0.0.1/")]
        [InlineData("OtlpProtocol", "carrier-pigeon")]
        [InlineData("OtlpHeaders", "novalue")]
        [InlineData("PrometheusEndpoint", "https://127.0.0.1:9464/metrics")]
        [InlineData("ExportIntervalSeconds", "0")]
        public void Rejects_bad_configuration(string key, string value)
        {
            var e = Assert.Throws<PluginException>(() => TelemetrySettings.Parse(new Dictionary<string, string> { [key] = value }));
            Assert.Equal(ErrorCode.InvalidConfiguration, e.Code);
            Assert.Equal(key, e.Target);
        }

        [Theory]
        [InlineData("http://c:4318", "http://c:4318/v1/traces")]
        [InlineData("http://c:4318/", "http://c:4318/v1/traces")]
        [InlineData("http://c:4318/otlp/v1/metrics", "http://c:4318/otlp/v1/traces")]
        public void Http_endpoints_get_the_signal_path(string configured, string traces) =>
            Assert.Equal(traces, TelemetrySettings.Parse(new Dictionary<string, string> { ["OtlpEndpoint"] = configured }).SignalEndpoint("traces").ToString());

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        private static async Task<(int Exit, string Output)> RunAsync(string file, string arguments, string input)
        {
            Process? started;
            try
            {
                started = Process.Start(new ProcessStartInfo(file, arguments)
                {
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                });
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                // Say what to install, not just that a file was not found.
                throw new InvalidOperationException(
                    $"'{file}' could not be started ({e.Message}). It comes with the Debian package 'prometheus'; " +
                    "build.ps1 -Task Test installs it (Install-TestServicePrerequisite in tests/services).", e);
            }

            using var process = started ?? throw new InvalidOperationException("could not start " + file);
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
            var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, output);
        }

        /// <summary>A tiny OTLP/HTTP receiver on 127.0.0.1: answers 200 to every POST and remembers it.</summary>
        private sealed class OtlpReceiver : IDisposable
        {
            private readonly HttpListener _listener = new HttpListener();
            private readonly Task _loop;

            public OtlpReceiver(int port)
            {
                _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                _listener.Start();
                _loop = Task.Run(LoopAsync);
            }

            public ConcurrentQueue<(string Path, string? ContentType, string? ApiKey, byte[] Body)> Requests { get; } =
                new ConcurrentQueue<(string, string?, string?, byte[])>();

            public int Count(string path) => Requests.Count(r => r.Path == path);

            public string Describe() => string.Join(", ", Requests.Select(r => r.Path)) + " (" + Requests.Count + " requests)";

            public void Dispose()
            {
                _listener.Stop();
                _listener.Close();
            }

            private async Task LoopAsync()
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try
                    {
                        context = await _listener.GetContextAsync();
                    }
                    catch (Exception)
                    {
                        return;
                    }

                    using var body = new MemoryStream();
                    await context.Request.InputStream.CopyToAsync(body);
                    Requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType, context.Request.Headers["x-api-key"], body.ToArray()));
                    context.Response.StatusCode = 200;
                    context.Response.ContentType = "application/x-protobuf";
                    context.Response.Close();
                }
            }
        }
    }
}
