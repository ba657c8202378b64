namespace TransferTools.Abstractions
{
    /// <summary>One progress bar update, independent of PowerShell (the cmdlets turn it into a <c>ProgressRecord</c>).</summary>
    public sealed class ProgressUpdate
    {
        /// <summary>The bar's id (stable per transfer).</summary>
        public int ActivityId { get; set; }
        /// <summary>The parent bar's id, or -1.</summary>
        public int ParentActivityId { get; set; } = -1;
        /// <summary>The bar's title.</summary>
        public string Activity { get; set; } = "";
        /// <summary>The line under the title.</summary>
        public string StatusDescription { get; set; } = "";
        /// <summary>What is happening now, or null.</summary>
        public string? CurrentOperation { get; set; }
        /// <summary>0 to 100, or -1 when unknown.</summary>
        public int PercentComplete { get; set; } = -1;
        /// <summary>Seconds left, or -1 when unknown.</summary>
        public int SecondsRemaining { get; set; } = -1;
        /// <summary>True to remove the bar.</summary>
        public bool Completed { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"[{ActivityId}<{ParentActivityId}] {Activity}: {StatusDescription} {PercentComplete}%{(Completed ? " (done)" : "")}";
    }

    /// <summary>
    /// Where progress for one cmdlet call goes (<see cref="OperationContext.Progress"/>); the cmdlet writes it from the
    /// pipeline thread. A monitor plugin that draws progress reports to it.
    /// </summary>
    public interface IProgressSink
    {
        /// <summary>Queues one update. Must return at once.</summary>
        void Report(ProgressUpdate update);
    }
}
