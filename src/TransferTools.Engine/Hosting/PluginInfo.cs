using System;
using System.Collections.Generic;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Hosting
{
    /// <summary>Where a plugin instance is in its lifecycle.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum PluginState
    {
        /// <summary>Registered; not loaded in this session yet (loaded on first use).</summary>
        Registered,
        /// <summary>Initialized and in use.</summary>
        Active,
        /// <summary>Init failed; see <see cref="PluginInfo.LastError"/>.</summary>
        Failed,
        /// <summary>Shut down.</summary>
        Shutdown,
    }

    /// <summary>What <c>Get-TransferPlugin</c> shows for one registration.</summary>
    public sealed class PluginInfo
    {
        /// <summary>The registration name.</summary>
        public string Name { get; set; } = "";
        /// <summary>The plugin type name (<c>Sftp</c>, <c>LocalStore</c>, or an external class name).</summary>
        public string Type { get; set; } = "";
        /// <summary>The plugin kind.</summary>
        public PluginType Kind { get; set; }
        /// <summary>The state in this session.</summary>
        public PluginState State { get; set; }
        /// <summary>The plugin's own metadata, once loaded (null before).</summary>
        public PluginMetadata? Metadata { get; set; }
        /// <summary>The plugin's version, once loaded.</summary>
        public string? Version => Metadata?.Version;
        /// <summary>The description (from metadata once loaded, else from the catalog).</summary>
        public string Description { get; set; } = "";
        /// <summary>True for a default that exists without registration.</summary>
        public bool IsDefault { get; set; }
        /// <summary>True for a plugin type shipped with the module.</summary>
        public bool IsBuiltIn { get; set; }
        /// <summary>The assembly of an external plugin.</summary>
        public string? AssemblyPath { get; set; }
        /// <summary>The configuration, with secret values shown as <c>********</c>.</summary>
        public IReadOnlyDictionary<string, string> Configuration { get; set; } = new Dictionary<string, string>();
        /// <summary>When it was registered (null for defaults).</summary>
        public DateTimeOffset? RegisteredAt { get; set; }
        /// <summary>The last lifecycle error, with stage, or null.</summary>
        public string? LastError { get; set; }
        /// <summary>For monitors: events handed to the plugin.</summary>
        public long EventsDelivered { get; set; }
        /// <summary>For monitors: events lost because the plugin was slow or threw.</summary>
        public long EventsDropped { get; set; }

        /// <inheritdoc/>
        public override string ToString() => $"{Name} ({Type}, {Kind})";
    }
}
