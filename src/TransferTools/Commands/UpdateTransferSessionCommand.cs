using System.Management.Automation;
using TransferTools.Engine.Auth;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Refreshes the session's token through its auth plugin.</para>
    /// <para type="description">Uses the refresh token when one is held (it is rotated), else the still-valid access
    /// token. The engine also refreshes by itself shortly before expiry, so runbooks rarely need this.</para>
    /// </summary>
    [Cmdlet(VerbsData.Update, "TransferSession", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpLinks.Root + "Update-TransferSession.md")]
    [OutputType(typeof(SessionInfo))]
    public sealed class UpdateTransferSessionCommand : TransferCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var user = Session.Auth.Current?.User.Name ?? "(not signed in)";
            if (ShouldProcess(user, "Refresh token"))
            {
                if (!TryRun(c => Session.Auth.RefreshAsync(c), user, out TransferTools.Abstractions.AuthResult result))
                {
                    return;
                }

                WriteVerbose($"Refreshed the session of '{result.User.Name}' until {result.ExpiresAt:u}.");
                WriteObject(Session.Auth.Describe());
            }
        }
    }
}
