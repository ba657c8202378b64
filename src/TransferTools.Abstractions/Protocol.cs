using System;
using System.Collections.Generic;
using System.Net;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>Where a transfer is in its life.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum TransferStatus
    {
        /// <summary>Created, no byte moved yet (<c>pending</c>).</summary>
        Pending,
        /// <summary>Moving bytes (<c>active</c>).</summary>
        Active,
        /// <summary>Delivered and verified (<c>completed</c>).</summary>
        Completed,
        /// <summary>Stopped by an error; resumable unless the error says otherwise (<c>failed</c>).</summary>
        Failed,
        /// <summary>Stopped by <c>Stop-Transfer</c>; temporaries removed (<c>cancelled</c>).</summary>
        Cancelled,
        /// <summary>Paused by <c>Suspend-Transfer</c> or Ctrl+C; resumable (<c>suspended</c>).</summary>
        Suspended,
        /// <summary>Recorded for the transfer agent (<c>-Queue</c>), not started yet (<c>queued</c>).</summary>
        Queued,
        /// <summary>Run by the transfer agent, failed for a reason that may pass; the agent tries again at
        /// <see cref="Transfer.NextAttemptAt"/> (<c>transientError</c>).</summary>
        TransientError,
    }

    /// <summary>The string values of <see cref="TransferStatus"/>.</summary>
    public static class TransferStatuses
    {
        /// <summary><c>pending</c></summary>
        public const string Pending = "pending";
        /// <summary><c>active</c></summary>
        public const string Active = "active";
        /// <summary><c>completed</c></summary>
        public const string Completed = "completed";
        /// <summary><c>failed</c></summary>
        public const string Failed = "failed";
        /// <summary><c>cancelled</c></summary>
        public const string Cancelled = "cancelled";
        /// <summary><c>suspended</c></summary>
        public const string Suspended = "suspended";
        /// <summary><c>queued</c></summary>
        public const string Queued = "queued";
        /// <summary><c>transientError</c></summary>
        public const string TransientError = "transientError";

        /// <summary>The wire value of <paramref name="status"/>.</summary>
        public static string ToSeedValue(this TransferStatus status) => status switch
        {
            TransferStatus.Pending => Pending,
            TransferStatus.Active => Active,
            TransferStatus.Completed => Completed,
            TransferStatus.Failed => Failed,
            TransferStatus.Cancelled => Cancelled,
            TransferStatus.Queued => Queued,
            TransferStatus.TransientError => TransientError,
            _ => Suspended,
        };

        /// <summary>True for statuses a transfer never leaves by itself (completed, failed, cancelled, suspended); a queued
        /// transfer or one waiting out a transient error is not final: the transfer agent moves it on.</summary>
        public static bool IsFinal(this TransferStatus status) =>
            status != TransferStatus.Pending && status != TransferStatus.Active && status != TransferStatus.Queued && status != TransferStatus.TransientError;
    }

    /// <summary>
    /// What a completed transfer's content was checked against, beyond the SHA-256 the engine takes of the bytes it moves
    /// (<see cref="Transfer.Verification"/>).
    /// </summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum TransferVerification
    {
        /// <summary>No check yet: the transfer has not completed (or <c>-Conflict Skip</c> kept the destination's file).</summary>
        None,
        /// <summary>
        /// The destination's size was confirmed; nothing independent of this transfer's own reading vouched for the content
        /// (a server that announces no digest). A resume re-read a sample of the kept chunks from the source.
        /// </summary>
        SizeOnly,
        /// <summary>The SHA-256 equals the one the sending transfer's manifest promises (<c>Receive-Transfer -TransferId</c>).</summary>
        ManifestSha256,
        /// <summary>
        /// The whole content equals a digest the source's server announced for it: HTTP <c>Repr-Digest</c>,
        /// <c>Content-Digest</c>, <c>Digest</c> or <c>Content-MD5</c>, an S3 object's <c>x-amz-meta-sha256</c> or the MD5
        /// ETag of a single-part object.
        /// </summary>
        ServerDigest,
        /// <summary>
        /// Copied within the server (<see cref="IServerSideCopy"/>: no byte through this machine); the SHA-256 the
        /// destination announces afterwards equals the one the source announced.
        /// </summary>
        ServerSideCopy,
        /// <summary>
        /// An upload: the destination's server hashed the file it holds (<c>openssl dgst -sha256</c> or <c>sha256sum</c> over
        /// SSH exec, or an HTTP digest header on the uploaded file) and it equals the SHA-256 of the bytes sent
        /// (<see cref="IServerDigest"/>).
        /// </summary>
        DestinationDigest,
    }

    /// <summary>Which way the bytes go, seen from this machine.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum TransferDirection
    {
        /// <summary><c>Send-Transfer</c>: a local file to a destination.</summary>
        Send,
        /// <summary><c>Receive-Transfer</c>: a remote file or a sent transfer to a local folder.</summary>
        Receive,
    }

    /// <summary>What to do when the destination file exists already.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum ConflictPolicy
    {
        /// <summary>Refuse with <see cref="ErrorCode.Conflict"/> (the default).</summary>
        Fail,
        /// <summary>Replace it atomically.</summary>
        Overwrite,
        /// <summary>Leave it and report the transfer as completed without moving bytes.</summary>
        Skip,
        /// <summary>Deliver under a new name: <c>name (1).ext</c>, <c>name (2).ext</c>, ...</summary>
        Rename,
    }

    /// <summary>How a transfer behaves.</summary>
    public sealed class TransferOptions
    {
        /// <summary>The default chunk size: 4 MiB.</summary>
        public const int DefaultChunkSize = 4 * 1024 * 1024;

        /// <summary>Bytes per chunk: the unit of journal commits and of re-sending after a resume.</summary>
        public int ChunkSize { get; set; } = DefaultChunkSize;
        /// <summary>
        /// Streams that move one large file at once, each its own range (<c>-Streams</c>), where both endpoints can
        /// (<see cref="IRangedReads"/>, <see cref="IRangedWrites"/>): 0 lets the engine choose (several above a size
        /// threshold), 1 moves every file as one stream.
        /// </summary>
        public int Streams { get; set; }
        /// <summary>Bandwidth limit in bytes per second; 0 for none.</summary>
        public long MaxBytesPerSecond { get; set; }
        /// <summary>How many times a transient failure is retried (exponential backoff with jitter).</summary>
        public int RetryCount { get; set; } = 5;
        /// <summary>What to do when the destination exists.</summary>
        public ConflictPolicy Conflict { get; set; } = ConflictPolicy.Fail;
        /// <summary>A transfer that moves no byte for this long is treated as a transient failure and retried.</summary>
        public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>
        /// When true, a delivered file keeps the time of its delivery and the destination's default mode instead of the
        /// source's modification time and POSIX permission bits (<c>-NoPreserve</c>).
        /// </summary>
        public bool NoPreserve { get; set; }
        /// <summary>
        /// When true, a send leaves no manifest (<c>.transfertools</c>) at its destination (<c>-NoManifest</c>); the file
        /// can then not be received by its id (<c>Receive-Transfer -TransferId</c>).
        /// </summary>
        public bool NoManifest { get; set; }
        /// <summary>
        /// The POSIX permission bits a destination creates its temporary file with (set by the engine for each attempt, not
        /// journaled), so that a file the source keeps private is never readable by others at any moment; null for the
        /// destination's default.
        /// </summary>
        public int? NewFileMode { get; set; }
        /// <summary>
        /// The source's modification time as this attempt saw it (set by the engine, not journaled; null with
        /// <see cref="NoPreserve"/> or when the source does not say), for a destination that keeps it with the content
        /// when it commits (an object store's metadata, <see cref="FileAttributeMetadata"/>) instead of through
        /// <see cref="IFileAttributePreservation"/> afterwards.
        /// </summary>
        public DateTimeOffset? SourceModified { get; set; }
        /// <summary>
        /// The source's POSIX permission bits (<c>mode &amp; 0o7777</c>) as this attempt saw them, like
        /// <see cref="SourceModified"/>: set by the engine, not journaled, null with <see cref="NoPreserve"/> or when unknown.
        /// </summary>
        public int? SourceMode { get; set; }
        /// <summary>User name and password for the remote side (SFTP password, HTTP Basic, key passphrase). Never journaled.</summary>
        public NetworkCredential? Credential { get; set; }
        /// <summary>
        /// Protocol-specific options, as each protocol plugin declares them (string keys and values, keys compared without
        /// case; journaled, so never secrets): an SFTP key file or host key fingerprint, for example.
        /// </summary>
        public IDictionary<string, string> Custom { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>A copy (the credential is shared, not cloned).</summary>
        public TransferOptions Clone()
        {
            // Every setting as is (the credential shared), and a dictionary of its own; without the initializer's
            // empty dictionary a constructor call would make first (Send-Transfer clones options per piped file).
            var copy = (TransferOptions)MemberwiseClone();
            copy.Custom = new Dictionary<string, string>(Custom, StringComparer.OrdinalIgnoreCase);
            return copy;
        }
    }

    /// <summary>A request to send a local file.</summary>
    public sealed class SendRequest
    {
        /// <summary>The local file to send (full path).</summary>
        public string File { get; set; } = "";
        /// <summary>Where to: a folder path, a <c>file://</c>, <c>sftp://</c>, <c>http(s)://</c> or <c>storage://</c> URI.</summary>
        public string Destination { get; set; } = "";
        /// <summary>
        /// The folder whose <c>.transfertools</c> holds the manifest when it is not the delivered file's own folder: the
        /// destination folder of a tree sent with <c>-Recurse</c>, so that a tree gets one manifest folder at its root, not one
        /// per subfolder. Null for the file's own folder. Ignored unless the delivered file lies under it.
        /// </summary>
        public string? ManifestRoot { get; set; }
        /// <summary>
        /// The caller listed the destination folder just before (a sync plan) and found the file's name free, or holding a
        /// file it means to replace: the engine then skips its own look at that name before the copy. A file that appears
        /// there since is still never replaced unless the conflict policy allows it (the delivery refuses it).
        /// </summary>
        public bool DestinationListed { get; set; }
        /// <summary>How.</summary>
        public TransferOptions Options { get; set; } = new TransferOptions();
    }

    /// <summary>A request to receive a transfer or a remote file.</summary>
    public sealed class ReceiveRequest
    {
        /// <summary>The id of a transfer sent earlier (its manifest is looked up at <see cref="Source"/>), or null to pull a plain file.</summary>
        public string? TransferId { get; set; }
        /// <summary>The remote file, or the folder holding a sent transfer's manifest; null when the journal knows.</summary>
        public string? Source { get; set; }
        /// <summary>The local folder to deliver into.</summary>
        public string OutputDir { get; set; } = "";
        /// <summary>How.</summary>
        public TransferOptions Options { get; set; } = new TransferOptions();
    }

    /// <summary>One transfer.</summary>
    public sealed class Transfer
    {
        /// <summary>The transfer id.</summary>
        public string Id { get; set; } = "";
        /// <summary>Where it is in its life.</summary>
        public TransferStatus Status { get; set; }
        /// <summary>Percent done, 0 to 100, of the whole file (a resumed transfer counts what it kept).</summary>
        public double Progress { get; set; }
        /// <summary>When it started (UTC).</summary>
        public DateTimeOffset StartedAt { get; set; }
        /// <summary>When it reached completed, failed or cancelled (UTC).</summary>
        public DateTimeOffset? CompletedAt { get; set; }
        /// <summary>Send or receive.</summary>
        public TransferDirection Direction { get; set; }
        /// <summary>The protocol plugin that moves it.</summary>
        public string Protocol { get; set; } = "";
        /// <summary>Where the bytes come from.</summary>
        public string Source { get; set; } = "";
        /// <summary>Where they are delivered (the final name).</summary>
        public string Destination { get; set; } = "";
        /// <summary>The file name.</summary>
        public string Name { get; set; } = "";
        /// <summary>Bytes at the destination, verified (counting those kept by a resume).</summary>
        public long BytesTransferred { get; set; }
        /// <summary>The file's size; -1 while unknown.</summary>
        public long TotalBytes { get; set; } = -1;
        /// <summary>Bytes not sent again because a resume kept them.</summary>
        public long ResumedFrom { get; set; }
        /// <summary>Lower-case hex SHA-256 of the whole content, once known.</summary>
        public string? Sha256 { get; set; }
        /// <summary>What the delivered content was checked against, once completed (see <see cref="TransferVerification"/>).</summary>
        public TransferVerification Verification { get; set; }
        /// <summary>Recent rate in bytes per second while active; the average once finished.</summary>
        public double BytesPerSecond { get; set; }
        /// <summary>Transient failures retried so far.</summary>
        public int Retries { get; set; }
        /// <summary>The last error's message, or null.</summary>
        public string? Error { get; set; }
        /// <summary>The last error's code, or null.</summary>
        public ErrorCode? ErrorCode { get; set; }
        /// <summary>The user who started it, or null.</summary>
        public string? UserId { get; set; }
        /// <summary>True when it completed without moving a byte because the destination's file was there and
        /// <c>-Conflict Skip</c> kept it (<see cref="BytesTransferred"/> is 0, <see cref="Sha256"/> null).</summary>
        public bool Skipped { get; set; }
        /// <summary>True when the transfer agent runs it (queued with <c>-Queue</c>).</summary>
        public bool Queued { get; set; }
        /// <summary>When the transfer agent tries again after a transient error (<see cref="TransferStatus.TransientError"/>), or null.</summary>
        public DateTimeOffset? NextAttemptAt { get; set; }
        /// <summary>Until when the transfer agent retries transient errors (<c>-RetryTimeout</c>), or null.</summary>
        public DateTimeOffset? RetryUntil { get; set; }
        /// <summary>For a queued folder sync (<c>Sync-TransferFolder -Queue</c>, <see cref="Name"/> <c>(sync)</c>): what its last
        /// run did, one line (files copied, updated, deleted, unchanged, failed); null for a file's transfer.</summary>
        public string? Summary { get; set; }

        /// <summary>Estimated time left while active, or null.</summary>
        public TimeSpan? TimeRemaining =>
            Status == TransferStatus.Active && BytesPerSecond > 0 && TotalBytes >= 0
                ? TimeSpan.FromSeconds(Math.Max(0, TotalBytes - BytesTransferred) / BytesPerSecond)
                : (TimeSpan?)null;

        /// <summary>A copy, so callers can hold a snapshot while the engine moves on.</summary>
        public Transfer Clone() => (Transfer)MemberwiseClone();

        /// <inheritdoc/>
        public override string ToString() => $"{Id} {Status.ToSeedValue()} {Progress:0.#}% {Name}";
    }

    /// <summary>Moves files.</summary>
    /// <remarks>Most plugins derive from <see cref="StreamingProtocolPlugin"/> and let the engine do chunking,
    /// journaling, resume and verification; a plugin may instead implement this interface on its own.</remarks>
    public interface IProtocolPlugin : IPlugin
    {
        /// <summary>Starts sending a local file; returns the transfer (it may still be running).</summary>
        Task<Transfer> SendAsync(OperationContext context, SendRequest request);
        /// <summary>Starts receiving a transfer or remote file; returns the transfer (it may still be running).</summary>
        Task<Transfer> ReceiveAsync(OperationContext context, ReceiveRequest request);
        /// <summary>The status of a transfer this plugin moves. <see cref="ErrorCode.NotFound"/> for an unknown id.</summary>
        Task<TransferStatus> StatusAsync(OperationContext context, string id);
        /// <summary>Cancels a transfer and removes its temporaries.</summary>
        Task CancelAsync(OperationContext context, string id);
        /// <summary>Resumes a failed or suspended transfer from its last verified chunk.</summary>
        Task ResumeAsync(OperationContext context, string id);
    }
}
