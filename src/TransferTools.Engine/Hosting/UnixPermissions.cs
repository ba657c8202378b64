using System;
using System.IO;
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

        /// <summary>chmod <paramref name="mode"/> (permission bits) on Unix.</summary>
        /// <exception cref="IOException">The mode could not be set (errno as the HResult).</exception>
        /// <exception cref="UnauthorizedAccessException">The caller does not own the file.</exception>
        public static void SetMode(string path, int mode)
        {
            if (Chmod(path, (uint)mode & 0xFFFu) != 0)
            {
                var errno = Marshal.GetLastWin32Error();
                throw errno == 1 || errno == 13 ? new UnauthorizedAccessException($"chmod of '{path}' is not permitted.")
                    : (Exception)new IOException($"chmod of '{path}' failed (error {errno}).", errno);
            }
        }
    }
}
