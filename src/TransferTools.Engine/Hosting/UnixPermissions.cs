using System;
using System.Runtime.InteropServices;

namespace TransferTools.Engine.Hosting
{
    /// <summary>Restricts files that hold secrets or private state to their owner on Unix.</summary>
    internal static class UnixPermissions
    {
        [DllImport("libc", EntryPoint = "chmod", SetLastError = true)]
        private static extern int Chmod(string path, uint mode);

        /// <summary>chmod 0700 (directory) or 0600 (file); a no-op on Windows, where the profile is private already.</summary>
        public static bool TrySetOwnerOnly(string path, bool directory)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return true;
            }

            try
            {
                return Chmod(path, directory ? 0x1C0u /* 0700 */ : 0x180u /* 0600 */) == 0;
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                return false;
            }
        }
    }
}
