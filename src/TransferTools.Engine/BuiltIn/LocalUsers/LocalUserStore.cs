using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.BuiltIn.LocalUsers
{
    /// <summary>One LocalUsers account as stored in <c>users.json</c>.</summary>
    internal sealed class LocalUserRecord
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public List<string> Roles { get; set; } = new List<string>();
        public List<string> Scopes { get; set; } = new List<string>();
        public string PasswordHash { get; set; } = "";
        public bool Enabled { get; set; } = true;
        public DateTimeOffset CreatedAt { get; set; }
        public DateTimeOffset ModifiedAt { get; set; }
        public DateTimeOffset PasswordChangedAt { get; set; }
        public DateTimeOffset? LastSignInAt { get; set; }
    }

    /// <summary>A chain of refresh tokens from one sign-in; only its newest refresh token is valid.</summary>
    internal sealed class TokenFamily
    {
        public string Id { get; set; } = "";
        public string UserId { get; set; } = "";
        public string RefreshTokenId { get; set; } = "";
        public DateTimeOffset ExpiresAt { get; set; }
        public bool Revoked { get; set; }
    }

    /// <summary>A revoked token id, kept until the token would have expired anyway.</summary>
    internal sealed class RevokedToken
    {
        public string TokenId { get; set; } = "";
        public DateTimeOffset ExpiresAt { get; set; }
    }

    /// <summary>Failed sign-ins of one user name (known or not, so probing names is throttled too).</summary>
    internal sealed class SignInFailures
    {
        public string Name { get; set; } = "";
        public int Count { get; set; }
        public DateTimeOffset LastFailureAt { get; set; }
        public DateTimeOffset? LockedUntil { get; set; }
    }

    internal sealed class LocalUsersDocument
    {
        public int Version { get; set; } = 1;
        public List<LocalUserRecord> Users { get; set; } = new List<LocalUserRecord>();
    }

    internal sealed class LocalTokenState
    {
        public int Version { get; set; } = 1;
        public List<TokenFamily> Families { get; set; } = new List<TokenFamily>();
        public List<RevokedToken> Revoked { get; set; } = new List<RevokedToken>();
        public List<SignInFailures> Failures { get; set; } = new List<SignInFailures>();
    }

    /// <summary>
    /// The LocalUsers files in the registration's data folder: <c>users.json</c> (accounts and hashes) and
    /// <c>tokens.json</c> (refresh-token families, revocation list, failed sign-ins). Writes take a cross-process lock and
    /// replace the file atomically (0600); reads are cached until the file changes.
    /// </summary>
    internal sealed class LocalUserStore
    {
        private static readonly JsonSerializerOptions JsonOptions = new JsonSerializerOptions { WriteIndented = true };
        private readonly string _usersPath;
        private readonly string _statePath;
        private readonly string _lockPath;
        private readonly object _gate = new object();
        private (DateTime, long) _usersStamp;
        private (DateTime, long) _stateStamp;
        private LocalUsersDocument _users = new LocalUsersDocument();
        private LocalTokenState _state = new LocalTokenState();

        public LocalUserStore(string directory)
        {
            Directory = directory;
            _usersPath = Path.Combine(directory, "users.json");
            _statePath = Path.Combine(directory, "tokens.json");
            _lockPath = Path.Combine(directory, "store.lock");
        }

        public string Directory { get; }

        public static TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(10);

        public IReadOnlyList<LocalUserRecord> Users()
        {
            lock (_gate)
            {
                Refresh(_usersPath, ref _usersStamp, ref _users);
                return _users.Users.ToList();
            }
        }

        public LocalTokenState State()
        {
            lock (_gate)
            {
                Refresh(_statePath, ref _stateStamp, ref _state);
                return _state;
            }
        }

        public T UpdateUsers<T>(Func<List<LocalUserRecord>, T> change)
        {
            using (AtomicFile.Lock(_lockPath, LockTimeout))
            {
                lock (_gate)
                {
                    var document = Load<LocalUsersDocument>(_usersPath);
                    var result = change(document.Users);
                    Save(_usersPath, document);
                    _users = document;
                    _usersStamp = Stamp(_usersPath);
                    return result;
                }
            }
        }

        public T UpdateState<T>(Func<LocalTokenState, T> change)
        {
            using (AtomicFile.Lock(_lockPath, LockTimeout))
            {
                lock (_gate)
                {
                    var state = Load<LocalTokenState>(_statePath);
                    var result = change(state);
                    Save(_statePath, state);
                    _state = state;
                    _stateStamp = Stamp(_statePath);
                    return result;
                }
            }
        }

        private void Refresh<T>(string path, ref (DateTime, long) stamp, ref T cache) where T : new()
        {
            var now = Stamp(path);
            if (now != stamp)
            {
                cache = Load<T>(path);
                stamp = now;
            }
        }

        private static (DateTime, long) Stamp(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }

        private static T Load<T>(string path) where T : new()
        {
            if (!File.Exists(path))
            {
                return new T();
            }

            try
            {
                return JsonSerializer.Deserialize<T>(File.ReadAllText(path), JsonOptions) ?? new T();
            }
            catch (JsonException e)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    $"The LocalUsers file '{path}' is damaged (not valid JSON). Restore it from a backup.", e, "UserStoreDamaged", path);
            }
        }

        private static void Save<T>(string path, T document) =>
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(document, JsonOptions), ownerOnly: true);
    }
}
