using System;
using System.Linq;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Removes finished transfers from the history: by id (or piped from Get-TransferStatus), or all those that started before a time or have a status.</para>
    /// <para type="description">Each removed transfer's journal record goes, with its chunk log; one that did not complete
    /// (failed, suspended, cancelled) also loses its partial data at the destination, as Stop-Transfer removes it, so it can no
    /// longer be resumed. A completed transfer's delivered file and its manifest stay. A transfer that is pending, active or
    /// queued, in this process or another, is never removed: by id it is an error (TransferRunning), by -Before or -Status it is
    /// passed over.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "TransferStatus", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
        DefaultParameterSetName = FilterSet, HelpUri = HelpLinks.Root + "Remove-TransferStatus.md")]
    [OutputType(typeof(Transfer))]
    public sealed class RemoveTransferStatusCommand : TransferCmdlet
    {
        private const string IdSet = "Id";
        private const string FilterSet = "Filter";

        /// <summary>Transfer ids (or unique prefixes of at least 4 characters); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>Removes the finished transfers that started before this time (local time unless it says otherwise).</summary>
        [Parameter(ParameterSetName = FilterSet)]
        public DateTime Before { get; set; }

        /// <summary>Removes the finished transfers with these statuses (Completed, Failed, Cancelled, Suspended). With -Before,
        /// both must hold.</summary>
        [Parameter(ParameterSetName = FilterSet)]
        public TransferStatus[]? Status { get; set; }

        /// <summary>Write each removed transfer, as it was before its removal.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (ParameterSetName == FilterSet && !MyInvocation.BoundParameters.ContainsKey(nameof(Before)) && (Status is null || Status.Length == 0))
            {
                // Without any of them the command would empty the whole history: that is asked for explicitly or not at all.
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException(
                    "Give -Id, -Before or -Status: which transfers to remove. To remove every finished transfer: Remove-TransferStatus -Before (Get-Date)."),
                    "RemoveFilterMissing", ErrorCategory.InvalidArgument, null));
            }
        }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                foreach (var id in Id!)
                {
                    // The transfer as shown to -WhatIf and -Confirm: its name and status, not only a hex id.
                    if (TryRun(c => Session.Transfers.GetTransferAsync(c, id), id, out Transfer shown))
                    {
                        Remove(shown);
                    }
                }

                return;
            }

            var cutoff = MyInvocation.BoundParameters.ContainsKey(nameof(Before))
                ? new DateTimeOffset(Before.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(Before, DateTimeKind.Local) : Before)
                : (DateTimeOffset?)null;
            var all = RunOrThrow(c => Session.Transfers.ListAsync(c, Status, 0), null);
            foreach (var transfer in all.Where(t => cutoff is null || t.StartedAt < cutoff.Value))
            {
                if (!transfer.Status.IsFinal())
                {
                    WriteVerbose($"Transfer {Short(transfer.Id)} ({transfer.Name}) is {transfer.Status.ToString().ToLowerInvariant()}: not removed.");
                    continue;
                }

                Remove(transfer);
            }
        }

        private void Remove(Transfer transfer)
        {
            var target = $"{Short(transfer.Id)} {transfer.Name} ({transfer.Status.ToString().ToLowerInvariant()})";
            var what = transfer.Status == TransferStatus.Completed ? "Remove transfer from history" : "Remove transfer from history with its partial data";
            if (ShouldProcess(target, what) && TryRun(c => Session.Transfers.RemoveAsync(c, transfer.Id), transfer.Id, out Transfer removed) && PassThru)
            {
                WriteObject(removed);
            }
        }

        private static string Short(string id) => id.Length > 8 ? id.Substring(0, 8) : id;
    }
}
