using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using global::OpenTelemetry;
using global::OpenTelemetry.Exporter;
using global::OpenTelemetry.Metrics;
using global::OpenTelemetry.Resources;
using global::OpenTelemetry.Trace;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.OpenTelemetry
{
    /// <summary>The exporter configuration of an OpenTelemetry monitor registration.</summary>
    public sealed class TelemetrySettings
    {
        /// <summary>The OTLP endpoint (base URL), or null.</summary>
        public Uri? OtlpEndpoint { get; private set; }
        /// <summary>True for grpc, false for http/protobuf.</summary>
        public bool OtlpGrpc { get; private set; }
        /// <summary>OTLP headers as <c>k=v,k2=v2</c>, or null.</summary>
        public string? OtlpHeaders { get; private set; }
        /// <summary>The Prometheus scrape endpoint, or null.</summary>
        public Uri? PrometheusEndpoint { get; private set; }
        /// <summary>How often metrics are pushed over OTLP.</summary>
        public TimeSpan ExportInterval { get; private set; } = TimeSpan.FromSeconds(15);
        /// <summary>The <c>service.name</c> resource attribute.</summary>
        public string ServiceName { get; private set; } = "TransferTools";

        /// <summary>Identifies settings that can share one set of exporters (headers are compared, never shown).</summary>
        internal string Key => string.Join("\n", OtlpEndpoint, OtlpGrpc, OtlpHeaders, PrometheusEndpoint, ExportInterval.Ticks, ServiceName);

        /// <summary>Reads and validates the configuration keys.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidConfiguration"/> naming the bad key.</exception>
        public static TelemetrySettings Parse(IReadOnlyDictionary<string, string> config)
        {
            var settings = new TelemetrySettings();
            if (config.TryGetValue("OtlpEndpoint", out var otlp) && !string.IsNullOrWhiteSpace(otlp))
            {
                settings.OtlpEndpoint = HttpUri(otlp, "OtlpEndpoint");
            }

            if (config.TryGetValue("OtlpProtocol", out var protocol) && !string.IsNullOrWhiteSpace(protocol))
            {
                switch (protocol.Trim().ToLowerInvariant())
                {
                    case "grpc":
                        settings.OtlpGrpc = true;
                        break;
                    case "http/protobuf":
                    case "httpprotobuf":
                    case "http":
                        settings.OtlpGrpc = false;
                        break;
                    default:
                        throw Invalid($"OtlpProtocol must be 'grpc' or 'http/protobuf', not '{protocol}'.", "OtlpProtocol");
                }
            }

            if (config.TryGetValue("OtlpHeaders", out var headers) && !string.IsNullOrWhiteSpace(headers))
            {
                if (headers.Split(',').Any(h => h.IndexOf('=') <= 0))
                {
                    throw Invalid("OtlpHeaders must be 'key=value' pairs separated by commas.", "OtlpHeaders");
                }

                settings.OtlpHeaders = headers;
            }

            if (config.TryGetValue("PrometheusEndpoint", out var prometheus) && !string.IsNullOrWhiteSpace(prometheus))
            {
                var uri = HttpUri(prometheus, "PrometheusEndpoint");
                if (uri.Scheme != Uri.UriSchemeHttp)
                {
                    throw Invalid($"PrometheusEndpoint must be an http:// URL such as http://127.0.0.1:9464/metrics, not '{prometheus}'.", "PrometheusEndpoint");
                }

                settings.PrometheusEndpoint = uri;
            }

            if (config.TryGetValue("ExportIntervalSeconds", out var interval) && !string.IsNullOrWhiteSpace(interval))
            {
                if (!double.TryParse(interval, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0.1 || seconds > 86400)
                {
                    throw Invalid($"ExportIntervalSeconds must be a number of seconds from 0.1 to 86400, not '{interval}'.", "ExportIntervalSeconds");
                }

                settings.ExportInterval = TimeSpan.FromSeconds(seconds);
            }

            if (config.TryGetValue("ServiceName", out var service) && !string.IsNullOrWhiteSpace(service))
            {
                settings.ServiceName = service.Trim();
            }

            return settings;
        }

        /// <summary>The URL the http/protobuf exporter posts <paramref name="signal"/> (<c>metrics</c>, <c>traces</c>) to.</summary>
        internal Uri SignalEndpoint(string signal)
        {
            if (OtlpGrpc)
            {
                return OtlpEndpoint!;
            }

            var path = OtlpEndpoint!.AbsolutePath.TrimEnd('/');
            foreach (var known in new[] { "/v1/metrics", "/v1/traces" })
            {
                if (path.EndsWith(known, StringComparison.OrdinalIgnoreCase))
                {
                    path = path.Substring(0, path.Length - known.Length);
                }
            }

            return new UriBuilder(OtlpEndpoint) { Path = path + "/v1/" + signal }.Uri;
        }

        private static Uri HttpUri(string text, string key)
        {
            if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw Invalid($"{key} must be an http:// or https:// URL, not '{text}'.", key);
            }

            return uri;
        }

        private static PluginException Invalid(string message, string key) =>
            new PluginException(ErrorCode.InvalidConfiguration, message, errorId: "OpenTelemetryConfigurationInvalid", target: key);
    }

    /// <summary>
    /// The OpenTelemetry SDK providers (a meter provider with the OTLP and Prometheus readers, a tracer provider with the
    /// OTLP exporter) for one configuration, shared by every instance configured alike and disposed with the last one:
    /// two sessions in one process must neither export everything twice nor fight over one Prometheus port.
    /// </summary>
    public sealed class TelemetryExporters
    {
        private static readonly Dictionary<string, TelemetryExporters> Shared = new Dictionary<string, TelemetryExporters>(StringComparer.Ordinal);
        private readonly string _key;
        private readonly MeterProvider? _meters;
        private readonly TracerProvider? _tracer;
        private int _leases;

        private TelemetryExporters(TelemetrySettings settings)
        {
            _key = settings.Key;
            Settings = settings;
            if (settings.OtlpEndpoint is null && settings.PrometheusEndpoint is null)
            {
                return; // Instruments still exist for in-process listeners; nothing to export.
            }

            var resource = ResourceBuilder.CreateDefault().AddService(settings.ServiceName, serviceVersion: typeof(TelemetryExporters).Assembly.GetName().Version?.ToString(3));
            var meters = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(TransferTelemetry.Name);
            if (settings.OtlpEndpoint != null)
            {
                meters.AddOtlpExporter((exporter, reader) =>
                {
                    Configure(exporter, settings, "metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)settings.ExportInterval.TotalMilliseconds;
                    reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
                });
            }

            if (settings.PrometheusEndpoint != null)
            {
                var endpoint = settings.PrometheusEndpoint;
                EnsurePortFree(endpoint);
                meters.AddPrometheusHttpListener(options =>
                {
                    options.Host = endpoint.Host;
                    options.Port = endpoint.Port;
                    options.ScrapeEndpointPath = string.IsNullOrEmpty(endpoint.AbsolutePath) || endpoint.AbsolutePath == "/" ? "/metrics" : endpoint.AbsolutePath;
                    options.ScrapeResponseCacheDurationMilliseconds = 0;
                });
            }

            try
            {
                _meters = meters.Build();
                if (settings.OtlpEndpoint != null)
                {
                    _tracer = Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(TransferTelemetry.Name)
                        .AddOtlpExporter(exporter => Configure(exporter, settings, "traces")).Build();
                }
            }
            catch (Exception e) when (!(e is PluginException))
            {
                _meters?.Dispose();
                var what = settings.PrometheusEndpoint != null ? $"the Prometheus endpoint {settings.PrometheusEndpoint}" : "the OTLP exporter";
                throw new PluginException(ErrorCode.InvalidConfiguration, $"OpenTelemetry could not start {what}: {e.Message}", e,
                    errorId: "OpenTelemetryExporterFailed", target: settings.PrometheusEndpoint?.ToString() ?? settings.OtlpEndpoint?.ToString());
            }
        }

        /// <summary>The settings.</summary>
        public TelemetrySettings Settings { get; }

        /// <summary>Gets (or starts) the exporters for <paramref name="settings"/>.</summary>
        internal static Lease Acquire(TelemetrySettings settings)
        {
            lock (Shared)
            {
                if (!Shared.TryGetValue(settings.Key, out var exporters))
                {
                    exporters = new TelemetryExporters(settings);
                    Shared[settings.Key] = exporters;
                }

                exporters._leases++;
                return new Lease(exporters);
            }
        }

        /// <summary>Pushes buffered metrics and spans to OTLP now.</summary>
        public bool ForceFlush(int timeoutMilliseconds)
        {
            var metrics = _meters?.ForceFlush(timeoutMilliseconds) ?? true;
            var traces = _tracer?.ForceFlush(timeoutMilliseconds) ?? true;
            return metrics && traces;
        }

        private void Release()
        {
            lock (Shared)
            {
                if (--_leases > 0)
                {
                    return;
                }

                Shared.Remove(_key);
            }

            // Shutdown flushes: the last metrics and spans reach the collector before the session ends.
            _tracer?.ForceFlush(5000);
            _tracer?.Dispose();
            _meters?.ForceFlush(5000);
            _meters?.Dispose();
        }

        /// <summary>
        /// The SDK's listener only logs a failed bind and serves nothing; a scrape endpoint that silently does not exist
        /// is worse than a clear error at registration, so the port is tried first.
        /// </summary>
        private static void EnsurePortFree(Uri endpoint)
        {
            var addresses = endpoint.IsLoopback && endpoint.Host == "localhost"
                ? new[] { IPAddress.Loopback }
                : IPAddress.TryParse(endpoint.Host, out var parsed) ? new[] { parsed } : new[] { IPAddress.Any };
            foreach (var address in addresses)
            {
                var probe = new TcpListener(address, endpoint.Port);
                try
                {
                    probe.Start();
                }
                catch (SocketException e)
                {
                    throw new PluginException(ErrorCode.InvalidConfiguration,
                        $"The Prometheus endpoint {endpoint} cannot be served: port {endpoint.Port} is in use ({e.SocketErrorCode}). Another process may serve it already; give each process its own PrometheusEndpoint, or use OtlpEndpoint.",
                        e, errorId: "OpenTelemetryExporterFailed", target: endpoint.ToString());
                }
                finally
                {
                    probe.Stop();
                }
            }
        }

        private static void Configure(OtlpExporterOptions exporter, TelemetrySettings settings, string signal)
        {
            exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
            if (settings.OtlpGrpc)
            {
                // The exporter's netstandard2.0 build (the one this plugin ships) marks gRPC obsolete and refuses it
                // (NotSupportedException) unless given an HttpClient factory: HTTP/2 is then the runtime's, .NET 8 or
                // later under PowerShell 7. The factory is what the exporter's own default would build.
#pragma warning disable CS0618 // obsolete only without the factory given on the next line
                exporter.Protocol = OtlpExportProtocol.Grpc;
#pragma warning restore CS0618
                exporter.HttpClientFactory = () => new HttpClient { Timeout = TimeSpan.FromMilliseconds(exporter.TimeoutMilliseconds) };
            }

            exporter.Endpoint = settings.SignalEndpoint(signal);
            exporter.TimeoutMilliseconds = 10000;
            if (settings.OtlpHeaders != null)
            {
                exporter.Headers = settings.OtlpHeaders;
            }
        }

        /// <summary>One instance's hold on shared exporters.</summary>
        internal sealed class Lease : IDisposable
        {
            private TelemetryExporters? _exporters;

            public Lease(TelemetryExporters exporters) => _exporters = exporters;

            public TelemetryExporters Exporters => _exporters ?? throw new ObjectDisposedException(nameof(Lease));

            public void Dispose() => System.Threading.Interlocked.Exchange(ref _exporters, null)?.Release();
        }
    }
}
