using System.Management.Automation;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Revokes the session's token and signs the session out.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "TransferService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(void))]
    public sealed class DisconnectTransferServiceCommand : TransferCmdlet
    {
        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var user = Session.Auth.Current?.User.Name ?? "(not signed in)";
            if (ShouldProcess(user, "Revoke token and sign out"))
            {
                RunOrThrow<object?>(async c =>
                {
                    await Session.Auth.DisconnectAsync(c).ConfigureAwait(false);
                    return null;
                }, user);
            }
        }
    }
}
