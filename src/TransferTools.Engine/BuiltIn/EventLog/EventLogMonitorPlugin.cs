using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;

namespace TransferTools.Engine.BuiltIn.EventLog
{
    /// <summary>
    /// Writes every event as one JSON line (schema in <c>docs/events.md</c>) to the file at configuration key <c>Path</c>,
    /// rotating it by size. Several sessions and processes may share one file.
    /// </summary>
    /// <remarks>
    /// Configuration: <c>Path</c> (required; relative paths are under the TransferTools home), <c>MaxSizeMB</c>
    /// (rotate when the next line would pass it; default 100, 0 never rotates), <c>MaxFiles</c> (rotated files kept:
    /// <c>PATH.1</c> newest to <c>PATH.N</c>; default 5), <c>IncludeProgress</c> (default true).
    /// Each line is written under a cross-process lock (<c>PATH.lock</c>) that also covers the size check and the
    /// renames of a rotation, through a handle opened for that write: appends from several processes never overlap,
    /// and a rotation made by one process is seen by the next write of every other.
    /// </remarks>
    [TransferPlugin("EventLog", PluginType.Monitor, PathKeys = new[] { "Path" },
        Description = "JSON-lines event file, one event per line, rotated by size (configuration key Path).")]
    public sealed class EventLogMonitorPlugin : IMonitorPlugin
    {
        /// <summary>The schema version written in every line (<c>schemaVersion</c>).</summary>
        public const int SchemaVersion = 1;

        private static readonly JsonWriterOptions WriterOptions = new JsonWriterOptions
        {
            // Readable non-ASCII paths; control characters and quotes are still escaped, so a line stays one line.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        private readonly object _gate = new object();
        private readonly string _host = Environment.MachineName;
        private readonly int _pid = Process.GetCurrentProcess().Id;
        private string _path = "";
        private string _lockPath = "";
        private long _maxBytes = 100L * 1024 * 1024;
        private int _maxFiles = 5;
        private bool _includeProgress = true;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(EventLogMonitorPlugin), "TransferTools contributors", "MIT");

        /// <summary>The full path of the event file.</summary>
        public string FilePath => _path;

        /// <inheritdoc/>
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            if (!config.TryGetValue("Path", out var path) || string.IsNullOrWhiteSpace(path))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "The EventLog monitor needs the configuration key 'Path' (the JSON-lines file to write).",
                    errorId: "EventLogPathMissing");
            }

            if (!System.IO.Path.IsPathRooted(path) && context.Host != null)
            {
                // A registration outlives the folder it was made in: a relative path means the same file in every session.
                path = System.IO.Path.Combine(context.Host.HomeDirectory, path);
            }

            _path = System.IO.Path.GetFullPath(path);
            _lockPath = _path + ".lock";
            if (config.TryGetValue("MaxSizeMB", out var size))
            {
                if (!double.TryParse(size, NumberStyles.Float, CultureInfo.InvariantCulture, out var mb) || mb < 0 || double.IsInfinity(mb))
                {
                    throw new PluginException(ErrorCode.InvalidConfiguration, $"MaxSizeMB must be a number of megabytes (0 for no rotation), not '{size}'.",
                        errorId: "EventLogMaxSizeInvalid", target: size);
                }

                _maxBytes = (long)(mb * 1024 * 1024);
            }

            if (config.TryGetValue("MaxFiles", out var files))
            {
                if (!int.TryParse(files, NumberStyles.Integer, CultureInfo.InvariantCulture, out _maxFiles) || _maxFiles < 0 || _maxFiles > 1000)
                {
                    throw new PluginException(ErrorCode.InvalidConfiguration, $"MaxFiles must be a whole number from 0 to 1000, not '{files}'.",
                        errorId: "EventLogMaxFilesInvalid", target: files);
                }
            }

            if (config.TryGetValue("IncludeProgress", out var progress) && !bool.TryParse(progress, out _includeProgress))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"IncludeProgress must be true or false, not '{progress}'.",
                    errorId: "EventLogIncludeProgressInvalid", target: progress);
            }

            try
            {
                var directory = System.IO.Path.GetDirectoryName(_path);
                if (!string.IsNullOrEmpty(directory))
                {
                    Directory.CreateDirectory(directory);
                }

                // Fail at registration, not at the first event, when the file cannot be written.
                using (AcquireLock())
                using (new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"The event log '{_path}' cannot be written: {e.Message}", e,
                    errorId: "EventLogNotWritable", target: _path);
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

        /// <inheritdoc/>
        public void TransferStarted(OperationContext context, Transfer transfer) => Write(context, "TransferStarted", transfer, null, null);

        /// <inheritdoc/>
        public void TransferProgress(OperationContext context, Transfer transfer, double progress)
        {
            if (_includeProgress)
            {
                Write(context, "TransferProgress", transfer, null, null);
            }
        }

        /// <inheritdoc/>
        public void TransferCompleted(OperationContext context, Transfer transfer) => Write(context, "TransferCompleted", transfer, null, null);

        /// <inheritdoc/>
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => Write(context, "TransferFailed", transfer, error, null);

        /// <inheritdoc/>
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) =>
            Write(context, "Metric", null, null, w =>
            {
                w.WriteString("name", name);
                WriteNumber(w, "value", value);
                w.WriteStartObject("tags");
                foreach (var pair in tags)
                {
                    w.WriteString(pair.Key, pair.Value);
                }

                w.WriteEndObject();
            });

        /// <summary>Serializes one event as a single UTF-8 line (ending in <c>\n</c>).</summary>
        internal byte[] Serialize(OperationContext context, string type, Transfer? transfer, Exception? error, Action<Utf8JsonWriter>? extra)
        {
            using var buffer = new MemoryStream(512);
            using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            {
                var timestamp = context.EventTimestamp ?? DateTimeOffset.UtcNow;
                w.WriteStartObject();
                w.WriteNumber("schemaVersion", SchemaVersion);
                w.WriteString("timestamp", timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                w.WriteString("event", type);
                w.WriteString("host", _host);
                w.WriteNumber("pid", _pid);
                w.WriteString("requestId", context.RequestId);
                WriteStringOrNull(w, "userId", context.UserId ?? transfer?.UserId);
                WriteStringOrNull(w, "transferId", transfer?.Id ?? context.TransferId);
                if (transfer != null)
                {
                    w.WriteString("status", transfer.Status.ToSeedValue());
                    w.WriteString("direction", transfer.Direction == TransferDirection.Send ? "send" : "receive");
                    WriteStringOrNull(w, "protocol", NullIfEmpty(transfer.Protocol));
                    WriteStringOrNull(w, "name", NullIfEmpty(transfer.Name));
                    WriteStringOrNull(w, "source", Redaction.Redact(NullIfEmpty(transfer.Source)));
                    WriteStringOrNull(w, "destination", Redaction.Redact(NullIfEmpty(transfer.Destination)));
                    WriteNumber(w, "progress", Math.Round(MonitorHub.ClampPercent(transfer.Progress), 2));
                    w.WriteNumber("bytes", transfer.BytesTransferred);
                    if (transfer.TotalBytes >= 0)
                    {
                        w.WriteNumber("totalBytes", transfer.TotalBytes);
                    }
                    else
                    {
                        w.WriteNull("totalBytes");
                    }

                    WriteNumber(w, "bytesPerSecond", Math.Round(transfer.BytesPerSecond, 1));
                    w.WriteNumber("resumedFrom", transfer.ResumedFrom);
                    w.WriteNumber("retries", transfer.Retries);
                    if (transfer.StartedAt != default)
                    {
                        w.WriteString("startedAt", transfer.StartedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                    }

                    if (type == "TransferCompleted" || type == "TransferFailed")
                    {
                        var end = transfer.CompletedAt ?? timestamp;
                        if (transfer.CompletedAt.HasValue)
                        {
                            w.WriteString("completedAt", end.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                        }

                        if (transfer.StartedAt != default)
                        {
                            WriteNumber(w, "durationSeconds", Math.Round(Math.Max(0, (end - transfer.StartedAt).TotalSeconds), 3));
                        }
                    }

                    if (type == "TransferCompleted" && transfer.Sha256 != null)
                    {
                        w.WriteString("sha256", transfer.Sha256);
                    }
                }

                if (error != null || transfer?.Error != null)
                {
                    w.WriteString("error", Redaction.Redact(error?.Message ?? transfer?.Error));
                    w.WriteString("errorCode", (error as PluginException)?.Code.ToString() ?? transfer?.ErrorCode?.ToString() ?? error?.GetType().Name);
                }

                extra?.Invoke(w);
                w.WriteEndObject();
            }

            buffer.WriteByte((byte)'\n');
            return buffer.ToArray();
        }

        private void Write(OperationContext context, string type, Transfer? transfer, Exception? error, Action<Utf8JsonWriter>? extra)
        {
            var line = Serialize(context, type, transfer, error, extra);
            lock (_gate)
            {
                using (AcquireLock())
                {
                    var file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
                    try
                    {
                        if (_maxBytes > 0 && file.Length > 0 && file.Length + line.Length > _maxBytes && TryRotate(file))
                        {
                            file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
                        }

                        // FileMode.Append is no O_APPEND in .NET (it tracks its own offset): the end is found under the lock.
                        file.Seek(0, SeekOrigin.End);
                        file.Write(line, 0, line.Length);
                    }
                    finally
                    {
                        file.Dispose();
                    }
                }
            }
        }

        /// <summary>Closes <paramref name="current"/> and renames PATH to PATH.1 (PATH.1 to PATH.2, ...), dropping the oldest; the caller reopens PATH.</summary>
        private bool TryRotate(FileStream current)
        {
            current.Dispose();
            try
            {
                if (_maxFiles == 0)
                {
                    File.Delete(_path);
                    return true;
                }

                var oldest = _path + "." + _maxFiles.ToString(CultureInfo.InvariantCulture);
                if (File.Exists(oldest))
                {
                    File.Delete(oldest);
                }

                for (var i = _maxFiles - 1; i >= 1; i--)
                {
                    var from = _path + "." + i.ToString(CultureInfo.InvariantCulture);
                    if (File.Exists(from))
                    {
                        File.Move(from, _path + "." + (i + 1).ToString(CultureInfo.InvariantCulture));
                    }
                }

                File.Move(_path, _path + ".1");
                return true;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // A reader holding the file without delete sharing (Windows) blocks the rename: keep appending, retry next line.
                return true;
            }
        }

        private IDisposable AcquireLock()
        {
            var deadline = Stopwatch.StartNew();
            var delay = 1;
            while (true)
            {
                try
                {
                    // FileShare.None is an exclusive lock other processes see (flock on Unix, sharing mode on Windows).
                    return new FileStream(_lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                }
                catch (IOException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
                {
                    Thread.Sleep(delay);
                    delay = Math.Min(delay * 2, 16);
                }
            }
        }

        private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

        private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
        {
            if (value is null)
            {
                w.WriteNull(name);
            }
            else
            {
                w.WriteString(name, value);
            }
        }

        private static void WriteNumber(Utf8JsonWriter w, string name, double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value))
            {
                w.WriteNull(name);
            }
            else
            {
                w.WriteNumber(name, value);
            }
        }
    }
}
