using System;
using System.Collections.Concurrent;
using System.IO;
using System.Reflection;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.PluginLoading
{
    /// <summary>
    /// Loads each third-party plugin assembly into its own <see cref="PluginLoadContext"/>, once per process and path:
    /// registering and then using a plugin, or using it from several runspaces, gives the same assembly.
    /// </summary>
    public sealed class IsolatedPluginAssemblyLoader : IPluginAssemblyLoader
    {
        private static readonly ConcurrentDictionary<string, Lazy<Assembly>> Loaded = new ConcurrentDictionary<string, Lazy<Assembly>>(
            OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

        /// <inheritdoc/>
        public Assembly Load(string path)
        {
            var full = Path.GetFullPath(path);
            var lazy = Loaded.GetOrAdd(full, p => new Lazy<Assembly>(() =>
                new PluginLoadContext(p, new[] { typeof(IPlugin).Assembly }).LoadFromAssemblyPath(p)));
            try
            {
                return lazy.Value;
            }
            catch
            {
                // A failed load (a bad image, a file being rebuilt) is not cached: the next attempt tries again.
                Loaded.TryRemove(new System.Collections.Generic.KeyValuePair<string, Lazy<Assembly>>(full, lazy));
                throw;
            }
        }
    }
}
