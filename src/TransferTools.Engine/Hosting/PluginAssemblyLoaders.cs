using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace TransferTools.Engine.Hosting
{
    /// <summary>
    /// Chooses how third-party plugin assemblies load: on .NET 8 or later (PowerShell 7.4+) each gets its own
    /// AssemblyLoadContext through TransferTools.Engine.PluginLoading.dll; elsewhere (Windows PowerShell 5.1) they load
    /// with <see cref="Assembly.LoadFrom(string)"/>.
    /// </summary>
    public static class PluginAssemblyLoaders
    {
        internal const string IsolationAssembly = "TransferTools.Engine.PluginLoading";
        internal const string IsolationLoaderType = "TransferTools.Engine.PluginLoading.IsolatedPluginAssemblyLoader";

        /// <summary>The module subfolder holding net8.0 builds of built-in plugin assemblies (with their dependencies),
        /// preferred over the netstandard2.0 build beside the module on .NET 8 or later.</summary>
        public const string ModernFolder = "net8.0";

        /// <summary>
        /// The module subfolder holding the same plugin builds precompiled to native code (ReadyToRun) for this runtime
        /// and platform, or null where the module ships none (only .NET 10 or later on 64-bit Linux on x64). Preferred
        /// over <see cref="ModernFolder"/>: a session's first SFTP connection then runs SSH.NET's and BouncyCastle's
        /// handshake code precompiled instead of compiling some thousand methods first. A runtime that cannot use
        /// the precompiled code (a later major version may refuse it) compiles the same IL, as from net8.0/.
        /// </summary>
        public static string? PrecompiledFolder =>
            Environment.Version.Major >= 10 && RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
            && RuntimeInformation.ProcessArchitecture == Architecture.X64
                ? "net10.0-linux-x64"
                : null;

        /// <summary>True when the runtime can give each plugin its own AssemblyLoadContext (.NET 8 or later).</summary>
        public static bool CanIsolate =>
            !RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase)
            && Environment.Version.Major >= 8;

        /// <summary>
        /// The loader for this runtime. The isolation assembly is loaded on the first plugin load, not here, so that
        /// Import-Module stays fast.
        /// </summary>
        /// <param name="moduleDirectory">The folder holding the isolation assembly (the module folder).</param>
        public static IPluginAssemblyLoader CreateDefault(string moduleDirectory)
        {
            var isolation = Path.Combine(moduleDirectory, IsolationAssembly + ".dll");
            return CanIsolate && File.Exists(isolation) ? new DeferredLoader(isolation) : new DefaultPluginAssemblyLoader();
        }

        private sealed class DeferredLoader : IPluginAssemblyLoader
        {
            private readonly Lazy<IPluginAssemblyLoader> _inner;

            public DeferredLoader(string isolationPath)
            {
                _inner = new Lazy<IPluginAssemblyLoader>(() =>
                {
                    var assembly = Assembly.LoadFrom(isolationPath);
                    var type = assembly.GetType(IsolationLoaderType, throwOnError: true)!;
                    return (IPluginAssemblyLoader)Activator.CreateInstance(type)!;
                });
            }

            public Assembly Load(string path) => _inner.Value.Load(path);
        }
    }
}
