using System;
using System.IO;
using System.Text;
using System.Threading;

namespace TransferTools.Engine.Hosting
{
    /// <summary>Crash-safe small-file writes and a cross-process lock, for registries and indexes kept as files.</summary>
    public static class AtomicFile
    {
        /// <summary>Writes <paramref name="content"/> to a temporary file, flushes it to disk, then renames it over <paramref name="path"/>.</summary>
        public static void WriteAllText(string path, string content, bool ownerOnly = false)
        {
            var temp = path + "." + Guid.NewGuid().ToString("n").Substring(0, 8) + ".tmp";
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    if (ownerOnly)
                    {
                        UnixPermissions.TrySetOwnerOnly(temp, directory: false);
                    }

                    var bytes = new UTF8Encoding(false).GetBytes(content);
                    stream.Write(bytes, 0, bytes.Length);
                    stream.Flush(flushToDisk: true);
                }

                ReplaceOrMove(temp, path);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }

        /// <summary>Renames <paramref name="source"/> to <paramref name="destination"/> in one step, replacing it if present.</summary>
        public static void ReplaceOrMove(string source, string destination)
        {
            if (File.Exists(destination))
            {
                // rename(2) on Unix, ReplaceFile on Windows: readers see the old or the new file, never a mix.
                File.Replace(source, destination, null, ignoreMetadataErrors: true);
            }
            else
            {
                File.Move(source, destination);
            }
        }

        /// <summary>Takes an exclusive lock on <paramref name="lockPath"/>, waiting up to <paramref name="timeout"/>.</summary>
        /// <returns>Dispose to release.</returns>
        public static IDisposable Lock(string lockPath, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            var delay = 5;
            while (true)
            {
                try
                {
                    return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(delay);
                    delay = Math.Min(delay * 2, 100);
                }
            }
        }

        /// <summary>Deletes a file, ignoring failures.</summary>
        public static void TryDelete(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
