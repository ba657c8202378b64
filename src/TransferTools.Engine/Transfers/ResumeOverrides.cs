using System;
using System.Collections.Generic;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>What <c>Resume-Transfer</c> may change about a transfer it continues: each value given replaces the
    /// journaled one for the rest of the transfer (null keeps it). What failed for want of the right host key, key file or
    /// protocol option resumes with the right one.</summary>
    public sealed class ResumeOverrides
    {
        /// <summary>A new conflict policy (e.g. Overwrite after a DestinationExists failure), or null to keep.</summary>
        public ConflictPolicy? Conflict { get; set; }
        /// <summary>A new bandwidth limit, or null to keep.</summary>
        public long? MaxBytesPerSecond { get; set; }
        /// <summary>The remote credential (never journaled, so a resume of a credentialed transfer needs it again).</summary>
        public System.Net.NetworkCredential? Credential { get; set; }
        /// <summary>A new number of retries for transient failures, or null to keep.</summary>
        public int? RetryCount { get; set; }
        /// <summary>A new no-progress time-out, or null to keep.</summary>
        public TimeSpan? StallTimeout { get; set; }
        /// <summary>Protocol options to add or replace (the others are kept), or null: a new SFTP key file or host key
        /// fingerprint (after the server's key was changed), for example.</summary>
        public IDictionary<string, string>? Custom { get; set; }
        /// <summary>The chunk size the caller expects, or null. It cannot change: the journal and the partial data are cut
        /// into the transfer's chunks, so a different value is refused (ChunkSizeFixed).</summary>
        public int? ChunkSize { get; set; }

        /// <summary>Refuses what cannot change, then applies the rest to <paramref name="record"/>.</summary>
        internal void ApplyTo(TransferRecord record)
        {
            if (ChunkSize is int chunkSize && chunkSize != record.ChunkSize)
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"Transfer {TransferManager.Short(record.Id)} moves in chunks of {record.ChunkSize} bytes, which its journal and partial data are cut into; -ChunkSize {chunkSize} cannot change that. Resume it without -ChunkSize, or start a new transfer.",
                    errorId: "ChunkSizeFixed", target: record.Id);
            }

            record.Conflict = Conflict ?? record.Conflict;
            record.MaxBytesPerSecond = MaxBytesPerSecond ?? record.MaxBytesPerSecond;
            record.RetryCount = RetryCount ?? record.RetryCount;
            record.StallTimeoutSeconds = StallTimeout?.TotalSeconds ?? record.StallTimeoutSeconds;
            if (Custom != null)
            {
                foreach (var option in Custom)
                {
                    record.Custom[option.Key] = option.Value;
                }
            }
        }
    }
}
