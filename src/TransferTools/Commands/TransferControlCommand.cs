using System.Management.Automation;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>The shape shared by cmdlets that act on transfers by id (Stop-Transfer, Suspend-Transfer).</summary>
    public abstract class TransferControlCommand : TransferCmdlet
    {
        /// <summary>Transfer ids (or unique prefixes); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>Write the transfer after the action.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>What <c>-WhatIf</c> and <c>-Confirm</c> say the action is.</summary>
        protected abstract string Operation { get; }

        /// <summary>Applies the action to one transfer.</summary>
        protected abstract Task<Transfer> ApplyAsync(OperationContext context, string id);

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var id in Id!)
            {
                if (ShouldProcess(id, Operation) && TryRun(c => ApplyAsync(c, id), id, out Transfer transfer) && PassThru)
                {
                    WriteObject(transfer);
                }
            }
        }
    }
}
