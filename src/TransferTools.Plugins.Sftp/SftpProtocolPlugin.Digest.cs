using System;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// The server's own SHA-256 of an uploaded file (<see cref="IServerDigest"/>): <c>openssl dgst -sha256</c>, or
    /// <c>sha256sum</c> where the server has no OpenSSL, run over SSH exec on the connection the transfer already has,
    /// as rclone does. A server that allows no exec (ProFTPD mod_sftp, an <c>internal-sftp</c> account) or lacks the
    /// command gives null, and the engine relies on the size it stats.
    /// </summary>
    public sealed partial class SftpProtocolPlugin : IServerDigest
    {
        /// <summary>Protocol option: <c>Exec</c> (default) hashes each uploaded file of <see cref="ServerDigestMinimum"/> or
        /// more on the server (<see cref="DigestCommand"/>) over SSH exec before it is delivered; <c>Always</c> every file;
        /// <c>Off</c> none (the size is still confirmed).</summary>
        public const string ServerDigestKey = "ServerDigest";

        /// <summary>
        /// The size from which <c>Exec</c> asks: the exec channel costs two or three round trips, which over a WAN would
        /// double what a small file costs (issue 31), while a small file is one write the size check covers well.
        /// </summary>
        public const long ServerDigestMinimum = 1024 * 1024;

        // Servers (user@host:port) that refused exec or the command, or dropped the connection for it: not asked again
        // in this session (a wasted round trip, or a new connection, per file).
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _noExec =
            new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);

        /// <inheritdoc/>
        public Task<string?> ComputeSha256Async(OperationContext context, Uri location, long length, TransferOptions options)
        {
            var choice = options.Custom.TryGetValue(ServerDigestKey, out var v) && !string.IsNullOrWhiteSpace(v) ? v
                : Configuration.TryGetValue(ServerDigestKey, out var c) && !string.IsNullOrWhiteSpace(c) ? c : "Exec";
            var always = string.Equals(choice, "Always", StringComparison.OrdinalIgnoreCase);
            if (!always && !string.Equals(choice, "Exec", StringComparison.OrdinalIgnoreCase) && !string.Equals(choice, "Off", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The Sftp option {ServerDigestKey} is Exec, Always or Off; it is '{choice}'.",
                    errorId: "SftpInvalidOption", target: ServerDigestKey);
            }

            if (string.Equals(choice, "Off", StringComparison.OrdinalIgnoreCase) || (!always && length < ServerDigestMinimum))
            {
                return Task.FromResult<string?>(null);
            }

            return RunAsync(context, location, options, "ServerDigest", idempotent: true, async (client, loc, ct) =>
            {
                var server = $"{client.ConnectionInfo.Username}@{loc.Host}:{loc.Port}";
                // ProFTPD mod_sftp (its banner says so) takes an exec request and never answers it: not worth the wait.
                if (_noExec.ContainsKey(server) || SshExec.Instance is null
                    || (client.ConnectionInfo.ServerVersion ?? "").IndexOf("mod_sftp", StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    return null;
                }

                // A shell's working folder need not be where the SFTP session starts (sftp-server -d, a start folder
                // the server sets): a relative path is made absolute from the session's own.
                var path = loc.Path.StartsWith("/", StringComparison.Ordinal) ? loc.Path
                    : client.WorkingDirectory.TrimEnd('/') + "/" + (loc.Path == "." ? "" : loc.Path);
                var (hex, why, refused) = await SshExec.Instance.Sha256Async(client, path, length, ct).ConfigureAwait(false);
                if (hex is null && refused)
                {
                    _noExec[server] = why;
                }

                if (!client.IsConnected)
                {
                    // ProFTPD mod_sftp drops the whole connection over an exec request.
                    _pool.Invalidate(client);
                }

                if (hex is null)
                {
                    context.Logger.Log(LogLevel.Verbose, $"Sftp: the server did not hash '{path}' over exec ({why}); the size is the check.");
                }

                return hex;
            });
        }

        /// <summary>
        /// The command the server runs for an absolute <paramref name="path"/>: OpenSSL's SHA-256 where the server has it,
        /// else coreutils' <c>sha256sum</c>. Both print the digest first (<c>-r</c>: the coreutils format); OpenSSL uses the
        /// CPU's SHA extensions, which Debian's <c>sha256sum</c> does not: 1 GiB took 0.93 s against 5.78 s here, and a
        /// proven upload waits for it. No redirection, so any shell that knows <c>||</c> runs it (csh has no <c>2&gt;</c>);
        /// what a missing <c>openssl</c> says goes to stderr. The path starts with <c>/</c>, so neither reads it as an option.
        /// </summary>
        internal static string DigestCommand(string path)
        {
            var quoted = ShellQuote(path);
            return "openssl dgst -sha256 -r " + quoted + " || sha256sum -- " + quoted;
        }

        /// <summary>Single quotes for a POSIX shell: the path is one word whatever it holds.</summary>
        internal static string ShellQuote(string path) => "'" + path.Replace("'", "'\\''") + "'";

        /// <summary>The 64 hex digits <c>sha256sum</c> or <c>openssl dgst -r</c> prints first (after the <c>\</c> sha256sum adds for an escaped name), or null.</summary>
        internal static string? ParseSha256Sum(string? output)
        {
            var line = (output ?? "").TrimStart();
            if (line.StartsWith("\\", StringComparison.Ordinal))
            {
                line = line.Substring(1);
            }

            if (line.Length < 64 || (line.Length > 64 && line[64] != ' '))
            {
                return null;
            }

            for (var i = 0; i < 64; i++)
            {
                if (!Uri.IsHexDigit(line[i]))
                {
                    return null;
                }
            }

            return line.Substring(0, 64).ToLowerInvariant();
        }

        /// <summary>
        /// An exec channel on an SFTP client's own SSH session: SSH.NET opens one only through <see cref="SshClient"/>, a
        /// second connection; its <c>SshCommand</c> constructor that takes a session is internal, so it is bound by
        /// reflection once (null when this SSH.NET lacks it: no server digest, never wrong).
        /// </summary>
        private sealed class SshExec
        {
            private static readonly Lazy<SshExec?> Lazy = new Lazy<SshExec?>(TryBind);
            private readonly PropertyInfo _session;
            private readonly ConstructorInfo _command;

            private SshExec(PropertyInfo session, ConstructorInfo command)
            {
                _session = session;
                _command = command;
            }

            public static SshExec? Instance => Lazy.Value;

            private static SshExec? TryBind()
            {
                const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
                var session = typeof(BaseClient).GetProperty("Session", Any);
                var sessionType = typeof(BaseClient).Assembly.GetType("Renci.SshNet.ISession");
                var command = sessionType is null ? null
                    : typeof(SshCommand).GetConstructor(Any, null, new[] { sessionType, typeof(string), typeof(Encoding) }, null);
                return session is null || command is null ? null : new SshExec(session, command);
            }

            /// <summary>The file's SHA-256, or null and why not; <c>Refused</c> when no file would fare better on this
            /// connection (no exec, no such command, no answer), not for an exit status that may be this file's.</summary>
            /// <remarks>Hashing takes the server a while for a big file and prints nothing until done: the wait is 15 s and
            /// one more per 32 MiB. Running out of it means no server digest (and no more asking on this connection: a
            /// server that takes the exec request and never answers it, as ProFTPD mod_sftp does, costs it once).</remarks>
            public async Task<(string? Hex, string Why, bool Refused)> Sha256Async(SftpClient client, string path, long length, CancellationToken ct)
            {
                var session = _session.GetValue(client);
                if (session is null)
                {
                    return (null, "no session", true);
                }

                using var command = (SshCommand)_command.Invoke(new[] { session, DigestCommand(path), Encoding.UTF8 });
                var wait = TimeSpan.FromSeconds(15 + Math.Max(0, length) / (32.0 * 1024 * 1024));
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
                limit.CancelAfter(wait);
                try
                {
                    await command.ExecuteAsync(limit.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return (null, $"no answer in {wait.TotalSeconds:0} s", true);
                }
                catch (SshException e) when (!ct.IsCancellationRequested)
                {
                    // The channel or the exec request refused, or the connection dropped over it (ProFTPD): the server
                    // allows no commands. The file was uploaded: the size check stands.
                    return (null, e.Message, true);
                }
                catch (ObjectDisposedException e) when (!ct.IsCancellationRequested)
                {
                    return (null, e.Message, true);
                }

                var hex = command.ExitStatus == 0 ? ParseSha256Sum(command.Result) : null;
                // 126/127: the shell can run neither command; none: the server ended the exec without a status.
                var status = command.ExitStatus;
                return hex != null ? (hex, "", false)
                    : (null, $"exit status {status?.ToString() ?? "none"}: {command.Error?.Trim()}", status is null || status == 126 || status == 127);
            }
        }
    }
}
