using System;
using System.Collections.Generic;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Hosting
{
    /// <summary>One persisted plugin registration: a name users type, the plugin type behind it, its configuration.</summary>
    public sealed class PluginRegistration
    {
        /// <summary>The registration's name (unique, case-insensitive), e.g. <c>Archive</c>.</summary>
        public string Name { get; set; } = "";
        /// <summary>The plugin type name, e.g. <c>AzureBlob</c>, or the class name of an external plugin.</summary>
        public string TypeName { get; set; } = "";
        /// <summary>The plugin's kind.</summary>
        public PluginType Kind { get; set; }
        /// <summary>For an external plugin, the full path of its assembly; null for built-ins.</summary>
        public string? AssemblyPath { get; set; }
        /// <summary>Configuration values that are not secrets.</summary>
        public Dictionary<string, string> Configuration { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        /// <summary>Secret configuration values in protected form (see <see cref="Security.SecretProtector"/>).</summary>
        public Dictionary<string, string> ProtectedConfiguration { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        /// <summary>When it was registered (UTC).</summary>
        public DateTimeOffset RegisteredAt { get; set; }
        /// <summary>True for the defaults that exist without registration (FileSystem, LocalStore, Progress, ...).</summary>
        public bool IsDefault { get; set; }
    }
}
