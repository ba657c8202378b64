using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    // The settings of one connection: the registration's configuration, then the transfer's own options
    // (TransferOptions.Custom), checked and turned into SftpConnectionSettings.
    public sealed partial class SftpProtocolPlugin
    {
        // Sessions whose request sizing was already said (bit 1: reads, bit 2: writes).
        private readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, SizingTold> _sizingTold =
            new System.Runtime.CompilerServices.ConditionalWeakTable<object, SizingTold>();

        private sealed class SizingTold
        {
            public int Told;
        }

        /// <summary>
        /// True the first time a session's read (or write) request sizing is to be said: it is the same for every file of
        /// the session, and a verbose line per small file cost the pipeline thread a wake-up per file.
        /// </summary>
        private bool FirstSizing(object session, bool reading)
        {
            var box = _sizingTold.GetValue(session, _ => new SizingTold());
            var bit = reading ? 1 : 2;
            lock (box)
            {
                if ((box.Told & bit) != 0)
                {
                    return false;
                }

                box.Told |= bit;
                return true;
            }
        }

        private SftpConnectionSettings Settings(TransferOptions options)
        {
            string? Get(string key) =>
                options.Custom.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v
                : Configuration.TryGetValue(key, out var c) && !string.IsNullOrWhiteSpace(c) ? c
                : null;

            var settings = new SftpConnectionSettings
            {
                PinnedFingerprint = Get(HostKeyFingerprintKey),
                StallTimeout = options.StallTimeout,
            };

            var knownHosts = Get(KnownHostsPathKey);
            if (knownHosts != null)
            {
                settings.KnownHostsFiles = knownHosts.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries)
                    .Select(p => p.Trim()).Select(ExpandHome).ToArray();
            }

            if (settings.PinnedFingerprint != null && !IsFingerprint(settings.PinnedFingerprint))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{settings.PinnedFingerprint}' is not a host key fingerprint: expected SHA256:<base64>, as ssh-keygen -l prints it.",
                    errorId: "SftpInvalidFingerprint", target: settings.PinnedFingerprint);
            }

            settings.BufferSize = (uint)Number(Get(BufferSizeKey), BufferSizeKey, 1024, 4 * 1024 * 1024, (int)settings.BufferSize);
            settings.ConnectTimeout = TimeSpan.FromSeconds(Number(Get(ConnectTimeoutKey), ConnectTimeoutKey, 1, 3600, 30));
            settings.KeepAlive = TimeSpan.FromSeconds(Number(Get(KeepAliveKey), KeepAliveKey, 0, 3600, 15));
            settings.ParallelWrites = Number(Get(ParallelWritesKey), ParallelWritesKey, 1, 64, settings.ParallelWrites);
            settings.WriteSegmentSize = Number(Get(WriteSegmentSizeKey), WriteSegmentSizeKey, 4096, 16 * 1024 * 1024, settings.WriteSegmentSize);
            settings.PendingWrites = Number(Get(PendingWritesKey), PendingWritesKey, 0, 1024, settings.PendingWrites);
            settings.PendingReads = Number(Get(PendingReadsKey), PendingReadsKey, 0, 1024, settings.PendingReads);
            settings.InFlightBytes = Number(Get(InFlightBytesKey), InFlightBytesKey, 64 * 1024, 256 * 1024 * 1024, settings.InFlightBytes);
            var connections = Get(StreamConnectionsKey);
            if (connections != null && !string.Equals(connections, "PerStream", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(connections, "Shared", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The Sftp option {StreamConnectionsKey} is PerStream or Shared; it is '{connections}'.",
                    errorId: "SftpInvalidOption", target: StreamConnectionsKey);
            }

            settings.StreamsShareConnection = string.Equals(connections, "Shared", StringComparison.OrdinalIgnoreCase);
            return settings;
        }

        private static bool IsFingerprint(string value)
        {
            var body = KnownHosts.NormalizeFingerprint(value).Substring(7);
            if (body.Length != 43)
            {
                return false;
            }

            try
            {
                return Convert.FromBase64String(body + "=").Length == 32;
            }
            catch (FormatException)
            {
                return false;
            }
        }

        private static int Number(string? value, string key, int min, int max, int fallback)
        {
            if (value is null)
            {
                return fallback;
            }

            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"Sftp option {key}='{value}' must be a whole number from {min} to {max}.",
                    errorId: "SftpInvalidOption", target: key);
            }

            return n;
        }

        private static string ExpandHome(string path) =>
            path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path.Substring(2) : "")
                : path;
    }
}
