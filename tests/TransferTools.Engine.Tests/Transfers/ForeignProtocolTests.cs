using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// A third-party protocol plugin that moves bytes itself (an <see cref="IProtocolPlugin"/> without
    /// <see cref="ITransferEndpoint"/>): the engine hands it the request and journals what it reports, so that the
    /// transfer cmdlets find, stop and resume its transfers like any other.
    /// </summary>
    public sealed class ForeignProtocolTests : LocalTransferTestBase
    {
        private async Task<SelfCopyProtocol> RegisterAsync()
        {
            var config = new Dictionary<string, string> { ["Scheme"] = "selfcopy" };
            await Session.RegisterPluginAsync(Context, "SelfCopy", typeof(SelfCopyProtocol).FullName, typeof(SelfCopyProtocol).Assembly.Location, config);
            return (SelfCopyProtocol)await Session.Plugins.GetAsync(Context, "SelfCopy");
        }

        private static string SelfCopyUri(string folder) => "selfcopy://" + TransferLocation.FromLocalPath(folder).AbsolutePath + "/";

        [Fact]
        public async Task A_send_is_handed_to_the_plugin_and_journaled_with_the_status_it_reports()
        {
            var plugin = await RegisterAsync();
            var file = NewFile("own.bin", 5000);
            var dest = NewFolder("own-dest");

            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = SelfCopyUri(dest) });
            Assert.Equal(("SelfCopy", TransferStatus.Active, "own.bin"), (started.Protocol, started.Status, started.Name));
            var record = Session.Transfers.Journal.TryLoad(started.Id)!;
            Assert.False(record.Streaming);
            Assert.StartsWith("own-", record.ForeignId);

            // The plugin finishes on its own; the engine asks it for the status.
            plugin.Finish(record.ForeignId!);
            var done = await Session.Transfers.GetTransferAsync(Context, started.Id);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferStatus.Completed, Session.Transfers.Journal.TryLoad(started.Id)!.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "own.bin")));
        }

        [Fact]
        public async Task Stop_and_resume_reach_the_plugin()
        {
            var plugin = await RegisterAsync();
            var file = NewFile("stopped.bin", 5000);
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = SelfCopyUri(NewFolder("stop-dest")) });
            var foreignId = Session.Transfers.Journal.TryLoad(started.Id)!.ForeignId!;

            var stopped = await Session.Transfers.StopAsync(Context, started.Id);
            Assert.Equal(TransferStatus.Cancelled, stopped.Status);
            Assert.Equal(TransferStatus.Cancelled, plugin.StatusOf(foreignId));

            var resumed = await Session.Transfers.StartResumeAsync(Context, started.Id);
            Assert.Equal(TransferStatus.Completed, resumed.Status);
            Assert.Equal(new[] { "cancel " + foreignId, "resume " + foreignId }, plugin.Calls);
        }

        /// <summary>Copies a local file into a <c>selfcopy:///folder/</c> location by itself, and keeps its transfers' statuses.</summary>
        public sealed class SelfCopyProtocol : IProtocolPlugin
        {
            private readonly ConcurrentDictionary<string, TransferStatus> _statuses = new ConcurrentDictionary<string, TransferStatus>();

            public PluginMetadata Metadata { get; } = new PluginMetadata { Name = "SelfCopy", Type = PluginType.Protocol, Version = "1.0.0" };

            public List<string> Calls { get; } = new List<string>();

            public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) => Task.CompletedTask;

            public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

            public Task<Transfer> SendAsync(OperationContext context, SendRequest request)
            {
                var folder = Uri.UnescapeDataString(new Uri(request.Destination).AbsolutePath);
                File.Copy(request.File, Path.Combine(folder, Path.GetFileName(request.File)));
                var id = "own-" + Guid.NewGuid().ToString("n");
                _statuses[id] = TransferStatus.Active;
                return Task.FromResult(new Transfer { Id = id, Status = TransferStatus.Active, Name = Path.GetFileName(request.File), Direction = TransferDirection.Send });
            }

            public Task<Transfer> ReceiveAsync(OperationContext context, ReceiveRequest request) =>
                throw new PluginException(ErrorCode.NotSupported, "SelfCopy only sends.");

            public Task<TransferStatus> StatusAsync(OperationContext context, string id) =>
                _statuses.TryGetValue(id, out var status) ? Task.FromResult(status) : throw new PluginException(ErrorCode.NotFound, $"No transfer '{id}'.");

            public Task CancelAsync(OperationContext context, string id)
            {
                Calls.Add("cancel " + id);
                _statuses[id] = TransferStatus.Cancelled;
                return Task.CompletedTask;
            }

            public Task ResumeAsync(OperationContext context, string id)
            {
                Calls.Add("resume " + id);
                _statuses[id] = TransferStatus.Completed;
                return Task.CompletedTask;
            }

            public void Finish(string id) => _statuses[id] = TransferStatus.Completed;

            public TransferStatus StatusOf(string id) => _statuses[id];
        }
    }
}
