using System;
using Microsoft.Win32.SafeHandles;

namespace TransferTools.Engine.Protocols
{
    /// <summary>
    /// Drops from the page cache what a transfer has read of a local file, a window at a time behind the reader
    /// (<c>posix_fadvise(DONTNEED)</c>), once the file has proved larger than one window; what the reader has left of
    /// such a file goes when it closes. rclone's local backend reads every file this way.
    /// </summary>
    /// <remarks>
    /// Why: a copy writes as many bytes into the page cache as it reads, and a page the reader has just let go is the
    /// page the writer takes next. On a virtual machine that returns free memory to its host (virtio-balloon free page
    /// reporting, as here), a page the kernel has not used lately costs a host page fault the first time it is written:
    /// a local sync of 50 files of 20 MiB (each below <see cref="WriteBehind.LargeFile"/>) spent 4.0–7.3 s of system
    /// time copying into fresh page cache against rclone's 0.6–1.0 s (docs/benchmarks.md, "Read-behind, the server
    /// digest, and local listing ahead"). The pages dropped are clean (a source is only read), so the advice frees them
    /// at once; it never changes what is read. The cost: a file read to the end is not in the cache afterwards, so
    /// reading it again comes from the disk. Files of one window or less stay cached, as a small file is often read
    /// again soon.
    /// </remarks>
    internal sealed class ReadBehind
    {
        /// <summary>
        /// The unit dropped behind the reader: 2 MiB, aligned, because the kernel drops only whole folios and a file's
        /// page cache is made of folios of up to 2 MiB, each aligned on its size.
        /// </summary>
        internal const long Window = 2 * 1024 * 1024;

        private readonly Action<long, long> _drop;
        private long _from;
        private bool _dropping;

        /// <summary>The policy alone, with the drop call given (<c>(offset, length)</c>): for tests.</summary>
        internal ReadBehind(long position, Action<long, long> drop)
        {
            _drop = drop;
            _from = position;
        }

        /// <summary>Read-behind for a file opened for reading at <paramref name="position"/>; null where it is not available.</summary>
        public static ReadBehind? For(SafeFileHandle handle, long position) =>
            WriteBehind.Available ? new ReadBehind(position, (offset, length) => WriteBehind.Drop(handle, offset, length)) : null;

        /// <summary>Called after each read with the end of the bytes read so far.</summary>
        public void Read(long end)
        {
            var upTo = end - end % Window;
            if (end - _from < Window || upTo <= _from)
            {
                return;
            }

            _drop(_from, upTo - _from);
            _from = upTo;
            _dropping = true;
        }

        /// <summary>The reader moved to <paramref name="position"/> without reading what lies between.</summary>
        public void Moved(long position) => _from = position;

        /// <summary>
        /// Called when the reader closes: the rest of a file dropped so far goes too, to its end (a length of 0), which
        /// takes the folio holding the last bytes whatever the file's length.
        /// </summary>
        public void Closed()
        {
            if (_dropping)
            {
                _drop(_from, 0);
                _dropping = false;
            }
        }
    }
}
