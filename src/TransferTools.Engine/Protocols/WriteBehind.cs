using System;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Win32.SafeHandles;

namespace TransferTools.Engine.Protocols
{
    /// <summary>
    /// Writes a large local file behind the transfer instead of leaving all of it in the page cache: each 4 MiB window
    /// is handed to the disk once written (<c>sync_file_range</c>, without waiting), and a window written some windows
    /// earlier is dropped from the cache (<c>posix_fadvise(DONTNEED)</c>), so the file's pages are recycled instead of
    /// taking fresh memory for every byte. The technique of PostgreSQL's <c>*_flush_after</c> settings; GNU dd's
    /// <c>oflag=nocache</c> and robocopy's /J keep large files out of the cache for the same reasons.
    /// </summary>
    /// <remarks>
    /// Why: a 1 GiB download otherwise takes 1 GiB of fresh page cache, which on a virtual machine that returns free
    /// memory to its host (virtio-balloon free page reporting) costs a host page fault per page: writing 1 GiB took
    /// 2.9–3.4 s of system time there against 0.4–0.6 s with this (docs/benchmarks.md), and the same file no longer pushes
    /// a gigabyte of other programs' cache out, nor leaves a gigabyte of dirty pages for the kernel to throttle on.
    /// Both calls are advice: a window still being written when its turn to be dropped comes simply stays cached, and
    /// an error from either is ignored (they change when bytes reach the disk, not whether or what is written).
    /// Linux on x64 and Arm64 only (the advice's number and off_t differ elsewhere); other systems write as before.
    /// The cost: the file is not in the cache after the transfer (reading it next comes from the disk, and so does a
    /// resume's check of a large partial), and on a disk slower than the network a large download runs at the disk's
    /// speed instead of first filling memory.
    /// </remarks>
    internal sealed class WriteBehind
    {
        /// <summary>The unit handed to the disk and later dropped from the cache.</summary>
        internal const long Window = 4 * 1024 * 1024;

        /// <summary>Windows kept in the cache behind the one being written: time for the disk to finish them before they are dropped.</summary>
        internal const int WindowsKept = 4;

        /// <summary>
        /// Files written to this size stay in the page cache as any file does (a small download is often read right
        /// away); past it, and from the first byte when the bytes to come are known to reach it, the file is written behind.
        /// </summary>
        internal const long LargeFile = 64 * 1024 * 1024;

        private const uint SyncFileRangeWrite = 2;
        private const int PosixFadviseDontNeed = 4;

        /// <summary>Nonzero where the calls are not made: not Linux on x64 or Arm64, or a C library without them.</summary>
        private static int _unavailable =
            RuntimeInformation.IsOSPlatform(OSPlatform.Linux)
            && (RuntimeInformation.ProcessArchitecture == Architecture.X64 || RuntimeInformation.ProcessArchitecture == Architecture.Arm64) ? 0 : 1;

        private readonly Action<long, long> _handOver;
        private readonly Action<long, long> _drop;
        private readonly long _openedAt;
        private long _activeFrom;
        private long _droppableFrom = -1;
        private long _handedOver;

        /// <summary>The policy alone, with the two calls given (<c>(offset, length)</c> each): for tests.</summary>
        internal WriteBehind(long position, Action<long, long> handOver, Action<long, long> drop)
        {
            _handOver = handOver;
            _drop = drop;
            _openedAt = position;
            _activeFrom = position + LargeFile;
            _handedOver = position - position % Window;
        }

        /// <summary>Write-behind for a file opened for writing at <paramref name="position"/>; null where it is not available.</summary>
        public static WriteBehind? For(SafeFileHandle handle, long position) =>
            Volatile.Read(ref _unavailable) == 0
                ? new WriteBehind(position, (offset, length) => Advise(handle, offset, length, drop: false), (offset, length) => Advise(handle, offset, length, drop: true))
                : null;

        /// <summary>The bytes still to be written are known: a large file is written behind from its first byte.</summary>
        public void Expect(long bytesToCome)
        {
            if (bytesToCome >= LargeFile && _droppableFrom < 0)
            {
                _activeFrom = _openedAt;
                _droppableFrom = _handedOver;
            }
        }

        /// <summary>Called after each write with the end of the bytes written so far.</summary>
        public void Written(long end)
        {
            if (end < _activeFrom || end < _handedOver + Window)
            {
                return;
            }

            if (_droppableFrom < 0)
            {
                // A file found to be large only now keeps what it wrote before in the cache, as a small file does.
                _droppableFrom = end - end % Window;
            }

            while (end >= _handedOver + Window)
            {
                _handOver(_handedOver, Window);
                var dropped = _handedOver - WindowsKept * Window;
                if (dropped >= _droppableFrom)
                {
                    _drop(dropped, Window);
                }

                _handedOver += Window;
            }
        }

        /// <summary>False where the calls are not made (not Linux on x64 or Arm64, or a C library without them).</summary>
        internal static bool Available => Volatile.Read(ref _unavailable) == 0;

        /// <summary>Drops <paramref name="length"/> bytes from <paramref name="offset"/> of a file from the page cache (advice: errors are ignored).</summary>
        internal static void Drop(SafeFileHandle handle, long offset, long length) => Advise(handle, offset, length, drop: true);

        private static void Advise(SafeFileHandle handle, long offset, long length, bool drop)
        {
            if (Volatile.Read(ref _unavailable) != 0)
            {
                return;
            }

            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                var fd = (int)handle.DangerousGetHandle();
                _ = drop ? PosixFadvise(fd, offset, length, PosixFadviseDontNeed) : SyncFileRange(fd, offset, length, SyncFileRangeWrite);
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                Volatile.Write(ref _unavailable, 1);
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }

        [DllImport("libc", EntryPoint = "sync_file_range")]
        private static extern int SyncFileRange(int fd, long offset, long length, uint flags);

        [DllImport("libc", EntryPoint = "posix_fadvise")]
        private static extern int PosixFadvise(int fd, long offset, long length, int advice);
    }
}
