using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Hosting
{
    /// <summary>A plugin type the module ships (DESIGN.md, "Built-in plugins"), as its class declares it.</summary>
    public sealed class BuiltInPluginType
    {
        internal BuiltInPluginType(PluginDeclaration declaration, string assemblyName, bool isDefault)
        {
            Declaration = declaration;
            AssemblyName = assemblyName;
            IsDefault = isDefault;
        }

        /// <summary>What the plugin's class declares (<see cref="TransferPluginAttribute"/>).</summary>
        public PluginDeclaration Declaration { get; }
        /// <summary>The type name users type (<c>-Type Sftp</c>).</summary>
        public string Name => Declaration.Name;
        /// <summary>The plugin kind.</summary>
        public PluginType Kind => Declaration.Kind;
        /// <summary>The assembly (file name without <c>.dll</c>) that holds it; heavy dependencies load only when it is used.</summary>
        public string AssemblyName { get; }
        /// <summary>The full class name.</summary>
        public string ClassName => Declaration.ClassName;
        /// <summary>What it is.</summary>
        public string Description => Declaration.Description;
        /// <summary>True when an instance named after the type exists without registration.</summary>
        public bool IsDefault { get; }
        /// <summary>For protocols: the URI schemes served, known without loading the assembly.</summary>
        public IReadOnlyList<string> Schemes => Declaration.Schemes;
        /// <summary>The configuration keys whose values are secrets.</summary>
        public IReadOnlyList<string> SecretKeys => Declaration.SecretKeys;
    }

    /// <summary>
    /// The plugin types built into the module, looked up by the names users type. Each comes from its class's
    /// <see cref="TransferPluginAttribute"/>, read from the assembly's metadata: the plugins in assemblies of their own
    /// carry heavy dependencies and are loaded only when used, and nothing about a plugin is written here twice.
    /// </summary>
    public static class PluginCatalog
    {
        /// <summary>The endpoint of the local side of every transfer (the built-in FileSystem protocol): the engine's one
        /// use of a concrete plugin type, made here so that the transfer code knows it only by its capabilities.</summary>
        internal static ITransferEndpoint CreateLocalEndpoint() => new BuiltIn.FileSystem.FileSystemProtocolPlugin();

        /// <summary>The assemblies that ship built-in plugins: the engine's light ones, then one per heavy dependency.</summary>
        public static IReadOnlyList<string> PluginAssemblies { get; } = new[]
        {
            "TransferTools.Engine",
            "TransferTools.Plugins.Sftp",
            "TransferTools.Plugins.S3",
            "TransferTools.Plugins.AzureBlob",
            "TransferTools.Plugins.Oidc",
            "TransferTools.Plugins.OpenTelemetry",
        };

        /// <summary>The built-in types that exist without registration (the embedded defaults), in the order they are
        /// listed. This is the host's choice, not the plugins': it is what a fresh session can do unconfigured.</summary>
        public static IReadOnlyList<string> DefaultTypeNames { get; } = new[] { "FileSystem", "Sftp", "S3", "Http", "Storage", "LocalStore", "Progress" };

        private static readonly Lazy<IReadOnlyList<BuiltInPluginType>> Loaded = new Lazy<IReadOnlyList<BuiltInPluginType>>(() =>
            Load(Path.GetDirectoryName(typeof(PluginCatalog).Assembly.Location) ?? "."));

        /// <summary>Every built-in plugin type: protocols, storage, auth, monitors; defaults first within a kind.</summary>
        public static IReadOnlyList<BuiltInPluginType> BuiltIns => Loaded.Value;

        /// <summary>A built-in type by name (case-insensitive), or null.</summary>
        public static BuiltInPluginType? Find(string typeName) =>
            BuiltIns.FirstOrDefault(t => string.Equals(t.Name, typeName, StringComparison.OrdinalIgnoreCase));

        /// <summary>The built-in types that exist without registration.</summary>
        public static IEnumerable<BuiltInPluginType> Defaults => BuiltIns.Where(t => t.IsDefault);

        /// <summary>
        /// The declarations in the plugin assemblies found in <paramref name="directory"/>. An assembly that is not
        /// there (a build without that plugin) contributes nothing; the first declaration of a name wins.
        /// </summary>
        internal static IReadOnlyList<BuiltInPluginType> Load(string directory)
        {
            var found = new List<BuiltInPluginType>();
            foreach (var assembly in PluginAssemblies)
            {
                var path = Path.Combine(directory, assembly + ".dll");
                if (!File.Exists(path))
                {
                    continue;
                }

                foreach (var declaration in PluginDeclarationReader.Read(path))
                {
                    if (!found.Any(t => string.Equals(t.Name, declaration.Name, StringComparison.OrdinalIgnoreCase)))
                    {
                        found.Add(new BuiltInPluginType(declaration, assembly,
                            DefaultTypeNames.Contains(declaration.Name, StringComparer.OrdinalIgnoreCase)));
                    }
                }
            }

            return found
                .OrderBy(t => KindOrder(t.Kind))
                .ThenBy(t => t.IsDefault ? IndexOf(t.Name) : int.MaxValue)
                .ThenBy(t => t.Name, StringComparer.OrdinalIgnoreCase)
                .ToArray();
        }

        private static int IndexOf(string typeName) =>
            DefaultTypeNames.Select((n, i) => (n, i)).First(p => string.Equals(p.n, typeName, StringComparison.OrdinalIgnoreCase)).i;

        private static int KindOrder(PluginType kind) => kind switch
        {
            PluginType.Protocol => 0,
            PluginType.Storage => 1,
            PluginType.Auth => 2,
            _ => 3,
        };
    }
}
