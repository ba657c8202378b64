using System.Management.Automation;
using TransferTools.Engine.Auth;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Shows who the session acts as: user, roles, auth plugin and expiry (never the token).</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "TransferSession", HelpUri = HelpLinks.Root + "Get-TransferSession.md")]
    [OutputType(typeof(SessionInfo))]
    public sealed class GetTransferSessionCommand : TransferCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessRecord() => WriteObject(Session.Auth.Describe());
    }
}
