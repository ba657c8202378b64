using System;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The one place where a transfer's status is written, with what goes with each status (its time, its error):
    /// the runner of a transfer, the control of one nobody runs (<see cref="TransferRunner.ControlOtherAsync"/>) and the
    /// record of a plugin's own transfer (<see cref="ForeignTransfers"/>) all change it here.
    /// </summary>
    internal static class TransferStatusChange
    {
        /// <summary>The message of a transfer cancelled by Stop-Transfer.</summary>
        internal const string StoppedMessage = "Stopped by Stop-Transfer.";

        /// <summary>Created or resumed: waiting to run.</summary>
        internal static void ToPending(TransferRecord r)
        {
            r.Status = TransferStatus.Pending;
            r.CompletedAt = null;
        }

        /// <summary>Running: the errors of an earlier run are cleared.</summary>
        internal static void ToActive(TransferRecord r)
        {
            r.Status = TransferStatus.Active;
            r.Error = null;
            r.ErrorCode = null;
            r.ErrorId = null;
            r.ErrorTarget = null;
        }

        /// <summary>Delivered and verified (or skipped).</summary>
        internal static void ToCompleted(TransferRecord r)
        {
            r.Status = TransferStatus.Completed;
            r.CompletedAt = DateTimeOffset.UtcNow;
            r.BytesTransferred = r.Skipped ? 0 : Math.Max(0, r.TotalBytes);
            r.Error = null;
            r.ErrorCode = null;
            r.ErrorId = null;
        }

        /// <summary>Stopped by Stop-Transfer, its temporary data removed.</summary>
        internal static void ToCancelled(TransferRecord r)
        {
            r.Status = TransferStatus.Cancelled;
            r.CompletedAt = DateTimeOffset.UtcNow;
            r.Error = StoppedMessage;
            r.ErrorCode = ErrorCode.Cancelled;
            r.ErrorId = "TransferCancelled";
        }

        /// <summary>Paused, resumable; <paramref name="why"/> is "Suspended." or "The session closed.".</summary>
        internal static void ToSuspended(TransferRecord r, string why)
        {
            r.Status = TransferStatus.Suspended;
            r.Error = why + $" Resume-Transfer {TransferManager.Short(r.Id)} continues it.";
            r.ErrorCode = ErrorCode.Cancelled;
            r.ErrorId = "TransferSuspended";
        }

        /// <summary>Stopped by <paramref name="error"/>.</summary>
        internal static void ToFailed(TransferRecord r, PluginException error)
        {
            r.Status = TransferStatus.Failed;
            r.CompletedAt = DateTimeOffset.UtcNow;
            r.Error = error.Message;
            r.ErrorCode = error.Code;
            r.ErrorId = error.ErrorId;
            // An error about the temporary file is reported against the destination the user named; any other
            // target (the source above all) stays as it is.
            r.ErrorTarget = error.Target is string target && r.TemporaryUri != null && target == TransferLocation.Display(new Uri(r.TemporaryUri))
                ? r.Destination
                : error.Target?.ToString();
        }

        /// <summary>The status a protocol plugin that moves bytes itself reports for its transfer.</summary>
        /// <returns>True when it changed.</returns>
        internal static bool ToReported(TransferRecord r, TransferStatus status)
        {
            if (status == r.Status)
            {
                return false;
            }

            r.Status = status;
            if (status.IsFinal())
            {
                r.CompletedAt ??= DateTimeOffset.UtcNow;
            }

            return true;
        }
    }
}
