using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace Samples.ApiKeyAuth
{
    /// <summary>
    /// An auth plugin for a fixed list of API keys. Sign in with the key as a token (Connect-TransferService -Token)
    /// or as the password of a user name (-Credential); the plugin issues short-lived signed tokens.
    /// Configuration: ApiKeys (required, stored protected) - "user:Role1+Role2:key;user2:Role:key2";
    /// TokenMinutes (optional, default 60). Roles: Reader (read), Contributor (+write), Owner (+delete), Admin (all).
    /// </summary>
    [TransferPlugin("ApiKeyAuth", PluginType.Auth,
        Description = "Sign-in with API keys from a configured list; signed tokens with roles.",
        SecretKeys = new[] { "ApiKeys" })]
    public sealed class ApiKeyAuthPlugin : IAuthPlugin
    {
        private readonly object _gate = new object();
        private List<(string User, string[] Roles, byte[] KeyHash)> _keys = new List<(string, string[], byte[])>();
        private TimeSpan _lifetime = TimeSpan.FromHours(1);
        private byte[] _signingKey = Array.Empty<byte>();
        private string? _revokedPath;
        private HashSet<string> _revoked = new HashSet<string>(StringComparer.Ordinal);

        // Name, kind and description come from the declaration above: said once.
        public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(ApiKeyAuthPlugin), "TransferTools samples", "MIT");

        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            if (!config.TryGetValue("ApiKeys", out var list) || string.IsNullOrWhiteSpace(list))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "ApiKeyAuth needs the configuration key 'ApiKeys' (\"user:Role:key;...\").", errorId: "ApiKeysMissing");
            }

            var keys = new List<(string, string[], byte[])>();
            foreach (var entry in list.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = entry.Split(new[] { ':' }, 3);
                if (parts.Length != 3 || parts[0].Trim().Length == 0 || parts[2].Length < 8)
                {
                    // The entry is not echoed: it holds a key.
                    throw new PluginException(ErrorCode.InvalidConfiguration, $"ApiKeys entry {keys.Count + 1} is not \"user:Role:key\" with a key of at least 8 characters.", errorId: "ApiKeysMalformed");
                }

                keys.Add((parts[0].Trim(), parts[1].Split('+').Select(r => r.Trim()).Where(r => r.Length > 0).ToArray(), Hash(parts[2])));
            }

            if (config.TryGetValue("TokenMinutes", out var minutes))
            {
                _lifetime = int.TryParse(minutes, out var m) && m > 0 ? TimeSpan.FromMinutes(m)
                    : throw new PluginException(ErrorCode.InvalidConfiguration, $"TokenMinutes '{minutes}' is not a positive number.", errorId: "TokenMinutesInvalid");
            }

            _keys = keys;
            // The signing key and the revocation list live in the plugin's data folder, so tokens stay valid (and
            // revoked ones stay revoked) across sessions and processes.
            var folder = context.Host?.GetPluginDataDirectory(Metadata.Name);
            if (folder is null)
            {
                _signingKey = RandomBytes(32);
            }
            else
            {
                var keyPath = Path.Combine(folder, "signing.key");
                if (!File.Exists(keyPath))
                {
                    try
                    {
                        using (var f = new FileStream(keyPath, FileMode.CreateNew, FileAccess.Write))
                        {
                            f.Write(RandomBytes(32), 0, 32);
                        }
                    }
                    catch (IOException) when (File.Exists(keyPath))
                    {
                        // Another instance created it first.
                    }
                }

                _signingKey = File.ReadAllBytes(keyPath);
                _revokedPath = Path.Combine(folder, "revoked.txt");
            }

            return Task.CompletedTask;
        }

        public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

        public Task<AuthResult> AuthenticateAsync(OperationContext context, AuthRequest request)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var presented = request.Type == AuthType.Token ? request.Token : request.Type == AuthType.Password ? request.Password : null;
            if (request.Type != AuthType.Token && request.Type != AuthType.Password)
            {
                throw new PluginException(ErrorCode.NotSupported, "ApiKeyAuth accepts an API key as a token or as a password.", errorId: "AuthTypeNotSupported");
            }

            var hash = Hash(presented ?? "");
            var match = _keys.FirstOrDefault(k => FixedTimeEquals(k.KeyHash, hash)
                                                  && (request.Type == AuthType.Token || string.Equals(k.User, request.Username, StringComparison.OrdinalIgnoreCase)));
            if (string.IsNullOrEmpty(presented) || match.User is null)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, "The API key is not valid.", errorId: "InvalidApiKey");
            }

            return Task.FromResult(Issue(match.User, match.Roles));
        }

        public Task<bool> AuthorizeAsync(OperationContext context, string token, string resource, Action action)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var claims = Validate(token);
            var allowed = claims.Roles.Any(role => role switch
            {
                "Admin" => true,
                "Owner" => action != Action.Admin,
                "Contributor" => action == Action.Read || action == Action.Write,
                "Reader" => action == Action.Read,
                _ => false,
            });
            return Task.FromResult(allowed);
        }

        public Task<AuthResult> RefreshAsync(OperationContext context, string token)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var claims = Validate(token);
            return Task.FromResult(Issue(claims.User, claims.Roles));
        }

        public Task RevokeAsync(OperationContext context, string token)
        {
            var claims = Validate(token);
            lock (_gate)
            {
                _revoked.Add(claims.Nonce);
                if (_revokedPath != null)
                {
                    File.AppendAllText(_revokedPath, claims.Nonce + "\n");
                }
            }

            return Task.CompletedTask;
        }

        // Token: base64url("user|Role+Role|expiryUnixSeconds|nonce") + "." + base64url(HMAC-SHA256(payload)).
        private AuthResult Issue(string user, string[] roles)
        {
            var expires = DateTimeOffset.UtcNow.Add(_lifetime);
            var payload = Encoding.UTF8.GetBytes($"{user}|{string.Join("+", roles)}|{expires.ToUnixTimeSeconds()}|{Convert.ToBase64String(RandomBytes(12))}");
            var token = Base64Url(payload) + "." + Base64Url(Sign(payload));
            return new AuthResult { Token = token, ExpiresAt = expires, User = new User { Id = user, Name = user, Roles = roles } };
        }

        private (string User, string[] Roles, string Nonce) Validate(string token)
        {
            var invalid = new PluginException(ErrorCode.AuthenticationFailed, "The token is not valid.", errorId: "InvalidToken");
            var dot = (token ?? "").IndexOf('.');
            if (dot <= 0)
            {
                throw invalid;
            }

            byte[] payload, signature;
            try
            {
                payload = FromBase64Url(token!.Substring(0, dot));
                signature = FromBase64Url(token.Substring(dot + 1));
            }
            catch (FormatException)
            {
                throw invalid;
            }

            if (!FixedTimeEquals(signature, Sign(payload)))
            {
                throw invalid;
            }

            var fields = Encoding.UTF8.GetString(payload).Split('|');
            if (fields.Length != 4 || !long.TryParse(fields[2], out var expiry) || DateTimeOffset.FromUnixTimeSeconds(expiry) <= DateTimeOffset.UtcNow)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, "The token has expired. Sign in again.", errorId: "TokenExpired");
            }

            if (IsRevoked(fields[3]))
            {
                throw new PluginException(ErrorCode.AuthenticationFailed, "The token was revoked. Sign in again.", errorId: "TokenRevoked");
            }

            return (fields[0], fields[1].Split(new[] { '+' }, StringSplitOptions.RemoveEmptyEntries), fields[3]);
        }

        private bool IsRevoked(string nonce)
        {
            lock (_gate)
            {
                if (_revoked.Contains(nonce))
                {
                    return true;
                }

                if (_revokedPath != null && File.Exists(_revokedPath))
                {
                    _revoked = new HashSet<string>(File.ReadAllLines(_revokedPath).Where(l => l.Length > 0), StringComparer.Ordinal);
                }

                return _revoked.Contains(nonce);
            }
        }

        private byte[] Sign(byte[] payload)
        {
            using (var hmac = new HMACSHA256(_signingKey))
            {
                return hmac.ComputeHash(payload);
            }
        }

        private static byte[] Hash(string key)
        {
            using (var sha = SHA256.Create())
            {
                return sha.ComputeHash(Encoding.UTF8.GetBytes(key));
            }
        }

        private static bool FixedTimeEquals(byte[] a, byte[] b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }

            var diff = 0;
            for (var i = 0; i < a.Length; i++)
            {
                diff |= a[i] ^ b[i];
            }

            return diff == 0;
        }

        private static byte[] RandomBytes(int count)
        {
            var bytes = new byte[count];
            using (var rng = RandomNumberGenerator.Create())
            {
                rng.GetBytes(bytes);
            }

            return bytes;
        }

        private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static byte[] FromBase64Url(string text)
        {
            var s = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
        }
    }
}
