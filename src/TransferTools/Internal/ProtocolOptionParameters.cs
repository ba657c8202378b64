using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;

namespace TransferTools.Internal
{
    /// <summary>
    /// The protocol options a command's parameters describe, for every cmdlet that takes <c>-ProtocolOption</c>,
    /// <c>-KeyFile</c> and <c>-HostKeyFingerprint</c> (the transfer cmdlets and the folder sync ones alike).
    /// </summary>
    internal static class ProtocolOptionParameters
    {
        /// <summary>The SFTP protocol option that <c>-KeyFile</c> sets.</summary>
        internal const string KeyFileOption = "KeyFile";

        /// <summary>The SFTP protocol option that <c>-HostKeyFingerprint</c> sets.</summary>
        internal const string HostKeyFingerprintOption = "HostKeyFingerprint";

        /// <summary>
        /// <paramref name="protocolOption"/>'s entries, then <paramref name="keyFile"/> (made absolute through the session, as
        /// every local path) and <paramref name="hostKeyFingerprint"/>, which win over an entry of the same name.
        /// </summary>
        /// <exception cref="Abstractions.PluginException">A key file given as a UNC path where there are none, or a path
        /// of another provider.</exception>
        public static IDictionary<string, string> Collect(SessionState session, Hashtable? protocolOption, string? keyFile, string? hostKeyFingerprint)
        {
            var custom = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (protocolOption != null)
            {
                foreach (DictionaryEntry entry in protocolOption)
                {
                    custom[entry.Key?.ToString() ?? ""] = entry.Value?.ToString() ?? "";
                }
            }

            if (keyFile != null)
            {
                custom[KeyFileOption] = LocalPaths.Resolve(session, keyFile);
            }

            if (hostKeyFingerprint != null)
            {
                custom[HostKeyFingerprintOption] = hostKeyFingerprint;
            }

            return custom;
        }
    }
}
