using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.FileSystem;

namespace TransferTools.Engine.Protocols
{
    /// <summary>
    /// What a local path is once links are followed, where <see cref="FileInfo"/> cannot say. FileInfo describes a
    /// symbolic link itself (its length is that of the target's path), and netstandard2.0 has no way to ask for a file's
    /// type: named pipes, sockets and devices look like empty files. Opening a named pipe for reading blocks until
    /// something writes to it, so a transfer, or a folder sent or received with -Recurse, that met one would hang an
    /// unattended runbook for good; a socket or a device is no file to copy either. On Linux this calls statx(2), whose
    /// buffer has the same layout on every architecture; elsewhere <see cref="Of"/> answers null.
    /// </summary>
    internal static class SpecialFiles
    {
        private const int AtFdCwd = -100;
        private const uint StatxType = 0x1;
        private const uint StatxMode = 0x2;
        private const int PermissionMask = 0xFFF;
        private const uint StatxMtime = 0x40;
        private const uint StatxSize = 0x200;
        private const uint StatxCtime = 0x80;
        private const uint StatxIno = 0x100;
        private const int InoOffset = 32;
        private const int CtimeOffset = 96;
        private const int DevMajorOffset = 136;
        private const int ModeOffset = 28;
        private const int SizeOffset = 40;
        private const int MtimeOffset = 112;
        private const int BufferSize = 256;
        private const int TypeMask = 0xF000;
        private const int DirectoryType = 0x4000;
        private const int Enoent = 2;
        private const int Enotdir = 20;

        /// <summary>Nonzero where statx cannot be called (not Linux, or a C library without it).</summary>
        private static int _unavailable = RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? 0 : 1;

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        private static extern int Statx(int directoryFd, byte[] nulTerminatedUtf8Path, int flags, uint mask, IntPtr buffer);

        /// <summary>
        /// What <paramref name="path"/> is, a link followed; null where that cannot be told (not Linux, or the call failed
        /// for another reason than the path being absent).
        /// </summary>
        public static LocalFileStatus? Of(string path)
        {
            if (Volatile.Read(ref _unavailable) != 0)
            {
                return null;
            }

            var buffer = Marshal.AllocHGlobal(BufferSize);
            try
            {
                // (netstandard2.0 cannot marshal a string as UTF-8, the encoding Linux paths are in.)
                var utf8 = new byte[Encoding.UTF8.GetByteCount(path) + 1];
                Encoding.UTF8.GetBytes(path, 0, path.Length, utf8, 0);
                if (Statx(AtFdCwd, utf8, 0, StatxType | StatxMode | StatxSize | StatxMtime, buffer) != 0)
                {
                    var errno = Marshal.GetLastWin32Error();
                    return errno == Enoent || errno == Enotdir ? LocalFileStatus.Missing : null;
                }

                var mode = Marshal.ReadInt16(buffer, ModeOffset);
                var kind = (mode & TypeMask) switch
                {
                    0x1000 => "a named pipe (FIFO)",
                    0xC000 => "a socket",
                    0x2000 => "a character device",
                    0x6000 => "a block device",
                    _ => null,
                };
                var seconds = Marshal.ReadInt64(buffer, MtimeOffset);
                var nanoseconds = Marshal.ReadInt32(buffer, MtimeOffset + 8);
                return new LocalFileStatus(true, kind, Marshal.ReadInt64(buffer, SizeOffset),
                    DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.AddTicks(nanoseconds / 100), mode & PermissionMask,
                    isDirectory: (mode & TypeMask) == DirectoryType);
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                Volatile.Write(ref _unavailable, 1);
                return null;
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
            }
        }

        /// <summary>
        /// "device:inode:change time" of <paramref name="path"/>, a link followed: another file, or this one rewritten (even
        /// with its old modification time restored; the change time cannot be set back), answers another text. Null where
        /// that cannot be told (not Linux, a failed call, a file system that gives neither).
        /// </summary>
        public static string? IdentityOf(string path)
        {
            if (Volatile.Read(ref _unavailable) != 0)
            {
                return null;
            }

            var buffer = Marshal.AllocHGlobal(BufferSize);
            try
            {
                var utf8 = new byte[Encoding.UTF8.GetByteCount(path) + 1];
                Encoding.UTF8.GetBytes(path, 0, path.Length, utf8, 0);
                if (Statx(AtFdCwd, utf8, 0, StatxIno | StatxCtime, buffer) != 0
                    || ((uint)Marshal.ReadInt32(buffer, 0) & (StatxIno | StatxCtime)) != (StatxIno | StatxCtime))
                {
                    return null;
                }

                return string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0}.{1}:{2}:{3}.{4:D9}",
                    (uint)Marshal.ReadInt32(buffer, DevMajorOffset), (uint)Marshal.ReadInt32(buffer, DevMajorOffset + 4),
                    (ulong)Marshal.ReadInt64(buffer, InoOffset), Marshal.ReadInt64(buffer, CtimeOffset), (uint)Marshal.ReadInt32(buffer, CtimeOffset + 8));
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                Volatile.Write(ref _unavailable, 1);
                return null;
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
            }
        }

        /// <summary>For a message: what <paramref name="path"/> is when it is a named pipe, socket or device ("a named
        /// pipe (FIFO)"), else null (also where that cannot be told).</summary>
        public static string? KindOf(string path) => Of(path)?.SpecialKind;

        /// <summary>
        /// <paramref name="status"/> with its permission bits: the one statx call a file that needed no second look
        /// (<see cref="Describe"/>) did not make, on Linux; elsewhere (or where it fails) the status as it was, mode null.
        /// </summary>
        public static LocalFileStatus WithMode(LocalFileStatus status, string path) =>
            status.PosixMode != null || !status.Exists || Volatile.Read(ref _unavailable) != 0 ? status : Of(path) ?? status;

        /// <summary>
        /// What a transfer reading <paramref name="file"/> (which <see cref="FileInfo.Exists"/> says is there) will meet:
        /// a link's target, not the link itself; a named pipe, socket or device told as such (on Linux).
        /// </summary>
        /// <exception cref="IOException">A link's target cannot be opened where statx is not there to ask.</exception>
        /// <exception cref="UnauthorizedAccessException">The same, denied.</exception>
        public static LocalFileStatus Describe(FileInfo file)
        {
            var isLink = (file.Attributes & FileAttributes.ReparsePoint) != 0;
            if (!isLink && file.Length != 0)
            {
                // The usual file: what FileInfo already holds, no second look.
                return new LocalFileStatus(true, null, file.Length, file.LastWriteTimeUtc);
            }

            if (Of(file.FullName) is { } known)
            {
                return known;
            }

            if (!isLink)
            {
                return new LocalFileStatus(true, null, file.Length, file.LastWriteTimeUtc);
            }

            // No statx here: an open handle tells the target's length; the time is the one File reports.
            try
            {
                using (var target = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1))
                {
                    return new LocalFileStatus(true, null, target.Length, File.GetLastWriteTimeUtc(file.FullName));
                }
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                return LocalFileStatus.Missing;
            }
        }

        /// <summary>
        /// The length and last write time (UTC) a transfer reading the existing file <paramref name="file"/> will meet
        /// (<see cref="Describe"/>), or the reason it cannot read it.
        /// </summary>
        /// <exception cref="PluginException"><c>NotARegularFile</c> for a named pipe, socket or device (a link to one too);
        /// <c>SourceNotFound</c> for a link to nothing.</exception>
        public static (long Length, DateTime LastWriteUtc) Readable(FileInfo file)
        {
            var status = Describe(file);
            if (!status.Exists)
            {
                throw new PluginException(ErrorCode.NotFound, $"'{file.FullName}' is a link to nothing.", errorId: "SourceNotFound", target: file.FullName);
            }

            if (status.SpecialKind != null)
            {
                throw LocalFiles.NotARegularFile(file.FullName, status.SpecialKind);
            }

            return (status.Length, status.LastWriteUtc);
        }
    }

    /// <summary>What <see cref="SpecialFiles.Of"/> found at a path, a link followed.</summary>
    internal readonly struct LocalFileStatus
    {
        public static readonly LocalFileStatus Missing = new LocalFileStatus(false, null, -1, default);

        public LocalFileStatus(bool exists, string? specialKind, long length, DateTime lastWriteUtc, int? posixMode = null, bool isDirectory = false)
        {
            IsDirectory = isDirectory;
            PosixMode = posixMode;
            Exists = exists;
            SpecialKind = specialKind;
            Length = length;
            LastWriteUtc = lastWriteUtc;
        }

        /// <summary>True for a folder (a link to one too), where statx told it (<see cref="SpecialFiles.Of"/>).</summary>
        public bool IsDirectory { get; }

        /// <summary>False when nothing is there (a link to nothing, say).</summary>
        public bool Exists { get; }

        /// <summary>"a named pipe (FIFO)", "a socket", "a character device", "a block device", or null for a file or folder.</summary>
        public string? SpecialKind { get; }

        public long Length { get; }

        public DateTime LastWriteUtc { get; }

        /// <summary>The permission bits (mode &amp; 0o7777), where statx told them; else null.</summary>
        public int? PosixMode { get; }
    }
}
