using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.OpenTelemetry
{
    /// <summary>
    /// Publishes transfers as OpenTelemetry metrics and traces: a <see cref="System.Diagnostics.Metrics.Meter"/> and an
    /// <see cref="ActivitySource"/> named <c>TransferTools</c>, exported over OTLP (<c>OtlpEndpoint</c>) and a Prometheus
    /// scrape endpoint (<c>PrometheusEndpoint</c>). The instruments and span attributes are listed in <c>docs/events.md</c>.
    /// </summary>
    /// <remarks>
    /// Meters and activity sources are process-wide by nature; so are the exporters, which are shared by every session
    /// configured alike (<see cref="TelemetryExporters"/>). What is per instance (per session) is the state of that
    /// session's transfers: the open span and the bytes already counted.
    /// </remarks>
    [TransferPlugin("OpenTelemetry", PluginType.Monitor,
        Description = "System.Diagnostics metrics and traces named TransferTools, exported over OTLP and a Prometheus scrape endpoint.",
        SecretKeys = new[] { "OtlpHeaders" })]
    public sealed class OpenTelemetryMonitorPlugin : IMonitorPlugin, IDisposable
    {
        /// <summary>The name of the meter and of the activity source.</summary>
        public const string SourceName = TransferTelemetry.Name;

        private readonly ConcurrentDictionary<string, TransferState> _transfers = new ConcurrentDictionary<string, TransferState>(StringComparer.Ordinal);
        private TelemetryExporters.Lease? _exporters;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(OpenTelemetryMonitorPlugin), "TransferTools contributors", "MIT");

        /// <summary>The exporters this instance feeds (null before Init or with none configured).</summary>
        internal TelemetryExporters? Exporters => _exporters?.Exporters;

        /// <inheritdoc/>
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            var settings = TelemetrySettings.Parse(config);
            _exporters = TelemetryExporters.Acquire(settings);
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context)
        {
            // Spans of transfers still running end here, marked, so they are exported rather than lost.
            foreach (var pair in _transfers.ToArray())
            {
                if (_transfers.TryRemove(pair.Key, out var state))
                {
                    state.Activity?.SetTag("transfertools.interrupted", true);
                    state.Activity?.Stop();
                    if (state.Active)
                    {
                        TransferTelemetry.Active.Add(-1, state.Tags);
                    }
                }
            }

            Interlocked.Exchange(ref _exporters, null)?.Dispose();
            return Task.CompletedTask;
        }

        /// <summary>Releases the exporters (as <see cref="ShutdownAsync"/>).</summary>
        public void Dispose() => ShutdownAsync(OperationContext.None).GetAwaiter().GetResult();

        /// <summary>Pushes what is buffered to the exporters now (the OTLP exporters; Prometheus is pulled).</summary>
        public bool ForceFlush(int timeoutMilliseconds = 5000) => _exporters?.Exporters.ForceFlush(timeoutMilliseconds) ?? true;

        /// <inheritdoc/>
        public void TransferStarted(OperationContext context, Transfer transfer)
        {
            var state = _transfers.GetOrAdd(transfer.Id, _ => new TransferState(transfer));
            lock (state)
            {
                // A resume of a transfer this session saw before starts a new span; bytes kept are not counted again.
                EndSpan(state, transfer, ActivityStatusCode.Unset, "superseded by a resume", Timestamp(context));
                state.CountedBytes = transfer.BytesTransferred;
                state.CountedRetries = transfer.Retries;
                if (!state.Active)
                {
                    state.Active = true;
                    TransferTelemetry.Active.Add(1, state.Tags);
                }

                state.Activity = StartSpan(context, transfer);
            }
        }

        /// <inheritdoc/>
        public void TransferProgress(OperationContext context, Transfer transfer, double progress)
        {
            var state = _transfers.GetOrAdd(transfer.Id, _ => new TransferState(transfer));
            lock (state)
            {
                CountDeltas(state, transfer);
            }
        }

        /// <inheritdoc/>
        public void TransferCompleted(OperationContext context, Transfer transfer) => Finish(context, transfer, null);

        /// <inheritdoc/>
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => Finish(context, transfer, error);

        /// <inheritdoc/>
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags)
        {
            if (double.IsNaN(value) || double.IsInfinity(value))
            {
                return;
            }

            TransferTelemetry.RecordCustom(name, value, tags);
        }

        private void Finish(OperationContext context, Transfer transfer, Exception? error)
        {
            var state = _transfers.TryRemove(transfer.Id, out var known) ? known : new TransferState(transfer);
            lock (state)
            {
                CountDeltas(state, transfer);
                var status = error is null ? TransferStatuses.Completed : transfer.Status.IsFinal() && transfer.Status != TransferStatus.Completed
                    ? transfer.Status.ToSeedValue() : TransferStatuses.Failed;
                var tags = state.WithStatus(status);
                TransferTelemetry.Transfers.Add(1, tags);
                var end = transfer.CompletedAt ?? Timestamp(context);
                if (transfer.StartedAt != default && end >= transfer.StartedAt)
                {
                    TransferTelemetry.Duration.Record((end - transfer.StartedAt).TotalSeconds, tags);
                }

                if (state.Active)
                {
                    state.Active = false;
                    TransferTelemetry.Active.Add(-1, state.Tags);
                }

                if (state.Activity is null && transfer.StartedAt != default)
                {
                    // Registered mid-transfer: still one span per transfer, from its start.
                    state.Activity = StartSpan(context.WithEventTimestamp(transfer.StartedAt), transfer);
                }

                if (error is null)
                {
                    EndSpan(state, transfer, ActivityStatusCode.Ok, null, end);
                }
                else
                {
                    var code = (error as PluginException)?.Code.ToString() ?? transfer.ErrorCode?.ToString() ?? error.GetType().Name;
                    state.Activity?.SetTag("error.type", code);
                    EndSpan(state, transfer, ActivityStatusCode.Error, error.Message, end);
                }
            }
        }

        private static void CountDeltas(TransferState state, Transfer transfer)
        {
            var bytes = transfer.BytesTransferred - state.CountedBytes;
            if (bytes > 0)
            {
                TransferTelemetry.Bytes.Add(bytes, state.Tags);
                state.CountedBytes = transfer.BytesTransferred;
            }

            var retries = transfer.Retries - state.CountedRetries;
            if (retries > 0)
            {
                TransferTelemetry.Retries.Add(retries, state.Tags);
                state.CountedRetries = transfer.Retries;
            }
        }

        private static Activity? StartSpan(OperationContext context, Transfer transfer)
        {
            var previous = Activity.Current;
            try
            {
                var direction = DirectionOf(transfer);
                var activity = TransferTelemetry.Source.StartActivity("transfer " + direction, ActivityKind.Internal, default(ActivityContext),
                    startTime: Timestamp(context));
                if (activity is null)
                {
                    return null; // Nobody listens: no span is made.
                }

                activity.SetTag("transfertools.transfer.id", transfer.Id);
                activity.SetTag("transfertools.request.id", context.RequestId);
                activity.SetTag("transfertools.direction", direction);
                activity.SetTag("transfertools.protocol", ProtocolOf(transfer));
                if (!string.IsNullOrEmpty(transfer.Name))
                {
                    activity.SetTag("transfertools.file.name", transfer.Name);
                }

                if (transfer.TotalBytes >= 0)
                {
                    activity.SetTag("transfertools.total_bytes", transfer.TotalBytes);
                }

                if (transfer.ResumedFrom > 0)
                {
                    activity.SetTag("transfertools.resumed_from", transfer.ResumedFrom);
                }

                var user = context.UserId ?? transfer.UserId;
                if (!string.IsNullOrEmpty(user))
                {
                    activity.SetTag("enduser.id", user);
                }

                return activity;
            }
            finally
            {
                // The span lives across events on other threads; it must not become this thread's ambient parent.
                Activity.Current = previous;
            }
        }

        private static void EndSpan(TransferState state, Transfer transfer, ActivityStatusCode status, string? description, DateTimeOffset end)
        {
            var activity = state.Activity;
            if (activity is null)
            {
                return;
            }

            state.Activity = null;
            var previous = Activity.Current;
            activity.SetTag("transfertools.status", transfer.Status.ToSeedValue());
            activity.SetTag("transfertools.bytes", transfer.BytesTransferred);
            activity.SetTag("transfertools.retries", transfer.Retries);
            if (transfer.Sha256 != null && status == ActivityStatusCode.Ok)
            {
                activity.SetTag("transfertools.sha256", transfer.Sha256);
            }

            activity.SetStatus(status, description);
            var endUtc = end.UtcDateTime;
            activity.SetEndTime(endUtc < activity.StartTimeUtc ? activity.StartTimeUtc : endUtc);
            activity.Stop();
            Activity.Current = previous;
        }

        private static DateTimeOffset Timestamp(OperationContext context) =>
            context.EventTimestamp ?? DateTimeOffset.UtcNow;

        internal static string DirectionOf(Transfer transfer) => transfer.Direction == TransferDirection.Send ? "send" : "receive";

        internal static string ProtocolOf(Transfer transfer) => string.IsNullOrEmpty(transfer.Protocol) ? "unknown" : transfer.Protocol;

        private sealed class TransferState
        {
            public TransferState(Transfer transfer)
            {
                Tags = new[]
                {
                    new KeyValuePair<string, object?>("direction", DirectionOf(transfer)),
                    new KeyValuePair<string, object?>("protocol", ProtocolOf(transfer)),
                };
                CountedBytes = transfer.ResumedFrom;
                CountedRetries = 0;
            }

            public KeyValuePair<string, object?>[] Tags { get; }
            public long CountedBytes { get; set; }
            public int CountedRetries { get; set; }
            public bool Active { get; set; }
            public Activity? Activity { get; set; }

            public KeyValuePair<string, object?>[] WithStatus(string status) =>
                Tags.Concat(new[] { new KeyValuePair<string, object?>("status", status) }).ToArray();
        }
    }
}
