using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>The four kinds of plugin the engine hosts.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum PluginType
    {
        /// <summary>Who you are: <see cref="IAuthPlugin"/> (<c>auth</c>).</summary>
        Auth,
        /// <summary>Where items live: <see cref="IStoragePlugin"/> (<c>storage</c>).</summary>
        Storage,
        /// <summary>How bytes move: <see cref="IProtocolPlugin"/> (<c>protocol</c>).</summary>
        Protocol,
        /// <summary>Who watches: <see cref="IMonitorPlugin"/> (<c>monitor</c>).</summary>
        Monitor,
    }

    /// <summary>The string values of <see cref="PluginType"/>.</summary>
    public static class PluginTypes
    {
        /// <summary><c>auth</c></summary>
        public const string Auth = "auth";
        /// <summary><c>storage</c></summary>
        public const string Storage = "storage";
        /// <summary><c>protocol</c></summary>
        public const string Protocol = "protocol";
        /// <summary><c>monitor</c></summary>
        public const string Monitor = "monitor";

        /// <summary>The string value of <paramref name="type"/> (<c>auth</c>, <c>storage</c>, ...).</summary>
        public static string ToSeedValue(this PluginType type) => type switch
        {
            PluginType.Auth => Auth,
            PluginType.Storage => Storage,
            PluginType.Protocol => Protocol,
            _ => Monitor,
        };
    }

    /// <summary>What a plugin says about itself.</summary>
    public sealed class PluginMetadata
    {
        /// <summary>The plugin's type name, such as <c>FileSystem</c> or <c>LocalStore</c>.</summary>
        public string Name { get; set; } = "";
        /// <summary>The plugin's version.</summary>
        public string Version { get; set; } = "";
        /// <summary>One sentence on what the plugin does.</summary>
        public string Description { get; set; } = "";
        /// <summary>The plugin's kind.</summary>
        public PluginType Type { get; set; }
        /// <summary>Who wrote the plugin.</summary>
        public string Author { get; set; } = "";
        /// <summary>The plugin's licence (an SPDX id where there is one).</summary>
        public string License { get; set; } = "";

        /// <summary>
        /// Metadata as <paramref name="pluginClass"/> declares itself (<see cref="TransferPluginAttribute"/>: name, kind,
        /// description) with its assembly's version, so that a plugin says these things once.
        /// </summary>
        /// <exception cref="InvalidOperationException"><paramref name="pluginClass"/> carries no <see cref="TransferPluginAttribute"/>.</exception>
        public static PluginMetadata FromDeclaration(Type pluginClass, string author = "", string license = "")
        {
            var declared = TransferPluginAttribute.Of(pluginClass)
                ?? throw new InvalidOperationException($"{pluginClass.FullName} has no [TransferPlugin] declaration.");
            return new PluginMetadata
            {
                Name = declared.Name,
                Version = pluginClass.Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
                Description = declared.Description,
                Type = declared.Kind,
                Author = author,
                License = license,
            };
        }

        /// <inheritdoc/>
        public override string ToString() => $"{Name} {Version} ({Type.ToSeedValue()})";
    }

    /// <summary>
    /// The base interface every plugin implements.
    /// Lifecycle: <see cref="InitAsync"/> once, then operations, then <see cref="ShutdownAsync"/> once.
    /// </summary>
    public interface IPlugin
    {
        /// <summary>Initializes the plugin with its configuration. Secrets in it arrive already unprotected.</summary>
        /// <param name="context">The operation context: cancellation, logger, host services.</param>
        /// <param name="config">The registration's configuration (case-insensitive keys).</param>
        /// <exception cref="PluginException">The configuration is not usable (<see cref="ErrorCode.InvalidConfiguration"/>) or init failed.</exception>
        Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config);

        /// <summary>Releases everything the plugin holds. Called once; must not throw for an uninitialized plugin.</summary>
        Task ShutdownAsync(OperationContext context);

        /// <summary>What the plugin says about itself.</summary>
        PluginMetadata Metadata { get; }
    }
}
