using System;
using System.Linq;
using System.Threading;
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
        /// <summary>The resource scopes the user is limited to (empty: no limit beyond the roles).</summary>
        public string[] Scopes { get; set; } = Array.Empty<string>();
        /// <summary>The auth plugin, or null for the local OS user.</summary>
        public string? Plugin { get; set; }
        /// <summary>When this session signed in (or last refreshed), or null.</summary>
        public DateTimeOffset? SignedInAt { get; set; }
        /// <summary>When the access token expires, or null.</summary>
        public DateTimeOffset? ExpiresAt { get; set; }
        /// <summary>True when the session can act: signed in with an unexpired token (or one it can refresh), or no auth plugin registered.</summary>
        public bool IsAuthenticated { get; set; }
        /// <summary>True when a refresh token is held (the engine refreshes by itself shortly before expiry).</summary>
        public bool CanRefresh { get; set; }
        /// <summary>The registered auth plugins.</summary>
        public string[] AuthPlugins { get; set; } = Array.Empty<string>();
        /// <summary>The home root.</summary>
        public string HomeDirectory { get; set; } = "";

        /// <inheritdoc/>
        public override string ToString() => Plugin is null ? User : $"{User} ({Plugin})";
    }

    /// <summary>The session's identity and the authorization gate every operation passes.</summary>
    /// <remarks>With no auth plugin registered the session is the local OS user with full rights; once one is,
    /// every operation needs <c>Connect-TransferService</c>. The token is held here, in memory only.</remarks>
    public sealed class AuthService
    {
        private readonly TransferSession _session;
        private readonly object _gate = new object();
        private readonly SemaphoreSlim _refreshGate = new SemaphoreSlim(1, 1);
        private AuthResult? _current;
        private string? _pluginName;
        private DateTimeOffset _signedInAt;

        /// <summary>Creates the service for a session.</summary>
        public AuthService(TransferSession session)
        {
            _session = session;
            Users = new UserService(session);
        }

        /// <summary>User administration (New/Get/Set/Remove-TransferUser).</summary>
        public UserService Users { get; }

        /// <summary>How long before expiry the engine refreshes by itself (at most a quarter of the token's lifetime). Default 2 minutes.</summary>
        public TimeSpan RefreshAhead { get; set; } = TimeSpan.FromMinutes(2);

        /// <summary>The clock; tests move it instead of sleeping.</summary>
        internal Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

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
        public string? PluginName
        {
            get
            {
                lock (_gate)
                {
                    return _pluginName;
                }
            }
        }

        /// <summary>The registered auth plugins' names.</summary>
        public string[] RegisteredAuthPlugins() =>
            _session.Plugins.GetRegistrations().Where(r => r.Kind == PluginType.Auth).Select(r => r.Name).ToArray();

        /// <summary>True when at least one auth plugin is registered, so operations need a signed-in session.</summary>
        public bool IsEnforced => RegisteredAuthPlugins().Length > 0;

        /// <summary>Signs in through <paramref name="pluginName"/> (default: the only registered auth plugin).</summary>
        public async Task<AuthResult> ConnectAsync(OperationContext context, string? pluginName, AuthRequest request)
        {
            var name = ResolvePlugin(pluginName);
            var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
            var result = await plugin.AuthenticateAsync(context, request).ConfigureAwait(false);
            if (result is null || string.IsNullOrEmpty(result.Token))
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, $"The auth plugin '{name}' returned no token.", errorId: "NoTokenIssued", target: name);
            }

            Set(name, result);
            context.Logger.Log(LogLevel.Verbose, $"Signed in as '{result.User.Name}' through '{name}' until {result.ExpiresAt:u}.");
            return result;
        }

        /// <summary>Refreshes the current sign-in (with the refresh token when one is held).</summary>
        public async Task<AuthResult> RefreshAsync(OperationContext context)
        {
            await _refreshGate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                return await RefreshLockedAsync(context).ConfigureAwait(false);
            }
            finally
            {
                _refreshGate.Release();
            }
        }

        /// <summary>Revokes the current tokens and forgets them. Forgets them even when revocation fails.</summary>
        public async Task DisconnectAsync(OperationContext context)
        {
            var (name, current) = RequireCurrent();
            Exception? failure = null;
            try
            {
                var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(current.RefreshToken))
                {
                    try
                    {
                        await plugin.RevokeAsync(context, current.RefreshToken!).ConfigureAwait(false);
                    }
                    catch (PluginException e)
                    {
                        failure = e;
                    }
                }

                try
                {
                    await plugin.RevokeAsync(context, current.Token).ConfigureAwait(false);
                }
                catch (PluginException e) when (e.Code == ErrorCode.AuthenticationFailed)
                {
                    // Already expired or revoked: nothing left to revoke.
                }
            }
            finally
            {
                Clear();
            }

            if (failure != null)
            {
                throw failure;
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
        /// <remarks>Refreshes the token first when it expires within <see cref="RefreshAhead"/> and a refresh token is held.</remarks>
        public async Task<bool> TestAsync(OperationContext context, string resource, Action action)
        {
            if (!IsEnforced)
            {
                return true;
            }

            var (name, current) = await EnsureFreshAsync(context).ConfigureAwait(false);
            var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
            return await plugin.AuthorizeAsync(context, current.Token, resource, action).ConfigureAwait(false);
        }

        /// <summary>Refuses unless the current identity may do <paramref name="action"/> on <paramref name="resource"/>.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AuthenticationFailed"/> with no session; <see cref="ErrorCode.PermissionDenied"/> when refused.</exception>
        public async Task DemandAsync(OperationContext context, string resource, Action action)
        {
            if (!await TestAsync(context, resource, action).ConfigureAwait(false))
            {
                var user = Current?.User ?? new User();
                var roles = user.Roles.Count == 0 ? "no roles" : "roles " + string.Join(", ", user.Roles);
                var scopes = user.Scopes.Count == 0 ? "" : $"; limited to {string.Join(", ", user.Scopes)}";
                throw new PluginException(ErrorCode.PermissionDenied,
                    $"'{user.Name}' may not {action.ToSeedValue()} '{Validation.Printable(resource)}' ({roles}{scopes}). Ask an Admin for a role or scope that allows it.",
                    errorId: "PermissionDenied", target: resource);
            }
        }

        /// <summary>What <c>Get-TransferSession</c> shows.</summary>
        public SessionInfo Describe()
        {
            var plugins = RegisteredAuthPlugins();
            AuthResult? current;
            string? name;
            DateTimeOffset signedInAt;
            lock (_gate)
            {
                current = _current;
                name = _pluginName;
                signedInAt = _signedInAt;
            }

            if (current is null)
            {
                var anyAuth = plugins.Length > 0;
                return new SessionInfo
                {
                    User = anyAuth ? "" : Environment.UserName,
                    UserId = anyAuth ? "" : Environment.UserName,
                    Roles = anyAuth ? Array.Empty<string>() : new[] { Roles.Admin },
                    IsAuthenticated = !anyAuth,
                    AuthPlugins = plugins,
                    HomeDirectory = _session.HomeDirectory,
                };
            }

            var canRefresh = !string.IsNullOrEmpty(current.RefreshToken);
            return new SessionInfo
            {
                User = current.User.Name,
                UserId = current.User.Id,
                Roles = current.User.Roles.ToArray(),
                Scopes = current.User.Scopes.ToArray(),
                Plugin = name,
                SignedInAt = signedInAt,
                ExpiresAt = current.ExpiresAt,
                IsAuthenticated = current.ExpiresAt > Clock() || canRefresh,
                CanRefresh = canRefresh,
                AuthPlugins = plugins,
                HomeDirectory = _session.HomeDirectory,
            };
        }

        /// <summary>The current sign-in, refreshed first when it is about to expire (or has) and a refresh token is held.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AuthenticationFailed"/>: not signed in, or expired with no way to refresh.</exception>
        public async Task<(string Plugin, AuthResult Result)> EnsureFreshAsync(OperationContext context)
        {
            var (name, current) = RequireCurrent();
            if (!IsDue(current))
            {
                return (name, current);
            }

            await _refreshGate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                (name, current) = RequireCurrent();
                if (!IsDue(current))
                {
                    return (name, current); // another thread refreshed while this one waited
                }

                // Without a refresh token the plugin may still renew (an OIDC client-credentials sign-in asks again).
                var expired = current.ExpiresAt <= Clock();
                try
                {
                    var refreshed = await RefreshLockedAsync(context).ConfigureAwait(false);
                    context.Logger.Log(LogLevel.Verbose, $"Refreshed the session of '{refreshed.User.Name}' (now valid until {refreshed.ExpiresAt:u}).");
                    return (name, refreshed);
                }
                catch (PluginException e) when (e.Code == ErrorCode.AuthenticationFailed || e.Code == ErrorCode.ConnectionError
                                                || e.Code == ErrorCode.Timeout || e.Code == ErrorCode.NotSupported)
                {
                    if (expired)
                    {
                        throw Expired(current, e);
                    }

                    // Still valid for a little while: carry on and try again at the next operation.
                    context.Logger.Log(string.IsNullOrEmpty(current.RefreshToken) ? LogLevel.Verbose : LogLevel.Warning, $"Could not refresh the session before it expires at {current.ExpiresAt:u}: {e.Message}");
                    return (name, current);
                }
            }
            finally
            {
                _refreshGate.Release();
            }
        }

        private async Task<AuthResult> RefreshLockedAsync(OperationContext context)
        {
            var (name, current) = RequireCurrent();
            var plugin = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
            var result = await plugin.RefreshAsync(context, current.RefreshToken ?? current.Token).ConfigureAwait(false);
            if (string.IsNullOrEmpty(result.RefreshToken) && !string.IsNullOrEmpty(current.RefreshToken) && result.Token != current.Token)
            {
                // Providers that do not rotate refresh tokens return none: keep the one we have.
                result.RefreshToken = current.RefreshToken;
            }

            Set(name, result);
            return result;
        }

        private bool IsDue(AuthResult current)
        {
            DateTimeOffset signedInAt;
            lock (_gate)
            {
                signedInAt = _signedInAt;
            }

            var lifetime = current.ExpiresAt - signedInAt;
            var ahead = lifetime > TimeSpan.Zero && TimeSpan.FromTicks(lifetime.Ticks / 4) < RefreshAhead
                ? TimeSpan.FromTicks(lifetime.Ticks / 4)
                : RefreshAhead;
            return current.ExpiresAt - Clock() <= ahead;
        }

        private static PluginException Expired(AuthResult current, Exception? cause) => new PluginException(ErrorCode.AuthenticationFailed,
            $"The session of '{current.User.Name}' expired at {current.ExpiresAt:u}" + (cause is null ? "" : " and could not be refreshed") +
            ". Run Connect-TransferService again.", cause, "SessionExpired");

        private void Set(string name, AuthResult result)
        {
            lock (_gate)
            {
                _current = result;
                _pluginName = name;
                _signedInAt = Clock();
            }
        }

        private (string Name, AuthResult Current) RequireCurrent()
        {
            string? name;
            AuthResult? current;
            lock (_gate)
            {
                name = _pluginName;
                current = _current;
            }

            if (current is null || name is null)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    "This session is not signed in, and an auth plugin is registered. Run Connect-TransferService first.",
                    errorId: "NotConnected");
            }

            if (!RegisteredAuthPlugins().Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                Clear();
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    $"The auth plugin '{name}' this session signed in through is no longer registered. Run Connect-TransferService again.",
                    errorId: "NotConnected");
            }

            return (name, current);
        }

        private string ResolvePlugin(string? pluginName)
        {
            var names = RegisteredAuthPlugins();
            if (!string.IsNullOrEmpty(pluginName))
            {
                return names.FirstOrDefault(n => string.Equals(n, pluginName, StringComparison.OrdinalIgnoreCase)) ?? throw new PluginException(
                    ErrorCode.PluginNotFound,
                    $"No auth plugin named '{pluginName}' is registered" + (names.Length == 0 ? "." : $"; registered: {string.Join(", ", names)}."),
                    errorId: "AuthPluginNotFound", target: pluginName);
            }

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
