using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.BuiltIn.EventLog;

namespace TransferTools.Engine.Tests.Monitoring
{
    public class EventLogMonitorTests
    {
        private static async Task<EventLogMonitorPlugin> NewLogAsync(string path, string? maxSizeMb = null, string? maxFiles = null)
        {
            var config = new Dictionary<string, string> { ["Path"] = path };
            if (maxSizeMb != null) config["MaxSizeMB"] = maxSizeMb;
            if (maxFiles != null) config["MaxFiles"] = maxFiles;
            var plugin = new EventLogMonitorPlugin();
            await plugin.InitAsync(OperationContext.None, config);
            return plugin;
        }

        private static IEnumerable<string> AllLines(string path) =>
            Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + "*")
                .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal))
                .SelectMany(File.ReadAllLines);

        [Fact]
        public async Task Writes_the_documented_schema_one_line_per_event_without_secrets()
        {
            using var home = new TestHome();
            var path = Path.Combine(home.Path, "logs", "events.jsonl");
            var log = await NewLogAsync(path);
            var stamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
            var context = new OperationContext().WithIdentity("alice", "tok-SECRET-123")
                .WithEventTimestamp(stamp).WithTransfer("t1");
            var transfer = MonitorHubTests.NewTransfer("t1", progress: 40, bytes: 400, total: 1000);
            transfer.Source = "https://acct.blob.core.windows.net/c/f.bin?sv=2024&sig=SAS-SECRET";
            transfer.BytesPerSecond = 2048;
            transfer.ResumedFrom = 100;

            log.TransferStarted(context, transfer);
            log.TransferProgress(context, transfer, 40);
            transfer.Status = TransferStatus.Completed;
            transfer.Progress = 100;
            transfer.BytesTransferred = 1000;
            transfer.Sha256 = new string('a', 64);
            transfer.CompletedAt = transfer.StartedAt.AddSeconds(2.5);
            log.TransferCompleted(context, transfer);
            transfer.Status = TransferStatus.Failed;
            log.TransferFailed(context, transfer, new PluginException(ErrorCode.Timeout, "no byte moved for 60 s"));
            log.RecordMetric(context, "backup.files", 42.5, new Dictionary<string, string> { ["job"] = "nightly", ["site"] = "Zürich" });

            var text = File.ReadAllText(path);
            Assert.DoesNotContain("tok-SECRET", text);
            Assert.DoesNotContain("hunter2", text);
            Assert.DoesNotContain("SAS-SECRET", text);
            var lines = File.ReadAllLines(path);
            Assert.Equal(5, lines.Length);
            var docs = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(new[] { "TransferStarted", "TransferProgress", "TransferCompleted", "TransferFailed", "Metric" },
                docs.Select(d => d.GetProperty("event").GetString()));
            foreach (var d in docs)
            {
                Assert.Equal(1, d.GetProperty("schemaVersion").GetInt32());
                Assert.Equal("2026-01-02T03:04:05.678Z", d.GetProperty("timestamp").GetString());
                Assert.Equal(context.RequestId, d.GetProperty("requestId").GetString());
                Assert.Equal("alice", d.GetProperty("userId").GetString());
                Assert.Equal("t1", d.GetProperty("transferId").GetString());
                Assert.Equal(Environment.MachineName, d.GetProperty("host").GetString());
                Assert.Equal(Environment.ProcessId, d.GetProperty("pid").GetInt32());
            }

            var progress = docs[1];
            Assert.Equal("active", progress.GetProperty("status").GetString());
            Assert.Equal(40, progress.GetProperty("progress").GetDouble());
            Assert.Equal(400, progress.GetProperty("bytes").GetInt64());
            Assert.Equal(1000, progress.GetProperty("totalBytes").GetInt64());
            Assert.Equal(2048, progress.GetProperty("bytesPerSecond").GetDouble());
            Assert.Equal(100, progress.GetProperty("resumedFrom").GetInt64());
            Assert.Equal("sftp://alice:***@127.0.0.1/in/", progress.GetProperty("destination").GetString());
            Assert.Equal("https://acct.blob.core.windows.net/c/f.bin?sv=***&sig=***", progress.GetProperty("source").GetString());

            var completed = docs[2];
            Assert.Equal("completed", completed.GetProperty("status").GetString());
            Assert.Equal(2.5, completed.GetProperty("durationSeconds").GetDouble());
            Assert.Equal(new string('a', 64), completed.GetProperty("sha256").GetString());

            var failed = docs[3];
            Assert.Equal("Timeout", failed.GetProperty("errorCode").GetString());
            Assert.Contains("no byte moved", failed.GetProperty("error").GetString());

            var metric = docs[4];
            Assert.Equal("backup.files", metric.GetProperty("name").GetString());
            Assert.Equal(42.5, metric.GetProperty("value").GetDouble());
            Assert.Equal("Zürich", metric.GetProperty("tags").GetProperty("site").GetString());
            Assert.Equal("t1", metric.GetProperty("transferId").GetString()); // the context names the transfer
        }

        [Fact]
        public async Task Rotates_by_size_keeping_max_files()
        {
            using var home = new TestHome();
            var path = Path.Combine(home.Path, "events.jsonl");
            var log = await NewLogAsync(path, maxSizeMb: "0.002", maxFiles: "2"); // ~2 KB
            for (var i = 0; i < 100; i++)
            {
                log.RecordMetric(OperationContext.None, "m", i, new Dictionary<string, string>());
            }

            Assert.True(File.Exists(path));
            Assert.True(File.Exists(path + ".1"));
            Assert.True(File.Exists(path + ".2"));
            Assert.False(File.Exists(path + ".3"));
            foreach (var file in new[] { path, path + ".1", path + ".2" })
            {
                Assert.InRange(new FileInfo(file).Length, 1, 2098);
                Assert.All(File.ReadAllLines(file), l => JsonDocument.Parse(l));
            }

            // The newest lines are in PATH, the values continue across the rotated files.
            var values = new[] { path + ".2", path + ".1", path }.SelectMany(File.ReadAllLines)
                .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("value").GetInt32()).ToList();
            Assert.Equal(99, values.Last());
            Assert.Equal(Enumerable.Range(values[0], values.Count), values);
        }

        [Fact]
        public async Task Concurrent_writers_on_one_file_lose_nothing_and_never_mix_lines()
        {
            using var home = new TestHome();
            var path = Path.Combine(home.Path, "shared.jsonl");
            // Two instances stand for two sessions (or processes): only the file lock orders them.
            var logs = new[] { await NewLogAsync(path, "0.05", "1000"), await NewLogAsync(path, "0.05", "1000") };
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
            {
                for (var i = 0; i < 300; i++)
                {
                    logs[w % 2].RecordMetric(OperationContext.None, "w" + w, i, new Dictionary<string, string> { ["pad"] = new string('x', 40) });
                }
            })).ToArray();
            await Task.WhenAll(writers);

            var lines = AllLines(path).ToList();
            Assert.Equal(1200, lines.Count);
            var seen = lines.Select(l => JsonDocument.Parse(l).RootElement)
                .Select(d => d.GetProperty("name").GetString() + ":" + d.GetProperty("value").GetInt32()).ToHashSet();
            Assert.Equal(1200, seen.Count);
            Assert.True(File.Exists(path + ".1"));
        }

        [Theory]
        [InlineData("MaxSizeMB", "big")]
        [InlineData("MaxSizeMB", "-1")]
        [InlineData("MaxFiles", "x")]
        [InlineData("IncludeProgress", "sometimes")]
        public async Task Rejects_bad_configuration_at_init(string key, string value)
        {
            using var home = new TestHome();
            var plugin = new EventLogMonitorPlugin();
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.InitAsync(OperationContext.None,
                new Dictionary<string, string> { ["Path"] = Path.Combine(home.Path, "e.jsonl"), [key] = value }));
            Assert.Equal(ErrorCode.InvalidConfiguration, e.Code);
        }

        [Fact]
        public async Task A_relative_path_lives_under_the_home_and_include_progress_false_skips_progress()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var plugin = new EventLogMonitorPlugin();
            await plugin.InitAsync(new OperationContext(host: session), new Dictionary<string, string> { ["Path"] = "logs/e.jsonl", ["IncludeProgress"] = "false" });
            Assert.Equal(Path.Combine(home.Path, "logs", "e.jsonl"), plugin.FilePath);
            plugin.TransferProgress(OperationContext.None, MonitorHubTests.NewTransfer(), 5);
            plugin.TransferStarted(OperationContext.None, MonitorHubTests.NewTransfer());
            Assert.Single(File.ReadAllLines(plugin.FilePath));
        }

        [Fact]
        public void Otlp_headers_are_stored_as_a_secret() =>
            Assert.True(TransferTools.Engine.Security.SecretConfiguration.IsSecret(null, "OtlpHeaders")); // they carry API keys

        [Theory]
        [InlineData("sftp://bob:p@ss@host/x", "sftp://bob:***@host/x")]
        [InlineData("https://h/p?token=abc&x=1#frag", "https://h/p?token=***&x=***#frag")]
        [InlineData("/local/file?.txt", "/local/file?.txt")]
        [InlineData("failed to reach http://u:pw@h:8080/a: refused", "failed to reach http://u:***@h:8080/a: refused")]
        [InlineData(null, null)]
        public void Redacts_passwords_and_query_values(string? input, string? expected) =>
            Assert.Equal(expected, Redaction.Redact(input));
    }
}
