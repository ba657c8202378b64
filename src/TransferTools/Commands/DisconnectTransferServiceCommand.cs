using System.Management.Automation;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Revokes the session's tokens and signs the session out.</para>
    /// <para type="description">The access and refresh tokens are revoked through the auth plugin (for OIDC, at the
    /// provider's revocation endpoint when it has one) and forgotten, even when revocation fails.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "TransferService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpLinks.Root + "Disconnect-TransferService.md")]
    [OutputType(typeof(void))]
    public sealed class DisconnectTransferServiceCommand : TransferCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var current = Session.Auth.Current;
            var user = current?.User.Name ?? "(not signed in)";
            if (ShouldProcess(user, "Revoke tokens and sign out"))
            {
                if (TryRun(c => Session.Auth.DisconnectAsync(c), user))
                {
                    WriteVerbose($"Signed out '{user}'.");
                }
            }
        }
    }
}
