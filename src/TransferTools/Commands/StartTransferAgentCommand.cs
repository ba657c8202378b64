using System;
using System.Management.Automation;
using System.Threading;
using TransferTools.Abstractions;
using TransferTools.Engine.Agent;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Runs the transfer agent in the foreground: the transfers queued with -Queue, until Ctrl+C or SIGTERM.</para>
    /// <para type="description">The entry point a service manager starts (Register-TransferAgent installs it). One agent runs per
    /// TransferTools home; a second one refuses (AgentAlreadyRunning), naming the running one's pid. At start it picks up queued
    /// transfers, those interrupted by a crash or reboot and those waiting out a transient error, and runs up to -ThrottleLimit at
    /// once; transient failures are retried with growing intervals until each transfer's -RetryTimeout. Ctrl+C or SIGTERM suspends
    /// the running transfers at a committed chunk; they continue at the agent's next start. Transfers report to the registered
    /// monitors (EventLog, OpenTelemetry) as any transfer does; the agent writes its own log lines to the information stream (the
    /// console, or the service manager's log).</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Start, "TransferAgent", HelpUri = HelpLinks.Root + "Start-TransferAgent.md")]
    [OutputType(typeof(void))]
    public sealed class StartTransferAgentCommand : TransferCmdlet
    {
        /// <summary>How many transfers run at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <summary>The agent's total bandwidth timetable, shared by every transfer it runs, e.g. '08:00-18:00=10MB; 18:00-08:00=0'
        /// (0: unlimited; weekday prefixes such as 'Mon-Fri 08:00-18:00=10MB'); the limit changes at each boundary, also for
        /// transfers already running.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BandwidthSchedule { get; set; }

        /// <summary>The agent's total bandwidth limit in bytes per second when no -BandwidthSchedule is given (0: none).</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MaxBytesPerSecond { get; set; }

        /// <summary>Seconds before the first retry of a transient failure (default 30); the interval doubles per attempt, up to an hour.</summary>
        [Parameter]
        [ValidateRange(1, 86400)]
        public int RetryIntervalSeconds { get; set; } = 30;

        /// <summary>How often, in seconds, the agent looks for newly queued transfers (default 2).</summary>
        [Parameter]
        [ValidateRange(1, 3600)]
        public int PollIntervalSeconds { get; set; } = 2;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            // SIGTERM is taken over first: a service manager stopping the agent while it starts must not kill it mid-write.
            using var terminated = new CancellationTokenSource();
            using var signal = TerminationSignal.Register(() => terminated.Cancel());
            TransferAgent agent;
            try
            {
                agent = TransferAgent.Start(Session, new TransferAgentOptions
                {
                    ThrottleLimit = ThrottleLimit,
                    Schedule = BandwidthSchedule is null ? null : Engine.Agent.BandwidthSchedule.Parse(BandwidthSchedule),
                    MaxBytesPerSecond = MaxBytesPerSecond,
                    RetryInterval = TimeSpan.FromSeconds(RetryIntervalSeconds),
                    MaxRetryInterval = TimeSpan.FromSeconds(Math.Max(RetryIntervalSeconds, 3600)),
                    PollInterval = TimeSpan.FromSeconds(PollIntervalSeconds),
                });
            }
            catch (Exception e) when (IsExpected(e))
            {
                Terminate(e, BandwidthSchedule);
                return;
            }

            using (agent)
            {
                Run(async context =>
                {
                    var pump = context.Logger as OutputPump;
                    agent.Log = message => pump?.Post(() => WriteInformation(new HostInformationMessage { Message = message }, new[] { "PSHOST", "TransferAgent" }));
                    if (pump != null)
                    {
                        agent.RunSync = (run, stop) => RunSyncOnPipelineThread(pump, run, stop);
                    }

                    using var either = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, terminated.Token);
                    await agent.RunAsync(context.WithCancellation(either.Token)).ConfigureAwait(false);
                });
            }
        }

        /// <summary>
        /// A queued sync runs as the Sync-TransferFolder line it was queued from, a nested pipeline of this runspace, so on the
        /// pipeline thread: posted there, one sync at a time (the agent's file transfers go on meanwhile).
        /// </summary>
        private System.Threading.Tasks.Task<SyncJobOutcome> RunSyncOnPipelineThread(OutputPump pump, SyncJobRun run, CancellationToken stop)
        {
            var done = new System.Threading.Tasks.TaskCompletionSource<SyncJobOutcome>(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);
            pump.Post(() =>
            {
                try
                {
                    var errors = new System.Collections.Generic.List<ErrorRecord>();
                    var result = SyncJobLine.Run(run.Job, run.Credential, stop, e =>
                    {
                        errors.Add(e);
                        WriteInformation(new HostInformationMessage { Message = $"{DateTime.Now:yyyy-MM-dd HH:mm:ss} Sync {Engine.Transfers.TransferIds.Short(run.Id)}: {e}" },
                            new[] { "PSHOST", "TransferAgent" });
                    });
                    done.TrySetResult(SyncJobOutcome.From(result, SyncJobLine.FirstError(errors)));
                }
                catch (Exception e) when (!(e is OutOfMemoryException))
                {
                    done.TrySetException(e);
                }
            });
            return done.Task;
        }
    }
}
