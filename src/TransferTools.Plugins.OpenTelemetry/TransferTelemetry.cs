using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Text;

namespace TransferTools.Plugins.OpenTelemetry
{
    /// <summary>
    /// The process-wide meter, activity source and instruments named <c>TransferTools</c> (System.Diagnostics keeps
    /// these per process; any listener — the OpenTelemetry SDK, dotnet-counters, an APM agent — sees them by name).
    /// </summary>
    public static class TransferTelemetry
    {
        /// <summary>The meter and activity source name.</summary>
        public const string Name = "TransferTools";

        private const string CustomPrefix = "transfertools.metric.";
        private static readonly string Version = typeof(TransferTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        private static readonly ConcurrentDictionary<string, CustomMetric> Custom = new ConcurrentDictionary<string, CustomMetric>(StringComparer.Ordinal);

        /// <summary>The meter.</summary>
        public static Meter Meter { get; } = new Meter(Name, Version);

        /// <summary>The activity source: one span per transfer.</summary>
        public static ActivitySource Source { get; } = new ActivitySource(Name, Version);

        /// <summary>Bytes moved (a resume does not count the bytes it kept).</summary>
        public static Counter<long> Bytes { get; } = Meter.CreateCounter<long>("transfertools.transferred", "By", "Bytes moved by transfers.");

        /// <summary>Transfers that finished, by status.</summary>
        public static Counter<long> Transfers { get; } = Meter.CreateCounter<long>("transfertools.transfers", "{transfer}", "Transfers finished, by status.");

        /// <summary>How long finished transfers took.</summary>
        public static Histogram<double> Duration { get; } = Meter.CreateHistogram<double>("transfertools.transfer.duration", "s", "Duration of finished transfers, from start to completion or failure.");

        /// <summary>Transfers running now.</summary>
        public static UpDownCounter<long> Active { get; } = Meter.CreateUpDownCounter<long>("transfertools.transfers.active", "{transfer}", "Transfers running now.");

        /// <summary>Transient failures retried.</summary>
        public static Counter<long> Retries { get; } = Meter.CreateCounter<long>("transfertools.retries", "{retry}", "Transient failures retried.");

        /// <summary>The instrument name used for custom metric <paramref name="name"/> (without the <c>.last</c> gauge suffix).</summary>
        public static string CustomInstrumentName(string name)
        {
            var builder = new StringBuilder(CustomPrefix.Length + name.Length);
            builder.Append(CustomPrefix);
            foreach (var c in name)
            {
                builder.Append((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ? char.ToLowerInvariant(c) : '_');
            }

            // OpenTelemetry instrument names are at most 255 characters, and the gauge adds ".last".
            return builder.Length > 250 ? builder.ToString(0, 250) : builder.ToString();
        }

        /// <summary>Records one custom metric value: into its histogram, and as the last value of its tag set.</summary>
        public static void RecordCustom(string name, double value, IReadOnlyDictionary<string, string> tags)
        {
            var metric = Custom.GetOrAdd(CustomInstrumentName(name), instrument => new CustomMetric(instrument));
            var pairs = tags.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new KeyValuePair<string, object?>(p.Key, p.Value)).ToArray();
            metric.Histogram.Record(value, pairs);
            metric.Last[string.Join("\u0001", pairs.Select(p => p.Key + "\u0002" + p.Value))] = new Measurement<double>(value, pairs);
        }

        private sealed class CustomMetric
        {
            public CustomMetric(string instrument)
            {
                Histogram = Meter.CreateHistogram<double>(instrument, null, "Values written with Write-TransferMetric.");
                Meter.CreateObservableGauge(instrument + ".last", () => Last.Values.ToArray(), null, "The last value written with Write-TransferMetric, per tag set.");
            }

            public Histogram<double> Histogram { get; }

            public ConcurrentDictionary<string, Measurement<double>> Last { get; } = new ConcurrentDictionary<string, Measurement<double>>(StringComparer.Ordinal);
        }
    }
}
