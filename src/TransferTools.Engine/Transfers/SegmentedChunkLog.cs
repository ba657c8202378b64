using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The chunk log of a segmented transfer (<see cref="SegmentedTransfer"/>): the same 28-byte lines as
    /// <see cref="ChunkLog"/> (<c>INDEX HASH\n</c>), but in the order the ranges commit them, so a chunk of range 3 may
    /// follow one of range 0. A reader that expects them in order (<see cref="TransferJournal.ReadChunks"/>, an older
    /// version) keeps only the leading run it understands, which is safe: it sends the rest again.
    /// </summary>
    internal sealed class SegmentedChunkLog : IDisposable
    {
        private readonly FileStream _stream;
        private readonly object _gate = new object();

        private SegmentedChunkLog(FileStream stream) => _stream = stream;

        /// <summary>The committed chunks' checksums by index; stops at the first torn line, ignores indexes of <paramref name="count"/> or more.</summary>
        public static Dictionary<int, ulong> Read(string path, int count)
        {
            var result = new Dictionary<int, ulong>();
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is FileNotFoundException || e is DirectoryNotFoundException)
            {
                return result;
            }

            const int length = TransferJournal.ChunkLineLength;
            for (var offset = 0; offset + length <= bytes.Length; offset += length)
            {
                var line = Encoding.ASCII.GetString(bytes, offset, length);
                if (line[10] != ' ' || line[27] != '\n'
                    || !int.TryParse(line.Substring(0, 10), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    || !ulong.TryParse(line.Substring(11, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hash))
                {
                    break;
                }

                if (index < count)
                {
                    result[index] = hash;
                }
            }

            return result;
        }

        /// <summary>
        /// Opens the log for appending after keeping only <paramref name="kept"/>; a log that held anything else is rewritten
        /// atomically first (a crash leaves the old log or the new one, never a mix).
        /// </summary>
        public static SegmentedChunkLog Open(string path, IReadOnlyDictionary<int, ulong> kept, bool rewrite)
        {
            if (rewrite)
            {
                var temp = path + ".tmp";
                using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
                {
                    var text = new StringBuilder();
                    var indexes = new List<int>(kept.Keys);
                    indexes.Sort();
                    foreach (var index in indexes)
                    {
                        text.Append(TransferJournal.ChunkLine(index, kept[index]));
                    }

                    var bytes = Encoding.ASCII.GetBytes(text.ToString());
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(flushToDisk: true);
                }

                AtomicFile.ReplaceOrMove(temp, path);
            }

            return new SegmentedChunkLog(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, 1));
        }

        /// <summary>Appends one committed chunk (any range's writer may call it; one unbuffered write each, so a killed process loses none).</summary>
        public void Append(int index, ulong hash)
        {
            var bytes = Encoding.ASCII.GetBytes(TransferJournal.ChunkLine(index, hash));
            lock (_gate)
            {
                _stream.Write(bytes, 0, bytes.Length);
            }
        }

        public void Dispose() => _stream.Dispose();
    }
}
