using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;

namespace TransferTools.Abstractions
{
    /// <summary>One upload through an <see cref="IPartUploadDestination"/>: where it goes and what it carries.</summary>
    public sealed class PartUpload
    {
        /// <summary>The transfer's temporary location (the key its pending upload is remembered by).</summary>
        public Uri Temporary { get; set; } = null!;
        /// <summary>Where the content appears when the upload completes.</summary>
        public Uri Final { get; set; } = null!;
        /// <summary>The whole content's length in bytes, or -1 when the source does not say.</summary>
        public long Length { get; set; } = -1;
        /// <summary>The engine's chunk size: parts hold whole chunks, so a resume restarts at a part boundary.</summary>
        public int ChunkSize { get; set; } = TransferOptions.DefaultChunkSize;
        /// <summary>Lower-case hex SHA-256 of the whole content, known when the upload completes.</summary>
        public string? Sha256 { get; set; }
        /// <summary>The source's modification time, when known and kept (not with <c>-NoPreserve</c>).</summary>
        public DateTimeOffset? SourceModified { get; set; }
        /// <summary>The source's POSIX permission bits, when known and kept (not with <c>-NoPreserve</c>).</summary>
        public int? SourceMode { get; set; }
    }

    /// <summary>A part a destination holds of a pending upload (<see cref="IPartUploadDestination"/>).</summary>
    public sealed class UploadedPart
    {
        /// <summary>Where the part starts in the content.</summary>
        public long Offset { get; set; }
        /// <summary>Its length in bytes.</summary>
        public long Length { get; set; }
        /// <summary>Lower-case hex MD5 of the part's bytes as the destination reports it, or null when it does not.</summary>
        public string? Md5 { get; set; }
    }

    /// <summary>
    /// Implemented by endpoints whose pending upload cannot be read back (an S3 multipart upload): the engine sends
    /// through these calls instead of <see cref="ITransferEndpoint.OpenWriteAsync"/> and
    /// <see cref="ITransferEndpoint.CommitAsync"/>, and on a resume keeps only the parts whose MD5 matches the source's
    /// bytes, read again, instead of reading the partial back.
    /// </summary>
    public interface IPartUploadDestination
    {
        /// <summary>Opens the upload for writing at <paramref name="offset"/> (0, or the end of a part
        /// <see cref="ListUploadedPartsAsync"/> gave), dropping any part past it. Flushing sends everything written;
        /// nothing appears at <see cref="PartUpload.Final"/> before <see cref="CompletePartUploadAsync"/>.</summary>
        Task<Stream> OpenPartUploadAsync(OperationContext context, PartUpload upload, long offset, TransferOptions options);

        /// <summary>The parts the destination holds of a pending upload, in content order from offset 0 without gaps;
        /// empty when there is none.</summary>
        Task<IReadOnlyList<UploadedPart>> ListUploadedPartsAsync(OperationContext context, PartUpload upload, TransferOptions options);

        /// <summary>Makes the uploaded content appear at <see cref="PartUpload.Final"/> in one step.</summary>
        /// <param name="overwrite">Replace an existing object; otherwise refuse with <see cref="ErrorCode.Conflict"/>.</param>
        Task CompletePartUploadAsync(OperationContext context, PartUpload upload, bool overwrite, TransferOptions options);
    }
}
