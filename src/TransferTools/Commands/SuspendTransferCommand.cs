using System.Management.Automation;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Pauses running transfers, keeping their verified partial data; Resume-Transfer continues them.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Suspend, "Transfer", SupportsShouldProcess = true, HelpUri = HelpLinks.Root + "Suspend-Transfer.md")]
    [OutputType(typeof(Transfer))]
    public sealed class SuspendTransferCommand : TransferControlCommand
    {
        /// <inheritdoc/>
        protected override string Operation => "Suspend transfer";

        /// <inheritdoc/>
        protected override Task<Transfer> ApplyAsync(OperationContext context, string id) => Session.Transfers.SuspendAsync(context, id);
    }
}
