using System;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// What a delivery to a remote destination can skip, and the check it cannot: every look at the server is a round
    /// trip per file, so one is left out only where the answer is known already (<see cref="KnownFree"/>), and the one
    /// after the commit always stays (<see cref="ConfirmCommitAsync"/>).
    /// </summary>
    internal static class TransferDelivery
    {
        /// <summary>The key in <see cref="TransferBatch.Memo"/> of a destination folder this batch made (so it was empty then).</summary>
        private const string MadeKey = "folder-made:";

        /// <summary>Notes that the batch of <paramref name="run"/> made the destination folder <paramref name="folderUri"/> when <paramref name="made"/>.</summary>
        internal static void NoteFolderMade(RunningTransfer run, string folderUri, bool made)
        {
            if (made)
            {
                run.Batch?.Memo.TryAdd(MadeKey + folderUri, true);
            }
        }

        /// <summary>
        /// True when nothing can be at <paramref name="final"/> but what the delivery refuses anyway, so the look before the
        /// copy is skipped: the caller listed the folder (a sync plan), or the file goes into a folder this batch made and no
        /// other file of the batch took the name first. A file that another program puts there meanwhile is still never
        /// replaced without leave: a commit that may not overwrite refuses it (Conflict). A local destination keeps its look
        /// (it costs a stat, not a round trip).
        /// </summary>
        internal static bool KnownFree(RunningTransfer run, ITransferEndpoint destination, Uri final)
        {
            if (destination is ILocalFileEndpoint)
            {
                return false;
            }

            var record = run.Record;
            if (record.DestinationListed)
            {
                return true;
            }

            var batch = run.Batch;
            return batch != null && batch.Memo.ContainsKey(MadeKey + record.DestinationUri)
                && batch.ClaimedNames.GetOrAdd("free:" + final.AbsoluteUri, record.Id).Equals(record.Id, StringComparison.Ordinal);
        }

        /// <summary>
        /// After a remote commit: a server may answer a commit with success and still not hold the file (one that commits on
        /// close and fails there, a quota, a gateway): one stat of the final name is the proof. A local rename is atomic
        /// and checked, so it needs none.
        /// </summary>
        internal static async Task ConfirmCommitAsync(ITransferEndpoint destination, OperationContext context, TransferOptions options, Uri final, long total)
        {
            var shown = TransferLocation.Display(final);
            RemoteFileInfo delivered;
            try
            {
                delivered = await destination.GetInfoAsync(context, final, options).ConfigureAwait(false);
            }
            catch (Exception e) when (!TransferErrors.IsCancellation(e))
            {
                // Not retried: a new attempt would find the file delivered, or not, and could not tell which it is.
                var cause = TransferErrors.ToPluginException(e);
                throw new PluginException(cause.IsTransient ? ErrorCode.InvalidState : cause.Code,
                    $"'{shown}' could not be checked after it was delivered, so its delivery is not confirmed: {cause.Message}", e, "CommitNotConfirmed", shown);
            }

            if (!delivered.Exists || delivered.IsDirectory)
            {
                throw new PluginException(ErrorCode.NotFound,
                    $"The server accepted '{shown}' but does not hold it afterwards{(delivered.IsDirectory ? " (a folder is there)" : "")}: the delivery failed on the server.",
                    errorId: "CommitNotConfirmed", target: shown);
            }

            // (A server that does not say a file's size confirms only that it is there.)
            if (delivered.Length >= 0 && total >= 0 && delivered.Length != total)
            {
                throw new PluginException(ErrorCode.ChecksumMismatch,
                    $"The server holds {delivered.Length} bytes at '{shown}' after the delivery; {total} were sent: the delivery failed on the server.",
                    errorId: "CommitNotConfirmed", target: shown);
            }
        }
    }
}
