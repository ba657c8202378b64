using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Transfers;
using TransferTools.Engine.BuiltIn.FileSystem;

namespace TransferTools.Engine.Tests.Transfers
{
    public sealed class TransferManagerTests : LocalTransferTestBase
    {
        public TransferManagerTests()
        {
            Session.Transfers.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        }

        private async Task<Transfer> SendThroughAsync(FlakyEndpoint endpoint, string file, string destination, TransferOptions options)
        {
            var started = await Session.Transfers.StartSendThroughAsync(Context, new SendRequest { File = file, Destination = destination, Options = options }, "Flaky", endpoint);
            return (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
        }

        [Fact]
        public async Task Sends_and_verifies_through_the_FileSystem_protocol()
        {
            var file = NewFile("a.bin", 1_000_000);
            var dest = NewFolder("out");
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { ChunkSize = 65536 } });
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal("FileSystem", done.Protocol);
            Assert.Equal(Sha(file), done.Sha256);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "a.bin")));
            Assert.False(File.Exists(Session.Transfers.Journal.ChunkPath(done.Id)));
            var listed = await Session.Transfers.ListAsync(Context);
            Assert.Equal(done.Id, listed[0].Id);
        }

        [Fact]
        public async Task Retries_transient_failures_and_keeps_the_committed_chunks()
        {
            var file = NewFile("flaky.bin", 300_000);
            var dest = NewFolder("flaky");
            var endpoint = new FlakyEndpoint { FailWritesAfterBytes = 100_000, Failures = 2 };
            var done = await SendThroughAsync(endpoint, file, dest, new TransferOptions { ChunkSize = 16384, RetryCount = 3 });
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(2, done.Retries);
            Assert.True(done.ResumedFrom >= 16384 * 5, $"ResumedFrom {done.ResumedFrom}");
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "flaky.bin")));
        }

        [Fact]
        public async Task A_send_to_a_remote_endpoint_leaves_its_manifest_beside_the_file_and_no_temporary()
        {
            // Written under a temporary name while the file is verified and delivered, then put in place.
            var file = NewFile("remote.bin", 100_000);
            var dest = NewFolder("remote");
            var done = await SendThroughAsync(new FlakyEndpoint(), file, dest, new TransferOptions { ChunkSize = 16384 });
            Assert.Equal(TransferStatus.Completed, done.Status);
            var manifests = Path.Combine(dest, TransferManifest.FolderName);
            Assert.Equal(new[] { done.Id + ".json" }, Directory.GetFiles(manifests).Select(Path.GetFileName).ToArray());
            var manifest = TransferManifest.Parse(File.ReadAllBytes(Path.Combine(manifests, done.Id + ".json")), "test");
            Assert.Equal(Sha(file), manifest.Sha256);
            Assert.Equal("remote.bin", manifest.Name);
        }

        [Fact]
        public async Task A_delivery_that_fails_leaves_neither_a_manifest_nor_its_temporary()
        {
            var file = NewFile("refused.bin", 100_000);
            var dest = NewFolder("refused");
            var done = await SendThroughAsync(new FlakyEndpoint { RefuseDelivery = true }, file, dest, new TransferOptions { ChunkSize = 16384, RetryCount = 0 });
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal(ErrorCode.Conflict, done.ErrorCode);
            Assert.False(File.Exists(Path.Combine(dest, "refused.bin")));
            var manifests = Path.Combine(dest, TransferManifest.FolderName);
            Assert.Empty(Directory.Exists(manifests) ? Directory.GetFiles(manifests) : Array.Empty<string>());
        }

        [Fact]
        public async Task A_send_cancelled_during_its_delivery_leaves_no_temporary_manifest()
        {
            // Stopped after its manifest was written ahead: the stopped transfer cannot remove it (its requests are
            // cancelled too), so the cancel removes it with the temporary file.
            var file = NewFile("held.bin", 100_000);
            var dest = NewFolder("held");
            var endpoint = new FlakyEndpoint { DeliveryHeld = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously) };
            var started = await Session.Transfers.StartSendThroughAsync(Context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { ChunkSize = 16384 } },
                "Flaky", endpoint);
            await endpoint.DeliveryHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var manifests = Path.Combine(dest, TransferManifest.FolderName);
            var written = Directory.GetFiles(manifests).Select(Path.GetFileName).ToArray();
            Assert.Equal(new[] { "." + started.Id + ".tmp" }, written);

            var stopped = await Session.Transfers.StopAsync(Context, started.Id);
            Assert.Equal(TransferStatus.Cancelled, stopped.Status);
            Assert.Empty(Directory.GetFiles(manifests));
            Assert.Empty(Directory.GetFiles(dest));
        }

        [Fact]
        public async Task Gives_up_after_the_retry_count_with_the_last_error()
        {
            var file = NewFile("down.bin", 50_000);
            var endpoint = new FlakyEndpoint { FailWritesAfterBytes = 0, Failures = int.MaxValue, FailureStep = 0 };
            var done = await SendThroughAsync(endpoint, file, NewFolder("down"), new TransferOptions { ChunkSize = 4096, RetryCount = 2 });
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal(ErrorCode.ConnectionError, done.ErrorCode);
            Assert.Equal(2, done.Retries);
            Assert.Equal(3, endpoint.OpenWrites);
        }

        [Fact]
        public async Task Does_not_retry_a_permanent_failure()
        {
            var file = NewFile("denied.bin", 50_000);
            var endpoint = new FlakyEndpoint { DenyWrites = true };
            var done = await SendThroughAsync(endpoint, file, NewFolder("denied"), new TransferOptions { RetryCount = 5 });
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal(ErrorCode.PermissionDenied, done.ErrorCode);
            Assert.Equal(0, done.Retries);
            Assert.Equal(1, endpoint.OpenWrites);
        }

        [Fact]
        public async Task A_stalled_destination_times_out_as_a_transient_failure()
        {
            var file = NewFile("stall.bin", 50_000);
            var endpoint = new FlakyEndpoint { StallWrites = true };
            var done = await SendThroughAsync(endpoint, file, NewFolder("stall"),
                new TransferOptions { ChunkSize = 4096, RetryCount = 1, StallTimeout = TimeSpan.FromMilliseconds(300) });
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal(ErrorCode.Timeout, done.ErrorCode);
            Assert.Equal(1, done.Retries);
            var failure = Assert.IsType<PluginException>(Session.Transfers.GetFailure(done));
            Assert.Equal("TransferStalled", failure.ErrorId);
        }

        [Fact]
        public async Task A_new_session_resumes_a_suspended_transfer_from_its_verified_chunks()
        {
            var file = NewFile("resume.bin", 256 * 1024);
            var dest = NewFolder("resume");
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest
            {
                File = file, Destination = dest, Options = new TransferOptions { ChunkSize = 16384, MaxBytesPerSecond = 128 * 1024 },
            });
            while (Session.Transfers.Journal.CountChunks(started.Id) < 3)
            {
                await Task.Delay(20);
            }

            var suspended = await Session.Transfers.SuspendAsync(Context, started.Id);
            Assert.Equal(TransferStatus.Suspended, suspended.Status);

            using var other = Home.NewSession();
            var resumed = await other.Transfers.StartResumeAsync(other.CreateContext(CancellationToken.None), started.Id.Substring(0, 8),
                new ResumeOverrides { MaxBytesPerSecond = 0 });
            var done = (await other.Transfers.WaitAsync(other.CreateContext(CancellationToken.None), resumed.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.True(done.ResumedFrom >= 3 * 16384);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "resume.bin")));
        }

        [Fact]
        public async Task A_resume_takes_the_options_it_is_given_and_refuses_a_new_chunk_size()
        {
            var file = NewFile("again.bin", 100_000);
            var dest = NewFolder("again");
            File.WriteAllText(Path.Combine(dest, "again.bin"), "taken");
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { ChunkSize = 16384 } });
            var failed = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(ErrorCode.Conflict, failed.ErrorCode);

            var refused = await Assert.ThrowsAsync<PluginException>(() =>
                Session.Transfers.StartResumeAsync(Context, started.Id, new ResumeOverrides { ChunkSize = 65536, Conflict = ConflictPolicy.Overwrite }));
            Assert.Equal("ChunkSizeFixed", refused.ErrorId);
            Assert.Equal(ConflictPolicy.Fail, Session.Transfers.Journal.TryLoad(started.Id)!.Conflict);

            var overrides = new ResumeOverrides
            {
                ChunkSize = 16384, // the same as the transfer's: accepted
                Conflict = ConflictPolicy.Overwrite,
                RetryCount = 7,
                StallTimeout = TimeSpan.FromSeconds(9),
                Custom = new Dictionary<string, string>
                {
                    ["KnownHostsPath"] = "/keys/known_hosts",
                    ["KeyFile"] = "/keys/id_ed25519",
                    ["HostKeyFingerprint"] = "SHA256:" + new string('A', 43),
                },
            };
            var resumed = await Session.Transfers.StartResumeAsync(Context, started.Id, overrides);
            var done = (await Session.Transfers.WaitAsync(Context, resumed.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "again.bin")));
            var record = Session.Transfers.Journal.TryLoad(started.Id)!;
            Assert.Equal((7, 9.0, "/keys/id_ed25519", overrides.Custom["HostKeyFingerprint"]),
                (record.RetryCount, record.StallTimeoutSeconds, record.Custom["KeyFile"], record.Custom["HostKeyFingerprint"]));
            Assert.Equal("/keys/known_hosts", record.Custom["KnownHostsPath"]);
        }

        [Fact]
        public void Backoff_grows_exponentially_within_jitter_and_is_capped()
        {
            var baseDelay = TimeSpan.FromSeconds(1);
            var max = TimeSpan.FromSeconds(30);
            Assert.Equal(TimeSpan.FromMilliseconds(500), RetryPolicy.ComputeDelay(1, baseDelay, max, 0));
            Assert.Equal(TimeSpan.FromSeconds(1), RetryPolicy.ComputeDelay(1, baseDelay, max, 1));
            Assert.Equal(TimeSpan.FromSeconds(2), RetryPolicy.ComputeDelay(3, baseDelay, max, 0));
            Assert.Equal(TimeSpan.FromSeconds(4), RetryPolicy.ComputeDelay(3, baseDelay, max, 1));
            Assert.Equal(TimeSpan.FromSeconds(30), RetryPolicy.ComputeDelay(20, baseDelay, max, 1));
        }

        [Theory]
        [InlineData("/tmp/a b/c#d%e?.txt")]
        [InlineData("/tmp/plain.txt")]
        public void File_locations_round_trip_through_URIs(string path)
        {
            var uri = FileSystemProtocolPlugin.ToUri(path);
            Assert.Equal("file", uri.Scheme);
            Assert.Equal(path, FileSystemProtocolPlugin.ToLocalPath(uri));
            Assert.Equal(path, TransferLocation.Display(uri));
        }

        [Theory]
        [InlineData("/tmp/plain-dir_1/f00001.bin", "file:///tmp/plain-dir_1/f00001.bin")]
        [InlineData("/tmp/x~y/v1.2/", "file:///tmp/x~y/v1.2/")]
        [InlineData("/tmp/x/.hidden", "file:///tmp/x/.hidden")]
        [InlineData("/tmp/x/../y.bin", "file:///tmp/y.bin")]
        [InlineData("/tmp/a b/c#d%e?.txt", "file:///tmp/a%20b/c%23d%25e%3F.txt")]
        [InlineData("/tmp/caf\u00e9", "file:///tmp/caf%C3%A9")]
        [InlineData("/", "file:///")]
        public void Local_paths_make_the_same_URI_with_or_without_escaping(string path, string expected)
        {
            // The fast path (nothing to escape) and the escaping one must agree: journals and manifests compare these.
            if (Path.DirectorySeparatorChar != '/')
            {
                return;
            }

            var uri = TransferLocation.FromLocalPath(path);
            Assert.Equal(expected, uri.AbsoluteUri);
            Assert.Equal(Path.GetFullPath(path), TransferLocation.ToLocalPath(uri));
        }

        [Fact]
        public void Names_temporaries_and_alternatives_beside_the_destination()
        {
            var final = new Uri("sftp://h/x/report.csv");
            Assert.Equal("sftp://h/x/.report.csv.0123abcd.ttpart", TransferLocation.Temporary(final, "0123abcd" + new string('0', 24)).ToString());
            Assert.Equal("report (2).csv", TransferLocation.FileName(TransferLocation.Renamed(final, 2)));
            Assert.Equal("sftp://h/x/", TransferLocation.Parent(final).ToString());
            Assert.True(TransferLocation.LooksLikeUri("storage://LocalStore/a"));
            Assert.False(TransferLocation.LooksLikeUri("C:\\x"));
            Assert.Equal("https://u@h/f", TransferLocation.Display(new Uri("https://u:secret@h/f")));
            // Readable, and still the same URI when typed back: only what would change its meaning stays escaped.
            var renamed = TransferLocation.Renamed(new Uri("sftp://u@h/~/in/a#b 100%.csv".Replace("#", "%23").Replace("100%", "100%25")), 1);
            var shown = TransferLocation.Display(renamed);
            Assert.Equal("sftp://u@h/~/in/a%23b 100%25 (1).csv", shown);
            Assert.Equal("a#b 100% (1).csv", TransferLocation.FileName(new Uri(shown)));
            Assert.Equal("https://h/x/r (1);v=2.txt?sig=%28x%29", TransferLocation.Display(new Uri("https://h/x/r%20%281%29%3Bv%3D2.txt?sig=%28x%29")));
        }

        /// <summary>The FileSystem endpoint with injected failures.</summary>
        private sealed class FlakyEndpoint : StreamingProtocolPlugin
        {
            private readonly FileSystemProtocolPlugin _inner = new FileSystemProtocolPlugin();

            public long FailWritesAfterBytes { get; set; } = -1;
            public int Failures { get; set; }
            public long FailureStep { get; set; } = 50_000;
            public bool DenyWrites { get; set; }
            public bool StallWrites { get; set; }
            public int OpenWrites;

            public override PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Flaky", Type = PluginType.Protocol };
            public override IReadOnlyCollection<string> Schemes => new[] { "file" };

            public override Task<RemoteFileInfo> GetInfoAsync(OperationContext c, Uri l, TransferOptions o) => _inner.GetInfoAsync(c, l, o);
            public override Task<Stream> OpenReadAsync(OperationContext c, Uri l, long off, string? v, TransferOptions o) => _inner.OpenReadAsync(c, l, off, v, o);
            /// <summary>Refuse to put a transferred file in place (as a name taken meanwhile would); manifests still go through.</summary>
            public bool RefuseDelivery { get; set; }

            /// <summary>Hold the delivery of a transferred file until the transfer is stopped; set once it is being held.</summary>
            public TaskCompletionSource<bool>? DeliveryHeld { get; set; }

            public override async Task CommitAsync(OperationContext c, Uri t, Uri f, bool ow, TransferOptions o)
            {
                var delivery = t.AbsolutePath.EndsWith(".ttpart", StringComparison.Ordinal);
                if (delivery && RefuseDelivery)
                {
                    throw new PluginException(ErrorCode.Conflict, "Taken meanwhile.", errorId: "DestinationExists");
                }

                if (delivery && DeliveryHeld != null)
                {
                    DeliveryHeld.TrySetResult(true);
                    await Task.Delay(Timeout.Infinite, c.CancellationToken);
                }

                await _inner.CommitAsync(c, t, f, ow, o);
            }

            // Like a network plugin's: a stopped transfer's token stops its requests too.
            public override Task DeleteAsync(OperationContext c, Uri l, TransferOptions o)
            {
                c.CancellationToken.ThrowIfCancellationRequested();
                return _inner.DeleteAsync(c, l, o);
            }

            public override Task CreateDirectoryAsync(OperationContext c, Uri l, TransferOptions o) => _inner.CreateDirectoryAsync(c, l, o);

            public override async Task<Stream> OpenWriteAsync(OperationContext c, Uri l, long off, TransferOptions o)
            {
                Interlocked.Increment(ref OpenWrites);
                if (DenyWrites)
                {
                    throw new PluginException(ErrorCode.PermissionDenied, "Denied.", errorId: "DestinationAccessDenied");
                }

                var inner = await _inner.OpenWriteAsync(c, l, off, o);
                return new FaultyStream(this, inner, off);
            }

            private sealed class FaultyStream : ForwardOnlyStream
            {
                private readonly FlakyEndpoint _owner;
                private readonly Stream _inner;
                private long _position;

                public FaultyStream(FlakyEndpoint owner, Stream inner, long position)
                {
                    _owner = owner;
                    _inner = inner;
                    _position = position;
                }

                public override bool CanRead => false;
                public override bool CanWrite => true;
                public override long Position => _position;
                public override void Flush() => _inner.Flush();
                public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

                public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
                {
                    if (_owner.StallWrites)
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken);
                    }

                    if (_owner.FailWritesAfterBytes >= 0 && _position + count > _owner.FailWritesAfterBytes && _owner.Failures > 0)
                    {
                        _owner.Failures--;
                        _owner.FailWritesAfterBytes += _owner.FailureStep;
                        throw new PluginException(ErrorCode.ConnectionError, "Connection reset.", errorId: "ConnectionReset");
                    }

                    await _inner.WriteAsync(buffer, offset, count, cancellationToken);
                    _position += count;
                }

                protected override void Dispose(bool disposing)
                {
                    if (disposing)
                    {
                        _inner.Dispose();
                    }

                    base.Dispose(disposing);
                }
            }
        }

        // What the per-file savings of batched small transfers must not lose.

        [Fact]
        public async Task An_auth_plugin_registered_after_a_batch_governs_the_next_batch()
        {
            var manager = Session.Transfers;
            var file = NewFile("a.bin", 100);
            var dest = Directory.CreateDirectory(Path.Combine(Work, "auth")).FullName + Path.DirectorySeparatorChar;
            using (var first = manager.BeginBatch())
            {
                var context = Context.WithValue(TransferManager.BatchContextKey, first);
                var started = await manager.StartSendAsync(context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions() });
                Assert.Equal(TransferStatus.Completed, (await manager.WaitAsync(context, started.Id)).Transfer.Status);
            }

            await Session.RegisterPluginAsync(Context, "Users", "LocalUsers", null, new Dictionary<string, string>());
            using (var second = manager.BeginBatch())
            {
                var context = Context.WithValue(TransferManager.BatchContextKey, second);
                var refused = await Assert.ThrowsAsync<PluginException>(() =>
                    manager.StartSendAsync(context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { Conflict = ConflictPolicy.Overwrite } }));
                Assert.Equal(ErrorCode.AuthenticationFailed, refused.Code);
            }
        }

        [Fact]
        public async Task A_batch_across_many_folders_keeps_few_manifest_files_open_and_loses_no_line()
        {
            // Send-Transfer -Recurse over a tree: one batch, a manifest per destination folder.
            var manager = Session.Transfers;
            var folders = TransferBatch.MaxOpenManifests * 3;
            var batch = (TransferBatch)manager.BeginBatch();
            using (batch)
            {
                var context = Context.WithValue(TransferManager.BatchContextKey, batch);
                for (var round = 0; round < 2; round++)
                {
                    // The second round meets every folder again, after its manifest file was closed.
                    for (var i = 0; i < folders; i++)
                    {
                        var file = NewFile($"m{round}-{i}.bin", 100 + i);
                        var dest = Path.Combine(Work, "many", $"f{i:00}") + Path.DirectorySeparatorChar;
                        var started = await manager.StartSendAsync(context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions() });
                        Assert.Equal(TransferStatus.Completed, (await manager.WaitAsync(context, started.Id)).Transfer.Status);
                        Assert.InRange(batch.OpenManifests, 1, TransferBatch.MaxOpenManifests);
                    }
                }
            }

            for (var i = 0; i < folders; i++)
            {
                var manifest = Assert.Single(Directory.GetFiles(Path.Combine(Work, "many", $"f{i:00}", TransferManifest.FolderName), "*.batch.json"));
                var names = File.ReadAllLines(manifest).Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("name").GetString()).ToArray();
                Assert.Equal(new[] { $"m0-{i}.bin", $"m1-{i}.bin" }, names);
            }
        }

        [Fact]
        public async Task A_folder_and_a_missing_source_are_told_apart_from_one_look()
        {
            var manager = Session.Transfers;
            var folder = Directory.CreateDirectory(Path.Combine(Work, "a-folder")).FullName;
            var isFolder = await Assert.ThrowsAsync<PluginException>(() =>
                manager.StartSendAsync(Context, new SendRequest { File = folder, Destination = Work, Options = new TransferOptions() }));
            Assert.Equal("SourceIsFolder", isFolder.ErrorId);
            var missing = await Assert.ThrowsAsync<PluginException>(() =>
                manager.StartSendAsync(Context, new SendRequest { File = Path.Combine(Work, "nothing.bin"), Destination = Work, Options = new TransferOptions() }));
            Assert.Equal("SourceNotFound", missing.ErrorId);

            var local = new FileSystemProtocolPlugin();
            var options = new TransferOptions();
            var asFolder = await local.GetInfoAsync(Context, FileSystemProtocolPlugin.ToUri(folder), options);
            Assert.True(asFolder.Exists && asFolder.IsDirectory);
            Assert.Equal(Directory.GetLastWriteTimeUtc(folder), asFolder.LastModified!.Value.UtcDateTime);
            var nothing = await local.GetInfoAsync(Context, FileSystemProtocolPlugin.ToUri(Path.Combine(Work, "nothing.bin")), options);
            Assert.False(nothing.Exists);
        }

        [Fact]
        public void A_batch_line_from_the_shared_buffer_is_the_plain_serialization_of_the_record()
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
            var expected = PlainLine(record);
            var shared = TransferJournal.SerializeLine(record);
            Assert.Equal(expected, shared.ToArray());
            record.Name = "second";
            var again = TransferJournal.SerializeLine(record);
            Assert.Equal(PlainLine(record), again.ToArray());

            static byte[] PlainLine(TransferRecord r) =>
                System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(r, TransferJournal.LineJson).Concat(new[] { (byte)'\n' }).ToArray();
        }
    }
}
