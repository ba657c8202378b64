using System.Management.Automation;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Cancels transfers: stops them (in this or another process), removes their temporary data and leaves them cancelled.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Stop, "Transfer", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Root + "Stop-Transfer.md")]
    [OutputType(typeof(Transfer))]
    public sealed class StopTransferCommand : TransferControlCommand
    {
        /// <inheritdoc/>
        protected override string Operation => "Stop transfer and remove its partial data";

        /// <inheritdoc/>
        protected override Task<Transfer> ApplyAsync(OperationContext context, string id) => Session.Transfers.StopAsync(context, id);
    }
}
