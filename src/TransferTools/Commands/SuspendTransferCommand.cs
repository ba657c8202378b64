using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Pauses running transfers, keeping their verified partial data; Resume-Transfer continues them.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Suspend, "Transfer", SupportsShouldProcess = true)]
    [OutputType(typeof(Transfer))]
    public sealed class SuspendTransferCommand : TransferCmdlet
    {
        /// <summary>Transfer ids (or unique prefixes); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>Write the suspended transfer.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var id in Id!)
            {
                if (!ShouldProcess(id, "Suspend transfer"))
                {
                    continue;
                }

                if (TryRun(c => Session.Transfers.SuspendAsync(c, id), id, out Transfer transfer) && PassThru)
                {
                    WriteObject(transfer);
                }
            }
        }
    }
}
