using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace TransferTools.Engine.PluginLoading
{
    /// <summary>
    /// The load context of one third-party plugin assembly. Its private dependencies resolve from its own folder
    /// (through its .deps.json when it has one), so they cannot clash with the module's or another plugin's; the
    /// plugin API and the framework resolve to the copies already loaded, so the plugin's types are the engine's.
    /// </summary>
    public sealed class PluginLoadContext : AssemblyLoadContext
    {
        private static readonly Lazy<HashSet<string>> PlatformAssemblies = new Lazy<HashSet<string>>(ReadPlatformAssemblies);

        private readonly string _folder;
        private readonly AssemblyDependencyResolver? _resolver;
        private readonly IReadOnlyDictionary<string, Assembly> _shared;

        /// <summary>Creates the context for the plugin assembly at <paramref name="pluginPath"/> (a full path).</summary>
        /// <param name="pluginPath">The plugin's main assembly.</param>
        /// <param name="shared">Assemblies every plugin shares with the host, by simple name (at least TransferTools.Abstractions).</param>
        public PluginLoadContext(string pluginPath, IEnumerable<Assembly> shared)
            : base("TransferTools plugin " + Path.GetFileName(pluginPath), isCollectible: false)
        {
            PluginPath = pluginPath;
            _folder = Path.GetDirectoryName(pluginPath) ?? ".";
            _shared = shared.ToDictionary(a => a.GetName().Name!, StringComparer.OrdinalIgnoreCase);
            try
            {
                _resolver = new AssemblyDependencyResolver(pluginPath);
            }
            catch (Exception e) when (e is InvalidOperationException || e is ArgumentException)
            {
                // No host policy to read a .deps.json with (an unusual host): the folder probe below still works.
                _resolver = null;
            }
        }

        /// <summary>The plugin's main assembly.</summary>
        public string PluginPath { get; }

        /// <inheritdoc/>
        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var name = assemblyName.Name;
            if (name is null)
            {
                return null;
            }

            if (_shared.TryGetValue(name, out var shared))
            {
                return shared;
            }

            // Framework assemblies come from the host: a plugin's copy of System.* must not shadow the runtime's.
            if (PlatformAssemblies.Value.Contains(name))
            {
                return null;
            }

            var path = _resolver?.ResolveAssemblyToPath(assemblyName);
            if (path is null)
            {
                var probe = Path.Combine(_folder, name + ".dll");
                path = File.Exists(probe) ? probe : null;
            }

            // Not the plugin's own: let the default context (the module and PowerShell) answer.
            return path is null ? null : LoadFromAssemblyPath(path);
        }

        /// <inheritdoc/>
        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            var path = _resolver?.ResolveUnmanagedDllToPath(unmanagedDllName);
            return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }

        private static HashSet<string> ReadPlatformAssemblies()
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
            {
                foreach (var path in list.Split(Path.PathSeparator))
                {
                    if (path.Length > 0)
                    {
                        names.Add(Path.GetFileNameWithoutExtension(path));
                    }
                }
            }

            return names;
        }
    }
}
