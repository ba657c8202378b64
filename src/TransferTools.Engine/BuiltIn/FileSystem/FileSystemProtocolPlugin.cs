using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.BuiltIn.FileSystem
{
    /// <summary>
    /// The built-in <c>FileSystem</c> protocol: local, UNC and mounted paths and <c>file://</c> URIs. The engine's
    /// transfer manager does chunking, journaling and verification; this class only moves bytes on the local disk.
    /// It offers every optional endpoint capability the engine knows: local I/O, space reservation, write-behind,
    /// unnamed temporaries (Linux) and preserved modification times and POSIX modes.
    /// </summary>
    [TransferPlugin("FileSystem", PluginType.Protocol,
        Description = "Local, UNC and mounted paths, and file:// URIs.", Schemes = new[] { "file" })]
    public sealed class FileSystemProtocolPlugin : StreamingProtocolPlugin, IFolderListing, ILocalFileEndpoint, ISpaceReservation, IWriteBehind,
        IUnnamedTemporaries, IFileAttributePreservation, IFileIdentity, IRangedReads, IRangedWrites
    {
        private static readonly string[] SchemeList = TransferPluginAttribute.Of(typeof(FileSystemProtocolPlugin))!.Schemes;

        /// <summary>Large unbuffered I/O: the transfer pipeline hands over 1 MiB segments, so a FileStream buffer only adds a copy.</summary>
        private const int NoBuffer = 1;

        /// <inheritdoc/>
        public override PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(FileSystemProtocolPlugin), "TransferTools contributors", "MIT");

        /// <inheritdoc/>
        public override IReadOnlyCollection<string> Schemes => SchemeList;

        /// <inheritdoc/>
        public override Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(location);
            if (SpecialFiles.Of(path) is { } known)
            {
                // Linux: one statx, a link followed, answers everything below (FileInfo's lstat, a user id lookup and
                // then a statx for the mode were three calls per look; a small file's transfer looks three times).
                return Task.FromResult(Describe(known, path));
            }

            try
            {
                // The file first: one stat answers the common case (a transfer looks at files far more often than folders).
                var file = new FileInfo(path);
                if (!file.Exists)
                {
                    // The same stat tells a folder (FileInfo.Exists is false for one) from nothing at all.
                    if (IsFolder(file))
                    {
                        return Task.FromResult(new RemoteFileInfo { Exists = true, IsDirectory = true, Length = -1, LastModified = file.LastWriteTimeUtc });
                    }

                    return Task.FromResult(RemoteFileInfo.Missing);
                }

                // A link's target's size and time, not the link's own; a pipe, socket or device refused before anything opens it.
                var status = SpecialFiles.WithMode(SpecialFiles.Describe(file), path);
                if (!status.Exists)
                {
                    return Task.FromResult(RemoteFileInfo.Missing);
                }

                if (status.SpecialKind != null)
                {
                    throw NotARegularFile(path, status.SpecialKind);
                }

                return Task.FromResult(new RemoteFileInfo
                {
                    Exists = true,
                    Length = status.Length,
                    LastModified = new DateTimeOffset(status.LastWriteUtc, TimeSpan.Zero),
                    PosixMode = status.PosixMode,
                });
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Map(e, path, "Inspect");
            }
        }

        /// <summary>What <see cref="GetInfoAsync"/> answers for the status statx gave.</summary>
        private static RemoteFileInfo Describe(LocalFileStatus status, string path)
        {
            if (!status.Exists)
            {
                return RemoteFileInfo.Missing;
            }

            if (status.IsDirectory)
            {
                return new RemoteFileInfo { Exists = true, IsDirectory = true, Length = -1, LastModified = new DateTimeOffset(status.LastWriteUtc, TimeSpan.Zero) };
            }

            if (status.SpecialKind != null)
            {
                throw NotARegularFile(path, status.SpecialKind);
            }

            return new RemoteFileInfo
            {
                Exists = true,
                Length = status.Length,
                LastModified = new DateTimeOffset(status.LastWriteUtc, TimeSpan.Zero),
                PosixMode = status.PosixMode,
            };
        }

        /// <inheritdoc/>
        public override Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(location);
            FileStream? stream = null;
            try
            {
                stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, NoBuffer, FileOptions.SequentialScan);
                // (Offset 0 needs no size: asking costs an fstat per file.)
                if (offset > 0 && offset > stream.Length)
                {
                    throw new PluginException(ErrorCode.SourceChanged,
                        $"'{path}' is shorter ({stream.Length} bytes) than the {offset} bytes already transferred.", errorId: "SourceChanged", target: path);
                }

                stream.Seek(offset, SeekOrigin.Begin);
                return Task.FromResult(ReadBehindFileStream.Wrap(stream));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stream?.Dispose();
                throw Map(e, path, "Read");
            }
            catch
            {
                stream?.Dispose();
                throw;
            }
        }

        /// <inheritdoc/>
        /// <remarks>Without the sequential-read hint of <see cref="OpenReadAsync"/>: a file read in one go has no use for it.</remarks>
        public Stream OpenWholeForRead(OperationContext context, Uri location)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(location);
            if (WholeFileReader.TryOpen(path) is { } reader)
            {
                return reader;
            }

            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, NoBuffer, FileOptions.None);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Map(e, path, "Read");
            }
        }

        /// <inheritdoc/>
        /// <remarks>64-bit Linux only (see <see cref="PrepareWrite"/>); elsewhere nothing is reserved.</remarks>
        public void ReserveSpace(Stream writer, long offset, long length) => Reserve(writer, offset, length);

        private static void Reserve(Stream writer, long offset, long length)
        {
            if (writer is DurableFileStream file && length > 0 && Volatile.Read(ref _preallocationUnavailable) == 0)
            {
                file.Reserve(offset, length);
            }
        }

        /// <inheritdoc/>
        public void ExpectWrites(Stream writer, long length) => Expect(writer, length);

        private static void Expect(Stream writer, long length)
        {
            if (writer is DurableFileStream file && length > 0)
            {
                file.WriteBehind?.Expect(length);
            }
        }

        /// <inheritdoc/>
        /// <remarks>Linux <c>O_TMPFILE</c> (see <see cref="UnnamedFile"/>); null elsewhere, or with <c>TRANSFERTOOLS_NO_TMPFILE=1</c>.</remarks>
        public IUnnamedTemporary? TryCreateUnnamed(OperationContext context, Uri final, TransferOptions options)
        {
            var finalPath = ToLocalPath(final);
            var unnamed = UnnamedFile.TryCreate(Path.GetDirectoryName(finalPath) ?? ".", finalPath, options.NewFileMode);
            return unnamed is null ? null : new UnnamedTemporaryFile(this, unnamed);
        }

        /// <inheritdoc/>
        public Task SetFileAttributesAsync(OperationContext context, Uri location, DateTimeOffset? lastModified, int? posixMode, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(location);
            try
            {
                if (lastModified != null && !UnixPermissions.TrySetLastWriteTimeUtc(path, lastModified.Value.UtcDateTime))
                {
                    File.SetLastWriteTimeUtc(path, lastModified.Value.UtcDateTime);
                }

                if (posixMode != null && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                {
                    UnixPermissions.SetMode(path, posixMode.Value);
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Map(e, path, "Write");
            }

            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public override Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(location);
            FileStream? stream = null;
            try
            {
                if (options.NewFileMode is int mode && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                {
                    // Made with its mode from the first byte (FileStream would make it 0666 less the umask).
                    UnixPermissions.CreateIfMissing(path, mode);
                }

                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read | FileShare.Delete, NoBuffer, FileOptions.None);
                if (stream.Length < offset)
                {
                    throw new PluginException(ErrorCode.InvalidState,
                        $"The partial file '{path}' holds {stream.Length} bytes, fewer than the {offset} to keep.", errorId: "PartialTooShort", target: path);
                }

                if (stream.Length != offset)
                {
                    stream.SetLength(offset);
                }

                stream.Seek(offset, SeekOrigin.Begin);
                return Task.FromResult<Stream>(new DurableFileStream(stream));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stream?.Dispose();
                throw Map(e, path, "Write");
            }
            catch
            {
                stream?.Dispose();
                throw;
            }
        }

        /// <inheritdoc/>
        public bool CanReadRanges(Uri location, string? version, TransferOptions options) => true;

        /// <inheritdoc/>
        /// <remarks>Its own handle; the stream goes on past the range (the engine reads no further).</remarks>
        public Task<Stream> OpenReadRangeAsync(OperationContext context, Uri location, long offset, long length, string? expectedVersion, int lane,
            TransferOptions options) => OpenReadAsync(context, location, offset, expectedVersion, options);

        /// <inheritdoc/>
        public Task<Stream> OpenWriteRangeAsync(OperationContext context, Uri location, long offset, int lane, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(location);
            FileStream? stream = null;
            try
            {
                // Shared with the other ranges' handles and the reader that hashes what they commit.
                stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, NoBuffer, FileOptions.None);
                stream.Seek(offset, SeekOrigin.Begin);
                return Task.FromResult<Stream>(new DurableFileStream(stream));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                stream?.Dispose();
                throw Map(e, path, "Write");
            }
            catch
            {
                stream?.Dispose();
                throw;
            }
        }

        /// <inheritdoc/>
        public override Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            var from = ToLocalPath(temporary);
            var to = ToLocalPath(final);
            try
            {
                if (overwrite)
                {
                    if (Directory.Exists(to))
                    {
                        throw new PluginException(ErrorCode.Conflict, $"'{to}' is a folder; a file cannot replace it.", errorId: "DestinationIsFolder", target: to);
                    }

                    AtomicFile.ReplaceOrMove(from, to);
                }
                else
                {
                    if (File.Exists(to) || Directory.Exists(to))
                    {
                        throw Exists(to);
                    }

                    // On Unix File.Move without overwrite links then unlinks: it never replaces a file that appeared meanwhile.
                    File.Move(from, to);
                }

                return Task.CompletedTask;
            }
            catch (IOException) when (!overwrite && File.Exists(to))
            {
                throw Exists(to);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Map(e, to, "Commit");
            }
        }

        /// <inheritdoc/>
        public override Task DeleteAsync(OperationContext context, Uri location, TransferOptions options)
        {
            var path = ToLocalPath(location);
            try
            {
                if (File.Exists(path))
                {
                    File.Delete(path);
                }

                return Task.CompletedTask;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Map(e, path, "Delete");
            }
        }

        /// <inheritdoc/>
        public override Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options)
        {
            var path = ToLocalPath(location);
            try
            {
                Directory.CreateDirectory(path);
                return Task.CompletedTask;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw Map(e, path, "CreateDirectory");
            }
        }

        /// <inheritdoc/>
        public Task<IReadOnlyList<RemoteFolderEntry>> ListFolderAsync(OperationContext context, Uri folder, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var path = ToLocalPath(folder);
            var directory = new DirectoryInfo(path);
            if (!directory.Exists)
            {
                throw File.Exists(path)
                    ? new PluginException(ErrorCode.InvalidArgument, $"'{path}' is a file, not a folder.", errorId: "NotAFolder", target: path)
                    : new PluginException(ErrorCode.NotFound, $"The folder '{path}' does not exist.", errorId: "SourceNotFound", target: path);
            }

            var entries = new List<RemoteFolderEntry>();
            try
            {
                foreach (var entry in directory.EnumerateFileSystemInfos())
                {
                    var isLink = (entry.Attributes & FileAttributes.ReparsePoint) != 0;
                    if (entry is FileInfo file)
                    {
                        // FileInfo describes a link itself, and a pipe, socket or device as an empty file (opening a pipe
                        // would wait for a writer): what is really there.
                        LocalFileStatus status;
                        try
                        {
                            status = SpecialFiles.Describe(file);
                        }
                        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException)
                        {
                            // A link whose target is there but not readable: the receive of it says so.
                            status = new LocalFileStatus(true, null, -1, file.LastWriteTimeUtc);
                        }

                        if (!status.Exists)
                        {
                            context.Logger.Log(LogLevel.Verbose, $"'{file.FullName}' is a link to nothing; left out.");
                            continue;
                        }

                        if (status.SpecialKind != null)
                        {
                            context.Logger.Log(LogLevel.Warning, $"'{file.FullName}' is {status.SpecialKind}, not a file; skipped.");
                            continue;
                        }

                        entries.Add(new RemoteFolderEntry
                        {
                            Name = file.Name, IsLink = isLink, Length = status.Length, LastModified = new DateTimeOffset(status.LastWriteUtc, TimeSpan.Zero),
                        });
                    }
                    else
                    {
                        entries.Add(new RemoteFolderEntry
                        {
                            Name = entry.Name, IsDirectory = true, IsLink = isLink, LastModified = new DateTimeOffset(entry.LastWriteTimeUtc, TimeSpan.Zero),
                        });
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new PluginException(e is UnauthorizedAccessException ? ErrorCode.PermissionDenied : ErrorCode.Unknown,
                    $"The folder '{path}' cannot be listed: {e.Message}", e, "SourceFolderUnreadable", path);
            }

            return Task.FromResult<IReadOnlyList<RemoteFolderEntry>>(entries);
        }

        /// <summary>The <c>file://</c> URI of a local path (made absolute), escaping characters such as '#', '%' and '?'.</summary>
        public static Uri ToUri(string path) => TransferLocation.FromLocalPath(path);

        /// <summary>The local path a <c>file://</c> URI names.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> for another scheme.</exception>
        public static string ToLocalPath(Uri location) => TransferLocation.ToLocalPath(location);

        /// <inheritdoc/>
        public string? GetFileIdentity(Uri location) => SpecialFiles.IdentityOf(ToLocalPath(location));

        /// <summary>True when <paramref name="file"/> (whose <see cref="FileInfo.Exists"/> was false) names a folder (see <see cref="LocalFiles.IsFolder"/>).</summary>
        internal static bool IsFolder(FileInfo file) => LocalFiles.IsFolder(file);

        /// <summary>A named pipe, socket or device where a file was expected (see <see cref="LocalFiles.NotARegularFile"/>).</summary>
        internal static PluginException NotARegularFile(string path, string kind, string done = "transferred") => LocalFiles.NotARegularFile(path, kind, done);

        /// <summary>A destination name taken by a file (see <see cref="LocalFiles.Exists"/>).</summary>
        internal static PluginException Exists(string path) => LocalFiles.Exists(path);

        /// <summary>Maps a local I/O failure to a plugin error with a stable id (see <see cref="LocalFiles.Map"/>).</summary>
        internal static PluginException Map(Exception e, string path, string operation) => LocalFiles.Map(e, path, operation);

        /// <summary>
        /// Readies a file opened by <see cref="OpenWriteAsync"/> for bytes <c>[from, to)</c> before they are written.
        /// It reserves their disk space, so a destination without room fails at once with <c>DestinationFull</c> instead
        /// of after most of a download, and the file's blocks are allocated together. That is 64-bit Linux only:
        /// <c>fallocate</c> with <c>FALLOC_FL_KEEP_SIZE</c>, so the file's length, which a resume reads as the bytes
        /// written, does not change. Where the file system cannot preallocate (ZFS, some network file systems) nothing
        /// is reserved, and a full disk is reported by the write that meets it. A large file is also written behind
        /// from its first byte (<see cref="WriteBehind"/>).
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.LimitExceeded"/> (DestinationFull) when the room is not there.</exception>
        internal static void PrepareWrite(Stream writer, long from, long to)
        {
            if (to > from)
            {
                Expect(writer, to - from);
                Reserve(writer, from, to - from);
            }
        }

        private const int Enospc = 28;
        private const int Edquot = 122;
        private const int Eintr = 4;
        private const int FallocKeepSize = 1;

        /// <summary>Nonzero where fallocate cannot be called: not 64-bit Linux (off_t differs), or no libc entry point.</summary>
        private static int _preallocationUnavailable =
            RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Environment.Is64BitProcess ? 0 : 1;

        [DllImport("libc", EntryPoint = "fallocate", SetLastError = true)]
        private static extern int Fallocate(int fd, int mode, long offset, long length);

        private static string FolderOf(string path) => Path.GetDirectoryName(path) is { Length: > 0 } folder ? folder : path;

        /// <summary>The bytes free for this user in <paramref name="folder"/>'s file system, or -1 when that cannot be told.</summary>
        private static long FreeBytesAt(string folder)
        {
            try
            {
                return new DriveInfo(folder).AvailableFreeSpace;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException)
            {
                return -1;
            }
        }

        /// <summary>A read stream that drops what it has read of a large file from the page cache (<see cref="ReadBehind"/>).</summary>
        private sealed class ReadBehindFileStream : Stream
        {
            private readonly FileStream _inner;
            private readonly ReadBehind _behind;

            private ReadBehindFileStream(FileStream inner, ReadBehind behind)
            {
                _inner = inner;
                _behind = behind;
            }

            /// <summary>The stream itself where the system has no way to drop pages.</summary>
            public static Stream Wrap(FileStream inner) =>
                ReadBehind.For(inner.SafeFileHandle, inner.Position) is { } behind ? new ReadBehindFileStream(inner, behind) : inner;

            public override bool CanRead => true;
            public override bool CanSeek => _inner.CanSeek;
            public override bool CanWrite => false;
            public override long Length => _inner.Length;

            public override long Position
            {
                get => _inner.Position;
                set => Seek(value, SeekOrigin.Begin);
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var n = _inner.Read(buffer, offset, count);
                _behind.Read(_inner.Position);
                return n;
            }

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                var n = await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                _behind.Read(_inner.Position);
                return n;
            }

            public override long Seek(long offset, SeekOrigin origin)
            {
                var position = _inner.Seek(offset, origin);
                _behind.Moved(position);
                return position;
            }

            public override void Flush()
            {
            }

            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _behind.Closed();
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }

        /// <summary>A write stream whose failures carry the file name and a stable error id.</summary>
        private sealed class DurableFileStream : ForwardOnlyStream
        {
            private readonly FileStream _inner;

            public DurableFileStream(FileStream inner)
            {
                _inner = inner;
                WriteBehind = WriteBehind.For(inner.SafeFileHandle, inner.Position);
            }

            /// <summary>Keeps a large file from filling the page cache; null where the system has no way to.</summary>
            public WriteBehind? WriteBehind { get; }

            public override bool CanRead => false;
            public override bool CanWrite => true;
            public override long Length => _inner.Length;
            public override long Position => _inner.Position;

            /// <summary>Allocates <paramref name="length"/> bytes from <paramref name="offset"/> without changing the length (see <see cref="PrepareWrite"/>).</summary>
            public void Reserve(long offset, long length)
            {
                var handle = _inner.SafeFileHandle;
                var added = false;
                try
                {
                    handle.DangerousAddRef(ref added);
                    var fd = (int)handle.DangerousGetHandle();
                    int errno;
                    do
                    {
                        if (Fallocate(fd, FallocKeepSize, offset, length) == 0)
                        {
                            return;
                        }

                        errno = Marshal.GetLastWin32Error();
                    }
                    while (errno == Eintr);

                    if (errno == Enospc || errno == Edquot)
                    {
                        // Named by its folder: the file is still under its hidden temporary name.
                        var folder = FolderOf(_inner.Name);
                        var free = FreeBytesAt(folder);
                        var room = free >= 0 ? $"{free} are free there" : "the disk or the user's quota is full";
                        throw new PluginException(ErrorCode.LimitExceeded,
                            $"There is not enough space in '{folder}': {length} more bytes are needed and {room}.",
                            new IOException("No space left on device", errno), "DestinationFull", folder);
                    }

                    // EOPNOTSUPP (no preallocation on this file system) and anything else: write without a reservation.
                }
                catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
                {
                    Volatile.Write(ref _preallocationUnavailable, 1);
                }
                finally
                {
                    if (added)
                    {
                        handle.DangerousRelease();
                    }
                }
            }

            public override void Flush() => Guard(() => _inner.Flush());
            public override void Write(byte[] buffer, int offset, int count)
            {
                Guard(() => _inner.Write(buffer, offset, count));
                WriteBehind?.Written(_inner.Position);
            }

            public override async Task WriteAsync(byte[] buffer, int offset, int count, System.Threading.CancellationToken cancellationToken)
            {
                try
                {
                    await _inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw Map(e, _inner.Name, "Write");
                }

                WriteBehind?.Written(_inner.Position);
            }

            public override async Task FlushAsync(System.Threading.CancellationToken cancellationToken)
            {
                try
                {
                    await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw Map(e, _inner.Name, "Write");
                }
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }

            private void Guard(System.Action action)
            {
                try
                {
                    action();
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw Map(e, _inner.Name, "Write");
                }
            }
        }
    }
}
