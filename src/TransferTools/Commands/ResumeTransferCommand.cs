using System;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Resumes failed, interrupted or suspended transfers from their last verified chunk — in this process or a new one after a crash.</para>
    /// <para type="description">The partial data is checked chunk by chunk against the journal; a damaged chunk and everything after it is sent
    /// again. A source that changed since the transfer began is refused (SourceChanged). The result reports ResumedFrom, the bytes not sent again.</para>
    /// <para type="description">Options given here replace the transfer's own for the rest of it: -Force or -Conflict after DestinationExists,
    /// -HostKeyFingerprint after the server's key changed, -KeyFile, -Credential (never journaled, so needed again), -ProtocolOption (added
    /// to the journaled ones), -MaxBytesPerSecond, -RetryCount and -StallTimeoutSeconds. -ChunkSize cannot change (ChunkSizeFixed).</para>
    /// <para type="description">A sync's id resumes the whole sync: the SyncId of a SyncResult (an interrupted Sync-TransferFolder) runs
    /// that Sync-TransferFolder line again in this process, with the same result as typing it again: files already copied compare equal and
    /// are not sent again, a copy in flight resumes from its committed chunks, deletes happen only after every copy succeeded. Give
    /// -Credential again (it is never kept). The id of a queued sync (Sync-TransferFolder -Queue) runs it here instead of in the agent.
    /// Either writes a SyncResult.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Resume, "Transfer", SupportsShouldProcess = true, HelpUri = HelpLinks.Root + "Resume-Transfer.md")]
    [OutputType(typeof(Transfer), typeof(Engine.Sync.SyncResult))]
    public sealed class ResumeTransferCommand : TransferOptionsCommand
    {
        private ResumeOverrides? _overrides;

        /// <summary>Transfer ids (or unique prefixes); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>How many transfers resume at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var id in Id!)
            {
                if (ResumedSync(id))
                {
                    continue;
                }

                if (ShouldProcess(id, "Resume transfer"))
                {
                    // Each id resumes now, while the pipeline is still producing the next ones.
                    var overrides = _overrides ??= BuildOverrides();
                    FeedTransfer(id, c => Session.Transfers.StartResumeAsync(c, id, overrides), ThrottleLimit, batched: false);
                }
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing() => CompleteTransfers();

        /// <summary>
        /// True when <paramref name="id"/> names a sync, which then runs here to its end (the SyncResult written): the key
        /// of an interrupted one (its line kept in the journal), or a queued one's record.
        /// </summary>
        private bool ResumedSync(string id)
        {
            var job = Engine.Sync.SyncState.TryLoadJob(Session.Transfers.JournalDirectory, id);
            if (job != null)
            {
                if (ShouldProcess(id, $"Resume the sync '{job.Source}' -> '{job.Destination}'"))
                {
                    RunSync(job, Credential?.GetNetworkCredential());
                }

                return true;
            }

            if (!Session.Transfers.IsSyncJob(id))
            {
                return false;
            }

            if (!ShouldProcess(id, "Resume the queued sync here"))
            {
                return true;
            }

            SyncJobRun? run;
            try
            {
                run = Run(c => Session.Transfers.BeginSyncJobAsync(c, id));
            }
            catch (Exception e) when (IsExpected(e))
            {
                if (!IsNoError(e))
                {
                    WriteError(ErrorMapping.ToErrorRecord(e, id));
                }

                return true;
            }

            using (run)
            {
                var errors = RunSync(run!.Job, Credential?.GetNetworkCredential() ?? run.Credential);
                run.Complete(Engine.Sync.SyncJobOutcome.From(errors.Result, SyncJobLine.FirstError(errors.Errors)));
            }

            return true;
        }

        private (Engine.Sync.SyncResult? Result, System.Collections.Generic.List<ErrorRecord> Errors) RunSync(Engine.Sync.SyncJob job, System.Net.NetworkCredential? credential)
        {
            var errors = new System.Collections.Generic.List<ErrorRecord>();
            var result = SyncJobLine.Run(job, credential, StopToken, e =>
            {
                errors.Add(e);
                WriteError(e);
            });
            if (result != null)
            {
                WriteObject(result);
            }

            return (result, errors);
        }

        /// <summary>
        /// A completed transfer among piped ones (<c>Get-TransferStatus | Resume-Transfer</c>) has nothing left to do, which is
        /// no error; an id typed for one still is, since the user expected it to need resuming.
        /// </summary>
        protected override bool IsNoError(System.Exception error) =>
            MyInvocation.ExpectingInput && error is PluginException { ErrorId: "TransferCompleted" };

        /// <summary>The options given on the command line that replace the journaled ones for the rest of each transfer.</summary>
        private ResumeOverrides BuildOverrides()
        {
            var bound = MyInvocation.BoundParameters;
            var given = BuildOptions();
            return new ResumeOverrides
            {
                Conflict = bound.ContainsKey(nameof(Conflict)) ? Conflict : Force.IsPresent ? ConflictPolicy.Overwrite : (ConflictPolicy?)null,
                MaxBytesPerSecond = bound.ContainsKey(nameof(MaxBytesPerSecond)) ? MaxBytesPerSecond : (long?)null,
                Credential = given.Credential,
                RetryCount = bound.ContainsKey(nameof(RetryCount)) ? RetryCount : (int?)null,
                StallTimeout = bound.ContainsKey(nameof(StallTimeoutSeconds)) ? given.StallTimeout : (System.TimeSpan?)null,
                Custom = bound.ContainsKey(nameof(ProtocolOption)) || bound.ContainsKey(nameof(KeyFile)) || bound.ContainsKey(nameof(HostKeyFingerprint))
                    ? given.Custom
                    : null,
                ChunkSize = bound.ContainsKey(nameof(ChunkSize)) ? ChunkSize : (int?)null,
            };
        }
    }
}
