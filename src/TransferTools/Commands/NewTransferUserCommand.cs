using System.Linq;
using System.Management.Automation;
using TransferTools.Engine.Auth;
using TransferTools.Internal;
using TransferTools.Abstractions;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Creates a user of an auth plugin that keeps users (LocalUsers, or any implementing IUserDirectory) with a password, roles and optional resource scopes.</para>
    /// <para type="description">Needs an Admin session. The very first user of a registration that keeps users may be created
    /// without a session (bootstrap) and must be an Admin: Register-TransferPlugin -Type LocalUsers, then
    /// New-TransferUser -Credential (Get-Credential admin) -Role Admin, then Connect-TransferService.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.New, "TransferUser", SupportsShouldProcess = true, HelpUri = HelpLinks.Root + "New-TransferUser.md")]
    [OutputType(typeof(UserInfo))]
    public sealed class NewTransferUserCommand : TransferCmdlet
    {
        /// <summary>The user name and password.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Roles: Reader (read), Contributor (read, write), Owner (read, write, delete), Admin (everything).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateSet(Roles.Reader, Roles.Contributor, Roles.Owner, Roles.Admin)]
        public string[] Role { get; set; } = new string[0];

        /// <summary>Resource scopes limiting the user, e.g. <c>storage/LocalStore/reports/</c> or <c>transfer/sftp://host/in/*</c>.</summary>
        [Parameter]
        public string[]? Scope { get; set; }

        /// <summary>The auth plugin registration that keeps the users, such as LocalUsers (default: the only one).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.AuthPluginNameCompleter))]
        public string? Plugin { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var name = Credential!.UserName;
            if (!ShouldProcess(name, $"Create transfer user with roles {string.Join(", ", Role)}"))
            {
                return;
            }

            var password = Credential.GetNetworkCredential().Password;
            if (TryRun(c => Session.Auth.Users.NewAsync(c, Plugin, name, password, Role.ToList(), (Scope ?? new string[0]).ToList()), name, out UserInfo user))
            {
                WriteObject(user);
            }
        }
    }
}
