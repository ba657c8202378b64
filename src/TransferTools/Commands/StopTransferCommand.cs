using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Cancels transfers: stops them (in this or another process), removes their temporary data and leaves them cancelled.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "Transfer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(Transfer))]
    public sealed class StopTransferCommand : TransferCmdlet
    {
        /// <summary>Transfer ids (or unique prefixes); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>Write the cancelled transfer.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var id in Id!)
            {
                if (!ShouldProcess(id, "Stop transfer and remove its partial data"))
                {
                    continue;
                }

                if (TryRun(c => Session.Transfers.StopAsync(c, id), id, out Transfer transfer) && PassThru)
                {
                    WriteObject(transfer);
                }
            }
        }
    }
}
