using System;
using System.Collections.Generic;

namespace TransferTools.Abstractions
{
    /// <summary>Who watches transfers.</summary>
    /// <remarks>The engine calls monitors from a background queue, never on the data path; a monitor that throws or
    /// is slow loses its own events (counted as dropped) and never fails a transfer. Each call's
    /// <see cref="OperationContext"/> carries TransferId, UserId and RequestId.</remarks>
    public interface IMonitorPlugin : IPlugin
    {
        /// <summary>A transfer started.</summary>
        void TransferStarted(OperationContext context, Transfer transfer);
        /// <summary>A transfer moved forward; <paramref name="progress"/> is 0 to 100.</summary>
        void TransferProgress(OperationContext context, Transfer transfer, double progress);
        /// <summary>A transfer completed and was verified.</summary>
        void TransferCompleted(OperationContext context, Transfer transfer);
        /// <summary>A transfer failed (or was cancelled) with <paramref name="error"/>.</summary>
        void TransferFailed(OperationContext context, Transfer transfer, Exception error);
        /// <summary>A custom metric (<c>Write-TransferMetric</c>) or an engine metric.</summary>
        void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags);
    }
}
