using System;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The thin path for a protocol plugin that moves bytes itself (an <see cref="IProtocolPlugin"/> that is not an
    /// <see cref="ITransferEndpoint"/>): the engine hands it the request through the plugin API's own calls (send,
    /// receive, status, cancel, resume) and only journals what it reports, so that Get-TransferStatus, Stop-Transfer and
    /// Resume-Transfer find its transfers like any other. No chunking, verification or resume of its own.
    /// </summary>
    internal sealed class ForeignTransfers
    {
        private readonly TransferSession _session;
        private readonly TransferJournal _journal;

        public ForeignTransfers(TransferSession session, TransferJournal journal)
        {
            _session = session;
            _journal = journal;
        }

        /// <summary>Has <paramref name="plugin"/> send a local file, and journals the transfer it reports as <paramref name="id"/>.</summary>
        internal async Task<Transfer> SendAsync(OperationContext context, string id, string protocol, IProtocolPlugin plugin, SendRequest request, Uri destination)
        {
            var transfer = await plugin.SendAsync(context, request).ConfigureAwait(false);
            return Record(context, id, protocol, TransferDirection.Send, request.File, destination, request.Options, transfer);
        }

        /// <summary>Has <paramref name="plugin"/> receive, and journals the transfer it reports as <paramref name="id"/>.</summary>
        internal async Task<Transfer> ReceiveAsync(OperationContext context, string id, string protocol, IProtocolPlugin plugin, ReceiveRequest request)
        {
            var transfer = await plugin.ReceiveAsync(context, request).ConfigureAwait(false);
            return Record(context, id, protocol, TransferDirection.Receive, request.Source ?? "", TransferLocation.FromLocalPath(request.OutputDir), request.Options,
                transfer);
        }

        /// <summary>Asks the plugin to resume its transfer.</summary>
        internal async Task<Transfer> ResumeAsync(OperationContext context, TransferRecord record)
        {
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, record.Protocol).ConfigureAwait(false);
            await plugin.ResumeAsync(context.WithTransfer(record.Id), record.ForeignId ?? record.Id).ConfigureAwait(false);
            return await RefreshAsync(context, record).ConfigureAwait(false);
        }

        /// <summary>Asks the plugin to cancel its transfer.</summary>
        internal async Task<Transfer> CancelAsync(OperationContext context, TransferRecord record)
        {
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, record.Protocol).ConfigureAwait(false);
            await plugin.CancelAsync(context.WithTransfer(record.Id), record.ForeignId ?? record.Id).ConfigureAwait(false);
            return await RefreshAsync(context, record).ConfigureAwait(false);
        }

        /// <summary>The transfer with the status its plugin reports now (journaled when it changed and nobody else holds it).</summary>
        internal async Task<Transfer> RefreshAsync(OperationContext context, TransferRecord record)
        {
            var plugin = await _session.Plugins.GetAsync<IProtocolPlugin>(context, record.Protocol).ConfigureAwait(false);
            var status = await plugin.StatusAsync(context.WithTransfer(record.Id), record.ForeignId ?? record.Id).ConfigureAwait(false);
            if (TransferStatusChange.ToReported(record, status) && _journal.TryLock(record.Id) is { } held)
            {
                using (held)
                {
                    _journal.Save(record);
                }
            }

            return record.ToTransfer();
        }

        private Transfer Record(OperationContext context, string id, string protocol, TransferDirection direction, string source, Uri destination,
            TransferOptions options, Transfer reported)
        {
            if (reported.Id != id && _journal.TryLoad(reported.Id) != null)
            {
                // Journaled already under its own id.
                return reported;
            }

            var record = new TransferRecord
            {
                Id = id,
                ForeignId = reported.Id,
                Streaming = false,
                Direction = direction,
                Protocol = protocol,
                Source = reported.Source.Length > 0 ? reported.Source : source,
                SourceUri = source,
                Destination = reported.Destination.Length > 0 ? reported.Destination : TransferLocation.Display(destination),
                DestinationUri = destination.ToString(),
                Name = reported.Name.Length > 0 ? reported.Name : Path.GetFileName(source),
                Status = reported.Status,
                StartedAt = reported.StartedAt == default ? DateTimeOffset.UtcNow : reported.StartedAt,
                CompletedAt = reported.CompletedAt,
                TotalBytes = reported.TotalBytes,
                BytesTransferred = reported.BytesTransferred,
                Sha256 = reported.Sha256,
                Verification = reported.Verification,
                Error = reported.Error,
                ErrorCode = reported.ErrorCode,
                UserId = context.UserId,
                RequestId = context.RequestId,
                OwnerProcessId = TransferRunner.OwnProcessId,
                OwnerHost = Environment.MachineName,
            };
            record.ApplyOptions(options);
            _journal.Save(record);
            return record.ToTransfer();
        }
    }
}
