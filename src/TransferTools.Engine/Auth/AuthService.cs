using System;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Engine.Auth
{
    /// <summary>What <c>Get-TransferSession</c> shows: who is signed in, through which plugin, until when. Never the token.</summary>
    public sealed class SessionInfo
    {
        /// <summary>The user's display name, or the local OS user when no auth plugin is registered.</summary>
        public string User { get; set; } = "";
        /// <summary>The user's id.</summary>
        public string UserId { get; set; } = "";
        /// <summary>The user's roles.</summary>
        public string[] Roles { get; set; } = Array.Empty<string>();
        /// <summary>The auth plugin, or null for the local OS user.</summary>
        public string? Plugin { get; set; }
        /// <summary>When the access token expires, or null.</summary>
        public DateTimeOffset? ExpiresAt { get; set; }
        /// <summary>True when the session can act: signed in, or no auth plugin registered.</summary>
        public bool IsAuthenticated { get; set; }
        /// <summary>True when a refresh token is held.</summary>
        public bool CanRefresh { get; set; }
        /// <summary>The home root.</summary>
        public string HomeDirectory { get; set; } = "";
    }

    /// <summary>The session's identity and the authorization gate every operation passes.</summary>
    /// <remarks>With no auth plugin registered the session is the local OS user with full rights; once one is,
    /// every operation needs <c>Connect-TransferService</c>.</remarks>
    public sealed class AuthService
    {
        private readonly TransferSession _session;
        private readonly object _gate = new object();
        private AuthResult? _current;
        private string? _pluginName;

        /// <summary>Creates the service for a session.</summary>
        public AuthService(TransferSession session) => _session = session;

        /// <summary>The current sign-in result, or null. The token inside stays in memory.</summary>
        public AuthResult? Current
        {
            get
            {
                lock (_gate)
                {
                    return _current;
                }
            }
        }

        /// <summary>The auth plugin the current sign-in came from.</summary>
        public string? PluginName => _pluginName;

        /// <summary>The registered auth plugins' names.</summary>
        public string[] RegisteredAuthPlugins() =>
            _session.Plugins.GetRegistrations().Where(r => r.Kind == PluginType.Auth).Select(r => r.Name).ToArray();

        /// <summary>Signs in through <paramref name="pluginName"/> (default: the only registered auth plugin).</summary>
        public async Task<AuthResult> ConnectAsync(OperationContext context, string? pluginName, AuthRequest request)
        {
            var name = ResolvePlugin(pluginName);
            var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
            var result = await plugin.AuthenticateAsync(context, request).ConfigureAwait(false);
            Set(name, result);
            return result;
        }

        /// <summary>Refreshes the current sign-in.</summary>
        public async Task<AuthResult> RefreshAsync(OperationContext context)
        {
            var (name, current) = RequireCurrent();
            var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
            var result = await plugin.RefreshAsync(context, current.RefreshToken ?? current.Token).ConfigureAwait(false);
            Set(name, result);
            return result;
        }

        /// <summary>Revokes the current token and forgets it. Forgets it even when revocation fails.</summary>
        public async Task DisconnectAsync(OperationContext context)
        {
            var (name, current) = RequireCurrent();
            try
            {
                var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
                await plugin.RevokeAsync(context, current.Token).ConfigureAwait(false);
            }
            finally
            {
                Clear();
            }
        }

        /// <summary>Forgets the current sign-in without revoking it.</summary>
        public void Clear()
        {
            lock (_gate)
            {
                _current = null;
                _pluginName = null;
            }
        }

        /// <summary>Answers Authorize for the current identity (true for the local OS user when no auth plugin is registered).</summary>
        public async Task<bool> TestAsync(OperationContext context, string resource, Action action)
        {
            if (RegisteredAuthPlugins().Length == 0)
            {
                return true;
            }

            var (name, current) = RequireCurrent();
            var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
            return await plugin.AuthorizeAsync(context, current.Token, resource, action).ConfigureAwait(false);
        }

        /// <summary>Refuses unless the current identity may do <paramref name="action"/> on <paramref name="resource"/>.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AuthenticationFailed"/> with no session; <see cref="ErrorCode.PermissionDenied"/> when refused.</exception>
        public async Task DemandAsync(OperationContext context, string resource, Action action)
        {
            if (!await TestAsync(context, resource, action).ConfigureAwait(false))
            {
                throw new PluginException(ErrorCode.PermissionDenied,
                    $"'{Current?.User.Name}' may not {action.ToSeedValue()} '{resource}'.",
                    errorId: "PermissionDenied", target: resource);
            }
        }

        /// <summary>What <c>Get-TransferSession</c> shows.</summary>
        public SessionInfo Describe()
        {
            var current = Current;
            if (current is null)
            {
                var anyAuth = RegisteredAuthPlugins().Length > 0;
                return new SessionInfo
                {
                    User = anyAuth ? "" : Environment.UserName,
                    UserId = anyAuth ? "" : Environment.UserName,
                    Roles = anyAuth ? Array.Empty<string>() : new[] { "Admin" },
                    IsAuthenticated = !anyAuth,
                    HomeDirectory = _session.HomeDirectory,
                };
            }

            return new SessionInfo
            {
                User = current.User.Name,
                UserId = current.User.Id,
                Roles = current.User.Roles.ToArray(),
                Plugin = _pluginName,
                ExpiresAt = current.ExpiresAt,
                IsAuthenticated = current.ExpiresAt > DateTimeOffset.UtcNow,
                CanRefresh = !string.IsNullOrEmpty(current.RefreshToken),
                HomeDirectory = _session.HomeDirectory,
            };
        }

        private void Set(string name, AuthResult result)
        {
            lock (_gate)
            {
                _current = result;
                _pluginName = name;
            }
        }

        private (string Name, AuthResult Current) RequireCurrent()
        {
            lock (_gate)
            {
                if (_current is null || _pluginName is null)
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed,
                        "This session is not signed in. Run Connect-TransferService first.",
                        errorId: "NotConnected");
                }

                return (_pluginName, _current);
            }
        }

        private string ResolvePlugin(string? pluginName)
        {
            if (!string.IsNullOrEmpty(pluginName))
            {
                return pluginName!;
            }

            var names = RegisteredAuthPlugins();
            return names.Length switch
            {
                0 => throw new PluginException(ErrorCode.PluginNotFound,
                    "No auth plugin is registered: the session already acts as the local user. Register-TransferPlugin -Type LocalUsers or Oidc to require sign-in.",
                    errorId: "NoAuthPlugin"),
                1 => names[0],
                _ => throw new PluginException(ErrorCode.InvalidArgument,
                    $"Several auth plugins are registered ({string.Join(", ", names)}); choose one with -Plugin.",
                    errorId: "AuthPluginAmbiguous"),
            };
        }
    }
}
