using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.FileSystem;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// Issue 27: where the source's server announces a digest of the whole file, a received copy is checked against it,
    /// resumed or not, and the Transfer says which check was made (<see cref="Transfer.Verification"/>).
    /// </summary>
    public sealed class ServerDigestTests : LocalTransferTestBase
    {
        public ServerDigestTests()
        {
            Session.Transfers.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        }

        private async Task<Transfer> ReceiveAsync(string file, string output, TransferOptions? options = null)
        {
            await Session.RegisterPluginAsync(Context, "Announcing", typeof(AnnouncingServer).FullName, typeof(AnnouncingServer).Assembly.Location,
                new Dictionary<string, string>());
            var started = await Session.Transfers.StartReceiveAsync(Context, new ReceiveRequest
            {
                Source = "announcing://" + TransferLocation.FromLocalPath(file).AbsolutePath, OutputDir = output, Options = options ?? new TransferOptions(),
            });
            return started;
        }

        private static void Announce(string file, string algorithm, string hex) => File.WriteAllText(file + ".announce", algorithm + " " + hex);

        private static string Md5(string path) => Convert.ToHexString(MD5.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

        [Fact]
        public async Task A_download_whose_server_announces_its_SHA_256_is_verified_against_it()
        {
            var file = NewFile("sha.bin", 100 * 1024, seed: 1);
            Announce(file, "sha256", Sha(file));
            var started = await ReceiveAsync(file, NewFolder("out-sha"));
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.ServerDigest, done.Verification);
        }

        [Fact]
        public async Task A_download_resumed_from_a_server_announcing_only_an_MD5_is_verified_kept_bytes_included()
        {
            var file = NewFile("md5.bin", 256 * 1024, seed: 2);
            Announce(file, "md5", Md5(file));
            var output = NewFolder("out-md5");
            var started = await ReceiveAsync(file, output, new TransferOptions { ChunkSize = 16384, MaxBytesPerSecond = 128 * 1024 });
            while (Session.Transfers.Journal.CountChunks(started.Id) < 4)
            {
                await Task.Delay(20);
            }

            await Session.Transfers.SuspendAsync(Context, started.Id);
            var resumed = await Session.Transfers.StartResumeAsync(Context, started.Id, new ResumeOverrides { MaxBytesPerSecond = 0 });
            var done = (await Session.Transfers.WaitAsync(Context, resumed.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.True(done.ResumedFrom > 0);
            Assert.Equal(TransferVerification.ServerDigest, done.Verification);
            Assert.Equal(Sha(file), Sha(Path.Combine(output, "md5.bin")));
        }

        [Theory]
        [InlineData("sha256")]
        [InlineData("md5")]
        public async Task A_download_that_does_not_match_the_announced_digest_is_never_Completed_and_delivers_nothing(string algorithm)
        {
            var file = NewFile("stale-" + algorithm + ".bin", 64 * 1024, seed: 3);
            // What a server with a stale cache does: it vouches for content it no longer serves.
            Announce(file, algorithm, algorithm == "md5" ? new string('0', 32) : new string('0', 64));
            var output = NewFolder("out-stale-" + algorithm);
            var started = await ReceiveAsync(file, output);
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.NotEqual(TransferStatus.Completed, done.Status);
            Assert.Equal(ErrorCode.ChecksumMismatch, done.ErrorCode);
            Assert.Contains("server", done.Error ?? "", StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(output));
        }

        [Fact]
        public async Task Without_a_digest_the_check_is_the_size_and_a_local_copy_says_so_too()
        {
            var file = NewFile("plain.bin", 32 * 1024, seed: 4);
            var started = await ReceiveAsync(file, NewFolder("out-plain"));
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.SizeOnly, done.Verification);

            var sent = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = NewFolder("sent") });
            var copied = (await Session.Transfers.WaitAsync(Context, sent.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, copied.Status);
            Assert.Equal(TransferVerification.SizeOnly, copied.Verification);
        }

        [Fact]
        public async Task A_receive_by_transfer_id_is_checked_against_the_manifest()
        {
            var file = NewFile("manifested.bin", 48 * 1024, seed: 5);
            var shared = NewFolder("shared");
            var sent = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = shared });
            Assert.Equal(TransferStatus.Completed, (await Session.Transfers.WaitAsync(Context, sent.Id)).Transfer.Status);
            var started = await Session.Transfers.StartReceiveAsync(Context,
                new ReceiveRequest { TransferId = sent.Id, Source = shared, OutputDir = NewFolder("by-id"), Options = new TransferOptions() });
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.ManifestSha256, done.Verification);
        }

        private async Task<Transfer> SendToHashingServerAsync(string file, string folder)
        {
            await Session.RegisterPluginAsync(Context, "Hashing", typeof(HashingServer).FullName, typeof(HashingServer).Assembly.Location,
                new Dictionary<string, string>());
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest
            {
                File = file, Destination = "hashing://" + TransferLocation.FromLocalPath(folder).AbsolutePath + "/", Options = new TransferOptions(),
            });
            return (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
        }

        [Fact]
        public async Task An_upload_the_destination_server_hashes_is_checked_against_it_before_delivery()
        {
            var file = NewFile("up.bin", 96 * 1024, seed: 6);
            var folder = NewFolder("up-hashed");
            var done = await SendToHashingServerAsync(file, folder);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.DestinationDigest, done.Verification);
            Assert.Equal(Sha(file), Sha(Path.Combine(folder, "up.bin")));
            Assert.Equal(1, HashingServer.Asked(folder));
        }

        [Fact]
        public async Task An_upload_whose_server_holds_other_bytes_is_never_Completed_and_nothing_is_delivered()
        {
            var file = NewFile("bad.bin", 96 * 1024, seed: 7);
            var folder = NewFolder("up-corrupt");
            // What a corrupting gateway or an unreported short write looks like from here: the server hashes other bytes.
            File.WriteAllText(Path.Combine(folder, ".corrupt"), "");
            var done = await SendToHashingServerAsync(file, folder);
            Assert.NotEqual(TransferStatus.Completed, done.Status);
            Assert.Equal(ErrorCode.ChecksumMismatch, done.ErrorCode);
            Assert.Contains("Nothing was delivered", done.Error ?? "", StringComparison.Ordinal);
            Assert.Equal(new[] { ".corrupt" }, Array.ConvertAll(Directory.GetFiles(folder), Path.GetFileName));
        }

        [Fact]
        public async Task An_upload_to_a_server_that_cannot_hash_falls_back_to_the_size()
        {
            var file = NewFile("nohash.bin", 40 * 1024, seed: 8);
            var folder = NewFolder("up-nohash");
            File.WriteAllText(Path.Combine(folder, ".nohash"), "");
            var done = await SendToHashingServerAsync(file, folder);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(TransferVerification.SizeOnly, done.Verification);
            Assert.Equal(Sha(file), Sha(Path.Combine(folder, "nohash.bin")));
        }

        [Theory]
        [InlineData("sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:", true, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", null)]
        [InlineData("SHA-256=ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=, MD5=kAFQmDzST7DWlj99KOF/cg==", false, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "900150983cd24fb0d6963f7d28e17f72")]
        [InlineData("sha-512=:AAAA:, sha-256=:bm90IGJhc2U2NA:", true, null, null)]
        public void Digest_headers_are_read_in_both_syntaxes(string header, bool structured, string? sha256, string? md5)
        {
            string? gotSha = null, gotMd5 = null;
            foreach (var (algorithm, value) in TransferTools.Engine.BuiltIn.Http.HttpDigests.Parse(header, structured))
            {
                if (algorithm == "sha-256" && value.Length == 32)
                {
                    gotSha = Hex.ToLowerString(value);
                }
                else if (algorithm == "md5" && value.Length == 16)
                {
                    gotMd5 = Hex.ToLowerString(value);
                }
            }

            Assert.Equal(sha256, gotSha);
            Assert.Equal(md5, gotMd5);
        }

        /// <summary>
        /// The local file system seen as a remote server (<c>announcing:///path</c>) that announces the digest written in
        /// <c>path.announce</c> (<c>sha256 HEX</c> or <c>md5 HEX</c>), as an HTTP server's Repr-Digest or an S3 ETag would.
        /// </summary>
        public sealed class AnnouncingServer : StreamingProtocolPlugin
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Announcing", Type = PluginType.Protocol, Version = "1.0.0" };
            public override IReadOnlyCollection<string> Schemes => new[] { "announcing" };
            private static Uri Local(Uri l) => new Uri("file://" + l.AbsolutePath);

            public override async Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o)
            {
                var info = await _inner.GetInfoAsync(c, Local(l), o);
                var announce = Local(l).LocalPath + ".announce";
                if (info.Exists && File.Exists(announce))
                {
                    var parts = File.ReadAllText(announce).Split(' ');
                    if (parts[0] == "sha256")
                    {
                        info.Sha256 = parts[1];
                    }
                    else
                    {
                        info.Md5 = parts[1];
                    }
                }

                return info;
            }

            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, Local(l), off, v, o);
            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, Local(l), off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, Local(l), o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, Local(l), o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, Local(t), Local(f), ow, o);
        }

        /// <summary>
        /// The local file system seen as a remote server (<c>hashing:///path</c>) that hashes a file it holds when asked
        /// (<see cref="IServerDigest"/>, as sha256sum over SSH exec); a <c>.corrupt</c> file in the folder makes it hash
        /// other bytes, a <c>.nohash</c> one makes it offer no digest.
        /// </summary>
        public sealed class HashingServer : StreamingProtocolPlugin, IServerDigest
        {
            private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> AskedIn = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Hashing", Type = PluginType.Protocol, Version = "1.0.0" };
            public override IReadOnlyCollection<string> Schemes => new[] { "hashing" };
            private static Uri Local(Uri l) => new Uri("file://" + l.AbsolutePath);

            /// <summary>How many times a file in <paramref name="folder"/> was hashed.</summary>
            public static int Asked(string folder) => AskedIn.TryGetValue(Path.GetFullPath(folder).TrimEnd('/'), out var n) ? n : 0;

            public Task<string?> ComputeSha256Async(OperationContext context, Uri location, long length, TransferOptions options)
            {
                var path = Local(location).LocalPath;
                var folder = Path.GetDirectoryName(path)!;
                AskedIn.AddOrUpdate(folder, 1, (_, n) => n + 1);
                if (File.Exists(Path.Combine(folder, ".nohash")))
                {
                    return Task.FromResult<string?>(null);
                }

                var bytes = File.ReadAllBytes(path);
                if (File.Exists(Path.Combine(folder, ".corrupt")) && bytes.Length > 0)
                {
                    bytes[bytes.Length / 2] ^= 0xFF;
                }

                return Task.FromResult<string?>(Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant());
            }

            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, Local(l), o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, Local(l), off, v, o);
            public override Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o) => _inner.OpenWriteAsync(c, Local(l), off, o);
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o) => _inner.DeleteAsync(c, Local(l), o);
            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, Local(l), o);
            public override Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o) => _inner.CommitAsync(c, Local(t), Local(f), ow, o);
        }
    }
}
