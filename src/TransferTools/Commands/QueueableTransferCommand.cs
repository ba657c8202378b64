using System;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Commands
{
    /// <summary>
    /// The transfer cmdlets that can hand their transfers to the transfer agent (<c>-Queue</c>): Send-Transfer and
    /// Receive-Transfer. A cmdlet deriving from this adds queueing with one call, <see cref="QueueTransfer"/>, where it
    /// would call <c>FeedTransfer</c>.
    /// </summary>
    public abstract class QueueableTransferCommand : TransferOptionsCommand
    {
        /// <summary>Record the transfer for the transfer agent (Start-TransferAgent) and return it at once, status Queued: it
        /// runs when the agent does, survives reboots and waits out network failures up to -RetryTimeout.</summary>
        [Parameter]
        public SwitchParameter Queue { get; set; }

        /// <summary>With -Queue: how long the agent retries transient failures (connection refused or lost, time-outs, 5xx)
        /// before the transfer fails, counted from now (default 1 day), e.g. '06:00:00' or (New-TimeSpan -Days 3).</summary>
        [Parameter]
        public TimeSpan RetryTimeout { get; set; } = QueueOptions.DefaultRetryTimeout;

        /// <summary>With -Queue: the transfer's own bandwidth timetable while the agent runs it, e.g.
        /// 'Mon-Fri 08:00-18:00=1MB; 18:00-08:00=0' (0: unlimited); see about_TransferTools_Agent.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BandwidthSchedule { get; set; }

        /// <inheritdoc/>
        protected override bool WantsProgress => !Queue.IsPresent && base.WantsProgress;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (!Queue.IsPresent && (MyInvocation.BoundParameters.ContainsKey(nameof(RetryTimeout)) || BandwidthSchedule != null))
            {
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-RetryTimeout and -BandwidthSchedule apply to queued transfers: add -Queue."),
                    "QueueParameterWithoutQueue", ErrorCategory.InvalidArgument, null));
            }

            if (Queue.IsPresent && RetryTimeout <= TimeSpan.Zero)
            {
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-RetryTimeout must be positive."),
                    "RetryTimeoutInvalid", ErrorCategory.InvalidArgument, RetryTimeout));
            }
        }

        /// <summary>The queue options the parameters describe.</summary>
        protected QueueOptions BuildQueueOptions() => new QueueOptions { RetryTimeout = RetryTimeout, BandwidthSchedule = BandwidthSchedule };

        /// <summary>Queues one transfer for the agent and writes it (status Queued), or an error whose target is <paramref name="target"/>.</summary>
        protected void QueueTransfer(object target, Func<OperationContext, System.Threading.Tasks.Task<Transfer>> queue)
        {
            if (TryRun(queue, target, out Transfer transfer))
            {
                WriteObject(transfer);
            }
        }
    }
}
