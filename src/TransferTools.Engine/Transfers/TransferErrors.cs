using System;
using System.IO;
using System.Linq;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>The errors the transfer engine raises about transfers, and how it reads the ones it meets.</summary>
    internal static class TransferErrors
    {
        /// <summary>Any failure as a <see cref="PluginException"/>, with the error code that decides whether it is retried.</summary>
        internal static PluginException ToPluginException(Exception e)
        {
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Count == 1)
            {
                e = aggregate.InnerExceptions[0];
            }

            return e switch
            {
                PluginException pe => pe,
                OperationCanceledException _ => new PluginException(ErrorCode.Cancelled, "The transfer was cancelled.", e, "TransferCancelled"),
                UnauthorizedAccessException _ => new PluginException(ErrorCode.PermissionDenied, e.Message, e, "AccessDenied"),
                // A raw I/O failure from a remote stream is a dropped connection; local failures arrive mapped by the local endpoint.
                IOException _ => new PluginException(ErrorCode.ConnectionError, e.Message, e, "TransferIOError"),
                _ => new PluginException(ErrorCode.Internal, $"{e.GetType().Name}: {e.Message}", e, "TransferInternalError"),
            };
        }

        /// <summary>True when <paramref name="e"/> only says that the work was cancelled.</summary>
        internal static bool IsCancellation(Exception e) =>
            e is OperationCanceledException || (e is PluginException pe && pe.Code == ErrorCode.Cancelled)
            || (e is AggregateException a && a.InnerExceptions.All(IsCancellation));

        /// <summary>The source as messages and error targets name it: without a URL's query (<see cref="TransferLocation.DisplayWithoutQuery"/>).</summary>
        internal static string SourceInMessages(TransferRecord record) =>
            Uri.TryCreate(record.SourceUri, UriKind.Absolute, out var uri) ? TransferLocation.DisplayWithoutQuery(uri) : record.Source;

        internal static PluginException SourceChanged(TransferRecord record, string when, string how = "size, time stamp or version differ") =>
            new PluginException(ErrorCode.SourceChanged,
            $"The source '{SourceInMessages(record)}' changed {when} ({how}), so the data already transferred cannot be trusted. " +
            "Stop-Transfer removes the partial data; start a new transfer.",
            errorId: "SourceChanged", target: SourceInMessages(record));

        internal static PluginException NotFound(string id) => new PluginException(ErrorCode.NotFound,
            $"No transfer with id '{id}'. Get-TransferStatus lists the known transfers.", errorId: "TransferNotFound", target: id);

        internal static PluginException Running(string id, string where) => new PluginException(ErrorCode.InvalidState,
            $"Transfer {TransferManager.Short(id)} is running {where}; Suspend-Transfer or Stop-Transfer it first, or Wait-Transfer for it.",
            errorId: "TransferRunning", target: id);
    }
}
