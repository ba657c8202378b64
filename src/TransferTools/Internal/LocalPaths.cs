using System;
using System.IO;
using System.Management.Automation;
using TransferTools.Abstractions;

namespace TransferTools.Internal
{
    /// <summary>
    /// Local paths typed by the user, made absolute through the session's providers (the current location, <c>~</c>,
    /// PSDrives) as PowerShell's own cmdlets do, and never through the process's working directory.
    /// </summary>
    internal static class LocalPaths
    {
        /// <summary>The file system path <paramref name="path"/> names, taken literally (no wildcards).</summary>
        /// <exception cref="PluginException"><c>UncPathNotSupported</c> for a UNC path on a system without UNC paths, and
        /// <c>NotAFileSystemPath</c> for a path of another provider; both <see cref="ErrorCode.InvalidArgument"/>.</exception>
        public static string Resolve(SessionState session, string path)
        {
            if (IsUncOffWindows(path))
            {
                throw UncNotSupported(path);
            }

            string resolved;
            try
            {
                resolved = session.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
                if (provider.Name != "FileSystem")
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"'{path}' is a {provider.Name} path, not a file system path.",
                        errorId: "NotAFileSystemPath", target: path);
                }
            }
            catch (Exception e) when (e is ProviderNotFoundException || e is System.Management.Automation.DriveNotFoundException || e is NotSupportedException)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{path}' is not a file system path: {e.Message}", e, "NotAFileSystemPath", path);
            }

            // PowerShell hands a UNC path back unchanged on Linux and macOS, where .NET would take it as a name relative to
            // the process's working directory (not even the PowerShell location).
            if (IsUncOffWindows(resolved) || !System.IO.Path.IsPathRooted(resolved))
            {
                throw UncNotSupported(path);
            }

            return resolved;
        }

        /// <summary>Refuses a UNC path on a system without UNC paths, before a wildcard resolution would take it as a relative name.</summary>
        /// <exception cref="PluginException"><c>UncPathNotSupported</c> (<see cref="ErrorCode.InvalidArgument"/>).</exception>
        public static void RefuseUncOffWindows(string path)
        {
            if (IsUncOffWindows(path))
            {
                throw UncNotSupported(path);
            }
        }

        private static bool IsUncOffWindows(string path) =>
            Path.DirectorySeparatorChar == '/' && path.StartsWith(@"\\", StringComparison.Ordinal);

        private static PluginException UncNotSupported(string path) => new PluginException(ErrorCode.InvalidArgument,
            $"'{path}' is a UNC path, which this system does not have; mount the share and give the path it is mounted at.",
            errorId: "UncPathNotSupported", target: path);
    }
}
