using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>What an endpoint knows about one remote file.</summary>
    public sealed class RemoteFileInfo
    {
        /// <summary>A file that does not exist.</summary>
        public static RemoteFileInfo Missing => new RemoteFileInfo { Exists = false, Length = -1 };

        /// <summary>True when something exists at the location.</summary>
        public bool Exists { get; set; }
        /// <summary>True when it is a folder (collection, directory, container).</summary>
        public bool IsDirectory { get; set; }
        /// <summary>Size in bytes, or -1 when unknown.</summary>
        public long Length { get; set; } = -1;
        /// <summary>Last modification time, when known.</summary>
        public DateTimeOffset? LastModified { get; set; }
        /// <summary>
        /// The POSIX permission bits (<c>mode &amp; 0o7777</c>, e.g. <c>0x1A4</c> for 0644), when the endpoint knows them (a
        /// local file on Linux, an SFTP file); null elsewhere.
        /// </summary>
        public int? PosixMode { get; set; }
        /// <summary>A version tag (HTTP ETag, blob ETag) that changes whenever the content does, when known.</summary>
        public string? Version { get; set; }
        /// <summary>
        /// The file name the source gives for a copy of it (an HTTP Content-Disposition filename), or null. A received
        /// copy is named after it instead of the location's last segment, when it is a plain file name.
        /// </summary>
        public string? FileName { get; set; }
        /// <summary>
        /// The SHA-256 of the whole content as the server announces it (lower-case hex): an HTTP <c>Repr-Digest</c>,
        /// <c>Content-Digest</c> or <c>Digest</c> of <c>sha-256</c>, an S3 object's <c>x-amz-meta-sha256</c>; null when none.
        /// A received copy that does not hash to it is refused (<see cref="ErrorCode.ChecksumMismatch"/>).
        /// </summary>
        public string? Sha256 { get; set; }
        /// <summary>
        /// The MD5 of the whole content as the server announces it (lower-case hex): HTTP <c>Content-MD5</c> or a
        /// <c>Digest</c> of <c>md5</c>, the ETag of a single-part S3 object; null when none. Checked like <see cref="Sha256"/>
        /// when that is not given.
        /// </summary>
        public string? Md5 { get; set; }
    }

    /// <summary>
    /// The byte-level side of a protocol: what the engine needs to move a file in chunks, resume it and deliver it
    /// atomically. Locations are absolute URIs (<c>file:///tmp/a</c>, <c>sftp://u@h:22/x</c>, <c>https://h/x</c>).
    /// </summary>
    public interface ITransferEndpoint
    {
        /// <summary>The URI schemes this endpoint serves, lower case (<c>file</c>, <c>sftp</c>, <c>https</c>, ...).</summary>
        IReadOnlyCollection<string> Schemes { get; }

        /// <summary>What is at <paramref name="location"/>; <see cref="RemoteFileInfo.Missing"/> when nothing is.</summary>
        Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options);

        /// <summary>Opens <paramref name="location"/> for reading from <paramref name="offset"/>.</summary>
        /// <param name="expectedVersion">When not null, refuse with <see cref="ErrorCode.SourceChanged"/> if the content's version differs.</param>
        Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options);

        /// <summary>Opens <paramref name="location"/> (a temporary name) for writing at <paramref name="offset"/>,
        /// creating it when missing and dropping anything stored past the offset.</summary>
        Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options);

        /// <summary>Moves the finished temporary <paramref name="temporary"/> to <paramref name="final"/> in one step.</summary>
        /// <param name="overwrite">Replace an existing <paramref name="final"/>; otherwise refuse with <see cref="ErrorCode.Conflict"/>.</param>
        Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options);

        /// <summary>Deletes a file; succeeds when it is already gone.</summary>
        Task DeleteAsync(OperationContext context, Uri location, TransferOptions options);

        /// <summary>Creates a folder and its parents; succeeds when it exists.</summary>
        Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options);
    }

    /// <summary>
    /// Implemented by endpoints whose locations do not end in the name a received file should get (a storage item id,
    /// a download URL with a query): the engine asks it for the file name to deliver under.
    /// </summary>
    public interface IFileNameSource
    {
        /// <summary>The file name (no folders) for <paramref name="location"/>, or null to use the location's last segment.</summary>
        Task<string?> GetFileNameAsync(OperationContext context, Uri location, TransferOptions options);
    }

    /// <summary>One entry of a remote folder (<see cref="IFolderListing"/>).</summary>
    public sealed class RemoteFolderEntry
    {
        /// <summary>The entry's name in its folder, exactly as the server gives it (not escaped, no folders).</summary>
        public string Name { get; set; } = "";
        /// <summary>True for a folder, or a link to one.</summary>
        public bool IsDirectory { get; set; }
        /// <summary>True when the entry is a symbolic link; <see cref="IsDirectory"/> and <see cref="Length"/> describe its target.</summary>
        public bool IsLink { get; set; }
        /// <summary>Size in bytes of a file, or -1 when unknown (and for a folder).</summary>
        public long Length { get; set; } = -1;
        /// <summary>Last modification time, when known.</summary>
        public DateTimeOffset? LastModified { get; set; }
        /// <summary>
        /// The file's SHA-256 (lower-case hex) when the endpoint keeps it already (a store's index), so a folder sync that
        /// compares by checksum need not read the bytes; null otherwise.
        /// </summary>
        public string? Sha256 { get; set; }
        /// <summary>
        /// True when <see cref="LastModified"/> is the time the file was stored, not a modification time carried over from
        /// a source (an object store's upload time): a folder sync then compares such files by size (or checksum), not time.
        /// </summary>
        public bool TimeIsStorageTime { get; set; }
    }

    /// <summary>
    /// Implemented by endpoints that can list a folder: <c>Receive-Transfer -Recurse</c> walks a remote tree with it.
    /// An endpoint without it receives one file per source.
    /// </summary>
    public interface IFolderListing
    {
        /// <summary>
        /// The files and folders in the folder at <paramref name="folder"/>, without <c>.</c> and <c>..</c>, in any order;
        /// devices, sockets and pipes are left out where the endpoint can tell them (SFTP can). A symbolic link is listed as what it points to
        /// (<see cref="RemoteFolderEntry.IsLink"/> set); one that points nowhere is left out.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.NotFound"/> when nothing is there;
        /// <see cref="ErrorCode.InvalidArgument"/> with the error id <c>NotAFolder</c> when a file is;
        /// <see cref="ErrorCode.PermissionDenied"/> when the folder cannot be read.</exception>
        Task<IReadOnlyList<RemoteFolderEntry>> ListFolderAsync(OperationContext context, Uri folder, TransferOptions options);
    }

    /// <summary>
    /// Implemented by a stream from <see cref="ITransferEndpoint.OpenWriteAsync"/> that sends writes ahead of the
    /// destination's answers (SFTP write requests in flight): it tells how far the destination has confirmed what was
    /// written, so the engine commits each chunk to its journal once its bytes are confirmed instead of calling
    /// <see cref="Stream.FlushAsync()"/> at every chunk's end, which would empty the stream's pipeline and cost one round trip
    /// per chunk. A stream without it is flushed at each chunk's end.
    /// </summary>
    public interface IWriteAcknowledgement
    {
        /// <summary>
        /// The file offset up to which every byte written so far is held by the destination, as a successful
        /// <see cref="Stream.FlushAsync()"/> would guarantee: starts at the offset the stream was opened at, never decreases,
        /// and after a successful flush equals that offset plus every byte written. Safe to read from any thread.
        /// </summary>
        long AcknowledgedOffset { get; }
    }

    /// <summary>
    /// Implemented by endpoints whose server can hash a file it holds (SFTP: <c>openssl dgst -sha256</c> or
    /// <c>sha256sum</c> run over SSH exec, as rclone does): after an upload the engine compares that digest with the
    /// SHA-256 of the bytes it sent, before the file is delivered under its final name, so a server that stored
    /// something else (a short write it did not report, a corrupting gateway) makes the transfer fail with
    /// <see cref="ErrorCode.ChecksumMismatch"/> instead of Completed.
    /// </summary>
    public interface IServerDigest
    {
        /// <summary>
        /// The SHA-256 (lower-case hex) of the whole file at <paramref name="location"/> as the server computes it from what
        /// it stores, or null when the server offers no way to (no exec, no such command, a refusal): the engine then
        /// relies on the size it stats. Throws only when the connection fails, as any other call would.
        /// </summary>
        /// <param name="length">The file's size, so the endpoint can weigh what asking costs (a round trip or two) against
        /// the file (SFTP asks for files of 1 MiB or more unless told <c>Always</c>).</param>
        Task<string?> ComputeSha256Async(OperationContext context, Uri location, long length, TransferOptions options);
    }

    /// <summary>What the engine offers a plugin through <see cref="OperationContext.Host"/>.</summary>
    public interface IPluginHost
    {
        /// <summary>The root of everything the module writes (<c>TRANSFERTOOLS_HOME</c> or the per-user default).</summary>
        string HomeDirectory { get; }

        /// <summary>A folder that belongs to one plugin registration (created on demand).</summary>
        string GetPluginDataDirectory(string registrationName);
    }

    /// <summary>
    /// A protocol plugin that only implements <see cref="ITransferEndpoint"/> (and any optional capabilities it has,
    /// such as <see cref="IFolderListing"/>): the engine drives the endpoint directly and does the chunking, journaling,
    /// resume and verification itself. Such a plugin holds no transfers of its own, so its <see cref="IProtocolPlugin"/>
    /// calls only say so: <c>Send-Transfer</c>, <c>Receive-Transfer</c> and the other transfer cmdlets move its files.
    /// </summary>
    public abstract class StreamingProtocolPlugin : IProtocolPlugin, ITransferEndpoint
    {
        /// <inheritdoc/>
        public abstract PluginMetadata Metadata { get; }

        /// <inheritdoc/>
        public abstract IReadOnlyCollection<string> Schemes { get; }

        /// <summary>The registration's configuration, set by <see cref="InitAsync"/>.</summary>
        protected IReadOnlyDictionary<string, string> Configuration { get; private set; } =
            new Dictionary<string, string>();

        /// <inheritdoc/>
        public virtual Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            Configuration = config;
            return Task.CompletedTask;
        }

        /// <inheritdoc/>
        public virtual Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

        /// <summary>Refused (<see cref="ErrorCode.NotSupported"/>): the engine sends through this plugin's endpoint.</summary>
        public Task<Transfer> SendAsync(OperationContext context, SendRequest request) => Task.FromException<Transfer>(EngineDriven());

        /// <summary>Refused (<see cref="ErrorCode.NotSupported"/>): the engine receives through this plugin's endpoint.</summary>
        public Task<Transfer> ReceiveAsync(OperationContext context, ReceiveRequest request) => Task.FromException<Transfer>(EngineDriven());

        /// <summary><see cref="ErrorCode.NotFound"/>: the plugin holds no transfers; the engine's journal does.</summary>
        public Task<TransferStatus> StatusAsync(OperationContext context, string id) => Task.FromException<TransferStatus>(NoSuchTransfer(id));

        /// <summary><see cref="ErrorCode.NotFound"/>: the plugin holds no transfers; the engine's journal does.</summary>
        public Task CancelAsync(OperationContext context, string id) => Task.FromException(NoSuchTransfer(id));

        /// <summary><see cref="ErrorCode.NotFound"/>: the plugin holds no transfers; the engine's journal does.</summary>
        public Task ResumeAsync(OperationContext context, string id) => Task.FromException(NoSuchTransfer(id));

        /// <inheritdoc/>
        public abstract Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options);
        /// <inheritdoc/>
        public abstract Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options);
        /// <inheritdoc/>
        public abstract Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options);
        /// <inheritdoc/>
        public abstract Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options);
        /// <inheritdoc/>
        public abstract Task DeleteAsync(OperationContext context, Uri location, TransferOptions options);
        /// <inheritdoc/>
        public abstract Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options);

        private PluginException EngineDriven() => new PluginException(ErrorCode.NotSupported,
            $"The {Metadata.Name} protocol moves bytes through the TransferTools engine, which drives its endpoint: use Send-Transfer or Receive-Transfer.",
            errorId: "EngineDrivenProtocol");

        private PluginException NoSuchTransfer(string id) => new PluginException(ErrorCode.NotFound,
            $"The {Metadata.Name} protocol holds no transfers of its own (the engine journals them): no transfer '{id}' here.",
            errorId: "TransferNotFound", target: id);
    }
}
