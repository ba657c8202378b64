using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;

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

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int Open(string path, int flags, uint mode);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        private static extern int Close(int fd);

        /// <summary>
        /// Creates the file at <paramref name="path"/> with <paramref name="mode"/> (less the umask) when nothing is there,
        /// on Unix; an existing file is left as it is. Any failure is left to the open that follows to report.
        /// </summary>
        public static void CreateIfMissing(string path, int mode)
        {
            // O_WRONLY | O_CREAT | O_CLOEXEC: O_CREAT is 0x40 on Linux, 0x200 on macOS and the BSDs.
            var create = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? 0x40 | 0x80000 : 0x200 | 0x1000000;
            try
            {
                var fd = Open(path, 0x1 | create, (uint)mode & 0xFFFu);
                if (fd >= 0)
                {
                    Close(fd);
                }
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                // (FileStream creates it then, with the default mode.)
            }
        }

        [DllImport("libc", EntryPoint = "utimensat", SetLastError = true)]
        private static extern int UtimensAt(int directoryFd, byte[] path, long[] times, int flags);

        private static int _utimensatUnavailable = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && IntPtr.Size == 8 ? 0 : 1;

        /// <summary>
        /// Sets the modification time of <paramref name="path"/> (not following a link) and leaves its access time as it
        /// is, in one utimensat(2) on 64-bit Linux. <see cref="File.SetLastWriteTimeUtc"/> first reads the access time back
        /// with an lstat to write it again: one call more for every delivered file. False where it cannot be used (the
        /// caller then sets the time as before); a failure of the call itself throws as File would.
        /// </summary>
        public static bool TrySetLastWriteTimeUtc(string path, DateTime utc)
        {
            if (Volatile.Read(ref _utimensatUnavailable) != 0)
            {
                return false;
            }

            const long UtimeOmit = (1L << 30) - 2;
            const int AtFdCwd = -100;
            const int AtSymlinkNoFollow = 0x100;
            var ticks = utc.Ticks - UnixEpochTicks;
            var seconds = ticks >= 0 ? ticks / TimeSpan.TicksPerSecond : -((-ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);
            var nanoseconds = (ticks - seconds * TimeSpan.TicksPerSecond) * 100;
            // struct timespec[2] on 64-bit Linux: { tv_sec, tv_nsec } for the access time, then the modification time.
            var times = new[] { 0L, UtimeOmit, seconds, nanoseconds };
            var utf8 = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
            System.Text.Encoding.UTF8.GetBytes(path, 0, path.Length, utf8, 0);
            try
            {
                if (UtimensAt(AtFdCwd, utf8, times, AtSymlinkNoFollow) == 0)
                {
                    return true;
                }
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                Volatile.Write(ref _utimensatUnavailable, 1);
                return false;
            }

            var errno = Marshal.GetLastWin32Error();
            throw errno == 1 || errno == 13 ? new UnauthorizedAccessException($"Setting the time of '{path}' is not permitted.")
                : errno == 2 || errno == 20 ? new FileNotFoundException($"'{path}' does not exist.", path)
                : (Exception)new IOException($"Setting the time of '{path}' failed (error {errno}).", errno);
        }

        private static readonly long UnixEpochTicks = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

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
