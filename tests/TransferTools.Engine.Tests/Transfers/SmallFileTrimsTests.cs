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
    }
}
