using System.Collections.Generic;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Gets transfers from the journal: one by id, or all (from every process), newest first.</para>
    /// <para type="description">A transfer whose process died while it was active shows as failed ("Interrupted") and can be resumed.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "TransferStatus", DefaultParameterSetName = AllSet, HelpUri = HelpLinks.Root + "Get-TransferStatus.md")]
    [OutputType(typeof(Transfer))]
    public sealed class GetTransferStatusCommand : TransferCmdlet
    {
        private const string AllSet = "All";
        private const string IdSet = "Id";

        /// <summary>Transfer ids (or unique prefixes of at least 4 characters); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>Only transfers with these statuses.</summary>
        [Parameter(ParameterSetName = AllSet)]
        public TransferStatus[]? Status { get; set; }

        /// <summary>At most this many (newest first).</summary>
        [Parameter(ParameterSetName = AllSet)]
        [ValidateRange(1, int.MaxValue)]
        public int First { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                foreach (var id in Id!)
                {
                    if (TryRun(c => Session.Transfers.GetTransferAsync(c, id), id, out Transfer transfer))
                    {
                        WriteObject(transfer);
                    }
                }

                return;
            }

            var all = RunOrThrow(c => Session.Transfers.ListAsync(c, Status, First), null);
            foreach (var transfer in all)
            {
                WriteObject(transfer);
            }
        }
    }
}
