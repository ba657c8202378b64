using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace DepPluginA
{
    public sealed class DepMonitorA : IMonitorPlugin
    {
        private string _description = "";

        public PluginMetadata Metadata => new PluginMetadata
        {
            Name = "DepMonitorA", Version = "1.0.0", Type = PluginType.Monitor, Author = "tests", License = "MIT",
            Description = _description,
        };

        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            // Calls into its private dependency: the wrong version throws MissingMethodException here.
            _description = "DepPluginA uses " + SampleDep.Greeter.Describe();
            return Task.CompletedTask;
        }

        public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;
        public void TransferStarted(OperationContext context, Transfer transfer) { }
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) { }
        public void TransferCompleted(OperationContext context, Transfer transfer) { }
        public void TransferFailed(OperationContext context, Transfer transfer, Exception error) { }
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) { }
    }
}
