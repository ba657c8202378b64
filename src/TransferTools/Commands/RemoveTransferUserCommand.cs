using System.Management.Automation;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Removes a user of an auth plugin that keeps users (LocalUsers, or any implementing IUserDirectory); their sessions stop working at once.</para>
    /// <para type="description">Needs an Admin session. The last unscoped Admin cannot be removed.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "TransferUser", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, HelpUri = HelpLinks.Root + "Remove-TransferUser.md")]
    [OutputType(typeof(void))]
    public sealed class RemoveTransferUserCommand : TransferCmdlet
    {
        /// <summary>The users to remove.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[] Name { get; set; } = new string[0];

        /// <summary>The auth plugin registration that keeps the users, such as LocalUsers (default: the only one).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.AuthPluginNameCompleter))]
        public string? Plugin { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var name in Name)
            {
                if (ShouldProcess(name, "Remove transfer user"))
                {
                    TryRun(c => Session.Auth.Users.RemoveAsync(c, Plugin, name), name);
                }
            }
        }
    }
}
