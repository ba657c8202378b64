using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>How a caller proves who they are.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum AuthType
    {
        /// <summary>User name and password.</summary>
        Password,
        /// <summary>A bearer token issued earlier (by this plugin or the identity provider).</summary>
        Token,
        /// <summary>OpenID Connect client credentials (client id and secret).</summary>
        ClientCredentials,
        /// <summary>OpenID Connect device authorization: a code shown to the user, approved in a browser.</summary>
        DeviceCode,
    }

    /// <summary>An action on a resource. Files that also import <c>System</c> alias it:
    /// <c>using Action = TransferTools.Abstractions.Action;</c>.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum Action
    {
        /// <summary>List and fetch (<c>read</c>).</summary>
        Read,
        /// <summary>Store and send (<c>write</c>).</summary>
        Write,
        /// <summary>Remove (<c>delete</c>).</summary>
        Delete,
        /// <summary>Administer plugins and users (<c>admin</c>).</summary>
        Admin,
    }

    /// <summary>The string values of <see cref="Action"/>.</summary>
    public static class Actions
    {
        /// <summary><c>read</c></summary>
        public const string Read = "read";
        /// <summary><c>write</c></summary>
        public const string Write = "write";
        /// <summary><c>delete</c></summary>
        public const string Delete = "delete";
        /// <summary><c>admin</c></summary>
        public const string Admin = "admin";

        /// <summary>The string value of <paramref name="action"/>.</summary>
        public static string ToSeedValue(this Action action) => action switch
        {
            Action.Read => Read,
            Action.Write => Write,
            Action.Delete => Delete,
            _ => Admin,
        };
    }

    /// <summary>What a device-code sign-in asks the user to do.</summary>
    public sealed class DeviceCodePrompt
    {
        /// <summary>The code to type.</summary>
        public string UserCode { get; set; } = "";
        /// <summary>Where to type it.</summary>
        public string VerificationUri { get; set; } = "";
        /// <summary>A URI with the code filled in, when the provider gives one.</summary>
        public string? VerificationUriComplete { get; set; }
        /// <summary>When the code stops working.</summary>
        public DateTimeOffset ExpiresAt { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"To sign in, open {VerificationUri} and enter the code {UserCode}.";
    }

    /// <summary>OpenID Connect credentials.</summary>
    public sealed class OidcCredentials
    {
        /// <summary>The client id.</summary>
        public string? ClientId { get; set; }
        /// <summary>The client secret (client credentials flow). Never logged.</summary>
        public string? ClientSecret { get; set; }
        /// <summary>Scopes to ask for; null uses the registration's configured scope.</summary>
        public string? Scope { get; set; }
        /// <summary>Called with the code to show during a device-code sign-in.</summary>
        public System.Action<DeviceCodePrompt>? DeviceCodeCallback { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"ClientId={ClientId} Secret={(ClientSecret is null ? "-" : "***")}";
    }

    /// <summary>A sign-in request.</summary>
    public sealed class AuthRequest
    {
        /// <summary>Which proof is offered.</summary>
        public AuthType Type { get; set; }
        /// <summary>The user name (<see cref="AuthType.Password"/>).</summary>
        public string? Username { get; set; }
        /// <summary>The password (<see cref="AuthType.Password"/>). Never logged; cmdlets take it as a <c>PSCredential</c>.</summary>
        public string? Password { get; set; }
        /// <summary>The token (<see cref="AuthType.Token"/>). Never logged.</summary>
        public string? Token { get; set; }
        /// <summary>OpenID Connect credentials (<see cref="AuthType.ClientCredentials"/>, <see cref="AuthType.DeviceCode"/>).</summary>
        public OidcCredentials Oidc { get; set; } = new OidcCredentials();

        /// <summary>Shows the type and user, never a secret.</summary>
        public override string ToString() => $"{Type} {Username ?? Oidc.ClientId}";
    }

    /// <summary>An identity.</summary>
    public sealed class User
    {
        /// <summary>A stable id (the subject).</summary>
        public string Id { get; set; } = "";
        /// <summary>A display name.</summary>
        public string Name { get; set; } = "";
        /// <summary>Roles such as <c>Reader</c>, <c>Contributor</c>, <c>Owner</c>, <c>Admin</c>.</summary>
        public IReadOnlyList<string> Roles { get; set; } = Array.Empty<string>();
        /// <summary>Resource scopes the user is limited to (patterns); empty means no limit beyond roles.</summary>
        public IReadOnlyList<string> Scopes { get; set; } = Array.Empty<string>();

        /// <inheritdoc/>
        public override string ToString() => Name;
    }

    /// <summary>The result of a sign-in or refresh.</summary>
    public sealed class AuthResult
    {
        /// <summary>The access token. Held in memory only; never written to disk, logs or default output.</summary>
        public string Token { get; set; } = "";
        /// <summary>When <see cref="Token"/> expires.</summary>
        public DateTimeOffset ExpiresAt { get; set; }
        /// <summary>The refresh token, or null.</summary>
        public string? RefreshToken { get; set; }
        /// <summary>Who signed in.</summary>
        public User User { get; set; } = new User();

        /// <summary>Shows the user and expiry, never a token.</summary>
        public override string ToString() => $"{User.Name} (expires {ExpiresAt:u})";
    }

    /// <summary>Authentication and authorization.</summary>
    public interface IAuthPlugin : IPlugin
    {
        /// <summary>Checks credentials and issues a token.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AuthenticationFailed"/> or <see cref="ErrorCode.Throttled"/>.</exception>
        Task<AuthResult> AuthenticateAsync(OperationContext context, AuthRequest request);

        /// <summary>Answers whether <paramref name="token"/> may do <paramref name="action"/> on <paramref name="resource"/>.</summary>
        /// <returns>False when the identity is valid but not allowed.</returns>
        /// <exception cref="PluginException"><see cref="ErrorCode.AuthenticationFailed"/> when the token is invalid, expired or revoked.</exception>
        Task<bool> AuthorizeAsync(OperationContext context, string token, string resource, Action action);

        /// <summary>Exchanges a refresh token (or a still-valid token) for a new result.</summary>
        Task<AuthResult> RefreshAsync(OperationContext context, string token);

        /// <summary>Revokes a token (and its refresh token) so that it is refused from now on.</summary>
        Task RevokeAsync(OperationContext context, string token);
    }
}
