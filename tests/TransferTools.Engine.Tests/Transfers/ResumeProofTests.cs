using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.FileSystem;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// Issue 27's engine defects: a Completed transfer must be proof that the destination holds the source's bytes. These
    /// fail today; each is skipped with the defect it waits for, ready for the engine change.
    /// </summary>
    public sealed class ResumeProofTests : LocalTransferTestBase
    {

        public ResumeProofTests()
        {
            Session.Transfers.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        }

        /// <summary>Starts a throttled send and suspends it once <paramref name="chunks"/> chunks are committed.</summary>
        private async Task<Transfer> SendAndSuspendAsync(string file, string destination, int chunks)
        {
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest
            {
                File = file, Destination = destination, Options = new TransferOptions { ChunkSize = 16384, MaxBytesPerSecond = 128 * 1024 },
            });
            while (Session.Transfers.Journal.CountChunks(started.Id) < chunks)
            {
                await Task.Delay(20);
            }

            return await Session.Transfers.SuspendAsync(Context, started.Id);
        }

        private async Task<Transfer> ResumeAsync(string id, long maxBytesPerSecond = 0)
        {
            var resumed = await Session.Transfers.StartResumeAsync(Context, id, new ResumeOverrides { MaxBytesPerSecond = maxBytesPerSecond });
            return (await Session.Transfers.WaitAsync(Context, resumed.Id)).Transfer;
        }

        /// <summary>Either the transfer is not Completed, or the destination and the reported SHA-256 are the source's.</summary>
        private static void AssertNeverSpliced(Transfer done, string source, string delivered)
        {
            if (done.Status != TransferStatus.Completed)
            {
                return;
            }

            Assert.Equal(Sha(source), Sha(delivered));
            Assert.Equal(Sha(source), done.Sha256);
        }

        [Fact]
        public async Task A_source_rewritten_in_place_with_its_old_mtime_restored_is_not_spliced_on_resume()
        {
            var file = NewFile("inplace.bin", 256 * 1024, seed: 1);
            var dest = NewFolder("inplace");
            var suspended = await SendAndSuspendAsync(file, dest, chunks: 4);
            var mtime = File.GetLastWriteTimeUtc(file);

            // What cp -p, rsync -t, tar -x and backup restores do: new bytes, same size, the old time.
            var replacement = new byte[256 * 1024];
            new Random(2).NextBytes(replacement);
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
            {
                stream.Write(replacement, 0, replacement.Length);
            }

            File.SetLastWriteTimeUtc(file, mtime);
            var done = await ResumeAsync(suspended.Id);
            AssertNeverSpliced(done, file, Path.Combine(dest, "inplace.bin"));
        }

        [Fact]
        public async Task A_source_replaced_by_rename_with_its_old_mtime_restored_is_not_spliced_on_resume()
        {
            var file = NewFile("renamed.bin", 256 * 1024, seed: 3);
            var dest = NewFolder("renamed");
            var suspended = await SendAndSuspendAsync(file, dest, chunks: 4);
            var mtime = File.GetLastWriteTimeUtc(file);

            var other = NewFile("renamed.new", 256 * 1024, seed: 4);
            File.SetLastWriteTimeUtc(other, mtime);
            File.Move(other, file, overwrite: true);
            var done = await ResumeAsync(suspended.Id);
            AssertNeverSpliced(done, file, Path.Combine(dest, "renamed.bin"));
        }

        [Fact]
        public async Task A_record_without_the_source_identity_resumes_and_re_sends_from_the_first_chunk_the_source_no_longer_holds()
        {
            var file = NewFile("old.bin", 256 * 1024, seed: 7);
            var dest = NewFolder("old");
            var suspended = await SendAndSuspendAsync(file, dest, chunks: 4);
            var mtime = File.GetLastWriteTimeUtc(file);

            // A record written before the identity was kept (or a system that cannot tell it): only the re-hash of the
            // kept chunks from the source can see that chunk 2 was rewritten with the old time restored.
            var recordPath = Session.Transfers.Journal.RecordPath(suspended.Id);
            var json = File.ReadAllText(recordPath);
            Assert.Contains("\"SourceIdentity\"", json, StringComparison.Ordinal);
            File.WriteAllText(recordPath, System.Text.RegularExpressions.Regex.Replace(json, "\\s*\"SourceIdentity\"\\s*:\\s*\"[^\"]*\",?", ""));
            var changed = new byte[100];
            new Random(8).NextBytes(changed);
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
            {
                stream.Position = 2 * 16384 + 5;
                stream.Write(changed, 0, changed.Length);
            }

            File.SetLastWriteTimeUtc(file, mtime);
            var done = await ResumeAsync(suspended.Id);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(2 * 16384, done.ResumedFrom);
            AssertNeverSpliced(done, file, Path.Combine(dest, "old.bin"));
        }

        [Fact]
        public async Task A_resume_that_restarts_from_zero_reports_ResumedFrom_zero()
        {
            var file = NewFile("restart.bin", 256 * 1024, seed: 5);
            var dest = NewFolder("restart");
            var suspended = await SendAndSuspendAsync(file, dest, chunks: 3);

            // A first resume keeps the verified chunks (ResumedFrom > 0) and is suspended again.
            var again = await Session.Transfers.StartResumeAsync(Context, suspended.Id, new ResumeOverrides { MaxBytesPerSecond = 128 * 1024 });
            while (Session.Transfers.Journal.CountChunks(again.Id) < 6)
            {
                await Task.Delay(20);
            }

            var second = await Session.Transfers.SuspendAsync(Context, again.Id);
            Assert.True(second.ResumedFrom > 0, $"ResumedFrom {second.ResumedFrom}");

            // The partial is gone (a server that truncated it, a cleaned folder): the next attempt sends everything.
            foreach (var partial in Directory.GetFiles(dest, "*.ttpart"))
            {
                File.Delete(partial);
            }

            var done = await ResumeAsync(suspended.Id);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(0, done.ResumedFrom);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "restart.bin")));
        }

        [Fact]
        public async Task A_remote_commit_that_delivers_nothing_is_a_failure_naming_the_destination()
        {
            var file = NewFile("lost.bin", 100_000, seed: 6);
            var dest = NewFolder("lost");
            var endpoint = new CommitLosesTheFile();
            var started = await Session.Transfers.StartSendThroughAsync(Context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions() },
                "file", endpoint);
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.NotEqual(TransferStatus.Completed, done.Status);
            Assert.Contains("lost.bin", done.Error ?? "", StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dest, "lost.bin")));
        }

        [Fact]
        public async Task A_receive_whose_source_was_rewritten_with_its_old_mtime_restored_starts_again_from_zero()
        {
            await Session.RegisterPluginAsync(Context, "AsRemote", typeof(LocalAsRemote).FullName, typeof(LocalAsRemote).Assembly.Location,
                new Dictionary<string, string>());
            var file = NewFile("pulled.bin", 256 * 1024, seed: 9);
            var output = NewFolder("pulled");
            var started = await Session.Transfers.StartReceiveAsync(Context, new ReceiveRequest
            {
                Source = "asremote://" + TransferLocation.FromLocalPath(file).AbsolutePath, OutputDir = output,
                Options = new TransferOptions { ChunkSize = 16384, MaxBytesPerSecond = 128 * 1024 },
            });
            while (Session.Transfers.Journal.CountChunks(started.Id) < 4)
            {
                await Task.Delay(20);
            }

            var suspended = await Session.Transfers.SuspendAsync(Context, started.Id);
            var mtime = File.GetLastWriteTimeUtc(file);
            var replacement = new byte[256 * 1024];
            new Random(10).NextBytes(replacement);
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Write))
            {
                stream.Write(replacement, 0, replacement.Length);
            }

            // A server that can tell nothing but size and time (this one), or keeps announcing the old ones.
            File.SetLastWriteTimeUtc(file, mtime);
            var done = await ResumeAsync(suspended.Id);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(0, done.ResumedFrom);
            AssertNeverSpliced(done, file, Path.Combine(output, "pulled.bin"));
        }

        /// <summary>The local file system seen as a remote server (<c>asremote:///path</c>) that tells size and time only.</summary>
        public sealed class LocalAsRemote : StreamingProtocolPlugin
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "AsRemote", Type = PluginType.Protocol, Version = "1.0.0" };
            public override IReadOnlyCollection<string> Schemes => new[] { "asremote" };
            private static Uri Local(Uri l) => new Uri("file://" + l.AbsolutePath);
            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, Local(l), o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, Local(l), off, v, o);
            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, Local(l), off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, Local(l), o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, Local(l), o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, Local(t), Local(f), ow, o);
        }

        /// <summary>A remote-looking destination whose commit answers success but drops the file, as a server that
        /// commits on close and fails there silently would.</summary>
        private sealed class CommitLosesTheFile : StreamingProtocolPlugin
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "CommitLosesTheFile", Type = PluginType.Protocol };
            public override IReadOnlyCollection<string> Schemes => new[] { "file" };
            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, l, o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, l, off, v, o);
            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, l, off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, l, o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, l, o);

            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) =>
                t.AbsolutePath.EndsWith(".ttpart", StringComparison.Ordinal) ? _inner.DeleteAsync(c, t, o) : _inner.CommitAsync(c, t, f, ow, o);
        }
    }
}
