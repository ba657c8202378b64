using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Auth;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the users of an auth plugin that keeps users (LocalUsers, or any implementing IUserDirectory): roles, scopes, state, last sign-in and lockout (never a password or hash).</para>
    /// <para type="description">Needs an Admin session.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "TransferUser", HelpUri = HelpLinks.Root + "Get-TransferUser.md")]
    [OutputType(typeof(UserInfo))]
    public sealed class GetTransferUserCommand : TransferCmdlet
    {
        /// <summary>User names; wildcards allowed. Default: all.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Name { get; set; }

        /// <summary>The auth plugin registration that keeps the users, such as LocalUsers (default: the only one).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.AuthPluginNameCompleter))]
        public string? Plugin { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (!TryRun(c => Session.Auth.Users.ListAsync(c, Plugin), Plugin, out IReadOnlyList<UserInfo> users))
            {
                return;
            }

            if (Name is null)
            {
                WriteObject(users, enumerateCollection: true);
                return;
            }

            var errors = new List<ErrorRecord>();
            var patterns = NamePatterns.Create(Name, errors);
            errors.ForEach(WriteError);
            foreach (var (name, pattern) in patterns)
            {
                var matched = users.Where(u => pattern.IsMatch(u.Name)).ToList();
                if (matched.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                {
                    WriteError(ErrorMapping.ToErrorRecord(new PluginException(ErrorCode.NotFound,
                        $"There is no user '{name}'.", errorId: "UserNotFound", target: name)));
                }

                WriteObject(matched, enumerateCollection: true);
            }
        }
    }
}
