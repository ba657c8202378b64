using System.Management.Automation;
using TransferTools.Engine.Auth;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Refreshes the session's token through its auth plugin.</para>
    /// </summary>
    [Cmdlet(VerbsData.Update, "TransferSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(SessionInfo))]
    public sealed class UpdateTransferSessionCommand : TransferCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var user = Session.Auth.Current?.User.Name ?? "(not signed in)";
            if (ShouldProcess(user, "Refresh token"))
            {
                RunOrThrow(c => Session.Auth.RefreshAsync(c), user);
                WriteObject(Session.Auth.Describe());
            }
        }
    }
}
