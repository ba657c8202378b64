using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace Samples.CsvMonitor
{
    /// <summary>
    /// A monitor that appends one CSV row per transfer event and metric to a file.
    /// Configuration: Path (required) - the CSV file; a header row is written when the file is new.
    /// </summary>
    [TransferPlugin("CsvMonitor", PluginType.Monitor,
        Description = "Writes every transfer event and metric as one row of a CSV file.")]
    public sealed class CsvMonitorPlugin : IMonitorPlugin
    {
        private const string Header = "timestamp,event,transfer_id,user_id,request_id,name,value,status,bytes,total_bytes,detail";
        private readonly object _gate = new object();
        private StreamWriter? _writer;

        // Name, kind and description come from the declaration above: said once.
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(CsvMonitorPlugin), "TransferTools samples", "MIT");

        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            if (!config.TryGetValue("Path", out var path) || string.IsNullOrWhiteSpace(path))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "The CsvMonitor needs the configuration key 'Path' (the CSV file to write).",
                    errorId: "CsvMonitorPathMissing");
            }

            var full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var isNew = !File.Exists(full) || new FileInfo(full).Length == 0;
            var stream = new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
            if (isNew)
            {
                _writer.WriteLine(Header);
            }

            return Task.CompletedTask;
        }

        public Task ShutdownAsync(OperationContext context)
        {
            lock (_gate)
            {
                _writer?.Dispose();
                _writer = null;
            }

            return Task.CompletedTask;
        }

        public void TransferStarted(OperationContext context, Transfer transfer) => Write(context, "started", transfer, null, null);
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) => Write(context, "progress", transfer, progress, null);
        public void TransferCompleted(OperationContext context, Transfer transfer) => Write(context, "completed", transfer, 100, transfer.Sha256);
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => Write(context, "failed", transfer, null, error.Message);

        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) =>
            Row(context, "metric", null, name, value, null, null, null, string.Join(";", tags.Select(t => t.Key + "=" + t.Value)));

        private void Write(OperationContext context, string kind, Transfer t, double? value, string? detail) =>
            Row(context, kind, t.Id, t.Name, value, t.Status.ToSeedValue(), t.BytesTransferred, t.TotalBytes, detail);

        private void Row(OperationContext context, string kind, string? transferId, string? name, double? value, string? status, long? bytes, long? total, string? detail)
        {
            var fields = new[]
            {
                DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture), kind, transferId ?? context.TransferId, context.UserId, context.RequestId, name,
                value?.ToString("R", CultureInfo.InvariantCulture), status, bytes?.ToString(CultureInfo.InvariantCulture), total?.ToString(CultureInfo.InvariantCulture), detail,
            };
            var line = string.Join(",", fields.Select(Escape));
            lock (_gate)
            {
                // After Shutdown the writer is gone: late events are dropped, never thrown at the engine.
                _writer?.WriteLine(line);
            }
        }

        private static string Escape(string? field)
        {
            if (string.IsNullOrEmpty(field))
            {
                return "";
            }

            return field!.IndexOfAny(new[] { ',', '"', '\n', '\r' }) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
        }
    }
}
