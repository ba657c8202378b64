using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace TransferTools.Engine.BuiltIn.LocalStore
{
    /// <summary>
    /// Makes the native SQLite library (<c>e_sqlite3</c>) loadable wherever the engine runs. A netstandard2.0 module
    /// gets no native assets beside its dll, so PowerShell would not find the library on its own: the build copies
    /// every platform's copy to <c>runtimes/RID/native/</c> beside the engine, and this class picks the current
    /// platform's file at load time.
    /// </summary>
    /// <remarks>
    /// On .NET (PowerShell 7) a <c>DllImportResolver</c> is set on the SQLitePCLRaw provider assembly through
    /// reflection (the API is not in netstandard2.0). On .NET Framework (Windows PowerShell) the library is loaded by
    /// full path before first use, after which the provider's <c>DllImport("e_sqlite3")</c> binds to the loaded module.
    /// Where the host already resolves native assets (a net10.0 test host with a deps.json), the resolver defers to it.
    /// The library is a process-wide resource, so this is a process-wide, once-only step.
    /// </remarks>
    public static class SqliteNativeLoader
    {
        private const string LibraryName = "e_sqlite3";
        private const string ProviderAssembly = "SQLitePCLRaw.provider.e_sqlite3";
        private static readonly object Gate = new object();
        private static bool _done;

        /// <summary>The native library file chosen for this process, or null when the host's own probing is used.</summary>
        public static string? LoadedFrom { get; private set; }

        /// <summary>Installs the resolver (or preloads the library). Safe to call many times and from many threads.</summary>
        public static void EnsureInitialized()
        {
            lock (Gate)
            {
                if (_done)
                {
                    return;
                }

                _done = true;
                try
                {
                    var isNetFramework = RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);
                    if (isNetFramework)
                    {
                        PreloadOnWindows();
                    }
                    else
                    {
                        InstallResolver();
                    }
                }
                catch (Exception)
                {
                    // Never break the engine over this: if the library cannot be placed here, the host's default probing
                    // still runs, and Microsoft.Data.Sqlite reports a clear DllNotFoundException at first use.
                }
            }
        }

        /// <summary>The candidate native files for this platform, most specific first, under <paramref name="baseDirectory"/>.</summary>
        public static string[] CandidatePaths(string baseDirectory)
        {
            var file = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "e_sqlite3.dll"
                : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libe_sqlite3.dylib"
                : "libe_sqlite3.so";
            var paths = RuntimeIdentifiers().Select(rid => Path.Combine(baseDirectory, "runtimes", rid, "native", file)).ToList();
            paths.Add(Path.Combine(baseDirectory, file));
            return paths.ToArray();
        }

        /// <summary>The runtime identifiers whose native folders fit this process, most specific first.</summary>
        public static string[] RuntimeIdentifiers()
        {
            var arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => "x64",
                Architecture.X86 => "x86",
                Architecture.Arm64 => "arm64",
                Architecture.Arm => "arm",
                var other => other.ToString().ToLowerInvariant(),
            };
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return new[] { "win-" + arch, "win10-" + arch };
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                return new[] { "osx-" + arch, "maccatalyst-" + arch };
            }

            return IsMusl() ? new[] { "linux-musl-" + arch, "linux-" + arch } : new[] { "linux-" + arch, "linux-musl-" + arch };
        }

        private static bool IsMusl()
        {
            try
            {
                return Directory.Exists("/lib") && Directory.GetFiles("/lib", "ld-musl-*.so.1").Length > 0;
            }
            catch (Exception)
            {
                return false;
            }
        }

        private static string BaseDirectory => Path.GetDirectoryName(typeof(SqliteNativeLoader).Assembly.Location) ?? AppContext.BaseDirectory;

        private static string? FindLibrary() => CandidatePaths(BaseDirectory).FirstOrDefault(File.Exists);

        private static void InstallResolver()
        {
            var nativeLibrary = typeof(Marshal).Assembly.GetType("System.Runtime.InteropServices.NativeLibrary");
            var resolverType = typeof(Marshal).Assembly.GetType("System.Runtime.InteropServices.DllImportResolver");
            if (nativeLibrary is null || resolverType is null)
            {
                return;
            }

            Assembly provider;
            try
            {
                provider = Assembly.Load(new AssemblyName(ProviderAssembly));
            }
            catch (Exception)
            {
                return;
            }

            var setResolver = nativeLibrary.GetMethod("SetDllImportResolver", new[] { typeof(Assembly), resolverType });
            var tryLoad = nativeLibrary.GetMethod("TryLoad", new[] { typeof(string), typeof(IntPtr).MakeByRefType() });
            if (setResolver is null || tryLoad is null)
            {
                return;
            }

            _tryLoad = tryLoad;
            var resolve = typeof(SqliteNativeLoader).GetMethod(nameof(Resolve), BindingFlags.NonPublic | BindingFlags.Static)!;
            var resolver = Delegate.CreateDelegate(resolverType, resolve);
            try
            {
                setResolver.Invoke(null, new object[] { provider, resolver });
            }
            catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException)
            {
                // Someone set a resolver on the provider already (another copy of the engine): theirs wins.
            }
        }

        private static MethodInfo? _tryLoad;
        private static IntPtr _handle;

        // Matches System.Runtime.InteropServices.DllImportResolver.
        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (!string.Equals(libraryName, LibraryName, StringComparison.Ordinal) && !libraryName.StartsWith(LibraryName + ".", StringComparison.Ordinal)
                && !libraryName.StartsWith("lib" + LibraryName, StringComparison.Ordinal))
            {
                return IntPtr.Zero;
            }

            lock (Gate)
            {
                if (_handle != IntPtr.Zero)
                {
                    return _handle;
                }

                foreach (var path in CandidatePaths(BaseDirectory).Where(File.Exists))
                {
                    var args = new object?[] { path, IntPtr.Zero };
                    if (_tryLoad != null && (bool)_tryLoad.Invoke(null, args)!)
                    {
                        _handle = (IntPtr)args[1]!;
                        LoadedFrom = path;
                        return _handle;
                    }
                }
            }

            // Not shipped beside us: let the runtime probe as usual (deps.json, app folder, system library).
            return IntPtr.Zero;
        }

        private static void PreloadOnWindows()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return;
            }

            var path = FindLibrary();
            if (path != null && LoadLibraryW(path) != IntPtr.Zero)
            {
                LoadedFrom = path;
            }
        }

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryW(string fileName);
    }
}
