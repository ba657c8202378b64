using System;
using System.Collections.Generic;
using System.Linq;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Hosting
{
    /// <summary>A plugin type the module ships (DESIGN.md, "Built-in plugins").</summary>
    public sealed class BuiltInPluginType
    {
        internal BuiltInPluginType(string name, PluginType kind, string assemblyName, string className, string description,
            bool isDefault = false, params string[] schemes)
        {
            Name = name;
            Kind = kind;
            AssemblyName = assemblyName;
            ClassName = className;
            Description = description;
            IsDefault = isDefault;
            Schemes = schemes;
        }

        /// <summary>The type name users type (<c>-Type Sftp</c>).</summary>
        public string Name { get; }
        /// <summary>The plugin kind.</summary>
        public PluginType Kind { get; }
        /// <summary>The assembly (file name without <c>.dll</c>) that holds it; heavy dependencies load only when it is used.</summary>
        public string AssemblyName { get; }
        /// <summary>The full class name.</summary>
        public string ClassName { get; }
        /// <summary>What it is.</summary>
        public string Description { get; }
        /// <summary>True when an instance named after the type exists without registration.</summary>
        public bool IsDefault { get; }
        /// <summary>For protocols: the URI schemes served, known without loading the assembly.</summary>
        public IReadOnlyList<string> Schemes { get; }
    }

    /// <summary>The plugin types built into the module, looked up by the names users type.</summary>
    public static class PluginCatalog
    {
        private const string Engine = "TransferTools.Engine";

        /// <summary>Every built-in plugin type.</summary>
        public static IReadOnlyList<BuiltInPluginType> BuiltIns { get; } = new[]
        {
            new BuiltInPluginType("FileSystem", PluginType.Protocol, Engine, "TransferTools.Engine.BuiltIn.FileSystem.FileSystemProtocolPlugin",
                "Local, UNC and mounted paths, and file:// URIs.", isDefault: true, "file"),
            new BuiltInPluginType("Sftp", PluginType.Protocol, "TransferTools.Plugins.Sftp", "TransferTools.Plugins.Sftp.SftpProtocolPlugin",
                "SFTP over SSH (SSH.NET) with pinned or known_hosts-verified host keys.", isDefault: true, "sftp"),
            new BuiltInPluginType("Http", PluginType.Protocol, Engine, "TransferTools.Engine.BuiltIn.Http.HttpProtocolPlugin",
                "HTTP(S) download with Range resume; PUT and WebDAV upload.", isDefault: true, "http", "https"),
            new BuiltInPluginType("Storage", PluginType.Protocol, Engine, "TransferTools.Engine.BuiltIn.StorageProtocol.StorageProtocolPlugin",
                "storage://NAME/... URIs: any registered storage plugin as a transfer endpoint.", isDefault: true, "storage"),
            new BuiltInPluginType("LocalStore", PluginType.Storage, Engine, "TransferTools.Engine.BuiltIn.LocalStore.LocalStorePlugin",
                "Content-addressed files with a SQLite index under the TransferTools home (the embedded default).", isDefault: true),
            new BuiltInPluginType("AzureBlob", PluginType.Storage, "TransferTools.Plugins.AzureBlob", "TransferTools.Plugins.AzureBlob.AzureBlobStoragePlugin",
                "Azure Blob Storage (one container per registration)."),
            new BuiltInPluginType("LocalUsers", PluginType.Auth, Engine, "TransferTools.Engine.BuiltIn.LocalUsers.LocalUsersAuthPlugin",
                "Users under the TransferTools home with PBKDF2 password hashes, roles and signed tokens."),
            new BuiltInPluginType("Oidc", PluginType.Auth, "TransferTools.Plugins.Oidc", "TransferTools.Plugins.Oidc.OidcAuthPlugin",
                "OpenID Connect: client credentials, device code, refresh; tokens validated against the provider's JWKS."),
            new BuiltInPluginType("Progress", PluginType.Monitor, Engine, "TransferTools.Engine.BuiltIn.Progress.ProgressMonitorPlugin",
                "Write-Progress in the calling session.", isDefault: true),
            new BuiltInPluginType("EventLog", PluginType.Monitor, Engine, "TransferTools.Engine.BuiltIn.EventLog.EventLogMonitorPlugin",
                "JSON-lines event file, one event per line (configuration key Path)."),
            new BuiltInPluginType("OpenTelemetry", PluginType.Monitor, "TransferTools.Plugins.OpenTelemetry", "TransferTools.Plugins.OpenTelemetry.OpenTelemetryMonitorPlugin",
                "System.Diagnostics metrics and traces named TransferTools, with OTLP and Prometheus exporters."),
        };

        /// <summary>A built-in type by name (case-insensitive), or null.</summary>
        public static BuiltInPluginType? Find(string typeName) =>
            BuiltIns.FirstOrDefault(t => string.Equals(t.Name, typeName, StringComparison.OrdinalIgnoreCase));

        /// <summary>The built-in types that exist without registration.</summary>
        public static IEnumerable<BuiltInPluginType> Defaults => BuiltIns.Where(t => t.IsDefault);
    }
}
