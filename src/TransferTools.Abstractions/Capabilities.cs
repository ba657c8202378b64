using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;

// Optional capabilities of an ITransferEndpoint, as rclone's fs/features.go lists what a backend can do beyond the
// basics: the engine asks for each with a type test on the endpoint and does without it when it is absent, so a
// plugin implements only what its storage can do, and the engine never needs to know which plugin it is talking to.
namespace TransferTools.Abstractions
{
    /// <summary>
    /// Implemented by an endpoint whose locations are files on this machine (the built-in FileSystem protocol). The
    /// engine then treats I/O on them as cheap and synchronous: a small file is read in one synchronous call instead of
    /// an asynchronous one (which on an ordinary file only moves the read to another thread), and a batch of sends to such
    /// a folder shares one manifest file per folder.
    /// </summary>
    public interface ILocalFileEndpoint
    {
        /// <summary>
        /// Opens <paramref name="location"/> to be read whole in one go (a small file): as
        /// <see cref="ITransferEndpoint.OpenReadAsync"/> from offset 0, synchronously, without read-ahead hints.
        /// </summary>
        Stream OpenWholeForRead(OperationContext context, Uri location);
    }

    /// <summary>
    /// Implemented by an endpoint that can tell one file from another beyond size and modification time: a file
    /// replaced by another (renamed over it), or rewritten in place with its old time restored (<c>cp -p</c>,
    /// <c>rsync -t</c>, <c>tar -x</c>, a backup restore), keeps its size and time but not its identity. A resume then
    /// refuses a source whose identity differs from the one its transfer began with.
    /// </summary>
    public interface IFileIdentity
    {
        /// <summary>
        /// An opaque text that differs whenever the file at <paramref name="location"/> is another file or its content
        /// may have been rewritten (on Linux: its device, inode and change time, which cannot be set back); null where
        /// that cannot be told. Only compared for equality with an earlier answer for the same location.
        /// </summary>
        string? GetFileIdentity(Uri location);
    }

    /// <summary>
    /// Implemented by an endpoint that can reserve room for a file before it is written (Linux <c>fallocate</c>): a
    /// destination without room for the rest of a transfer fails at its first byte, not at 90 %.
    /// </summary>
    public interface ISpaceReservation
    {
        /// <summary>
        /// Reserves room for the bytes <c>[offset, offset + length)</c> of <paramref name="writer"/>, a stream this endpoint's
        /// <see cref="ITransferEndpoint.OpenWriteAsync"/> returned, without changing its length. Does nothing for another stream
        /// or where the file system cannot reserve.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.LimitExceeded"/> (<c>DestinationFull</c>) when the room is not there.</exception>
        void ReserveSpace(Stream writer, long offset, long length);
    }

    /// <summary>
    /// Implemented by an endpoint whose write streams write a large file out behind the writer (so that it does not fill
    /// the page cache), and can start doing so from the first byte when told how much is coming.
    /// </summary>
    public interface IWriteBehind
    {
        /// <summary>
        /// Tells <paramref name="writer"/>, a stream this endpoint's <see cref="ITransferEndpoint.OpenWriteAsync"/> returned,
        /// that <paramref name="length"/> more bytes follow. Does nothing for another stream.
        /// </summary>
        void ExpectWrites(Stream writer, long length);
    }

    /// <summary>
    /// Implemented by an endpoint that can hold a file without a name in a folder (Linux <c>O_TMPFILE</c>) and give it its
    /// name in one step once it is complete: a small file then costs one directory operation instead of a temporary name
    /// created, renamed and cleaned up, and a crash leaves nothing behind.
    /// </summary>
    public interface IUnnamedTemporaries
    {
        /// <summary>
        /// A file without a name in the folder of <paramref name="final"/>, or null where the system cannot make one (the
        /// engine then writes a named temporary file). It is made with <see cref="TransferOptions.NewFileMode"/> when set.
        /// </summary>
        IUnnamedTemporary? TryCreateUnnamed(OperationContext context, Uri final, TransferOptions options);
    }

    /// <summary>A file without a name (<see cref="IUnnamedTemporaries"/>): written, then named, or gone when disposed.</summary>
    public interface IUnnamedTemporary : IDisposable
    {
        /// <summary>Writes the first <paramref name="count"/> bytes of <paramref name="buffer"/> at the end of the file.</summary>
        void Write(byte[] buffer, int count);

        /// <summary>The file's size as its file system has it.</summary>
        long Length { get; }

        /// <summary>
        /// Names the file <paramref name="final"/> atomically, as <see cref="ITransferEndpoint.CommitAsync"/> does for a named
        /// temporary: with <paramref name="overwrite"/> an existing file is replaced (through <paramref name="temporary"/>,
        /// the transfer's temporary name), without it an existing file or folder fails with <see cref="ErrorCode.Conflict"/>.
        /// </summary>
        Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options);
    }

    /// <summary>
    /// Implemented by an endpoint that can give a delivered file the modification time and POSIX permission bits of its
    /// source, so that a copy compares equal to its original by time (a folder sync needs both).
    /// </summary>
    public interface IFileAttributePreservation
    {
        /// <summary>
        /// Sets the modification time and the POSIX mode (permission bits, e.g. <c>0x1ED</c> for 0755) of the file at
        /// <paramref name="location"/>; a null value leaves that attribute as it is, and so does an endpoint or system that
        /// cannot keep it (POSIX modes on Windows).
        /// </summary>
        Task SetFileAttributesAsync(OperationContext context, Uri location, DateTimeOffset? lastModified, int? posixMode, TransferOptions options);
    }

    /// <summary>
    /// Implemented by an endpoint that moves a file to another name of its own in one step (a rename on the server), so
    /// that <c>Sync-TransferFolder -BackupPath</c> keeps a deleted file without reading its bytes. Endpoints without it
    /// get a copy through their own streams, then a delete.
    /// </summary>
    public interface IFileMove
    {
        /// <summary>
        /// Moves the file at <paramref name="from"/> to <paramref name="to"/> on the same server or store, creating the
        /// folders <paramref name="to"/> needs and replacing a file already there (never a folder).
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> when the two are not on the same server;
        /// <see cref="ErrorCode.NotFound"/> when nothing is at <paramref name="from"/>.</exception>
        Task MoveAsync(OperationContext context, Uri from, Uri to, TransferOptions options);
    }

    /// <summary>
    /// Implemented by an endpoint whose folders exist apart from their files and can be removed, so that
    /// <c>Sync-TransferFolder -Mirror</c> removes the destination folders it emptied. An endpoint whose folders are only
    /// name prefixes (an object store) needs none: such a folder goes with its last file.
    /// </summary>
    public interface IFolderRemoval
    {
        /// <summary>
        /// Removes the folder at <paramref name="folder"/> when it is empty: true when removed (or already gone), false when
        /// something is still in it; never removes what it holds.
        /// </summary>
        Task<bool> RemoveEmptyFolderAsync(OperationContext context, Uri folder, TransferOptions options);
    }

    /// <summary>
    /// Implemented by a storage plugin that stores several items in one step (one index transaction), so that many small
    /// files piped into <c>Save-StorageItem</c> cost no more than the files themselves.
    /// </summary>
    public interface IBatchStorage
    {
        /// <summary>
        /// Stores the entries, each opened, read and written on its own: one that fails (an unreadable file) fails only
        /// its entry, and the others are committed together.
        /// </summary>
        /// <returns>Per entry, in order: the new id, or the error that entry met (nothing of it stored).</returns>
        Task<IReadOnlyList<(string? Id, Exception? Error)>> StoreManyAsync(OperationContext context, IReadOnlyList<(Func<Stream> Open, ItemMetadata Metadata)> entries);
    }
}

namespace TransferTools.Abstractions
{
    /// <summary>
    /// Implemented by an endpoint that can read several ranges of one file at once, each from its own stream (an SFTP
    /// handle, an HTTP Range request, a local file handle): the engine then moves a large file as several ranges in
    /// parallel (<c>-Streams</c>), as <c>lftp pget -n</c> and rclone's multi-thread streams do, which over a long round
    /// trip multiplies what one stream's window allows.
    /// </summary>
    public interface IRangedReads
    {
        /// <summary>
        /// Whether ranges of <paramref name="location"/>, at <paramref name="version"/> (as <see cref="RemoteFileInfo.Version"/>
        /// gave it), can be read apart and still be known to come from that one version: an HTTP server must have given a
        /// strong validator (ETag) that each range request is conditional on; an SFTP or local file can always. An endpoint
        /// may also answer false where ranges would not pay unless <see cref="TransferOptions.Streams"/> asks for them.
        /// </summary>
        bool CanReadRanges(Uri location, string? version, TransferOptions options);

        /// <summary>
        /// Opens the bytes <c>[offset, offset + length)</c> of <paramref name="location"/> for reading, while other ranges of
        /// it are open too. The stream ends after <paramref name="length"/> bytes at most.
        /// </summary>
        /// <param name="expectedVersion">When not null, refuse with <see cref="ErrorCode.SourceChanged"/> if the content's version differs.</param>
        /// <param name="lane">The stream's number within its transfer (0 to streams - 1): an endpoint may serve each on a
        /// connection of its own (lane 0 on the one other calls use).</param>
        Task<Stream> OpenReadRangeAsync(OperationContext context, Uri location, long offset, long length, string? expectedVersion, int lane,
            TransferOptions options);
    }

    /// <summary>
    /// Implemented by an endpoint that can write several ranges of one file at once (see <see cref="IRangedReads"/>).
    /// </summary>
    public interface IRangedWrites
    {
        /// <summary>
        /// Opens <paramref name="location"/>, a temporary that <see cref="ITransferEndpoint.OpenWriteAsync"/> created, for
        /// writing at <paramref name="offset"/> without dropping anything stored before or after it, while other ranges of
        /// it are open too. A flush returns once the bytes written are stored (as for
        /// <see cref="ITransferEndpoint.OpenWriteAsync"/>); the stream may implement <see cref="IWriteAcknowledgement"/>.
        /// </summary>
        /// <param name="lane">The stream's number within its transfer (see <see cref="IRangedReads.OpenReadRangeAsync"/>).</param>
        Task<Stream> OpenWriteRangeAsync(OperationContext context, Uri location, long offset, int lane, TransferOptions options);
    }

    /// <summary>
    /// Implemented by an endpoint that measures the round trip to its server, so that the engine splits a large file over
    /// several streams by itself (<see cref="TransferOptions.Streams"/> not given) only where one stream is held by the
    /// round trip. On a short one, one stream already moves its window faster than the machine can encrypt and hash it,
    /// and each further stream's connection only costs a handshake.
    /// </summary>
    public interface IRoundTripMeasure
    {
        /// <summary>
        /// The shortest time a small request has taken so far on the connection that serves <paramref name="location"/>
        /// with <paramref name="options"/> (the network's round trip plus the server's quickest answer), or null when that
        /// connection has measured none. Called after the transfer's first requests, so it does not send one itself.
        /// </summary>
        TimeSpan? MeasuredRoundTrip(Uri location, TransferOptions options);
    }

    /// <summary>
    /// Implemented by an endpoint that can copy a file from one of its locations to another without the bytes passing
    /// through this machine (S3 <c>CopyObject</c> and <c>UploadPartCopy</c> within one service). The engine asks for it
    /// when a transfer's source and destination are served by the same endpoint and the source announces its SHA-256
    /// (<see cref="RemoteFileInfo.Sha256"/>); it then verifies the copy by the SHA-256 the destination announces after it.
    /// </summary>
    public interface IServerSideCopy
    {
        /// <summary>
        /// True when <paramref name="source"/> and <paramref name="destination"/> are on one server that can copy between
        /// them (for S3: the same service URL and identity); false sends the bytes through this machine instead.
        /// </summary>
        bool CanCopyWithin(Uri source, Uri destination, TransferOptions options);

        /// <summary>
        /// Copies <paramref name="source"/> to <paramref name="destination"/> on the server. The copy appears in one step,
        /// carries the source's stored metadata (its SHA-256 and modification time), and nothing is left behind when it
        /// fails (a partial multipart copy is aborted).
        /// </summary>
        /// <param name="expectedVersion">When not null, refuse with <see cref="ErrorCode.SourceChanged"/> if the source's version differs.</param>
        /// <param name="overwrite">Replace an existing destination; otherwise refuse with <see cref="ErrorCode.Conflict"/>.</param>
        /// <returns>What the destination holds afterwards (its length and announced SHA-256).</returns>
        Task<RemoteFileInfo> CopyWithinAsync(OperationContext context, Uri source, string? expectedVersion, Uri destination, bool overwrite,
            TransferOptions options);
    }
}
