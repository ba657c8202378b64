using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Monitoring
{
    /// <summary>Writes every event as one JSON line to the file at configuration key <c>Path</c>.</summary>
    public sealed class EventLogMonitorPlugin : IMonitorPlugin
    {
        private readonly object _gate = new object();
        private string _path = "";

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = new PluginMetadata
        {
            Name = "EventLog",
            Version = typeof(EventLogMonitorPlugin).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
            Description = "JSON-lines event file, one event per line.",
            Type = PluginType.Monitor,
            Author = "TransferTools contributors",
            License = "MIT",
        };

        /// <inheritdoc/>
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            if (!config.TryGetValue("Path", out var path) || string.IsNullOrWhiteSpace(path))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "The EventLog monitor needs the configuration key 'Path' (the JSON-lines file to write).",
                    errorId: "EventLogPathMissing");
            }

            _path = System.IO.Path.GetFullPath(path);
            var directory = System.IO.Path.GetDirectoryName(_path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

        /// <inheritdoc/>
        public void TransferStarted(OperationContext context, Transfer transfer) => Write(context, "TransferStarted", transfer, null, null);

        /// <inheritdoc/>
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) => Write(context, "TransferProgress", transfer, null, null);

        /// <inheritdoc/>
        public void TransferCompleted(OperationContext context, Transfer transfer) => Write(context, "TransferCompleted", transfer, null, null);

        /// <inheritdoc/>
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => Write(context, "TransferFailed", transfer, error, null);

        /// <inheritdoc/>
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) =>
            Write(context, "Metric", null, null, w =>
            {
                w.WriteString("name", name);
                w.WriteNumber("value", value);
                w.WriteStartObject("tags");
                foreach (var pair in tags)
                {
                    w.WriteString(pair.Key, pair.Value);
                }

                w.WriteEndObject();
            });

        private void Write(OperationContext context, string type, Transfer? transfer, Exception? error, Action<Utf8JsonWriter>? extra)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("timestamp", DateTimeOffset.UtcNow);
                w.WriteString("event", type);
                w.WriteString("requestId", context.RequestId);
                w.WriteString("userId", context.UserId);
                w.WriteString("transferId", transfer?.Id ?? context.TransferId);
                if (transfer != null)
                {
                    w.WriteString("status", transfer.Status.ToSeedValue());
                    w.WriteNumber("progress", Math.Round(transfer.Progress, 2));
                    w.WriteNumber("bytesTransferred", transfer.BytesTransferred);
                    w.WriteNumber("totalBytes", transfer.TotalBytes);
                    w.WriteString("source", transfer.Source);
                    w.WriteString("destination", transfer.Destination);
                }

                if (error != null)
                {
                    w.WriteString("error", error.Message);
                    w.WriteString("errorCode", (error as PluginException)?.Code.ToString() ?? error.GetType().Name);
                }

                extra?.Invoke(w);
                w.WriteEndObject();
            }

            buffer.WriteByte((byte)'\n');
            lock (_gate)
            {
                // Append mode: one write per line, so lines from several processes never interleave mid-line.
                using var file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
                file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            }
        }
    }
}
