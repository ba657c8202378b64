using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>The transfer engine: chunked, journaled, verified, resumable transfers (placeholder; see issue 3).</summary>
    public sealed class TransferManager : ITransferCoordinator
    {
        private readonly TransferSession _session;

        /// <summary>Creates the manager for a session.</summary>
        public TransferManager(TransferSession session) => _session = session;

        /// <inheritdoc/>
        public Task<Transfer> SendAsync(OperationContext context, SendRequest request, IProtocolPlugin plugin, ITransferEndpoint destination) =>
            throw new PluginException(ErrorCode.NotSupported, "Not implemented yet.");

        /// <inheritdoc/>
        public Task<Transfer> ReceiveAsync(OperationContext context, ReceiveRequest request, IProtocolPlugin plugin, ITransferEndpoint source) =>
            throw new PluginException(ErrorCode.NotSupported, "Not implemented yet.");

        /// <inheritdoc/>
        public Task<Transfer> GetAsync(OperationContext context, string id) =>
            throw new PluginException(ErrorCode.NotFound, $"No transfer '{id}'.");

        /// <inheritdoc/>
        public Task CancelAsync(OperationContext context, string id) =>
            throw new PluginException(ErrorCode.NotFound, $"No transfer '{id}'.");

        /// <inheritdoc/>
        public Task ResumeAsync(OperationContext context, string id) =>
            throw new PluginException(ErrorCode.NotFound, $"No transfer '{id}'.");

        /// <summary>Stops background transfers, leaving them resumable.</summary>
        public Task ShutdownAsync() => Task.CompletedTask;
    }
}
