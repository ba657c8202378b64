namespace TransferTools.Engine.Monitoring
{
    /// <summary>One progress bar update, independent of PowerShell (cmdlets turn it into a <c>ProgressRecord</c>).</summary>
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

    /// <summary>Where progress for one cmdlet call goes; the cmdlet writes it from the pipeline thread.</summary>
    public interface IProgressSink
    {
        /// <summary>Queues one update. Must return at once.</summary>
        void Report(ProgressUpdate update);
    }

    /// <summary>Names of engine values carried in an <see cref="Abstractions.OperationContext"/>.</summary>
    public static class EngineContextKeys
    {
        /// <summary>The <see cref="IProgressSink"/> of the calling cmdlet, when progress is wanted.</summary>
        public const string ProgressSink = "TransferTools.ProgressSink";

        /// <summary>
        /// Optional hint set by a cmdlet that starts several transfers in one call (an <see cref="int"/>, or a
        /// <see cref="System.Func{TResult}"/> of <see cref="int"/> that gives 0 while pipeline input is still coming): how
        /// many it will start, so the progress parent bar can say "2 of 5 files" before the last one has begun.
        /// </summary>
        public const string ExpectedTransferCount = "TransferTools.ExpectedTransferCount";
    }
}
