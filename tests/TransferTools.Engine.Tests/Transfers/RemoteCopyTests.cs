using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.FileSystem;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// Copies between two remote locations: within one server that copies itself (<see cref="IServerSideCopy"/>, no byte
    /// read through the engine, verified by the SHA-256 the copy announces), and relayed through the engine otherwise.
    /// </summary>
    public sealed class RemoteCopyTests : LocalTransferTestBase
    {
        public RemoteCopyTests()
        {
            Session.Transfers.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        }

        private async Task RegisterAsync()
        {
            await Session.RegisterPluginAsync(Context, "Copying", typeof(CopyingServer).FullName, typeof(CopyingServer).Assembly.Location, new Dictionary<string, string>());
            await Session.RegisterPluginAsync(Context, "Other", typeof(OtherServer).FullName, typeof(OtherServer).Assembly.Location, new Dictionary<string, string>());
        }

        private async Task<Transfer> CopyAsync(string from, string to, TransferOptions? options = null)
        {
            await RegisterAsync();
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = from, Destination = to, Options = options ?? new TransferOptions() });
            return (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
        }

        private static string Uri(string scheme, string path) => scheme + "://" + TransferLocation.FromLocalPath(path).AbsolutePath;

        [Fact]
        public async Task One_server_copies_within_itself_without_a_byte_through_the_engine()
        {
            var file = NewFile("src.bin", 300 * 1024, seed: 1);
            CopyingServer.Announce(file, Sha(file));
            var output = NewFolder("out-within");
            var reads = CopyingServer.BytesRead;
            var done = await CopyAsync(Uri("copying", file), Uri("copying", output) + "/", new TransferOptions { NoManifest = true });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.ServerSideCopy, done.Verification);
            Assert.Equal(Sha(file), done.Sha256);
            Assert.Equal(reads, CopyingServer.BytesRead);
            Assert.Equal(Sha(file), Sha(Path.Combine(output, "src.bin")));
        }

        [Fact]
        public async Task A_server_copy_that_announces_another_SHA_256_fails()
        {
            var file = NewFile("bad.bin", 50 * 1024, seed: 2);
            CopyingServer.Announce(file, Sha(file));
            CopyingServer.Corrupt = true;
            try
            {
                var done = await CopyAsync(Uri("copying", file), Uri("copying", NewFolder("out-bad")) + "/",
                    new TransferOptions { NoManifest = true, RetryCount = 0 });
                Assert.Equal(TransferStatus.Failed, done.Status);
                Assert.Equal(ErrorCode.ChecksumMismatch, done.ErrorCode);
            }
            finally
            {
                CopyingServer.Corrupt = false;
            }
        }

        [Fact]
        public async Task A_source_without_a_stored_SHA_256_is_relayed_and_hashed_on_the_way()
        {
            var file = NewFile("plain.bin", 200 * 1024, seed: 3);
            var output = NewFolder("out-plain");
            var reads = CopyingServer.BytesRead;
            var done = await CopyAsync(Uri("copying", file), Uri("copying", output) + "/", new TransferOptions { ChunkSize = 64 * 1024, NoManifest = true });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.SizeOnly, done.Verification);
            Assert.Equal(Sha(file), done.Sha256);
            Assert.True(CopyingServer.BytesRead - reads >= 200 * 1024);
            Assert.Equal(Sha(file), Sha(Path.Combine(output, "plain.bin")));
        }

        [Fact]
        public async Task Two_different_endpoints_relay_through_the_engine_and_resume_from_committed_chunks()
        {
            var file = NewFile("relay.bin", 512 * 1024, seed: 4);
            CopyingServer.Announce(file, Sha(file));
            var output = NewFolder("out-relay");
            await RegisterAsync();
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest
            {
                File = Uri("copying", file), Destination = Uri("other", output) + "/",
                Options = new TransferOptions { ChunkSize = 16 * 1024, MaxBytesPerSecond = 128 * 1024, NoManifest = true },
            });
            while (Session.Transfers.Journal.CountChunks(started.Id) < 4)
            {
                await Task.Delay(20);
            }

            await Session.Transfers.SuspendAsync(Context, started.Id);
            var resumed = await Session.Transfers.StartResumeAsync(Context, started.Id, new ResumeOverrides { MaxBytesPerSecond = 0 });
            var done = (await Session.Transfers.WaitAsync(Context, resumed.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.True(done.ResumedFrom >= 4 * 16 * 1024, $"resumed from {done.ResumedFrom}");
            Assert.Equal(TransferVerification.ServerDigest, done.Verification);
            Assert.Equal(Sha(file), Sha(Path.Combine(output, "relay.bin")));
        }

        /// <summary>
        /// The local file system seen as a server (<c>copying:///path</c>) that announces the SHA-256 in <c>path.sha</c>
        /// and copies within itself, carrying that file along; counts the bytes read through it.
        /// </summary>
        public sealed class CopyingServer : StreamingProtocolPlugin, IServerSideCopy
        {
            private static long _read;
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public static long BytesRead => Interlocked.Read(ref _read);
            public static bool Corrupt { get; set; }
            public static void Announce(string file, string sha) => File.WriteAllText(file + ".sha", sha);

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Copying", Type = PluginType.Protocol, Version = "1.0.0" };
            public override IReadOnlyCollection<string> Schemes => new[] { "copying" };
            internal static Uri Local(Uri l) => new Uri("file://" + l.AbsolutePath);

            public override async Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o)
            {
                var info = await _inner.GetInfoAsync(c, Local(l), o);
                var sha = Local(l).LocalPath + ".sha";
                if (info.Exists && File.Exists(sha))
                {
                    info.Sha256 = File.ReadAllText(sha);
                }

                return info;
            }

            public override async Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o)
            {
                var stream = await _inner.OpenReadAsync(c, Local(l), off, v, o);
                Interlocked.Add(ref _read, stream.Length - off);
                return stream;
            }

            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, Local(l), off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, Local(l), o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, Local(l), o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, Local(t), Local(f), ow, o);

            public bool CanCopyWithin(Uri source, Uri destination, TransferOptions options) => source.Scheme == "copying" && destination.Scheme == "copying";

            public async Task<RemoteFileInfo> CopyWithinAsync(OperationContext c, Uri source, string? expectedVersion, Uri destination, bool overwrite, TransferOptions o)
            {
                var from = Local(source).LocalPath;
                var to = Local(destination).LocalPath;
                File.Copy(from, to, overwrite);
                File.WriteAllText(to + ".sha", Corrupt ? new string('0', 64) : File.ReadAllText(from + ".sha"));
                return await GetInfoAsync(c, destination, o);
            }
        }

        /// <summary>The local file system as another server (<c>other:///path</c>), with no copy of its own.</summary>
        public sealed class OtherServer : StreamingProtocolPlugin
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Other", Type = PluginType.Protocol, Version = "1.0.0" };
            public override IReadOnlyCollection<string> Schemes => new[] { "other" };
            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, CopyingServer.Local(l), o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, CopyingServer.Local(l), off, v, o);
            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, CopyingServer.Local(l), off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, CopyingServer.Local(l), o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, CopyingServer.Local(l), o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, CopyingServer.Local(t), CopyingServer.Local(f), ow, o);
        }
    }
}
