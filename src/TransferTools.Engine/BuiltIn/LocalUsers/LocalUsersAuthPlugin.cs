using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Security;
using Action = TransferTools.Abstractions.Action;
using TransferTools.Engine.Auth;

namespace TransferTools.Engine.BuiltIn.LocalUsers
{
    /// <summary>
    /// The built-in <c>LocalUsers</c> auth plugin: accounts in the registration's data folder under the home root,
    /// PBKDF2-HMAC-SHA256 password hashes (at least 600,000 iterations), roles and resource scopes, HMAC-signed expiring
    /// access tokens with rotated refresh tokens, a persisted revocation list, and throttling of repeated failed sign-ins.
    /// </summary>
    /// <remarks>
    /// Configuration (all optional): <c>AccessTokenLifetime</c> (seconds, default 900), <c>RefreshTokenLifetime</c>
    /// (seconds, default 43200), <c>PasswordIterations</c> (default and minimum 600000), <c>MinPasswordLength</c>
    /// (default 8), <c>MaxFailedSignIns</c> (default 5), <c>LockoutSeconds</c> (first lockout, default 30, doubling),
    /// <c>MaxLockoutSeconds</c> (default 900).
    /// </remarks>
    [TransferPlugin("LocalUsers", PluginType.Auth,
        Description = "Users under the TransferTools home with PBKDF2 password hashes, roles and signed tokens.")]
    public sealed class LocalUsersAuthPlugin : IAuthPlugin, IUserDirectory
    {
        private static readonly Regex UserName = new Regex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", RegexOptions.CultureInvariant);
        private static readonly object DummyGate = new object();
        private static string? _dummyHash;

        private LocalUserStore? _store;
        private LocalTokenCodec? _codec;
        private string _registrationName = "LocalUsers";
        private TimeSpan _accessLifetime = TimeSpan.FromMinutes(15);
        private TimeSpan _refreshLifetime = TimeSpan.FromHours(12);
        private int _iterations = PasswordHasher.MinimumIterations;
        private int _minPasswordLength = 8;

        /// <inheritdoc/>
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(LocalUsersAuthPlugin), "TransferTools contributors", "MIT");

        /// <summary>The sign-in throttling policy (from configuration).</summary>
        public SignInThrottle Throttle { get; } = new SignInThrottle();

        /// <summary>The clock; tests move it instead of sleeping.</summary>
        internal Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

        /// <summary>Lets unit tests hash faster than the production floor; never set from configuration.</summary>
        internal int? IterationsOverrideForTests { get; set; }

        private LocalUserStore Store => _store ?? throw NotInitialized();
        private LocalTokenCodec Codec => _codec ?? throw NotInitialized();
        private int Iterations => IterationsOverrideForTests ?? _iterations;

        /// <inheritdoc/>
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            var host = context.Host ?? throw new PluginException(ErrorCode.LifecycleError,
                "LocalUsers needs the engine's host services (a home directory).", errorId: "HostMissing");
            _registrationName = context.GetValue(PluginHost.RegistrationNameKey) as string ?? "LocalUsers";
            _accessLifetime = TimeSpan.FromSeconds(ReadInt(config, "AccessTokenLifetime", 900, 5, 86400));
            _refreshLifetime = TimeSpan.FromSeconds(ReadInt(config, "RefreshTokenLifetime", 43200, 60, 30 * 86400));
            _iterations = ReadInt(config, "PasswordIterations", PasswordHasher.MinimumIterations, PasswordHasher.MinimumIterations, 10_000_000);
            _minPasswordLength = ReadInt(config, "MinPasswordLength", 8, 8, 256);
            Throttle.FreeAttempts = ReadInt(config, "MaxFailedSignIns", 5, 1, 1000);
            Throttle.BaseLockout = TimeSpan.FromSeconds(ReadInt(config, "LockoutSeconds", 30, 1, 86400));
            Throttle.MaxLockout = TimeSpan.FromSeconds(ReadInt(config, "MaxLockoutSeconds", 900, 1, 7 * 86400));
            if (Throttle.MaxLockout < Throttle.BaseLockout)
            {
                Throttle.MaxLockout = Throttle.BaseLockout;
            }

            var directory = host.GetPluginDataDirectory(_registrationName);
            _store = new LocalUserStore(directory);
            _codec = new LocalTokenCodec(LoadOrCreateKey(host.HomeDirectory, directory));
            context.Logger.Log(LogLevel.Debug, $"LocalUsers '{_registrationName}' keeps its users in '{directory}'.");
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task ShutdownAsync(OperationContext context)
        {
            _store = null;
            _codec = null;
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task<AuthResult> AuthenticateAsync(OperationContext context, AuthRequest request)
        {
            // A sign-in hashes a password for about half a second: Ctrl+C before it starts is honoured.
            context.CancellationToken.ThrowIfCancellationRequested();
            switch (request.Type)
            {
                case AuthType.Password:
                    return Task.FromResult(SignIn(context, request.Username, request.Password));
                case AuthType.Token:
                    return Task.FromResult(AdoptToken(request.Token ?? ""));
                default:
                    throw new PluginException(ErrorCode.NotSupported,
                        $"LocalUsers signs in with -Credential (user name and password) or -Token, not {request.Type}.",
                        errorId: "AuthTypeNotSupported", target: request.Type.ToString());
            }
        }

        /// <inheritdoc/>
        public Task<bool> AuthorizeAsync(OperationContext context, string token, string resource, Action action)
        {
            var (_, user) = ValidateAccess(token);
            var allowed = user.Enabled && Roles.Allow(user.Roles, action) && ResourceScopes.Permits(user.Scopes, resource ?? "");
            context.Logger.Log(LogLevel.Debug,
                $"LocalUsers: '{user.Name}' {(allowed ? "may" : "may not")} {action.ToSeedValue()} '{Validation.Printable(resource)}'.");
            return Task.FromResult(allowed);
        }

        /// <inheritdoc/>
        public Task<AuthResult> RefreshAsync(OperationContext context, string token)
        {
            var claims = Codec.Read(token);
            var now = Clock();
            if (claims.Type == LocalTokenCodec.AccessType)
            {
                var (access, user) = ValidateAccess(token);
                return Task.FromResult(Issue(user, access.SessionId));
            }

            if (claims.Type != LocalTokenCodec.RefreshType)
            {
                throw LocalTokenCodec.Invalid();
            }

            if (claims.Expires <= now)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    $"The refresh token expired at {claims.Expires:u}. Run Connect-TransferService again.", errorId: "RefreshTokenExpired");
            }

            // Check and rotate in one locked step, so two processes refreshing the same token cannot both win.
            var newRefreshId = NewId();
            Store.UpdateState(state =>
            {
                Prune(state, now);
                var family = state.Families.FirstOrDefault(f => f.Id == claims.SessionId);
                if (family is null || family.Revoked)
                {
                    throw Revoked();
                }

                if (!string.Equals(family.RefreshTokenId, claims.TokenId, StringComparison.Ordinal))
                {
                    // A refresh token was used twice: someone else has a copy. End the whole chain.
                    family.Revoked = true;
                    return false;
                }

                family.RefreshTokenId = newRefreshId;
                family.ExpiresAt = now + _refreshLifetime;
                return true;
            }).ThrowIfFalse(() => new PluginException(ErrorCode.AuthenticationFailed,
                "This refresh token was already used, so the sign-in it belongs to has been revoked. Run Connect-TransferService again.",
                errorId: "RefreshTokenReused"));

            var current = FindUser(claims.Subject) ?? throw UserGone();
            RequireUsable(current, claims);
            return Task.FromResult(Build(current, claims.SessionId, newRefreshId, now));
        }

        /// <inheritdoc/>
        public Task RevokeAsync(OperationContext context, string token)
        {
            var claims = Codec.Read(token);
            var now = Clock();
            Store.UpdateState(state =>
            {
                Prune(state, now);
                if (claims.Expires > now && !state.Revoked.Any(r => r.TokenId == claims.TokenId))
                {
                    state.Revoked.Add(new RevokedToken { TokenId = claims.TokenId, ExpiresAt = claims.Expires });
                }

                foreach (var family in state.Families.Where(f => f.Id == claims.SessionId))
                {
                    family.Revoked = true;
                }

                return true;
            });
            context.Logger.Log(LogLevel.Verbose, $"LocalUsers: revoked the sign-in of '{claims.Name}'.");
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public Task<bool> HasUsersAsync(OperationContext context) => Task.FromResult(Store.Users().Count > 0);

        /// <inheritdoc/>
        public Task<IReadOnlyList<UserInfo>> ListUsersAsync(OperationContext context)
        {
            var state = Store.State();
            IReadOnlyList<UserInfo> list = Store.Users().OrderBy(u => u.Name, StringComparer.OrdinalIgnoreCase).Select(u => Describe(u, state)).ToList();
            return Task.FromResult(list);
        }

        /// <inheritdoc/>
        public Task<UserInfo> CreateUserAsync(OperationContext context, string name, string password, IReadOnlyList<string> roles, IReadOnlyList<string> scopes)
        {
            RequireUserName(name);
            RequirePassword(name, password);
            var canonicalRoles = CanonicalRoles(roles);
            var canonicalScopes = (scopes ?? Array.Empty<string>()).Select(ResourceScopes.Validate).Distinct().ToList();
            if (Store.Users().Any(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                throw Exists(name);
            }

            var hash = PasswordHasher.Hash(password, Iterations); // slow: outside the lock
            var now = Clock();
            var record = new LocalUserRecord
            {
                Id = NewId(),
                Name = name,
                Roles = canonicalRoles,
                Scopes = canonicalScopes,
                PasswordHash = hash,
                CreatedAt = now,
                ModifiedAt = now,
                PasswordChangedAt = now,
            };
            Store.UpdateUsers(users =>
            {
                if (users.Any(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase)))
                {
                    throw Exists(name);
                }

                users.Add(record);
                return true;
            });
            context.Logger.Log(LogLevel.Verbose, $"LocalUsers: created '{name}' ({string.Join(", ", canonicalRoles)}).");
            return Task.FromResult(Describe(record, Store.State()));
        }

        /// <inheritdoc/>
        public Task<UserInfo> UpdateUserAsync(OperationContext context, string name, UserChange change)
        {
            var existing = FindUserByName(name) ?? throw NoSuchUser(name);
            var hash = change.Password is null ? null : RequirePassword(existing.Name, change.Password) ? PasswordHasher.Hash(change.Password, Iterations) : null;
            var roles = change.Roles is null ? null : CanonicalRoles(change.Roles);
            var scopes = change.Scopes?.Select(ResourceScopes.Validate).Distinct().ToList();
            var now = Clock();
            var updated = Store.UpdateUsers(users =>
            {
                var user = users.FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase)) ?? throw NoSuchUser(name);
                var wasAdmin = user.Enabled && user.Roles.Contains(Roles.Admin);
                if (roles != null)
                {
                    user.Roles = roles;
                }

                if (scopes != null)
                {
                    user.Scopes = scopes;
                }

                if (change.Enabled.HasValue)
                {
                    user.Enabled = change.Enabled.Value;
                }

                if (hash != null)
                {
                    user.PasswordHash = hash;
                    user.PasswordChangedAt = now;
                }

                if (wasAdmin && !(user.Enabled && user.Roles.Contains(Roles.Admin) && user.Scopes.Count == 0) && !OtherAdminExists(users, user))
                {
                    throw LastAdmin(name);
                }

                user.ModifiedAt = now;
                return user;
            });

            if (hash != null || change.Enabled == false || change.Unlock)
            {
                Store.UpdateState(state =>
                {
                    if (hash != null || change.Enabled == false)
                    {
                        // A new password or a disabled account ends every existing sign-in of the user.
                        foreach (var family in state.Families.Where(f => f.UserId == updated.Id))
                        {
                            family.Revoked = true;
                        }
                    }

                    if (change.Unlock || hash != null)
                    {
                        state.Failures.RemoveAll(f => f.Name == Key(updated.Name));
                    }

                    return true;
                });
            }

            return Task.FromResult(Describe(updated, Store.State()));
        }

        /// <inheritdoc/>
        public Task RemoveUserAsync(OperationContext context, string name)
        {
            var removed = Store.UpdateUsers(users =>
            {
                var user = users.FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase)) ?? throw NoSuchUser(name);
                if (user.Enabled && user.Roles.Contains(Roles.Admin) && !OtherAdminExists(users, user))
                {
                    throw LastAdmin(name);
                }

                users.Remove(user);
                return user;
            });
            Store.UpdateState(state =>
            {
                foreach (var family in state.Families.Where(f => f.UserId == removed.Id))
                {
                    family.Revoked = true;
                }

                state.Failures.RemoveAll(f => f.Name == Key(removed.Name));
                return true;
            });
            return Task.CompletedTask;
        }

        private AuthResult SignIn(OperationContext context, string? name, string? password)
        {
            if (string.IsNullOrEmpty(name) || password is null)
            {
                throw new PluginException(ErrorCode.InvalidArgument, "LocalUsers needs a user name and a password (-Credential).", errorId: "CredentialMissing");
            }

            var key = Key(name!);
            var now = Clock();
            var failures = Store.State().Failures.FirstOrDefault(f => f.Name == key);
            if (failures?.LockedUntil is DateTimeOffset lockedUntil && lockedUntil > now)
            {
                throw Throttled(name!, lockedUntil, now);
            }

            var user = FindUserByName(name!);
            var verified = PasswordHasher.Verify(password!, user?.PasswordHash ?? DummyHash());
            if (user is null || !verified)
            {
                var locked = Store.UpdateState(state =>
                {
                    Prune(state, now);
                    var entry = state.Failures.FirstOrDefault(f => f.Name == key);
                    if (entry is null)
                    {
                        entry = new SignInFailures { Name = key };
                        state.Failures.Add(entry);
                    }

                    entry.Count++;
                    entry.LastFailureAt = now;
                    entry.LockedUntil = Throttle.LockoutAfter(entry.Count, now);
                    return entry.LockedUntil;
                });
                context.Logger.Log(LogLevel.Verbose, $"LocalUsers: failed sign-in for '{Validation.Printable(name)}'.");
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    "The user name or password is incorrect." + (locked is DateTimeOffset until
                        ? $" After repeated failures, sign-in for this user is refused until {until:u}."
                        : ""),
                    errorId: "InvalidCredentials", target: name);
            }

            if (!user.Enabled)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, $"The account '{user.Name}' is disabled. An Admin can enable it with Set-TransferUser -Enabled $true.",
                    errorId: "AccountDisabled", target: user.Name);
            }

            if (failures != null)
            {
                Store.UpdateState(state => state.Failures.RemoveAll(f => f.Name == key));
            }

            Store.UpdateUsers(users =>
            {
                var stored = users.FirstOrDefault(u => u.Id == user.Id);
                if (stored != null)
                {
                    stored.LastSignInAt = now;
                }

                return true;
            });
            return Issue(user, null);
        }

        private AuthResult AdoptToken(string token)
        {
            var claims = Codec.Read(token);
            if (claims.Type == LocalTokenCodec.RefreshType)
            {
                return RefreshAsync(OperationContext.None, token).GetAwaiter().GetResult();
            }

            var (access, user) = ValidateAccess(token);
            return new AuthResult { Token = token, ExpiresAt = access.Expires, User = ToUser(user) };
        }

        private AuthResult Issue(LocalUserRecord user, string? sessionId)
        {
            var now = Clock();
            var refreshId = NewId();
            var sid = sessionId ?? NewId();
            Store.UpdateState(state =>
            {
                Prune(state, now);
                var family = state.Families.FirstOrDefault(f => f.Id == sid);
                if (family is null)
                {
                    state.Families.Add(new TokenFamily { Id = sid, UserId = user.Id, RefreshTokenId = refreshId, ExpiresAt = now + _refreshLifetime });
                }
                else if (family.Revoked)
                {
                    throw Revoked();
                }
                else
                {
                    family.RefreshTokenId = refreshId;
                    family.ExpiresAt = now + _refreshLifetime;
                }

                return true;
            });
            return Build(user, sid, refreshId, now);
        }

        private AuthResult Build(LocalUserRecord user, string sid, string refreshId, DateTimeOffset now)
        {
            var access = new LocalTokenClaims
            {
                Type = LocalTokenCodec.AccessType,
                Issuer = _registrationName,
                Subject = user.Id,
                Name = user.Name,
                SessionId = sid,
                TokenId = NewId(),
                IssuedAt = now.ToUnixTimeSeconds(),
                ExpiresAt = (now + _accessLifetime).ToUnixTimeSeconds(),
            };
            var refresh = new LocalTokenClaims
            {
                Type = LocalTokenCodec.RefreshType,
                Issuer = _registrationName,
                Subject = user.Id,
                Name = user.Name,
                SessionId = sid,
                TokenId = refreshId,
                IssuedAt = now.ToUnixTimeSeconds(),
                ExpiresAt = (now + _refreshLifetime).ToUnixTimeSeconds(),
            };
            return new AuthResult
            {
                Token = Codec.Sign(access),
                ExpiresAt = access.Expires,
                RefreshToken = Codec.Sign(refresh),
                User = ToUser(user),
            };
        }

        private (LocalTokenClaims Claims, LocalUserRecord User) ValidateAccess(string token)
        {
            var claims = Codec.Read(token);
            if (claims.Type != LocalTokenCodec.AccessType)
            {
                throw LocalTokenCodec.Invalid();
            }

            var now = Clock();
            if (claims.Expires <= now)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    $"The session's token expired at {claims.Expires:u}. Run Update-TransferSession or Connect-TransferService.",
                    errorId: "TokenExpired");
            }

            var state = Store.State();
            var family = state.Families.FirstOrDefault(f => f.Id == claims.SessionId);
            if (family is null || family.Revoked || state.Revoked.Any(r => r.TokenId == claims.TokenId))
            {
                throw Revoked();
            }

            var user = FindUser(claims.Subject) ?? throw UserGone();
            RequireUsable(user, claims);
            return (claims, user);
        }

        private static void RequireUsable(LocalUserRecord user, LocalTokenClaims claims)
        {
            if (!user.Enabled)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, $"The account '{user.Name}' is disabled.", errorId: "AccountDisabled", target: user.Name);
            }
        }

        private LocalUserRecord? FindUser(string id) => Store.Users().FirstOrDefault(u => u.Id == id);

        private LocalUserRecord? FindUserByName(string name) =>
            Store.Users().FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase));

        private UserInfo Describe(LocalUserRecord u, LocalTokenState state)
        {
            var failures = state.Failures.FirstOrDefault(f => f.Name == Key(u.Name));
            var now = Clock();
            return new UserInfo
            {
                Name = u.Name,
                Id = u.Id,
                Roles = u.Roles.ToArray(),
                Scopes = u.Scopes.ToArray(),
                Enabled = u.Enabled,
                CreatedAt = u.CreatedAt,
                PasswordChangedAt = u.PasswordChangedAt,
                LastSignInAt = u.LastSignInAt,
                FailedSignIns = failures?.Count ?? 0,
                LockedUntil = failures?.LockedUntil > now ? failures.LockedUntil : null,
                Plugin = _registrationName,
            };
        }

        private static User ToUser(LocalUserRecord u) => new User { Id = u.Id, Name = u.Name, Roles = u.Roles.ToArray(), Scopes = u.Scopes.ToArray() };

        private void Prune(LocalTokenState state, DateTimeOffset now)
        {
            state.Revoked.RemoveAll(r => r.ExpiresAt <= now);
            state.Families.RemoveAll(f => f.ExpiresAt <= now);
            state.Failures.RemoveAll(f => (f.LockedUntil is null || f.LockedUntil <= now) && now - f.LastFailureAt > Throttle.Forget);
        }

        private bool RequirePassword(string name, string password)
        {
            if (password is null || password.Length < _minPasswordLength)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The password must have at least {_minPasswordLength} characters.",
                    errorId: "PasswordTooShort", target: name);
            }

            if (string.Equals(password, name, StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "The password must not be the user name.", errorId: "PasswordIsUserName", target: name);
            }

            return true;
        }

        private static void RequireUserName(string name)
        {
            if (name is null || !UserName.IsMatch(name))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{Validation.Printable(name)}' is not a valid user name: use letters, digits, '.', '_', '-' and '@' (at most 64), starting with a letter or digit.",
                    errorId: "InvalidUserName", target: name);
            }
        }

        private static List<string> CanonicalRoles(IReadOnlyList<string> roles)
        {
            if (roles is null || roles.Count == 0)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"Give at least one role: {string.Join(", ", Roles.All)}.", errorId: "RoleMissing");
            }

            var result = new List<string>();
            foreach (var role in roles)
            {
                var canonical = Roles.Normalize(role) ?? throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{Validation.Printable(role)}' is not a role. Roles: {string.Join(", ", Roles.All)}.", errorId: "InvalidRole", target: role);
                if (!result.Contains(canonical))
                {
                    result.Add(canonical);
                }
            }

            return result;
        }

        private static bool OtherAdminExists(List<LocalUserRecord> users, LocalUserRecord except) =>
            users.Any(u => u.Id != except.Id && u.Enabled && u.Roles.Contains(Roles.Admin) && u.Scopes.Count == 0);

        private string DummyHash()
        {
            // Unknown users cost the same PBKDF2 work as known ones, so timing does not reveal which names exist.
            lock (DummyGate)
            {
                if (_dummyHash is null || PasswordHasher.IterationsOf(_dummyHash) != Iterations)
                {
                    _dummyHash = PasswordHasher.Hash(Guid.NewGuid().ToString("n"), Iterations);
                }

                return _dummyHash;
            }
        }

        private static byte[] LoadOrCreateKey(string home, string directory)
        {
            var path = Path.Combine(directory, "token.key");
            var protector = new SecretProtector(home);
            using (AtomicFile.Lock(Path.Combine(directory, "store.lock"), LocalUserStore.LockTimeout))
            {
                if (!File.Exists(path))
                {
                    var key = new byte[32];
                    using (var rng = RandomNumberGenerator.Create())
                    {
                        rng.GetBytes(key);
                    }

                    AtomicFile.WriteAllText(path, protector.Protect(Convert.ToBase64String(key)), ownerOnly: true);
                }

                return Convert.FromBase64String(protector.Unprotect(File.ReadAllText(path).Trim()));
            }
        }

        private static int ReadInt(IReadOnlyDictionary<string, string> config, string key, int fallback, int min, int max)
        {
            if (!config.TryGetValue(key, out var text) || string.IsNullOrWhiteSpace(text))
            {
                return fallback;
            }

            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    $"The LocalUsers setting '{key}' must be a whole number from {min} to {max}, not '{Validation.Printable(text)}'.",
                    errorId: "InvalidLocalUsersSetting", target: key);
            }

            return value;
        }

        private static string Key(string name) => name.ToLowerInvariant();

        private static string NewId() => Guid.NewGuid().ToString("n");

        private static PluginException Throttled(string name, DateTimeOffset until, DateTimeOffset now) => new PluginException(ErrorCode.Throttled,
            $"Too many failed sign-ins for '{Validation.Printable(name)}'. Try again after {until:u} (in {Math.Ceiling((until - now).TotalSeconds)} s), or ask an Admin to run Set-TransferUser -Unlock.",
            errorId: "SignInThrottled", target: name);

        private static PluginException Revoked() => new PluginException(ErrorCode.AuthenticationFailed,
            "The session's token was revoked (signed out, password changed or account disabled). Run Connect-TransferService again.",
            errorId: "TokenRevoked");

        private static PluginException UserGone() => new PluginException(ErrorCode.AuthenticationFailed,
            "The user this token was issued to no longer exists.", errorId: "UserNotFound");

        private static PluginException NoSuchUser(string name) => new PluginException(ErrorCode.NotFound,
            $"There is no user '{Validation.Printable(name)}'. Get-TransferUser lists the users.", errorId: "UserNotFound", target: name);

        private static PluginException Exists(string name) => new PluginException(ErrorCode.AlreadyExists,
            $"A user named '{name}' exists already.", errorId: "UserExists", target: name);

        private static PluginException LastAdmin(string name) => new PluginException(ErrorCode.InvalidState,
            $"'{name}' is the last enabled, unscoped Admin; make another user Admin first, so nobody is locked out.",
            errorId: "LastAdmin", target: name);

        private static PluginException NotInitialized() => new PluginException(ErrorCode.LifecycleError,
            "The LocalUsers plugin is not initialized.", errorId: "PluginNotInitialized");
    }

    internal static class BoolExtensions
    {
        public static void ThrowIfFalse(this bool value, Func<Exception> error)
        {
            if (!value)
            {
                throw error();
            }
        }
    }
}
