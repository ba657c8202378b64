using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Security;
using TransferTools.Engine.Auth;
using TransferTools.Internal;
using TransferTools.Abstractions;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Changes a user of an auth plugin that keeps users (LocalUsers, or any implementing IUserDirectory): password, roles, scopes, enabled state, lockout.</para>
    /// <para type="description">Needs an Admin session. A new password or disabling the account ends the user's existing
    /// sessions; role and scope changes apply to the next operation. The last unscoped Admin cannot be demoted, disabled
    /// or scoped.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "TransferUser", SupportsShouldProcess = true, HelpUri = HelpLinks.Root + "Set-TransferUser.md")]
    [OutputType(typeof(UserInfo))]
    public sealed class SetTransferUserCommand : TransferCmdlet
    {
        /// <summary>The user to change.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[] Name { get; set; } = new string[0];

        /// <summary>A new password.</summary>
        [Parameter]
        public SecureString? Password { get; set; }

        /// <summary>New roles (replace the current ones).</summary>
        [Parameter]
        [ValidateSet(Roles.Reader, Roles.Contributor, Roles.Owner, Roles.Admin)]
        public string[]? Role { get; set; }

        /// <summary>New resource scopes (replace the current ones); an empty array removes every limit.</summary>
        [Parameter]
        [AllowEmptyCollection]
        public string[]? Scope { get; set; }

        /// <summary>Enables or disables the account.</summary>
        [Parameter]
        public bool? Enabled { get; set; }

        /// <summary>Clears the failed sign-in counter and any lockout.</summary>
        [Parameter]
        public SwitchParameter Unlock { get; set; }

        /// <summary>Writes the changed user.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>The auth plugin registration that keeps the users, such as LocalUsers (default: the only one).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.AuthPluginNameCompleter))]
        public string? Plugin { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var change = new UserChange
            {
                Password = Password is null ? null : new NetworkCredential("", Password).Password,
                Roles = Role?.ToList(),
                Scopes = Scope?.ToList(),
                Enabled = Enabled,
                Unlock = Unlock,
            };
            var what = new List<string>();
            if (change.Password != null) what.Add("password");
            if (change.Roles != null) what.Add("roles " + string.Join(", ", change.Roles));
            if (change.Scopes != null) what.Add(change.Scopes.Count == 0 ? "no scopes" : "scopes " + string.Join(", ", change.Scopes));
            if (change.Enabled.HasValue) what.Add(change.Enabled.Value ? "enable" : "disable");
            if (change.Unlock) what.Add("unlock");
            foreach (var name in Name)
            {
                if (!ShouldProcess(name, "Set transfer user: " + (what.Count == 0 ? "no change" : string.Join("; ", what))))
                {
                    continue;
                }

                if (TryRun(c => Session.Auth.Users.SetAsync(c, Plugin, name, change), name, out UserInfo user) && PassThru)
                {
                    WriteObject(user);
                }
            }
        }
    }
}
