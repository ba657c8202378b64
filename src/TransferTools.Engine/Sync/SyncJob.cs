using System;
using System.Collections.Generic;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Sync
{
    /// <summary>
    /// One <c>Sync-TransferFolder</c> line as the journal keeps it, so that the transfer agent (a queued sync) or
    /// <c>Resume-Transfer</c> (an interrupted one) runs it again later in another process: the two resolved roots and
    /// every other parameter that changes the plan, as invariant text. Never a password: a queued sync's is protected in
    /// its record (<see cref="Transfers.TransferManager.QueueSyncAsync"/>), an interrupted sync's is asked for again.
    /// </summary>
    public sealed class SyncJob
    {
        /// <summary>The source root (a full local path or a URI).</summary>
        public string Source { get; set; } = "";

        /// <summary>The destination root (a full local path or a URI).</summary>
        public string Destination { get; set; } = "";

        /// <summary>The other parameters by name, each value as invariant text (several for an array).</summary>
        public Dictionary<string, string[]> Parameters { get; set; } = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>How one run of a <see cref="SyncJob"/> ended.</summary>
    public sealed class SyncJobOutcome
    {
        /// <summary>True when every copy and the delete phase succeeded.</summary>
        public bool Succeeded { get; set; }

        /// <summary>The first failure's code (a transient one lets the agent try again later), or null.</summary>
        public ErrorCode? ErrorCode { get; set; }

        /// <summary>The first failure's ErrorId, or null.</summary>
        public string? ErrorId { get; set; }

        /// <summary>The first failure's message, or null.</summary>
        public string? Error { get; set; }

        /// <summary>Bytes the run moved.</summary>
        public long BytesMoved { get; set; }

        /// <summary>One line: what the run did (files copied, updated, deleted, unchanged, failed).</summary>
        public string? Summary { get; set; }

        /// <summary>The outcome a <see cref="SyncResult"/> describes (<paramref name="firstError"/> from the errors written).</summary>
        public static SyncJobOutcome From(SyncResult? result, PluginException? firstError)
        {
            var failed = result is null || result.Failed > 0 || !result.DeletesDone || firstError != null;
            return new SyncJobOutcome
            {
                Succeeded = !failed,
                ErrorCode = failed ? firstError?.Code ?? Abstractions.ErrorCode.Unknown : (ErrorCode?)null,
                ErrorId = failed ? firstError?.ErrorId : null,
                Error = failed ? firstError?.Message ?? (result is null ? "The sync wrote no result." : result.Errors.Count > 0 ? result.Errors[0] : "The delete phase was held back.") : null,
                BytesMoved = result?.BytesMoved ?? 0,
                Summary = result is null ? null : Describe(result),
            };
        }

        /// <summary>The one-line summary of <paramref name="result"/>.</summary>
        public static string Describe(SyncResult result) =>
            $"{result.Copied} copied, {result.Updated} updated, {result.Deleted} deleted, {result.Unchanged} unchanged, {result.Failed} failed" +
            (result.DeletesDone ? "" : " (deletes held back)") + $"; sync id {result.SyncId}";
    }
}
