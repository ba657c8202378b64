using System;
using System.Collections.Generic;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// One transfer as the journal keeps it (<c>journal/ID.json</c>). Everything a new process needs to resume it,
    /// and nothing secret: the credential is never recorded.
    /// </summary>
    internal sealed class TransferRecord
    {
        public int FormatVersion { get; set; } = 1;
        public string Id { get; set; } = "";
        public TransferDirection Direction { get; set; }
        /// <summary>The protocol registration name (the plugin that serves the remote side).</summary>
        public string Protocol { get; set; } = "";
        /// <summary>
        /// For a copy between two remote locations (<c>Send-Transfer -Path s3://... -Destination sftp://...</c>): the
        /// protocol registration that serves the source; null when the source is a local file (a send) or the local
        /// side is the destination (a receive). <see cref="Protocol"/> serves the destination then.
        /// </summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public string? SourceProtocol { get; set; }
        /// <summary>False for a third-party protocol plugin that moves bytes on its own (the engine only records what it reports).</summary>
        public bool Streaming { get; set; } = true;
        /// <summary>The id a third-party plugin gave its transfer, when it differs from <see cref="Id"/>.</summary>
        public string? ForeignId { get; set; }

        /// <summary>What the user asked for (display).</summary>
        public string RequestedDestination { get; set; } = "";
        public string Source { get; set; } = "";
        public string Destination { get; set; } = "";
        public string Name { get; set; } = "";
        public string SourceUri { get; set; } = "";
        /// <summary>The requested destination as a URI (a folder or a full file name); resolved into <see cref="FinalUri"/>.</summary>
        public string DestinationUri { get; set; } = "";
        public string? FinalUri { get; set; }
        public string? TemporaryUri { get; set; }
        public string? ManifestUri { get; set; }

        /// <summary>For Receive-Transfer -TransferId: the sent transfer's id and the SHA-256 its manifest promises.</summary>
        public string? ReceivedTransferId { get; set; }
        public string? ExpectedSha256 { get; set; }

        public int ChunkSize { get; set; } = TransferOptions.DefaultChunkSize;
        /// <summary>-Streams (<see cref="TransferOptions.Streams"/>): 0 lets the engine choose (left out of the JSON then, so a
        /// batch's journal lines stay as short as before).</summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
        public int Streams { get; set; }
        public long MaxBytesPerSecond { get; set; }
        public int RetryCount { get; set; } = 5;
        public ConflictPolicy Conflict { get; set; }
        public double StallTimeoutSeconds { get; set; } = 60;
        /// <summary>-NoPreserve: the delivered file keeps its own time and mode (journaled, so a resume honours it).</summary>
        public bool NoPreserve { get; set; }
        /// <summary>-NoManifest: the send leaves no manifest (journaled, so a resume honours it).</summary>
        public bool NoManifest { get; set; }
        /// <summary>The folder (URI, ending with '/') whose <c>.transfertools</c> gets the manifest when it is not the delivered
        /// file's folder: the root of a tree sent with -Recurse (<see cref="SendRequest.ManifestRoot"/>).</summary>
        public string? ManifestRoot { get; set; }
        /// <summary>The destination folder was listed just before (<see cref="SendRequest.DestinationListed"/>). Not journaled:
        /// that listing is no promise to an attempt of another process.</summary>
        [System.Text.Json.Serialization.JsonIgnore]
        public bool DestinationListed { get; set; }

        /// <summary>The protocol options (<see cref="TransferOptions.Custom"/>).</summary>
        public Dictionary<string, string> Custom
        {
            get => _custom;
            set
            {
                _custom = value;
                AddLegacyOptions();
            }
        }

        private Dictionary<string, string> _custom = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>
        /// The SFTP key file of a record written before it became a protocol option (<c>keyFile</c> in the journal): read
        /// into <see cref="Custom"/> as the option <see cref="KeyFileOption"/>, never written.
        /// </summary>
        public string? KeyFile
        {
            get => null;
            set
            {
                _legacyKeyFile = value;
                AddLegacyOptions();
            }
        }

        /// <summary>The SFTP host key fingerprint of a record written before it became a protocol option, as <see cref="KeyFile"/>.</summary>
        public string? HostKeyFingerprint
        {
            get => null;
            set
            {
                _legacyHostKeyFingerprint = value;
                AddLegacyOptions();
            }
        }

        /// <summary>The protocol option the <c>keyFile</c> of an older record becomes (the SFTP plugin's name for it).</summary>
        internal const string KeyFileOption = "KeyFile";

        /// <summary>The protocol option the <c>hostKeyFingerprint</c> of an older record becomes.</summary>
        internal const string HostKeyFingerprintOption = "HostKeyFingerprint";

        private string? _legacyKeyFile;
        private string? _legacyHostKeyFingerprint;

        // Whichever order the journal's JSON gives the old fields and the options in, they end up among the options
        // (an option of the same name given since wins).
        private void AddLegacyOptions()
        {
            if (!string.IsNullOrEmpty(_legacyKeyFile) && !_custom.ContainsKey(KeyFileOption))
            {
                _custom[KeyFileOption] = _legacyKeyFile!;
            }

            if (!string.IsNullOrEmpty(_legacyHostKeyFingerprint) && !_custom.ContainsKey(HostKeyFingerprintOption))
            {
                _custom[HostKeyFingerprintOption] = _legacyHostKeyFingerprint!;
            }
        }

        public long TotalBytes { get; set; } = -1;
        public long BytesTransferred { get; set; }
        public long ResumedFrom { get; set; }
        /// <summary>The source when the transfer began: size, time stamp and version (ETag); a resume refuses when they differ.</summary>
        public long SourceLength { get; set; } = -1;
        /// <summary>
        /// The source gave no size when the transfer began (an HTTP response streamed without Content-Length); the
        /// transfer's size is known only once its source has been read to the end, and each attempt reads to the end again.
        /// </summary>
        public bool SourceSizeUnknown { get; set; }
        public DateTimeOffset? SourceModified { get; set; }
        public string? SourceVersion { get; set; }
        /// <summary>
        /// The source's identity when the transfer began (<see cref="IFileIdentity"/>: a local file's device, inode and change
        /// time), for a transfer long enough to be resumed; null when not known (and in records written before it was kept).
        /// </summary>
        public string? SourceIdentity { get; set; }

        public TransferStatus Status { get; set; }
        public DateTimeOffset StartedAt { get; set; }
        public DateTimeOffset UpdatedAt { get; set; }
        public DateTimeOffset? CompletedAt { get; set; }
        public int Retries { get; set; }
        public int Resumes { get; set; }
        public string? Error { get; set; }
        public ErrorCode? ErrorCode { get; set; }
        public string? ErrorId { get; set; }
        /// <summary>What the last error was about (a path or URI), for the ErrorRecord's target.</summary>
        public string? ErrorTarget { get; set; }
        public string? Sha256 { get; set; }
        /// <summary>What the delivered content was checked against (<see cref="TransferVerification"/>).</summary>
        public TransferVerification Verification { get; set; }
        public bool Skipped { get; set; }
        public double BytesPerSecond { get; set; }

        public string? UserId { get; set; }
        public string? RequestId { get; set; }

        /// <summary>Queued with <c>-Queue</c>: the transfer agent runs it, picks it up again after a crash, and retries it.</summary>
        public bool Queued { get; set; }
        /// <summary>The user name of a queued transfer's <c>-Credential</c>; the password is only in <see cref="ProtectedPassword"/>.</summary>
        public string? CredentialUser { get; set; }
        /// <summary>A queued transfer's password, protected by the home's <c>SecretProtector</c> (<c>tt1:...</c>), never plain.</summary>
        public string? ProtectedPassword { get; set; }
        /// <summary>Until when the agent retries transient errors (queue time + <c>-RetryTimeout</c>).</summary>
        public DateTimeOffset? RetryUntil { get; set; }
        /// <summary>When the agent tries again after a transient error.</summary>
        public DateTimeOffset? NextAttemptAt { get; set; }
        /// <summary>The agent's attempts so far (the retry interval grows with them).</summary>
        public int AgentAttempts { get; set; }
        /// <summary>The transfer's own bandwidth schedule (<c>-BandwidthSchedule</c>), applied while the agent runs it.</summary>
        public string? BandwidthSchedule { get; set; }
        /// <summary>A queued folder sync (<c>Sync-TransferFolder -Queue</c>): what the agent runs instead of one file's copy.</summary>
        public Sync.SyncJob? Sync { get; set; }
        /// <summary>A sync's last run, one line (<see cref="Transfer.Summary"/>).</summary>
        public string? Summary { get; set; }
        public int OwnerProcessId { get; set; }
        public string OwnerHost { get; set; } = "";

        public TransferOptions ToOptions(NetworkCredentialHolder? credential = null)
        {
            var options = new TransferOptions
            {
                ChunkSize = ChunkSize,
                Streams = Streams,
                MaxBytesPerSecond = MaxBytesPerSecond,
                RetryCount = RetryCount,
                Conflict = Conflict,
                StallTimeout = TimeSpan.FromSeconds(StallTimeoutSeconds),
                NoPreserve = NoPreserve,
                NoManifest = NoManifest,
                Credential = credential?.Credential,
            };
            if (Custom.Count > 0)
            {
                // (Otherwise the new options' own empty dictionary, of the same comparer, serves.)
                options.Custom = new Dictionary<string, string>(Custom, StringComparer.OrdinalIgnoreCase);
            }

            return options;
        }

        public void ApplyOptions(TransferOptions options)
        {
            ChunkSize = options.ChunkSize;
            Streams = options.Streams;
            MaxBytesPerSecond = options.MaxBytesPerSecond;
            RetryCount = options.RetryCount;
            Conflict = options.Conflict;
            StallTimeoutSeconds = options.StallTimeout.TotalSeconds;
            NoPreserve = options.NoPreserve;
            NoManifest = options.NoManifest;
            Custom = new Dictionary<string, string>(options.Custom ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        }

        public Transfer ToTransfer() => new Transfer
        {
            Id = Id,
            Status = Status,
            Progress = Status == TransferStatus.Completed ? 100 : TotalBytes > 0 ? Math.Min(100.0, BytesTransferred * 100.0 / TotalBytes) : 0,
            StartedAt = StartedAt,
            CompletedAt = CompletedAt,
            Direction = Direction,
            Protocol = Protocol,
            Source = Source,
            Destination = Destination,
            Name = Name,
            BytesTransferred = BytesTransferred,
            TotalBytes = TotalBytes,
            ResumedFrom = ResumedFrom,
            Sha256 = Sha256,
            Verification = Verification,
            BytesPerSecond = BytesPerSecond,
            Retries = Retries,
            Error = Error,
            ErrorCode = ErrorCode,
            UserId = UserId,
            Skipped = Skipped,
            Queued = Queued,
            NextAttemptAt = Status == TransferStatus.TransientError ? NextAttemptAt : null,
            RetryUntil = RetryUntil,
            Summary = Summary,
        };

        public TransferRecord Clone()
        {
            var copy = (TransferRecord)MemberwiseClone();
            copy._custom = new Dictionary<string, string>(_custom, StringComparer.OrdinalIgnoreCase);
            return copy;
        }
    }

    /// <summary>Carries the credential of a running transfer in memory only (never serialized).</summary>
    internal sealed class NetworkCredentialHolder
    {
        public NetworkCredentialHolder(System.Net.NetworkCredential? credential) => Credential = credential;

        public System.Net.NetworkCredential? Credential { get; }
    }
}
