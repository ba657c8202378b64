using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.FileSystem
{
    /// <summary>
    /// A file without a name in a folder (Linux <c>open(FOLDER, O_TMPFILE)</c>), given its name in one step once it
    /// is complete and verified (<c>linkat</c> of <c>/proc/self/fd/N</c>). Delivery stays atomic (the name appears
    /// with all its bytes or not at all) at the cost of one directory operation instead of a create plus a rename,
    /// and the inode is allocated without holding the folder's lock, so parallel small transfers into one folder do
    /// not queue behind each other's allocations. A crash frees the inode: nothing is left behind.
    /// </summary>
    /// <remarks>
    /// Used only for single-piece local transfers (their partial data is never kept for a resume anyway).
    /// <see cref="TryCreate"/> returns null where the kernel, file system, architecture or C library cannot do it,
    /// and the caller falls back to a named temporary file. Setting the environment variable
    /// <c>TRANSFERTOOLS_NO_TMPFILE=1</c> (or <c>TransferManager.UseUnnamedFiles</c> = false) forces that fallback.
    /// </remarks>
    internal sealed class UnnamedFile : IDisposable
    {
        private const int OWronly = 1;
        private const int OCloexec = 0x80000;
        private const int Eintr = 4;
        private const int Enoent = 2;
        private const int Eexist = 17;
        private const int Enotdir = 20;
        private const int Eacces = 13;
        private const int Eperm = 1;
        private const int AtFdcwd = -100;
        private const int AtSymlinkFollow = 0x400;
        private const int SeekEnd = 2;

        /// <summary>0666: what a new file may be before the umask, as <see cref="FileStream"/> asks for.</summary>
        private const int NewFileMode = 0x1B6;

        /// <summary>O_TMPFILE (<c>__O_TMPFILE | O_DIRECTORY</c>) on 64-bit Linux (where <c>lseek</c>'s offset is 64 bits), else 0.</summary>
        private static readonly int OTmpfile = RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
            ? RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.X64 => 0x400000 | 0x10000,
                Architecture.Arm64 => 0x400000 | 0x4000,
                _ => 0,
            }
            : 0;

        private static int _unavailable = OTmpfile == 0 || !Directory.Exists("/proc/self/fd") ? 1 : 0;

        private int _fd;

        private UnnamedFile(int fd, string folder)
        {
            _fd = fd;
            Folder = folder;
        }

        /// <summary>True when this process may try unnamed files at all.</summary>
        internal static bool Available => Volatile.Read(ref _unavailable) == 0
                                          && Environment.GetEnvironmentVariable("TRANSFERTOOLS_NO_TMPFILE") != "1";

        /// <summary>The folder the file will be named in.</summary>
        public string Folder { get; }

        /// <summary>
        /// Creates an unnamed file in <paramref name="folder"/> with the permissions a new named file gets there
        /// (0666 less the umask, as <see cref="FileStream"/> creates them), or returns null when this system cannot.
        /// </summary>
        /// <exception cref="PluginException">The folder is missing or not writable (mapped as for a named file).</exception>
        /// <param name="mode">The permission bits it is made with (then less the umask), or null for 0666.</param>
        public static UnnamedFile? TryCreate(string folder, string finalPath, int? mode = null)
        {
            if (!Available)
            {
                return null;
            }

            int fd;
            try
            {
                do
                {
                    fd = Open(NativePath(folder), OTmpfile | OWronly | OCloexec, mode ?? NewFileMode);
                }
                while (fd < 0 && Marshal.GetLastWin32Error() == Eintr);
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                Volatile.Write(ref _unavailable, 1);
                return null;
            }

            if (fd >= 0)
            {
                return new UnnamedFile(fd, folder);
            }

            var errno = Marshal.GetLastWin32Error();
            switch (errno)
            {
                case Enoent:
                case Enotdir:
                    throw FileSystemProtocolPlugin.Map(new DirectoryNotFoundException(), finalPath, "Write");
                case Eacces:
                case Eperm:
                    throw FileSystemProtocolPlugin.Map(new UnauthorizedAccessException(), finalPath, "Write");
                default:
                    // EOPNOTSUPP (file system without O_TMPFILE), EISDIR/EINVAL (kernel without it), and anything
                    // unexpected: the named temporary path reports real problems in its own words.
                    return null;
            }
        }

        /// <summary>Writes all of <paramref name="count"/> bytes at the current end.</summary>
        public void Write(byte[] buffer, int count)
        {
            var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            try
            {
                var start = handle.AddrOfPinnedObject();
                var done = 0;
                while (done < count)
                {
                    var n = (long)WriteNative(_fd, start + done, (UIntPtr)(uint)(count - done));
                    if (n < 0)
                    {
                        var errno = Marshal.GetLastWin32Error();
                        if (errno == Eintr)
                        {
                            continue;
                        }

                        throw Failure(errno, "Write");
                    }

                    done += (int)n;
                }
            }
            finally
            {
                handle.Free();
            }
        }

        /// <summary>The size of the file as the file system has it.</summary>
        public long Length()
        {
            var length = LSeek(_fd, 0, SeekEnd);
            return length >= 0 ? length : throw Failure(Marshal.GetLastWin32Error(), "Write");
        }

        /// <summary>
        /// Gives the file the name <paramref name="path"/> in one step; false (and no change) when the name exists.
        /// </summary>
        public bool TryLink(string path)
        {
            while (true)
            {
                if (LinkAt(AtFdcwd, NativePath("/proc/self/fd/" + _fd), AtFdcwd, NativePath(path), AtSymlinkFollow) == 0)
                {
                    return true;
                }

                var errno = Marshal.GetLastWin32Error();
                if (errno == Eexist)
                {
                    return false;
                }

                if (errno != Eintr)
                {
                    throw Failure(errno, "Commit", path);
                }
            }
        }

        /// <summary>Closes the file; without a name it is gone.</summary>
        public void Dispose()
        {
            var fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                Close(fd);
            }
        }

        private PluginException Failure(int errno, string operation, string? path = null)
        {
            var target = path ?? Folder;
            var message = errno == 28 ? "No space left on device" : errno == 122 ? "Disk quota exceeded" : "error " + errno;
            Exception cause = errno == Eacces || errno == Eperm ? new UnauthorizedAccessException(message)
                : errno == Enoent || errno == Enotdir ? new DirectoryNotFoundException(message)
                : new IOException(message, errno);
            return FileSystemProtocolPlugin.Map(cause, target, operation);
        }

        /// <summary>A NUL-terminated UTF-8 path (netstandard2.0 has no UTF-8 string marshalling).</summary>
        private static byte[] NativePath(string path)
        {
            var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
            System.Text.Encoding.UTF8.GetBytes(path, 0, path.Length, bytes, 0);
            return bytes;
        }

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int Open(byte[] path, int flags, int mode);

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        private static extern IntPtr WriteNative(int fd, IntPtr buffer, UIntPtr count);

        [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
        private static extern long LSeek(int fd, long offset, int whence);

        [DllImport("libc", EntryPoint = "linkat", SetLastError = true)]
        private static extern int LinkAt(int oldDirFd, byte[] oldPath, int newDirFd,
            byte[] newPath, int flags);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        private static extern int Close(int fd);
    }

    /// <summary>An <see cref="UnnamedFile"/> as the FileSystem protocol offers it to the engine (<see cref="IUnnamedTemporaries"/>).</summary>
    internal sealed class UnnamedTemporaryFile : IUnnamedTemporary
    {
        private readonly FileSystemProtocolPlugin _endpoint;
        private readonly UnnamedFile _file;

        public UnnamedTemporaryFile(FileSystemProtocolPlugin endpoint, UnnamedFile file)
        {
            _endpoint = endpoint;
            _file = file;
        }

        /// <inheritdoc/>
        public long Length => _file.Length();

        /// <inheritdoc/>
        public void Write(byte[] buffer, int count) => _file.Write(buffer, count);

        /// <summary>
        /// One link when the name is free (an existing file or folder fails it, as Fail, Skip and Rename want after their
        /// check); for an overwrite a link to the temporary name, then the same atomic replace as any transfer.
        /// </summary>
        public async Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            var finalPath = FileSystemProtocolPlugin.ToLocalPath(final);
            if (!overwrite)
            {
                if (!_file.TryLink(finalPath))
                {
                    throw FileSystemProtocolPlugin.Exists(finalPath);
                }

                return;
            }

            if (_file.TryLink(finalPath))
            {
                return;
            }

            var tempPath = FileSystemProtocolPlugin.ToLocalPath(temporary);
            if (!_file.TryLink(tempPath))
            {
                // A leftover of an earlier attempt under this transfer's own temporary name.
                Hosting.AtomicFile.TryDelete(tempPath);
                if (!_file.TryLink(tempPath))
                {
                    throw FileSystemProtocolPlugin.Exists(tempPath);
                }
            }

            try
            {
                await _endpoint.CommitAsync(context, temporary, final, overwrite: true, options).ConfigureAwait(false);
            }
            catch
            {
                Hosting.AtomicFile.TryDelete(tempPath);
                throw;
            }
        }

        /// <inheritdoc/>
        public void Dispose() => _file.Dispose();
    }
}
