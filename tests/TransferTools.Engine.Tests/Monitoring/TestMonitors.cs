using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;

namespace TransferTools.Engine.Tests.Monitoring
{
    /// <summary>One call a monitor received.</summary>
    public sealed record Received(string Event, string? TransferId, string RequestId, string? UserId, string? AccessToken,
        DateTimeOffset? Timestamp, double Progress, string? Metric, double Value, IReadOnlyDictionary<string, string>? Tags, int ThreadId);

    /// <summary>Records every call; instances are created by the host, so tests reach them through PluginHost.GetAsync.</summary>
    public class RecordingMonitor : IMonitorPlugin
    {
        private readonly List<Received> _calls = new List<Received>();

        public PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Recording", Version = "1.0", Type = PluginType.Monitor };

        public IReadOnlyList<Received> Calls
        {
            get
            {
                lock (_calls) return _calls.ToList();
            }
        }

        public bool ShutDown { get; private set; }

        public virtual Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) => Task.CompletedTask;

        public Task ShutdownAsync(OperationContext context)
        {
            ShutDown = true;
            return Task.CompletedTask;
        }

        public void TransferStarted(OperationContext context, Transfer transfer) => Add(context, "TransferStarted", transfer.Progress);
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) => Add(context, "TransferProgress", progress);
        public void TransferCompleted(OperationContext context, Transfer transfer) => Add(context, "TransferCompleted", transfer.Progress);
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) => Add(context, "TransferFailed", transfer.Progress);
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) =>
            Add(context, "Metric", 0, name, value, tags);

        protected virtual void OnCall(string name)
        {
        }

        private void Add(OperationContext context, string name, double progress, string? metric = null, double value = 0, IReadOnlyDictionary<string, string>? tags = null)
        {
            OnCall(name);
            lock (_calls)
            {
                _calls.Add(new Received(name, context.TransferId, context.RequestId, context.UserId, context.AccessToken,
                    context.EventTimestamp, progress, metric, value, tags, Environment.CurrentManagedThreadId));
            }
        }
    }

    /// <summary>A second, independent recording monitor type.</summary>
    public sealed class OtherRecordingMonitor : RecordingMonitor
    {
    }

    /// <summary>Throws on every event.</summary>
    public sealed class ThrowingMonitor : RecordingMonitor
    {
        protected override void OnCall(string name) => throw new InvalidOperationException("monitor exploded on " + name);
    }

    /// <summary>Blocks on every event until <see cref="Gate"/> is set.</summary>
    public sealed class BlockingMonitor : RecordingMonitor
    {
        public static readonly ManualResetEventSlim Gate = new ManualResetEventSlim(false);

        protected override void OnCall(string name) => Gate.Wait(TimeSpan.FromSeconds(60));
    }

    /// <summary>Blocks in Init until <see cref="Gate"/> is set (a monitor slow to start).</summary>
    public sealed class SlowStartMonitor : RecordingMonitor
    {
        public static readonly ManualResetEventSlim Gate = new ManualResetEventSlim(false);

        public override Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            Gate.Wait(TimeSpan.FromSeconds(60));
            return Task.CompletedTask;
        }
    }

    /// <summary>Fails Init while <see cref="FailInit"/> is set.</summary>
    public sealed class FlakyStartMonitor : RecordingMonitor
    {
        public static volatile bool FailInit;

        public override Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) =>
            FailInit ? throw new System.IO.IOException("collector not reachable yet") : Task.CompletedTask;
    }

    /// <summary>Collects log lines.</summary>
    public sealed class ListLogger : IPluginLogger
    {
        public List<string> Lines { get; } = new List<string>();

        public void Log(LogLevel level, string message)
        {
            lock (Lines) Lines.Add(level + ": " + message);
        }
    }

    /// <summary>Collects progress updates.</summary>
    public sealed class ListSink : IProgressSink
    {
        public List<ProgressUpdate> Updates { get; } = new List<ProgressUpdate>();

        public void Report(ProgressUpdate update)
        {
            lock (Updates) Updates.Add(update);
        }
    }
}
