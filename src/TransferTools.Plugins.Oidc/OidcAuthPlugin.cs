using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Duende.IdentityModel.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Plugins.Oidc
{
    /// <summary>
    /// The built-in <c>Oidc</c> auth plugin: OpenID Connect discovery, client credentials, device code, refresh and
    /// revocation against the provider; access tokens (JWT) validated against the provider's JWKS (signature, issuer,
    /// audience, expiry); scope and role claims mapped to actions through the <c>ActionMap</c> setting.
    /// </summary>
    /// <remarks>
    /// Configuration: <c>Authority</c> (required), <c>Audience</c> (required), <c>ClientId</c> (device code default),
    /// <c>ClientSecret</c> (stored protected), <c>Scope</c>, <c>Resource</c>, <c>RoleClaim</c> (default <c>roles</c>),
    /// <c>ActionMap</c> (<c>scope-or-role=action[,action];...</c>), <c>ClientAuthentication</c> (<c>basic</c>|<c>post</c>),
    /// <c>RequireHttps</c> (http is allowed for loopback authorities only, unless this is false), <c>ClockSkewSeconds</c>,
    /// <c>HttpTimeoutSeconds</c>.
    /// </remarks>
    [TransferPlugin("Oidc", PluginType.Auth,
        Description = "OpenID Connect: client credentials, device code, refresh; tokens validated against the provider's JWKS.",
        SecretKeys = new[] { "ClientSecret" })]
    public sealed class OidcAuthPlugin : IAuthPlugin, IDisposable
    {
        private static readonly string[] ProtocolScopes = { "openid", "offline_access", "profile", "email", "address", "phone" };
        private readonly JsonWebTokenHandler _handler = new JsonWebTokenHandler { MapInboundClaims = false };
        private readonly ConcurrentDictionary<string, Validated> _validated = new ConcurrentDictionary<string, Validated>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, ClientCredentials> _clients = new ConcurrentDictionary<string, ClientCredentials>(StringComparer.Ordinal);
        // Tokens revoked through this instance, until they expire: many providers cannot revoke JWT access tokens
        // (they stay valid by signature), so this instance at least refuses them from then on.
        private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        private readonly SemaphoreSlim _keysGate = new SemaphoreSlim(1, 1);
        private OidcSettings _settings = new OidcSettings();
        private HttpClient? _http;
        private DiscoveryDocumentResponse? _discovery;
        private IList<SecurityKey> _keys = new List<SecurityKey>();
        private DateTimeOffset _keysFetchedAt;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(OidcAuthPlugin), "TransferTools contributors", "MIT");

        /// <summary>The provider's issuer, from discovery.</summary>
        public string? Issuer => _discovery?.Issuer;

        /// <summary>True when the provider offers token revocation.</summary>
        public bool SupportsRevocation => !string.IsNullOrEmpty(_discovery?.RevocationEndpoint);

        private HttpClient Http => _http ?? throw new PluginException(ErrorCode.LifecycleError, "The Oidc plugin is not initialized.", errorId: "PluginNotInitialized");
        private DiscoveryDocumentResponse Discovery => _discovery ?? throw new PluginException(ErrorCode.LifecycleError, "The Oidc plugin is not initialized.", errorId: "PluginNotInitialized");

        /// <inheritdoc/>
        public async Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            _settings = OidcSettings.Parse(config);
            _http = new HttpClient(new HttpClientHandler()) { Timeout = _settings.HttpTimeout };
            var request = new DiscoveryDocumentRequest
            {
                Address = _settings.Authority.ToString().TrimEnd('/'),
                Policy = new DiscoveryPolicy
                {
                    RequireHttps = _settings.RequireHttps,
                    AllowHttpOnLoopback = true,
                    ValidateIssuerName = true,
                    ValidateEndpoints = true,
                    RequireKeySet = true,
                },
            };
            var discovery = await Call(() => _http.GetDiscoveryDocumentAsync(request, context.CancellationToken), context).ConfigureAwait(false);
            if (discovery.IsError)
            {
                throw new PluginException(discovery.ErrorType == ResponseErrorType.Http || discovery.ErrorType == ResponseErrorType.Exception ? ErrorCode.ConnectionError : ErrorCode.InvalidConfiguration,
                    $"OpenID Connect discovery at '{_settings.Authority}' failed: {discovery.Error}", discovery.Exception, "OidcDiscoveryFailed", _settings.Authority.ToString());
            }

            _discovery = discovery;
            await LoadKeysAsync(context, force: true).ConfigureAwait(false);
            context.Logger.Log(LogLevel.Verbose,
                $"Oidc: discovered '{discovery.Issuer}' (device code: {(discovery.DeviceAuthorizationEndpoint is null ? "no" : "yes")}, revocation: {(SupportsRevocation ? "yes" : "no")}, {_keys.Count} signing key(s)).");
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context)
        {
            Dispose();
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            _http?.Dispose();
            _revoked.Clear();
            _http = null;
            _validated.Clear();
            _clients.Clear();
        }

        /// <inheritdoc/>
        public async Task<AuthResult> AuthenticateAsync(OperationContext context, AuthRequest request)
        {
            switch (request.Type)
            {
                case AuthType.Password:
                case AuthType.ClientCredentials:
                    return await ClientCredentialsAsync(context,
                        request.Oidc.ClientId ?? request.Username, request.Oidc.ClientSecret ?? request.Password, request.Oidc.Scope).ConfigureAwait(false);
                case AuthType.DeviceCode:
                    return await DeviceCodeAsync(context, request.Oidc).ConfigureAwait(false);
                case AuthType.Token:
                    var validated = await ValidateAsync(context, request.Token ?? "").ConfigureAwait(false);
                    return new AuthResult { Token = request.Token!, ExpiresAt = validated.ExpiresAt, User = validated.User };
                default:
                    throw new PluginException(ErrorCode.NotSupported, $"Oidc does not sign in with {request.Type}.", errorId: "AuthTypeNotSupported");
            }
        }

        /// <inheritdoc/>
        public async Task<bool> AuthorizeAsync(OperationContext context, string token, string resource, Action action)
        {
            var validated = await ValidateAsync(context, token).ConfigureAwait(false);
            var allowed = validated.Actions.Contains(action);
            context.Logger.Log(LogLevel.Debug, $"Oidc: '{validated.User.Name}' {(allowed ? "may" : "may not")} {action.ToSeedValue()} '{resource}'.");
            return allowed;
        }

        /// <inheritdoc/>
        public async Task<AuthResult> RefreshAsync(OperationContext context, string token)
        {
            if (LooksLikeJwt(token))
            {
                // An access token: a client-credentials sign-in is renewed by asking again with the same client.
                if (_clients.TryGetValue(Fingerprint(token), out var client))
                {
                    return await ClientCredentialsAsync(context, client.ClientId, client.ClientSecret, client.Scope).ConfigureAwait(false);
                }

                throw new PluginException(ErrorCode.AuthenticationFailed,
                    "This sign-in has no refresh token. Run Connect-TransferService again.", errorId: "NoRefreshToken");
            }

            _clients.TryGetValue(Fingerprint(token), out var owner);
            var request = new RefreshTokenRequest
            {
                Address = Discovery.TokenEndpoint,
                ClientId = owner?.ClientId ?? _settings.ClientId ?? "",
                ClientSecret = owner?.ClientSecret ?? _settings.ClientSecret,
                ClientCredentialStyle = StyleFor(owner?.ClientSecret ?? _settings.ClientSecret),
                RefreshToken = token,
            };
            var response = await Call(() => Http.RequestRefreshTokenAsync(request, context.CancellationToken), context).ConfigureAwait(false);
            if (response.IsError)
            {
                throw TokenError(response, "refresh", "RefreshFailed");
            }

            _clients.TryRemove(Fingerprint(token), out _);
            return await ResultAsync(context, response, owner?.ClientId ?? _settings.ClientId ?? "", null, null).ConfigureAwait(false);
        }

        /// <inheritdoc/>
        public async Task RevokeAsync(OperationContext context, string token)
        {
            var key = Fingerprint(token);
            _clients.TryRemove(key, out var owner);
            var expiresAt = _validated.TryRemove(key, out var known) ? known.ExpiresAt : DateTimeOffset.UtcNow.AddDays(1);
            foreach (var stale in _revoked.Where(r => r.Value < DateTimeOffset.UtcNow - _settings.ClockSkew).ToList())
            {
                _revoked.TryRemove(stale.Key, out _);
            }

            _revoked[key] = expiresAt;
            if (!SupportsRevocation)
            {
                context.Logger.Log(LogLevel.Verbose, "Oidc: the provider offers no revocation endpoint; the token stays valid until it expires.");
                return;
            }

            var request = new TokenRevocationRequest
            {
                Address = Discovery.RevocationEndpoint,
                ClientId = owner?.ClientId ?? _settings.ClientId ?? "",
                ClientSecret = owner?.ClientSecret ?? _settings.ClientSecret,
                ClientCredentialStyle = StyleFor(owner?.ClientSecret ?? _settings.ClientSecret),
                Token = token,
                TokenTypeHint = LooksLikeJwt(token) ? "access_token" : "refresh_token",
            };
            var response = await Call(() => Http.RevokeTokenAsync(request, context.CancellationToken), context).ConfigureAwait(false);
            if (response.IsError && response.Error == "unsupported_token_type")
            {
                // RFC 7009 2.2.1: the provider cannot revoke this kind of token (oidc-provider and others: JWT access
                // tokens). Signing out must still work; the token is refused here and expires on its own.
                context.Logger.Log(LogLevel.Verbose, "Oidc: the provider cannot revoke this token type; it is refused by this session and expires on its own.");
                return;
            }

            if (response.IsError)
            {
                throw new PluginException(response.ErrorType == ResponseErrorType.Http && (int)response.HttpStatusCode >= 500 || response.ErrorType == ResponseErrorType.Exception
                        ? ErrorCode.ConnectionError : ErrorCode.AuthenticationFailed,
                    $"The provider refused to revoke the token: {response.Error}", response.Exception, "RevocationFailed");
            }

            context.Logger.Log(LogLevel.Verbose, "Oidc: token revoked at the provider.");
        }

        private async Task<AuthResult> ClientCredentialsAsync(OperationContext context, string? clientId, string? secret, string? scope)
        {
            if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    "Client credentials need the client id as user name and the client secret as password (-Credential).", errorId: "CredentialMissing");
            }

            var requested = ResourceScopes(scope ?? _settings.Scope);
            var request = new ClientCredentialsTokenRequest
            {
                Address = Discovery.TokenEndpoint,
                ClientId = clientId!,
                ClientSecret = secret,
                ClientCredentialStyle = StyleFor(secret),
                Scope = requested,
            };
            AddResource(request.Parameters);
            var response = await Call(() => Http.RequestClientCredentialsTokenAsync(request, context.CancellationToken), context).ConfigureAwait(false);
            if (response.IsError)
            {
                throw TokenError(response, "client credentials sign-in", "InvalidCredentials");
            }

            return await ResultAsync(context, response, clientId!, secret, scope).ConfigureAwait(false);
        }

        private async Task<AuthResult> DeviceCodeAsync(OperationContext context, OidcCredentials credentials)
        {
            var clientId = credentials.ClientId ?? _settings.ClientId ?? throw new PluginException(ErrorCode.InvalidArgument,
                "The device code flow needs a client id: -ClientId, or ClientId in the registration's configuration.", errorId: "ClientIdMissing");
            if (string.IsNullOrEmpty(Discovery.DeviceAuthorizationEndpoint))
            {
                throw new PluginException(ErrorCode.NotSupported, $"The provider '{Discovery.Issuer}' offers no device authorization endpoint.", errorId: "DeviceCodeNotSupported");
            }

            var authorize = new DeviceAuthorizationRequest
            {
                Address = Discovery.DeviceAuthorizationEndpoint,
                ClientId = clientId,
                ClientSecret = _settings.ClientSecret,
                ClientCredentialStyle = StyleFor(_settings.ClientSecret),
                Scope = credentials.Scope ?? _settings.Scope,
            };
            AddResource(authorize.Parameters);
            var device = await Call(() => Http.RequestDeviceAuthorizationAsync(authorize, context.CancellationToken), context).ConfigureAwait(false);
            if (device.IsError)
            {
                throw new PluginException(device.ErrorType == ResponseErrorType.Protocol ? ErrorCode.AuthenticationFailed : ErrorCode.ConnectionError,
                    $"The provider refused the device authorization request: {device.Error} {device.ErrorDescription}".TrimEnd(), device.Exception, "DeviceAuthorizationFailed");
            }

            // RFC 8628 requires all three; without them there is nothing to show the user or to poll with.
            if (device.DeviceCode is null || device.UserCode is null || device.VerificationUri is null)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    "The provider's device authorization answer lacks a device_code, user_code or verification_uri.", errorId: "DeviceAuthorizationFailed");
            }

            var deviceCode = device.DeviceCode;
            var expiresAt = DateTimeOffset.UtcNow.AddSeconds(device.ExpiresIn ?? 300);
            var prompt = new DeviceCodePrompt
            {
                UserCode = device.UserCode,
                VerificationUri = device.VerificationUri,
                VerificationUriComplete = device.VerificationUriComplete,
                ExpiresAt = expiresAt,
            };
            if (credentials.DeviceCodeCallback != null)
            {
                credentials.DeviceCodeCallback(prompt);
            }
            else
            {
                context.Logger.Log(LogLevel.Warning, prompt.ToString());
            }

            var interval = TimeSpan.FromSeconds(Math.Max(1, device.Interval));
            while (true)
            {
                if (DateTimeOffset.UtcNow >= expiresAt)
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed, $"The device code expired at {expiresAt:u} before it was approved.", errorId: "DeviceCodeExpired");
                }

                await Task.Delay(interval, context.CancellationToken).ConfigureAwait(false);
                var poll = new DeviceTokenRequest
                {
                    Address = Discovery.TokenEndpoint,
                    ClientId = clientId,
                    ClientSecret = _settings.ClientSecret,
                    ClientCredentialStyle = StyleFor(_settings.ClientSecret),
                    DeviceCode = deviceCode,
                };
                var response = await Call(() => Http.RequestDeviceTokenAsync(poll, context.CancellationToken), context).ConfigureAwait(false);
                if (!response.IsError)
                {
                    return await ResultAsync(context, response, clientId, null, null).ConfigureAwait(false);
                }

                switch (response.Error)
                {
                    case "authorization_pending":
                        continue;
                    case "slow_down":
                        interval += TimeSpan.FromSeconds(5);
                        continue;
                    case "access_denied":
                        throw new PluginException(ErrorCode.AuthenticationFailed, "The sign-in was denied at the provider.", errorId: "DeviceCodeDenied");
                    case "expired_token":
                        throw new PluginException(ErrorCode.AuthenticationFailed, "The device code expired before it was approved. Run Connect-TransferService -DeviceCode again.", errorId: "DeviceCodeExpired");
                    default:
                        throw TokenError(response, "device code sign-in", "DeviceCodeFailed");
                }
            }
        }

        private async Task<AuthResult> ResultAsync(OperationContext context, TokenResponse response, string clientId, string? secret, string? scope)
        {
            var validated = await ValidateAsync(context, response.AccessToken ?? "").ConfigureAwait(false);
            if (secret != null)
            {
                _clients[Fingerprint(response.AccessToken!)] = new ClientCredentials(clientId, secret, scope);
            }

            if (response.RefreshToken is { Length: > 0 } refreshToken)
            {
                _clients[Fingerprint(refreshToken)] = new ClientCredentials(clientId, null, null);
            }

            return new AuthResult
            {
                Token = response.AccessToken!,
                ExpiresAt = validated.ExpiresAt,
                RefreshToken = string.IsNullOrEmpty(response.RefreshToken) ? null : response.RefreshToken,
                User = validated.User,
            };
        }

        /// <summary>Checks signature (JWKS), issuer, audience and expiry, and maps claims to a user and actions.</summary>
        private async Task<Validated> ValidateAsync(OperationContext context, string token)
        {
            var key = Fingerprint(token);
            if (_revoked.ContainsKey(key))
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, "The access token was revoked (signed out). Run Connect-TransferService again.", errorId: "TokenRevoked");
            }

            if (_validated.TryGetValue(key, out var cached) && cached.ExpiresAt > DateTimeOffset.UtcNow - _settings.ClockSkew)
            {
                return cached;
            }

            if (!LooksLikeJwt(token))
            {
                throw Invalid("it is not a JWT access token", null);
            }

            var result = await _handler.ValidateTokenAsync(token, Parameters()).ConfigureAwait(false);
            if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException
                && DateTimeOffset.UtcNow - _keysFetchedAt > TimeSpan.FromSeconds(30))
            {
                // The provider may have rotated its keys: fetch the JWKS again, once.
                await LoadKeysAsync(context, force: true).ConfigureAwait(false);
                result = await _handler.ValidateTokenAsync(token, Parameters()).ConfigureAwait(false);
            }

            if (!result.IsValid)
            {
                if (result.Exception is SecurityTokenExpiredException)
                {
                    _validated.TryRemove(key, out _);
                    throw new PluginException(ErrorCode.AuthenticationFailed,
                        "The access token expired. Run Update-TransferSession or Connect-TransferService.", errorId: "TokenExpired");
                }

                throw Invalid(Describe(result.Exception), result.Exception);
            }

            var jwt = (JsonWebToken)result.SecurityToken;
            var validated = Map(jwt);
            _validated[key] = validated;
            return validated;
        }

        private TokenValidationParameters Parameters() => new TokenValidationParameters
        {
            ValidIssuer = Discovery.Issuer,
            ValidAudience = _settings.Audience,
            IssuerSigningKeys = _keys,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = _settings.ClockSkew,
            ValidAlgorithms = new[] { "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA" },
        };

        private Validated Map(JsonWebToken jwt)
        {
            var granted = new List<string>();
            foreach (var claimType in new[] { "scope", "scp" })
            {
                granted.AddRange(jwt.Claims.Where(c => c.Type == claimType).SelectMany(c => c.Value.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries)));
            }

            var roles = jwt.Claims.Where(c => c.Type == _settings.RoleClaim).SelectMany(c => c.Value.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries)).ToList();
            var mappedScopes = granted.Where(_settings.ActionMap.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
            var mappedRoles = roles.Where(_settings.ActionMap.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
            var mapped = mappedScopes.Concat(mappedRoles).Distinct(StringComparer.Ordinal).ToList();
            var actions = EffectiveActions(mappedScopes, mappedRoles);
            string? Claim(string type) => jwt.TryGetPayloadValue<string>(type, out var v) && !string.IsNullOrEmpty(v) ? v : null;
            var subject = Claim("sub") ?? Claim("client_id") ?? "";
            return new Validated
            {
                ExpiresAt = jwt.ValidTo == DateTime.MinValue ? DateTimeOffset.UtcNow : new DateTimeOffset(DateTime.SpecifyKind(jwt.ValidTo, DateTimeKind.Utc)),
                Actions = actions,
                User = new User
                {
                    Id = subject,
                    Name = Claim("preferred_username") ?? Claim("name") ?? (subject.Length > 0 ? subject : Claim("client_id") ?? ""),
                    Roles = mapped.ToArray(),
                    Scopes = Array.Empty<string>(),
                },
            };
        }

        /// <summary>
        /// What a token may do. Scopes say what the user delegated to this client; roles say what the user may do at
        /// all. When a token carries both, it gets only what both allow, so a Reader cannot write by asking for the
        /// write scope; a token with only one kind (client credentials carry no roles) gets what that kind allows.
        /// </summary>
        private HashSet<Action> EffectiveActions(IReadOnlyCollection<string> scopes, IReadOnlyCollection<string> roles)
        {
            var byScope = new HashSet<Action>(scopes.SelectMany(m => _settings.ActionMap[m]));
            var byRole = new HashSet<Action>(roles.SelectMany(m => _settings.ActionMap[m]));
            if (scopes.Count == 0)
            {
                return byRole;
            }

            if (roles.Count > 0)
            {
                byScope.IntersectWith(byRole);
            }

            return byScope;
        }

        private async Task LoadKeysAsync(OperationContext context, bool force)
        {
            await _keysGate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                if (!force && _keys.Count > 0)
                {
                    return;
                }

                using var response = await Call(() => Http.GetAsync(Discovery.JwksUri, context.CancellationToken), context).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new PluginException(ErrorCode.ConnectionError, $"The provider's JWKS at '{Discovery.JwksUri}' answered {(int)response.StatusCode}.", errorId: "JwksUnavailable");
                }

                var json = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                _keys = new JsonWebKeySet(json).GetSigningKeys();
                _keysFetchedAt = DateTimeOffset.UtcNow;
            }
            finally
            {
                _keysGate.Release();
            }
        }

        /// <summary>Public clients (no secret) send their id in the body; confidential ones use Basic unless configured for post.</summary>
        private ClientCredentialStyle StyleFor(string? secret) =>
            string.IsNullOrEmpty(secret) || _settings.ClientSecretInBody ? ClientCredentialStyle.PostBody : ClientCredentialStyle.AuthorizationHeader;

        private void AddResource(Parameters parameters)
        {
            if (!string.IsNullOrEmpty(_settings.Resource))
            {
                parameters.Add("resource", _settings.Resource!);
            }
        }

        /// <summary>Client credentials cannot ask for OpenID or offline scopes; keep the resource scopes only.</summary>
        private static string ResourceScopes(string scope) =>
            string.Join(" ", scope.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries).Where(s => !ProtocolScopes.Contains(s, StringComparer.Ordinal)));

        private static async Task<T> Call<T>(Func<Task<T>> call, OperationContext context)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
            {
                throw new PluginException(ErrorCode.Timeout, "The identity provider did not answer in time.", errorId: "OidcTimeout");
            }
            catch (HttpRequestException e)
            {
                throw new PluginException(ErrorCode.ConnectionError, $"The identity provider could not be reached: {e.Message}", e, "OidcUnreachable");
            }
        }

        private static PluginException TokenError(TokenResponse response, string what, string errorId)
        {
            if (response.ErrorType == ResponseErrorType.Exception || response.ErrorType == ResponseErrorType.Http && (int)response.HttpStatusCode >= 500)
            {
                return new PluginException(ErrorCode.ConnectionError, $"The identity provider failed the {what}: {response.Error}", response.Exception, "OidcUnreachable");
            }

            return new PluginException(ErrorCode.AuthenticationFailed,
                $"The identity provider refused the {what}: {response.Error}" + (string.IsNullOrEmpty(response.ErrorDescription) ? "" : $" ({response.ErrorDescription})") + ".",
                errorId: errorId);
        }

        private static string Describe(Exception? e) => e switch
        {
            SecurityTokenInvalidAudienceException _ => "it was issued for another audience",
            SecurityTokenInvalidIssuerException _ => "it was issued by another provider",
            SecurityTokenSignatureKeyNotFoundException _ => "it is signed with a key the provider does not publish",
            SecurityTokenInvalidSignatureException _ => "its signature is not valid",
            SecurityTokenMalformedException _ => "it is malformed",
            SecurityTokenNoExpirationException _ => "it has no expiry",
            _ => "it could not be validated",
        };

        private static PluginException Invalid(string why, Exception? cause) => new PluginException(ErrorCode.AuthenticationFailed,
            $"The access token is not valid: {why}. Run Connect-TransferService again.", null, "InvalidToken");

        private static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2 && token.StartsWith("eyJ", StringComparison.Ordinal);

        private static string Fingerprint(string token)
        {
            using var sha = SHA256.Create();
            return Convert.ToBase64String(sha.ComputeHash(Encoding.UTF8.GetBytes(token)));
        }

        private sealed class Validated
        {
            public DateTimeOffset ExpiresAt;
            public HashSet<Action> Actions = new HashSet<Action>();
            public User User = new User();
        }

        private sealed class ClientCredentials
        {
            public ClientCredentials(string clientId, string? clientSecret, string? scope)
            {
                ClientId = clientId;
                ClientSecret = clientSecret;
                Scope = scope;
            }

            public string ClientId { get; }
            public string? ClientSecret { get; }
            public string? Scope { get; }
        }
    }
}
