namespace TransferTools.Engine.Monitoring
{
    /// <summary>Names of engine values carried in an <see cref="Abstractions.OperationContext"/>.</summary>
    public static class EngineContextKeys
    {
        /// <summary>
        /// Optional hint set by a cmdlet that starts several transfers in one call (an <see cref="int"/>, or a
        /// <see cref="System.Func{TResult}"/> of <see cref="int"/> that gives 0 while pipeline input is still coming): how
        /// many it will start, so the progress parent bar can say "2 of 5 files" before the last one has begun.
        /// </summary>
        public const string ExpectedTransferCount = "TransferTools.ExpectedTransferCount";

        /// <summary>
        /// A <see cref="Transfers.BandwidthLimiter"/> shared by every transfer one command starts: its <c>-MaxBytesPerSecond</c>
        /// is the command's total. Without it a transfer whose record has a limit gets a limiter of its own.
        /// </summary>
        public const string CommandBandwidth = "TransferTools.CommandBandwidth";

        /// <summary>A <see cref="Transfers.BandwidthLimiter"/> shared by every transfer the transfer agent runs (its schedule's rate).</summary>
        public const string AgentBandwidth = "TransferTools.AgentBandwidth";

        /// <summary>
        /// Optional: the activity id (an <see cref="int"/>) of a bar the calling cmdlet draws itself over the whole command
        /// (Sync-TransferFolder's bar, which also shows its scan phase). Each transfer's bar is then drawn as its child, the
        /// progress monitor draws no parent bar of its own, and forgets a file once it has ended (memory stays flat
        /// however many files the command moves).
        /// </summary>
        public const string ProgressParentId = "TransferTools.ProgressParentId";
    }
}
