using System;
using System.Collections.Concurrent;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Conformance
{
    /// <summary>
    /// The <see cref="IPluginHost"/> the suites give plugins when the test does not supply the real engine: a home
    /// folder under the test's work folder and per-plugin data folders.
    /// </summary>
    public sealed class ConformanceHost : IPluginHost
    {
        /// <summary>Creates a host rooted at <paramref name="homeDirectory"/>.</summary>
        public ConformanceHost(string homeDirectory)
        {
            HomeDirectory = homeDirectory;
            Directory.CreateDirectory(homeDirectory);
        }

        /// <inheritdoc/>
        public string HomeDirectory { get; }

        /// <inheritdoc/>
        public string GetPluginDataDirectory(string registrationName)
        {
            var path = Path.Combine(HomeDirectory, "plugins", registrationName);
            Directory.CreateDirectory(path);
            return path;
        }
    }

    /// <summary>
    /// One-pass transfers through an endpoint for conformance tests, driven as the engine drives one: written to a
    /// temporary name through the endpoint, then committed; no chunk journal or resume. The engine does much more; this
    /// checks the plugin's side of the contract without it.
    /// </summary>
    public sealed class SimpleTransfers
    {
        private readonly ConcurrentDictionary<string, Transfer> _transfers = new ConcurrentDictionary<string, Transfer>();

        /// <summary>Sends <paramref name="request"/> through <paramref name="destination"/> (the endpoint of <paramref name="plugin"/>).</summary>
        public async Task<Transfer> SendAsync(OperationContext context, SendRequest request, IProtocolPlugin plugin, ITransferEndpoint destination)
        {
            var name = Path.GetFileName(request.File);
            var final = request.Destination.EndsWith("/", StringComparison.Ordinal) ? new Uri(request.Destination + Uri.EscapeDataString(name)) : new Uri(request.Destination);
            // The engine's own temporary name, .NAME.ID8.ttpart beside the final one (a plugin may know it: the Http
            // plugin's plain-PUT fallback sends it straight to the final name on a server without MOVE).
            var temporary = new Uri(final, "./." + final.Segments[final.Segments.Length - 1] + "." + Guid.NewGuid().ToString("n").Substring(0, 8) + ".ttpart");
            var transfer = Start(TransferDirection.Send, plugin, request.File, final.AbsoluteUri, name);
            return await RunAsync(transfer, async () =>
            {
                using (var source = File.OpenRead(request.File))
                using (var target = await destination.OpenWriteAsync(context, temporary, 0, request.Options).ConfigureAwait(false))
                {
                    await source.CopyToAsync(target, 81920, context.CancellationToken).ConfigureAwait(false);
                    await target.FlushAsync(context.CancellationToken).ConfigureAwait(false); // as the engine does: a close without it may abandon the upload
                    transfer.BytesTransferred = source.Length;
                    transfer.TotalBytes = source.Length;
                }

                await destination.CommitAsync(context, temporary, final, request.Options.Conflict == ConflictPolicy.Overwrite, request.Options).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }

        /// <summary>Receives <paramref name="request"/> through <paramref name="source"/> (the endpoint of <paramref name="plugin"/>).</summary>
        public async Task<Transfer> ReceiveAsync(OperationContext context, ReceiveRequest request, IProtocolPlugin plugin, ITransferEndpoint source)
        {
            var location = new Uri(request.Source ?? throw new PluginException(ErrorCode.InvalidArgument, "The conformance transfers need ReceiveRequest.Source."));
            var name = Uri.UnescapeDataString(location.Segments[location.Segments.Length - 1]);
            var final = Path.Combine(request.OutputDir, name);
            var transfer = Start(TransferDirection.Receive, plugin, location.AbsoluteUri, final, name);
            return await RunAsync(transfer, async () =>
            {
                var temporary = final + ".ttpart";
                using (var input = await source.OpenReadAsync(context, location, 0, null, request.Options).ConfigureAwait(false))
                using (var output = File.Create(temporary))
                {
                    await input.CopyToAsync(output, 81920, context.CancellationToken).ConfigureAwait(false);
                    transfer.BytesTransferred = output.Length;
                    transfer.TotalBytes = output.Length;
                }

                if (File.Exists(final) && request.Options.Conflict != ConflictPolicy.Overwrite)
                {
                    File.Delete(temporary);
                    throw new PluginException(ErrorCode.Conflict, $"'{final}' exists.", errorId: "DestinationExists", target: final);
                }

                File.Copy(temporary, final, overwrite: true);
                File.Delete(temporary);
            }).ConfigureAwait(false);
        }

        /// <summary>A transfer by id. <see cref="ErrorCode.NotFound"/> for an unknown id.</summary>
        public Task<Transfer> GetAsync(OperationContext context, string id) =>
            _transfers.TryGetValue(id ?? "", out var t)
                ? Task.FromResult(t.Clone())
                : throw new PluginException(ErrorCode.NotFound, $"No transfer has the id '{id}'.", errorId: "TransferNotFound", target: id);

        /// <summary>Marks a transfer that is not final as cancelled.</summary>
        public async Task CancelAsync(OperationContext context, string id)
        {
            var t = await GetAsync(context, id).ConfigureAwait(false);
            if (!t.Status.IsFinal())
            {
                _transfers[id].Status = TransferStatus.Cancelled;
            }
        }

        /// <summary>Refused: these transfers cannot be resumed.</summary>
        public Task ResumeAsync(OperationContext context, string id) =>
            throw new PluginException(ErrorCode.NotSupported, "The conformance transfers cannot be resumed.");

        private Transfer Start(TransferDirection direction, IProtocolPlugin plugin, string source, string destination, string name)
        {
            var transfer = new Transfer
            {
                Id = Guid.NewGuid().ToString("n"),
                Status = TransferStatus.Active,
                Direction = direction,
                Protocol = plugin.Metadata.Name,
                Source = source,
                Destination = destination,
                Name = name,
                StartedAt = DateTimeOffset.UtcNow,
            };
            _transfers[transfer.Id] = transfer;
            return transfer;
        }

        private static async Task<Transfer> RunAsync(Transfer transfer, Func<Task> work)
        {
            try
            {
                await work().ConfigureAwait(false);
                transfer.Status = TransferStatus.Completed;
                transfer.Progress = 100;
            }
            catch (Exception e)
            {
                transfer.Status = e is OperationCanceledException ? TransferStatus.Cancelled : TransferStatus.Failed;
                transfer.Error = e.Message;
                throw;
            }
            finally
            {
                transfer.CompletedAt = DateTimeOffset.UtcNow;
            }

            return transfer.Clone();
        }
    }
}
