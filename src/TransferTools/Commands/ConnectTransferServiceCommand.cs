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
    /// <para type="description">Once any auth plugin is registered, every storage, transfer and plugin-administration
    /// operation needs a signed-in session. The token stays in this runspace's memory: it is never written to disk, to a
    /// log or to the default output. With a refresh token, the session refreshes itself shortly before expiry.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "TransferService", DefaultParameterSetName = CredentialSet, HelpUri = HelpLinks.Root + "Connect-TransferService.md")]
    [OutputType(typeof(SessionInfo))]
    public sealed class ConnectTransferServiceCommand : TransferCmdlet
    {
        private const string CredentialSet = "Credential";
        private const string TokenSet = "Token";
        private const string DeviceCodeSet = "DeviceCode";

        /// <summary>The auth plugin's registration name (default: the only registered auth plugin).</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.AuthPluginNameCompleter))]
        public string? Plugin { get; set; }

        /// <summary>User name and password (LocalUsers), or client id and client secret (Oidc client credentials).</summary>
        [Parameter(Mandatory = true, ParameterSetName = CredentialSet)]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>A token issued earlier (an access or refresh token of the plugin, or the identity provider's access token).</summary>
        [Parameter(Mandatory = true, ParameterSetName = TokenSet)]
        public SecureString? Token { get; set; }

        /// <summary>Sign in with the OIDC device code flow: shows a code and URL (as a warning, so it reaches runbook logs), then waits for approval.</summary>
        [Parameter(Mandatory = true, ParameterSetName = DeviceCodeSet)]
        public SwitchParameter DeviceCode { get; set; }

        /// <summary>The client id for the device code flow (default: the registration's ClientId).</summary>
        [Parameter(ParameterSetName = DeviceCodeSet)]
        [ValidateNotNullOrEmpty]
        public string? ClientId { get; set; }

        /// <summary>Scopes to ask for (OIDC); default: the registration's Scope.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
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

            var target = Plugin ?? request.ToString();
            var connected = TryRun(c =>
            {
                // The provider's prompt arrives on an engine thread: hand it to the pipeline thread as a warning, so it
                // shows at a prompt and in a runbook's log alike.
                request.Oidc.DeviceCodeCallback = prompt => c.Logger.Log(LogLevel.Warning, prompt.ToString()
                    + (string.IsNullOrEmpty(prompt.VerificationUriComplete) ? "" : $" (or open {prompt.VerificationUriComplete})")
                    + $" The code expires at {prompt.ExpiresAt:u}.");
                return Session.Auth.ConnectAsync(c, Plugin, request);
            }, target, out AuthResult _);
            if (connected)
            {
                WriteObject(Session.Auth.Describe());
            }
        }
    }
}
