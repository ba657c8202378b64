using System.Management.Automation;
using TransferTools.Engine.Agent;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Shows the transfer agent of the TransferTools home: registered or not, running (pid, since, active and queued counts) and its last error.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "TransferAgent", HelpUri = HelpLinks.Root + "Get-TransferAgent.md")]
    [OutputType(typeof(TransferAgentInfo))]
    public sealed class GetTransferAgentCommand : TransferCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessRecord() =>
            WriteObject(TransferAgentInfo.Describe(Session.HomeDirectory, AgentServiceManager.Find(this, Session.HomeDirectory, null)));
    }
}
