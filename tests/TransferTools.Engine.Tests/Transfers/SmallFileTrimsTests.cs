using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>What the per-file savings of batched small transfers must not lose.</summary>
    public sealed class SmallFileTrimsTests : IDisposable
    {
        private readonly TestHome _home = new TestHome();
        private readonly TransferSession _session;
        private readonly string _work;

        public SmallFileTrimsTests()
        {
            _session = _home.NewSession();
            _work = Directory.CreateDirectory(Path.Combine(_home.Path, "work")).FullName;
        }

        public void Dispose()
        {
            _session.Dispose();
            _home.Dispose();
        }

        private string NewFile(string name, int size)
        {
            var path = Path.Combine(_work, name);
            File.WriteAllBytes(path, new byte[size]);
            return path;
        }

        private OperationContext Context => _session.CreateContext(CancellationToken.None);

        [Fact]
        public async Task A_control_request_written_while_a_batch_member_ran_unseen_is_removed_by_the_next_poll()
        {
            var manager = _session.Transfers;
            manager.ControlPollInterval = Timeout.InfiniteTimeSpan;
            manager.DeferControlCleanup = true;
            // An old journal time stamp, read by a poll before the member starts.
            Directory.SetLastWriteTimeUtc(manager.JournalDirectory, DateTime.UtcNow.AddMinutes(-5));
            manager.PollControl();

            var gate = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var endpoint = new GatedEndpoint(gate.Task);
            var batch = (TransferBatch)manager.BeginBatch();
            var id = batch.NewMemberId();
            var context = Context.WithValue(TransferManager.BatchContextKey, batch).WithTransfer(id);
            var file = NewFile("small.bin", 5000);
            var dest = Directory.CreateDirectory(Path.Combine(_work, "out")).FullName + Path.DirectorySeparatorChar;
            var started = await manager.SendAsync(context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions() }, endpoint, endpoint);
            Assert.Equal(id, started.Id);
            await endpoint.Writing.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // Another process asks the member to stop; no poll sees it before the member finishes.
            manager.Journal.RequestControl(id, "suspend");
            gate.SetResult(true);
            var done = (await manager.WaitAsync(Context, id)).Transfer;
            batch.Dispose();
            Assert.Equal(TransferStatus.Completed, done.Status);

            manager.PollControl();
            Assert.False(File.Exists(manager.Journal.ControlPath(id)), "the control request outlived the transfer");
        }

        [Fact]
        public async Task An_auth_plugin_registered_after_a_batch_governs_the_next_batch()
        {
            var manager = _session.Transfers;
            var file = NewFile("a.bin", 100);
            var dest = Directory.CreateDirectory(Path.Combine(_work, "auth")).FullName + Path.DirectorySeparatorChar;
            using (var first = manager.BeginBatch())
            {
                var context = Context.WithValue(TransferManager.BatchContextKey, first);
                var started = await manager.StartSendAsync(context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions() });
                Assert.Equal(TransferStatus.Completed, (await manager.WaitAsync(context, started.Id)).Transfer.Status);
            }

            await _session.RegisterPluginAsync(Context, "Users", "LocalUsers", null, new Dictionary<string, string>());
            using (var second = manager.BeginBatch())
            {
                var context = Context.WithValue(TransferManager.BatchContextKey, second);
                var refused = await Assert.ThrowsAsync<PluginException>(() =>
                    manager.StartSendAsync(context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { Conflict = ConflictPolicy.Overwrite } }));
                Assert.Equal(ErrorCode.AuthenticationFailed, refused.Code);
            }
        }

        [Fact]
        public async Task A_folder_and_a_missing_source_are_told_apart_from_one_look()
        {
            var manager = _session.Transfers;
            var folder = Directory.CreateDirectory(Path.Combine(_work, "a-folder")).FullName;
            var isFolder = await Assert.ThrowsAsync<PluginException>(() =>
                manager.StartSendAsync(Context, new SendRequest { File = folder, Destination = _work, Options = new TransferOptions() }));
            Assert.Equal("SourceIsFolder", isFolder.ErrorId);
            var missing = await Assert.ThrowsAsync<PluginException>(() =>
                manager.StartSendAsync(Context, new SendRequest { File = Path.Combine(_work, "nothing.bin"), Destination = _work, Options = new TransferOptions() }));
            Assert.Equal("SourceNotFound", missing.ErrorId);

            var local = new FileSystemProtocolPlugin();
            var options = new TransferOptions();
            var asFolder = await local.GetInfoAsync(Context, FileSystemProtocolPlugin.ToUri(folder), options);
            Assert.True(asFolder.Exists && asFolder.IsDirectory);
            Assert.Equal(Directory.GetLastWriteTimeUtc(folder), asFolder.LastModified!.Value.UtcDateTime);
            var nothing = await local.GetInfoAsync(Context, FileSystemProtocolPlugin.ToUri(Path.Combine(_work, "nothing.bin")), options);
            Assert.False(nothing.Exists);
        }

        [Fact]
        public void A_batch_line_from_the_shared_buffer_is_the_line_SerializeLine_makes()
        {
            var record = new TransferRecord
            {
                Id = new string('a', 32),
                Name = "é \"quoted\" <b>.bin",
                Source = "/tmp/x/é.bin",
                SourceUri = "file:///tmp/x/%C3%A9.bin",
                Status = TransferStatus.Active,
                StartedAt = DateTimeOffset.UtcNow,
                TotalBytes = 4096,
            };
            var expected = TransferJournal.SerializeLine(record);
            var shared = TransferJournal.SerializeLineShared(record);
            Assert.Equal(expected, shared.ToArray());
            record.Name = "second";
            var again = TransferJournal.SerializeLineShared(record);
            Assert.Equal(TransferJournal.SerializeLine(record), again.ToArray());
        }

        /// <summary>The file system, with writes held until the test lets them go.</summary>
        private sealed class GatedEndpoint : StreamingProtocolPlugin
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();
            private readonly Task _gate;

            public GatedEndpoint(Task gate) => _gate = gate;

            public TaskCompletionSource<bool> Writing { get; } = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Gated", Type = PluginType.Protocol };
            public override IReadOnlyCollection<string> Schemes => new[] { "file" };

            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, l, o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, l, off, v, o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, t, f, ow, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, l, o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, l, o);

            public override async Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o)
            {
                Writing.TrySetResult(true);
                await _gate;
                return await _inner.OpenWriteAsync(c, l, off, o);
            }
        }
    }
}
