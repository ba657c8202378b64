using System;

namespace TransferTools.Abstractions
{
    /// <summary>
    /// Declares a plugin class to the engine: the type name users type (<c>Register-TransferPlugin -Type NAME</c>), its
    /// kind, the URI schemes a protocol serves, one sentence on what it is, and which configuration keys hold secrets.
    /// It is the plugin's one registration: the engine reads it without creating the plugin (for the plugins the module
    /// ships, without even loading their assembly), so what it says must not depend on configuration.
    /// </summary>
    /// <example>
    /// <code>
    /// [TransferPlugin("ApiKeyAuth", PluginType.Auth, Description = "API keys from the configuration.", SecretKeys = new[] { "ApiKeys" })]
    /// public sealed class ApiKeyAuthPlugin : IAuthPlugin { ... }
    /// </code>
    /// </example>
    /// <remarks>Use constant expressions only (literals, <c>const</c> fields): the module reads the built-in plugins'
    /// declarations from their assemblies' metadata.</remarks>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    public sealed class TransferPluginAttribute : Attribute
    {
        /// <summary>Declares a plugin class.</summary>
        /// <param name="name">The type name users type, such as <c>Sftp</c> (letters, digits, '.', '-', '_').</param>
        /// <param name="kind">The plugin's kind; the class implements the matching interface.</param>
        public TransferPluginAttribute(string name, PluginType kind)
        {
            Name = name;
            Kind = kind;
        }

        /// <summary>The type name users type (<c>-Type Sftp</c>); also what <see cref="PluginMetadata.Name"/> should say.</summary>
        public string Name { get; }

        /// <summary>The plugin's kind.</summary>
        public PluginType Kind { get; }

        /// <summary>One sentence on what the plugin does, shown by <c>Get-TransferPlugin</c> and in tab completion of <c>-Type</c>.</summary>
        public string Description { get; set; } = "";

        /// <summary>For a protocol plugin: the URI schemes it serves (lower case, such as <c>sftp</c>); the same as its
        /// <see cref="ITransferEndpoint.Schemes"/> when it moves bytes through the engine.</summary>
        public string[] Schemes { get; set; } = Array.Empty<string>();

        /// <summary>
        /// The configuration keys whose values are secrets (passwords, keys, tokens, connection strings, headers that
        /// carry credentials), compared without regard to case. The engine stores their values encrypted with a per-user
        /// key and shows them as <c>********</c>; <see cref="IPlugin.InitAsync"/> receives them in plain text.
        /// </summary>
        public string[] SecretKeys { get; set; } = Array.Empty<string>();

        /// <summary>
        /// The configuration keys whose values are local file or folder paths (several may be separated by <c>;</c>),
        /// compared without regard to case. <c>Register-TransferPlugin</c> resolves a relative path or one starting with
        /// <c>~</c> against the caller's current location and home folder, and stores it absolute, so the registration
        /// means the same file in every later session, whatever its working folder.
        /// </summary>
        public string[] PathKeys { get; set; } = Array.Empty<string>();

        /// <summary>The declaration on <paramref name="pluginClass"/>, or null when it has none.</summary>
        public static TransferPluginAttribute? Of(Type pluginClass) =>
            (TransferPluginAttribute?)GetCustomAttribute(pluginClass, typeof(TransferPluginAttribute), inherit: false);
    }
}
