using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TransferTools.Engine.Hosting
{
    /// <summary>Resolves the root of everything the module writes.</summary>
    /// <remarks><c>TRANSFERTOOLS_HOME</c> wins; otherwise XDG (<c>$XDG_DATA_HOME/TransferTools</c>, else
    /// <c>~/.local/share/TransferTools</c>) on Unix and <c>%LOCALAPPDATA%\TransferTools</c> on Windows.</remarks>
    public static class TransferToolsHome
    {
        /// <summary>The environment variable that overrides the home root.</summary>
        public const string EnvironmentVariable = "TRANSFERTOOLS_HOME";

        /// <summary>The home root for the current environment (not created).</summary>
        public static string Resolve()
        {
            var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(fromEnv))
            {
                return Path.GetFullPath(fromEnv);
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "TransferTools");
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            var baseDir = !string.IsNullOrWhiteSpace(xdg)
                ? xdg!
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            return Path.Combine(baseDir, "TransferTools");
        }

        /// <summary>Creates <paramref name="path"/> (and parents), readable only by the user on Unix.</summary>
        public static string EnsurePrivateDirectory(string path)
        {
            if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(path);
                UnixPermissions.TrySetOwnerOnly(path, directory: true);
            }

            return path;
        }
    }
}
