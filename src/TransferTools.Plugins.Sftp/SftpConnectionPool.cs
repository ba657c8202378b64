using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>Settings of one SFTP connection, from the plugin configuration and the transfer's options.</summary>
    internal sealed class SftpConnectionSettings
    {
        public IReadOnlyList<string> KnownHostsFiles { get; set; } = new[] { KnownHosts.UserFile };
        public string? PinnedFingerprint { get; set; }
        public uint BufferSize { get; set; } = 256 * 1024;
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);
        public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);
        public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);
        public int ParallelWrites { get; set; } = 8;
        public int WriteSegmentSize { get; set; } = 256 * 1024;
        public int PendingWrites { get; set; } = 64;
        public int PendingReads { get; set; } = 32;

        /// <summary>
        /// Bytes of requests one transfer keeps in flight: 2 MiB, the channel window OpenSSH's server gives. Requests are
        /// 255 KiB where the server allows (<see cref="SftpServerLimits"/>), so this, not <see cref="PendingReads"/> or
        /// <see cref="PendingWrites"/>, is what limits them. More buys nothing on any link the window covers and costs
        /// the server: OpenSSH's sshd holds every answer it cannot send yet in one buffer, which it compacts by copying,
        /// so 8 MiB of read answers queued behind a slow reader cost it more CPU than the encryption. For uploads this is
        /// the most: <see cref="SftpWriteWindow"/> keeps fewer in flight while the server only queues them.
        /// </summary>
        public int InFlightBytes { get; set; } = 2 * 1024 * 1024;

        /// <summary>The streams of a segmented transfer share one connection (a handle each) instead of a connection each
        /// (<see cref="SftpProtocolPlugin.StreamConnectionsKey"/>).</summary>
        public bool StreamsShareConnection { get; set; }

        /// <summary>Requests in flight for <paramref name="requestSize"/>-byte requests: enough to fill
        /// <see cref="InFlightBytes"/>, at most <paramref name="maxRequests"/>.</summary>
        public int RequestsInFlight(int maxRequests, int requestSize) =>
            (int)Math.Max(1, Math.Min(maxRequests, (InFlightBytes + (long)requestSize - 1) / Math.Max(1, requestSize)));
    }

    /// <summary>
    /// One connected <see cref="SftpClient"/> per server and identity, shared by the operations of a plugin instance
    /// (SFTP multiplexes requests), replaced transparently after the connection drops.
    /// </summary>
    internal sealed class SftpConnectionPool : IDisposable
    {
        /// <summary>The private key file a transfer logs in with (the protocol option <see cref="SftpProtocolPlugin.KeyFileKey"/>), or null.</summary>
        internal static string? KeyFileOf(TransferOptions options) =>
            options.Custom.TryGetValue(SftpProtocolPlugin.KeyFileKey, out var path) && !string.IsNullOrWhiteSpace(path) ? path : null;

        private readonly Dictionary<string, Slot> _slots = new Dictionary<string, Slot>(StringComparer.Ordinal);
        private bool _disposed;

        private sealed class Slot
        {
            public readonly SemaphoreSlim Gate = new SemaphoreSlim(1, 1);
            public SftpClient? Client;
        }

        /// <summary>A connected client for <paramref name="location"/>; connects (or reconnects) when needed.</summary>
        /// <param name="lane">0 for the shared connection; another number for a connection of its own to the same server
        /// (one stream of a segmented transfer), kept for the next transfer's stream of that number.</param>
        public async Task<SftpClient> AcquireAsync(OperationContext context, SftpLocation location, TransferOptions options,
            SftpConnectionSettings settings, int lane = 0)
        {
            var user = UserOf(location, options);
            var key = PoolKey(location, user, options, settings) + (lane > 0 ? "\n#" + lane.ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
            Slot slot;
            lock (_slots)
            {
                if (_disposed)
                {
                    throw new PluginException(ErrorCode.LifecycleError, "The Sftp plugin has been shut down.", errorId: "SftpShutDown");
                }

                if (!_slots.TryGetValue(key, out slot!))
                {
                    slot = new Slot();
                    _slots[key] = slot;
                }
            }

            await slot.Gate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                if (slot.Client != null && slot.Client.IsConnected)
                {
                    slot.Client.OperationTimeout = OperationTimeout(settings);
                    return slot.Client;
                }

                if (slot.Client != null)
                {
                    context.Logger.Log(LogLevel.Verbose, $"Sftp: the connection to {location.Host}:{location.Port} was lost; reconnecting.");
                    DisposeQuietly(slot.Client);
                    slot.Client = null;
                }

                if (lane == 0)
                {
                    slot.Client = await ConnectAsync(context, location, user, options, settings).ConfigureAwait(false);
                    return slot.Client;
                }

                // A stream's own connection: at most a few handshakes at once, so that several segmented transfers
                // starting together stay under OpenSSH's MaxStartups (10 unauthenticated connections, then it drops some).
                await _streamConnects.WaitAsync(context.CancellationToken).ConfigureAwait(false);
                try
                {
                    slot.Client = await ConnectAsync(context, location, user, options, settings).ConfigureAwait(false);
                    return slot.Client;
                }
                finally
                {
                    _streamConnects.Release();
                }
            }
            finally
            {
                slot.Gate.Release();
            }
        }

        /// <summary>The shared (lane 0) connection for <paramref name="location"/> when it is open, without connecting.</summary>
        public SftpClient? Connected(SftpLocation location, TransferOptions options, SftpConnectionSettings settings)
        {
            var key = PoolKey(location, UserOf(location, options), options, settings);
            lock (_slots)
            {
                return _slots.TryGetValue(key, out var slot) && slot.Client is { IsConnected: true } client ? client : null;
            }
        }

        private static string UserOf(SftpLocation location, TransferOptions options)
        {
            var user = location.User ?? options.Credential?.UserName;
            return string.IsNullOrEmpty(user) ? Environment.UserName : user!;
        }

        /// <summary>Handshakes of streams' own connections (lane above 0) under way at once, at most.</summary>
        private const int StreamConnectsAtOnce = 4;

        private readonly SemaphoreSlim _streamConnects = new SemaphoreSlim(StreamConnectsAtOnce, StreamConnectsAtOnce);

        /// <summary>Drops <paramref name="client"/> from the pool (after a connection failure) so the next call reconnects.</summary>
        public void Invalidate(SftpClient client)
        {
            lock (_slots)
            {
                foreach (var slot in _slots.Values)
                {
                    if (ReferenceEquals(slot.Client, client))
                    {
                        slot.Client = null;
                    }
                }
            }

            DisposeQuietly(client);
        }

        public void Dispose()
        {
            List<SftpClient> clients;
            lock (_slots)
            {
                _disposed = true;
                clients = _slots.Values.Select(s => s.Client).Where(c => c != null).Select(c => c!).ToList();
                _slots.Clear();
            }

            foreach (var c in clients)
            {
                DisposeQuietly(c);
            }
        }

        private static TimeSpan OperationTimeout(SftpConnectionSettings settings) =>
            settings.StallTimeout > TimeSpan.Zero ? settings.StallTimeout : Timeout.InfiniteTimeSpan;

        private static async Task<SftpClient> ConnectAsync(OperationContext context, SftpLocation location, string user,
            TransferOptions options, SftpConnectionSettings settings)
        {
            var methods = AuthenticationMethods(location, user, options);
            var info = new ConnectionInfo(location.Host, location.Port, user, methods)
            {
                Timeout = settings.StallTimeout > TimeSpan.Zero && settings.StallTimeout < settings.ConnectTimeout
                    ? settings.StallTimeout : settings.ConnectTimeout,
            };

            PreferKnownHostKeyTypes(info, location, settings);
            PreferFastCiphers(info);
            var client = new SftpClient(info)
            {
                BufferSize = settings.BufferSize,
                OperationTimeout = OperationTimeout(settings),
                KeepAliveInterval = settings.KeepAlive > TimeSpan.Zero ? settings.KeepAlive : Timeout.InfiniteTimeSpan,
            };

            var check = new HostKeyCheck(location, settings);
            client.HostKeyReceived += (_, e) => e.CanTrust = check.Decide(e.HostKeyName, e.FingerPrintSHA256);
            try
            {
                await client.ConnectAsync(context.CancellationToken).ConfigureAwait(false);
                // The server's limits are asked once per session before the first open or read; asked now, the answer
                // travels while the caller's first path requests do, which saves that round trip. (Kept by the session.)
                if (SshNetRequests.Instance is { } requests && requests.SessionOf(client) is { } session)
                {
                    _ = requests.LimitsAsync(session, settings.ConnectTimeout);
                }

                context.Logger.Log(LogLevel.Verbose,
                    $"Sftp: connected to {location.Host}:{location.Port} as {user} (host key {check.Presented}, {check.TrustedBy}; " +
                    $"{Algorithms(info)}; SSH.NET {Build}).");
                return client;
            }
            catch (Exception e)
            {
                DisposeQuietly(client);
                if (check.Refusal != null)
                {
                    throw check.Refusal;
                }

                if (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                if (e is SocketException se)
                {
                    throw new PluginException(ErrorCode.ConnectionError,
                        $"Could not connect to the SSH server {location.Host}:{location.Port}: {se.Message}.", e, "SftpConnectFailed", location.Host);
                }

                if (e is SshOperationTimeoutException)
                {
                    throw new PluginException(ErrorCode.Timeout,
                        $"The SSH server {location.Host}:{location.Port} did not complete the connection within {info.Timeout.TotalSeconds:0} s.",
                        e, "SftpConnectTimeout", location.Host);
                }

                if (e is SshAuthenticationException)
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed,
                        $"The SSH server {location.Host}:{location.Port} rejected the login of '{user}' ({e.Message}). Check -Credential or -KeyFile.",
                        e, "SftpAuthenticationFailed", location.Host);
                }

                throw SftpErrors.Map(e, location, "Connect");
            }
        }

        private static AuthenticationMethod[] AuthenticationMethods(SftpLocation location, string user, TransferOptions options)
        {
            var password = options.Credential?.Password;
            var keyFile = KeyFileOf(options);
            if (!string.IsNullOrEmpty(keyFile))
            {
                var path = keyFile!;
                if (!File.Exists(path))
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"The key file '{path}' does not exist.", errorId: "SftpKeyFileNotFound", target: path);
                }

                PrivateKeyFile key;
                try
                {
                    key = string.IsNullOrEmpty(password) ? new PrivateKeyFile(path) : new PrivateKeyFile(path, password);
                }
                catch (SshPassPhraseNullOrEmptyException e)
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed,
                        $"The key file '{path}' is encrypted: pass its passphrase as the password of -Credential.", e, "SftpKeyPassphraseRequired", path);
                }
                catch (Exception e) when (e is SshException || e is CryptographicException || e is InvalidOperationException
                                          || e is ArgumentException || e is FormatException || e is NotSupportedException
                                          || e.GetType().FullName?.StartsWith("Org.BouncyCastle", StringComparison.Ordinal) == true)
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed,
                        $"The key file '{path}' could not be read: wrong passphrase, or not an OpenSSH/PEM private key ({e.Message}).",
                        e, "SftpKeyFileUnreadable", path);
                }

                return new AuthenticationMethod[] { new PrivateKeyAuthenticationMethod(user, key) };
            }

            if (!string.IsNullOrEmpty(password))
            {
                var keyboard = new KeyboardInteractiveAuthenticationMethod(user);
                keyboard.AuthenticationPrompt += (_, e) =>
                {
                    foreach (var prompt in e.Prompts)
                    {
                        if (prompt.Request.IndexOf("password", StringComparison.OrdinalIgnoreCase) >= 0)
                        {
                            prompt.Response = password;
                        }
                    }
                };
                return new AuthenticationMethod[] { new PasswordAuthenticationMethod(user, password), keyboard };
            }

            // Like ssh: the user's default unencrypted keys.
            var sshDir = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh");
            var defaults = new List<IPrivateKeySource>();
            foreach (var name in new[] { "id_ed25519", "id_ecdsa", "id_rsa" })
            {
                var path = Path.Combine(sshDir, name);
                try
                {
                    if (File.Exists(path))
                    {
                        defaults.Add(new PrivateKeyFile(path));
                    }
                }
                catch (Exception)
                {
                    // An encrypted or unreadable default key is simply not offered.
                }
            }

            if (defaults.Count == 0)
            {
                throw new PluginException(ErrorCode.AuthenticationFailed,
                    $"No credential for sftp://{user}@{location.Host}:{location.Port}: pass -Credential (password) or -KeyFile (private key).",
                    errorId: "SftpNoCredential", target: location.Host);
            }

            return new AuthenticationMethod[] { new PrivateKeyAuthenticationMethod(user, defaults.ToArray()) };
        }

        /// <summary>Offers only the host key types known_hosts lists for the server, as ssh does, so a server with several
        /// keys presents the one we can check.</summary>
        private static void PreferKnownHostKeyTypes(ConnectionInfo info, SftpLocation location, SftpConnectionSettings settings)
        {
            if (!string.IsNullOrEmpty(settings.PinnedFingerprint))
            {
                return;
            }

            var known = KnownHosts.KeyTypesFor(settings.KnownHostsFiles, location.Host, location.Port);
            if (known.Count == 0)
            {
                return;
            }

            var algorithms = info.HostKeyAlgorithms;
            var keep = algorithms.Keys.Where(a => known.Contains(KeyTypeOf(a))).ToList();
            if (keep.Count == 0)
            {
                return;
            }

            foreach (var name in algorithms.Keys.ToList())
            {
                if (!keep.Contains(name))
                {
                    algorithms.Remove(name);
                }
            }
        }

        /// <summary>The build of the plugin (and of SSH.NET) in use, for the connection log.</summary>
        internal const string Build =
#if NET8_0_OR_GREATER
            "net8.0";
#else
            "netstandard2.0";
#endif

        /// <summary>
        /// Puts AES-GCM first where it is the fastest cipher: SSH.NET's net8.0 build runs it on the runtime's hardware
        /// AES-GCM (no separate MAC pass), several times cheaper per byte than aes128-ctr with hmac-sha2-256, which SSH.NET
        /// would otherwise negotiate first. The netstandard2.0 build computes GCM and ChaCha20 in managed BouncyCastle code
        /// (about three times slower than its CTR), so there SSH.NET's order stays. Only the order changes: a server that
        /// offers no GCM still gets CTR.
        /// </summary>
        internal static void PreferFastCiphers(ConnectionInfo info)
        {
#if NET8_0_OR_GREATER
            var position = 0;
            foreach (var name in new[] { "aes128-gcm@openssh.com", "aes256-gcm@openssh.com" })
            {
                if (info.Encryptions.ContainsKey(name))
                {
                    info.Encryptions.SetPosition(name, position++);
                }
            }
#endif
        }

        private static string Algorithms(ConnectionInfo info)
        {
            var mac = string.IsNullOrEmpty(info.CurrentClientHmacAlgorithm) ? "" : "+" + info.CurrentClientHmacAlgorithm;
            return $"kex {info.CurrentKeyExchangeAlgorithm}, cipher {info.CurrentClientEncryption}{mac}";
        }

        private static string KeyTypeOf(string algorithm) =>
            algorithm.StartsWith("rsa-sha2-", StringComparison.Ordinal) ? "ssh-rsa" : algorithm;

        private static string PoolKey(SftpLocation location, string user, TransferOptions options, SftpConnectionSettings settings)
        {
            var secret = options.Credential?.Password ?? "";
            string secretHash;
            using (var sha = SHA256.Create())
            {
                secretHash = Convert.ToBase64String(sha.ComputeHash(Encoding.UTF8.GetBytes(secret)));
            }

            return string.Join("\n", user, location.Host.ToLowerInvariant(), location.Port, KeyFileOf(options) ?? "", secretHash,
                settings.PinnedFingerprint ?? "", string.Join(";", settings.KnownHostsFiles));
        }

        private static void DisposeQuietly(SftpClient client)
        {
            try
            {
                client.Dispose();
            }
            catch (Exception)
            {
                // A dead connection may fail to close cleanly; it is gone either way.
            }
        }

        /// <summary>Decides on the presented host key and keeps the refusal to report after the handshake fails.</summary>
        private sealed class HostKeyCheck
        {
            private readonly SftpLocation _location;
            private readonly SftpConnectionSettings _settings;

            public HostKeyCheck(SftpLocation location, SftpConnectionSettings settings)
            {
                _location = location;
                _settings = settings;
            }

            public string? Presented { get; private set; }
            public string TrustedBy { get; private set; } = "";
            public PluginException? Refusal { get; private set; }

            public bool Decide(string keyType, string sha256)
            {
                var presented = "SHA256:" + sha256;
                Presented = $"{keyType} {presented}";
                var target = KnownHosts.HostPattern(_location.Host, _location.Port);
                var pinHint = $"To trust it, pass -HostKeyFingerprint '{presented}' after checking it out of band (on the server: ssh-keygen -l -f /etc/ssh/ssh_host_{KeyFileHint(keyType)}_key.pub), " +
                              $"or add the server to known_hosts (ssh-keyscan -p {_location.Port} {_location.Host} >> ~/.ssh/known_hosts).";
                if (!string.IsNullOrEmpty(_settings.PinnedFingerprint))
                {
                    var pinned = KnownHosts.NormalizeFingerprint(_settings.PinnedFingerprint!);
                    if (string.Equals(pinned, presented, StringComparison.Ordinal))
                    {
                        TrustedBy = "pinned fingerprint";
                        return true;
                    }

                    Refusal = new PluginException(ErrorCode.SecurityError,
                        $"The SSH server {target} presented host key {keyType} {presented}, which is not the pinned {pinned}. " +
                        "The connection was refused: someone may be impersonating the server, or its key was changed. " +
                        "If the change is expected, pin the new fingerprint with -HostKeyFingerprint.",
                        errorId: "SftpHostKeyMismatch", target: presented);
                    return false;
                }

                var verdict = KnownHosts.Check(_settings.KnownHostsFiles, _location.Host, _location.Port, presented);
                switch (verdict)
                {
                    case HostKeyVerdict.Trusted:
                        TrustedBy = "known_hosts";
                        return true;
                    case HostKeyVerdict.Revoked:
                        Refusal = new PluginException(ErrorCode.SecurityError,
                            $"The SSH server {target} presented host key {keyType} {presented}, which known_hosts marks @revoked. The connection was refused.",
                            errorId: "SftpHostKeyRevoked", target: presented);
                        return false;
                    case HostKeyVerdict.Mismatch:
                        Refusal = new PluginException(ErrorCode.SecurityError,
                            $"WARNING: the SSH server {target} presented host key {keyType} {presented}, which does not match the key recorded for it in " +
                            $"{string.Join(", ", _settings.KnownHostsFiles)}. The connection was refused: someone may be impersonating the server, " +
                            $"or its key was changed. If the change is expected, remove the old entry (ssh-keygen -R '{target}') and add the new one, " +
                            $"or pass -HostKeyFingerprint '{presented}'.",
                            errorId: "SftpHostKeyMismatch", target: presented);
                        return false;
                    default:
                        Refusal = new PluginException(ErrorCode.SecurityError,
                            $"The SSH server {target} is not known: it presented host key {keyType} {presented}, and no known_hosts entry " +
                            $"({string.Join(", ", _settings.KnownHostsFiles)}) names it. Unknown keys are never trusted silently. {pinHint}",
                            errorId: "SftpHostKeyUnknown", target: presented);
                        return false;
                }
            }

            private static string KeyFileHint(string keyType) =>
                keyType.IndexOf("ed25519", StringComparison.Ordinal) >= 0 ? "ed25519"
                : keyType.IndexOf("ecdsa", StringComparison.Ordinal) >= 0 ? "ecdsa"
                : "rsa";
        }
    }
}
