using System.Management.Automation;
using System.Net;
using System.Security;
using TransferTools.Abstractions;
using TransferTools.Engine.Auth;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Signs the session in through an auth plugin (password, token, OIDC client credentials or device code).</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "TransferService", DefaultParameterSetName = CredentialSet)]
    [OutputType(typeof(SessionInfo))]
    public sealed class ConnectTransferServiceCommand : TransferCmdlet
    {
        private const string CredentialSet = "Credential";
        private const string TokenSet = "Token";
        private const string DeviceCodeSet = "DeviceCode";

        /// <summary>The auth plugin's registration name (default: the only registered auth plugin).</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string? Plugin { get; set; }

        /// <summary>User name and password (LocalUsers), or client id and client secret (Oidc client credentials).</summary>
        [Parameter(Mandatory = true, ParameterSetName = CredentialSet)]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>A token issued earlier (an access token of the plugin or the identity provider).</summary>
        [Parameter(Mandatory = true, ParameterSetName = TokenSet)]
        public SecureString? Token { get; set; }

        /// <summary>Sign in with the OIDC device code flow: shows a code and URL, then waits for approval.</summary>
        [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
        public SwitchParameter DeviceCode { get; set; }

        /// <summary>The client id for the device code flow (default: the registration's ClientId).</summary>
        [Parameter(ParameterSetName = DeviceCodeSet)]
        public string? ClientId { get; set; }

        /// <summary>Scopes to ask for (OIDC); default: the registration's Scope.</summary>
        [Parameter]
        public string? Scope { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var request = new AuthRequest();
            switch (ParameterSetName)
            {
                case TokenSet:
                    request.Type = AuthType.Token;
                    request.Token = new NetworkCredential("", Token).Password;
                    break;
                case DeviceCodeSet:
                    request.Type = AuthType.DeviceCode;
                    request.Oidc.ClientId = ClientId;
                    request.Oidc.Scope = Scope;
                    request.Oidc.DeviceCodeCallback = prompt => Host.UI.WriteLine(prompt.ToString());
                    break;
                default:
                    var network = Credential!.GetNetworkCredential();
                    request.Type = AuthType.Password;
                    request.Username = Credential.UserName;
                    request.Password = network.Password;
                    request.Oidc.ClientId = Credential.UserName;
                    request.Oidc.ClientSecret = network.Password;
                    request.Oidc.Scope = Scope;
                    break;
            }

            var result = RunOrThrow(c => Session.Auth.ConnectAsync(c, Plugin, request), Plugin ?? request.ToString());
            WriteVerbose($"Signed in as '{result.User.Name}' until {result.ExpiresAt:u}.");
            WriteObject(Session.Auth.Describe());
        }
    }
}
