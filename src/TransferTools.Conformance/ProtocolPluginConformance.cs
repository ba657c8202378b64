using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;
using static TransferTools.Conformance.ConformanceAssert;

namespace TransferTools.Conformance
{
    /// <summary>
    /// The protocol suite, for plugins that implement <see cref="ITransferEndpoint"/> (every
    /// <see cref="StreamingProtocolPlugin"/>): round-trip through write, commit and read; reads and writes at an
    /// offset (resume); conflicts; not found; version checks; cancellation; concurrency; and a send and receive
    /// through the endpoint as the engine drives it (<see cref="SimpleTransfers"/>). Derive and implement <see cref="PluginConformance{T}.CreatePlugin"/> and <see cref="CreateLocation"/>.
    /// </summary>
    public abstract class ProtocolPluginConformance : PluginConformance<IProtocolPlugin>
    {
        /// <inheritdoc/>
        protected override PluginType ExpectedKind => PluginType.Protocol;

        /// <summary>An absolute location named <paramref name="name"/> in a folder that belongs to this test and
        /// exists (e.g. under <see cref="PluginConformance{T}.WorkDirectory"/> for a file protocol).</summary>
        protected abstract Uri CreateLocation(string name);

        /// <summary>The transfer options passed to every call (credentials, host keys, ...).</summary>
        protected virtual TransferOptions CreateOptions() => new TransferOptions();

        /// <summary>True when a folder made by CreateDirectory exists while empty. False for stores whose folders are
        /// only name prefixes (they exist once something is in them): then the folder is checked after a file is
        /// written into it.</summary>
        protected virtual bool KeepsEmptyDirectories => true;

        private readonly SimpleTransfers _transfers = new SimpleTransfers();

        /// <summary>
        /// The temporary name a file is written under before it is committed to <paramref name="final"/>: by default
        /// <c>final.part</c>. A plugin that treats the engine's own temporary names specially (the Http plugin's plain-PUT
        /// fallback maps <c>.NAME.ID.ttpart</c> to <c>NAME</c> on a server without MOVE) is tested with those.
        /// </summary>
        protected virtual Uri TemporaryFor(Uri final) => new Uri(final.AbsoluteUri + ".part");

        /// <summary>
        /// True when a commit moves the temporary to the final name (and can refuse an existing one). False for a server
        /// where the temporary stands for the final name itself (plain PUT, no MOVE): the upload replaces the file as
        /// it ends, so the temporary is the final file after the commit and a conflict is refused by the engine before
        /// the upload starts, not by the commit.
        /// </summary>
        protected virtual bool CommitsByMove => true;

        /// <summary>False for a server that refuses DELETE (nginx <c>dav_methods PUT</c>): the delete test is skipped.</summary>
        protected virtual bool DeletesFiles => true;

        /// <summary>False for a server that makes folders only on the way of a PUT (no MKCOL): the folder test writes
        /// into a new folder without CreateDirectory.</summary>
        protected virtual bool CreatesDirectories => true;

        /// <summary>True when the server can write into an existing file at an offset (what a resume does). False for a
        /// server that cannot (rclone serve sftp without its write cache): the plugin must then refuse such a write with
        /// a transient error, so that the engine's retry starts the file again, never leave a hole or a spliced file.</summary>
        protected virtual bool ContinuesWritesAtOffset => true;

        /// <summary>For a server that cannot continue a file (<see cref="ContinuesWritesAtOffset"/> false): a write at an
        /// offset fails, transiently, by the end of its flush.</summary>
        private async Task WriteAtOffsetIsRefusedAsync(Uri temporary, long offset, byte[] content)
        {
            var refused = await Assert.ThrowsAsync<PluginException>(() => WriteTemporaryAsync(temporary, offset, content, (int)offset, content.Length - (int)offset));
            Assert.True(refused.IsTransient, $"A write the server cannot continue must be transient (the engine then restarts the file): {refused.Message}");
        }

        /// <summary>The plugin as an endpoint.</summary>
        protected ITransferEndpoint Endpoint =>
            Plugin as ITransferEndpoint ?? throw new InvalidOperationException(
                $"{Plugin.GetType().Name} does not implement ITransferEndpoint; this suite checks endpoint protocols (StreamingProtocolPlugin).");

        /// <summary>Writes <paramref name="content"/> to a temporary name and commits it to <paramref name="final"/>.</summary>
        protected async Task WriteAsync(Uri final, byte[] content, bool overwrite = false)
        {
            var temporary = TemporaryFor(final);
            await WriteTemporaryAsync(temporary, 0, content, 0, content.Length);
            await WithTimeout(Endpoint.CommitAsync(NewContext(), temporary, final, overwrite, CreateOptions()));
        }

        /// <summary>Writes <paramref name="count"/> bytes of <paramref name="content"/> from <paramref name="start"/> to
        /// <paramref name="temporary"/> at <paramref name="offset"/>, flushed before the stream is closed as the engine
        /// does (an endpoint may treat a stream closed with unflushed writes as an abandoned upload).</summary>
        protected async Task WriteTemporaryAsync(Uri temporary, long offset, byte[] content, int start, int count)
        {
            using (var stream = await WithTimeout(Endpoint.OpenWriteAsync(NewContext(), temporary, offset, CreateOptions())))
            {
                await stream.WriteAsync(content, start, count);
                await stream.FlushAsync();
            }
        }

        /// <summary>Waits until the transfer <paramref name="id"/> is final (the engine runs transfers in the
        /// background) and returns its status.</summary>
        protected async Task<TransferStatus> WaitForTransferAsync(string id)
        {
            var deadline = DateTime.UtcNow + OperationTimeout;
            while (true)
            {
                var status = (await WithTimeout(_transfers.GetAsync(NewContext(), id))).Status;
                if (status.IsFinal() || DateTime.UtcNow > deadline)
                {
                    return status;
                }

                await Task.Delay(50);
            }
        }


        /// <summary>Reads <paramref name="location"/> from <paramref name="offset"/>.</summary>
        protected async Task<byte[]> ReadAsync(Uri location, long offset = 0, string? expectedVersion = null)
        {
            using (var stream = await WithTimeout(Endpoint.OpenReadAsync(NewContext(), location, offset, expectedVersion, CreateOptions())))
            {
                return await ReadAllAsync(stream);
            }
        }

        /// <summary>Schemes are lower case and include the scheme of the test locations.</summary>
        [Fact]
        public void Protocol_schemes_are_declared()
        {
            Assert.NotEmpty(Endpoint.Schemes);
            Assert.All(Endpoint.Schemes, s => Assert.Equal(s.ToLowerInvariant(), s));
            Assert.Contains(CreateLocation("x").Scheme, Endpoint.Schemes);
        }

        /// <summary>Nothing at a location: GetInfo says it does not exist; reading it is NotFound.</summary>
        [Fact]
        public async Task Protocol_missing_location_is_not_found()
        {
            var location = CreateLocation("missing-" + Guid.NewGuid().ToString("n"));
            var info = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), location, CreateOptions()));
            Assert.False(info.Exists);
            await FailsWith(() => Endpoint.OpenReadAsync(NewContext(), location, 0, null, CreateOptions()), ErrorCode.NotFound);
        }

        /// <summary>Write, commit, read back; GetInfo reports the size.</summary>
        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(300001)]
        public async Task Protocol_round_trip(int size)
        {
            var content = Content(size, seed: size);
            var location = CreateLocation($"round-trip-{size}.bin");
            await WriteAsync(location, content);
            var info = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), location, CreateOptions()));
            Assert.True(info.Exists);
            Assert.False(info.IsDirectory);
            Assert.Equal(size, info.Length);
            Assert.Equal(content, await ReadAsync(location));
            var temporary = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), TemporaryFor(location), CreateOptions()));
            Assert.False(temporary.Exists && CommitsByMove, "The temporary name still exists after commit.");
        }

        /// <summary>Reading from an offset returns the tail.</summary>
        [Fact]
        public async Task Protocol_read_from_offset()
        {
            var content = Content(10000);
            var location = CreateLocation("offset.bin");
            await WriteAsync(location, content);
            Assert.Equal(content.Skip(6000).ToArray(), await ReadAsync(location, 6000));
            Assert.Empty(await ReadAsync(location, content.Length));
        }

        /// <summary>Writing at an offset continues a partial file (resume) and drops anything past the offset.</summary>
        [Fact]
        public async Task Protocol_write_at_offset_resumes_and_drops_the_tail()
        {
            var content = Content(20000);
            var final = CreateLocation("resume.bin");
            var temporary = TemporaryFor(final);
            await WriteTemporaryAsync(temporary, 0, content, 0, 12000);

            // A resume after a crash restarts at the last committed chunk (8000), before what was written.
            if (!ContinuesWritesAtOffset)
            {
                await WriteAtOffsetIsRefusedAsync(temporary, 8000, content);
                return;
            }

            await WriteTemporaryAsync(temporary, 8000, content, 8000, content.Length - 8000);

            await WithTimeout(Endpoint.CommitAsync(NewContext(), temporary, final, false, CreateOptions()));
            Assert.Equal(content, await ReadAsync(final));

            await WriteTemporaryAsync(temporary, 0, content, 0, 10);

            await WithTimeout(Endpoint.CommitAsync(NewContext(), temporary, final, true, CreateOptions()));
            Assert.Equal(content.Take(10).ToArray(), await ReadAsync(final));
        }

        /// <summary>
        /// A write stream that implements <see cref="IWriteAcknowledgement"/> keeps its rules: it confirms the offset it
        /// was opened at, never goes back, never confirms more than was written, and confirms everything after a flush.
        /// (The engine commits chunks on its word, so a stream that confirmed too much could lose data on a resume.)
        /// Passes at once for streams without it.
        /// </summary>
        [Fact]
        public async Task Protocol_write_acknowledgement_confirms_only_what_was_written()
        {
            var content = Content(600000, seed: 11);
            var temporary = TemporaryFor(CreateLocation("acknowledged.bin"));
            await WriteTemporaryAsync(temporary, 0, content, 0, 100000);
            const long offset = 50000;
            if (!ContinuesWritesAtOffset)
            {
                await WriteAtOffsetIsRefusedAsync(temporary, offset, content);
                return;
            }

            using (var stream = await WithTimeout(Endpoint.OpenWriteAsync(NewContext(), temporary, offset, CreateOptions())))
            {
                if (!(stream is IWriteAcknowledgement acknowledgement))
                {
                    return;
                }

                Assert.Equal(offset, acknowledgement.AcknowledgedOffset);
                var confirmed = offset;
                for (var at = (int)offset; at < content.Length; at += 30000)
                {
                    var count = Math.Min(30000, content.Length - at);
                    await WithTimeout(stream.WriteAsync(content, at, count));
                    var now = acknowledgement.AcknowledgedOffset;
                    Assert.InRange(now, confirmed, at + count);
                    confirmed = now;
                }

                await WithTimeout(stream.FlushAsync());
                Assert.Equal(content.Length, acknowledgement.AcknowledgedOffset);
            }

            var info = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), temporary, CreateOptions()));
            Assert.Equal(content.Length, info.Length);
            Assert.Equal(content, await ReadAsync(temporary));
        }

        /// <summary>Commit refuses to replace an existing file unless asked (Conflict), and replaces it when asked.</summary>
        [Fact]
        public async Task Protocol_commit_respects_conflicts()
        {
            var location = CreateLocation("conflict.txt");
            await WriteAsync(location, Content(10, 1));
            if (!CommitsByMove)
            {
                // The upload itself replaced the file; asked to, the commit leaves it there.
                await WriteAsync(location, Content(20, 2), overwrite: true);
                Assert.Equal(Content(20, 2), await ReadAsync(location));
                return;
            }

            await FailsWith(() => WriteAsync(location, Content(20, 2)), ErrorCode.Conflict, ErrorCode.AlreadyExists);
            Assert.Equal(Content(10, 1), await ReadAsync(location));
            await WriteAsync(location, Content(20, 2), overwrite: true);
            Assert.Equal(Content(20, 2), await ReadAsync(location));
        }

        /// <summary>Delete removes a file and succeeds when it is already gone.</summary>
        [Fact]
        public async Task Protocol_delete_is_idempotent()
        {
            if (!DeletesFiles)
            {
                return;
            }

            var location = CreateLocation("delete.txt");
            await WriteAsync(location, Content(10));
            await WithTimeout(Endpoint.DeleteAsync(NewContext(), location, CreateOptions()));
            Assert.False((await WithTimeout(Endpoint.GetInfoAsync(NewContext(), location, CreateOptions()))).Exists);
            await WithTimeout(Endpoint.DeleteAsync(NewContext(), location, CreateOptions()));
        }

        /// <summary>CreateDirectory creates parents and succeeds when the folder exists.</summary>
        [Fact]
        public async Task Protocol_create_directory_is_idempotent()
        {
            var folder = CreateLocation("sub/dir");
            if (CreatesDirectories)
            {
                await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), folder, CreateOptions()));
                await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), folder, CreateOptions()));
            }

            if (KeepsEmptyDirectories && CreatesDirectories)
            {
                var info = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), folder, CreateOptions()));
                Assert.True(info.Exists && info.IsDirectory, "The folder does not exist after CreateDirectory.");
            }

            var inside = new Uri(folder.AbsoluteUri.TrimEnd('/') + "/file.txt");
            await WriteAsync(inside, Content(5));
            Assert.Equal(Content(5), await ReadAsync(inside));
            var filled = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), folder, CreateOptions()));
            Assert.True(filled.Exists && filled.IsDirectory, "The folder is not a folder with a file in it.");
        }

        /// <summary>
        /// A plugin that lists folders (<see cref="IFolderListing"/>, used by Receive-Transfer -Recurse) lists files with
        /// their sizes (or -1 where its listing does not give them) and subfolders, by their plain names and without '.'
        /// or '..'; a file is NotAFolder and nothing is NotFound. Passes at once for plugins without it.
        /// </summary>
        [Fact]
        public async Task Protocol_folder_listing_names_files_and_folders()
        {
            if (!(Plugin is IFolderListing lister))
            {
                return;
            }

            var folder = CreateLocation("listed/");
            var file = CreateLocation("listed/with space 1.bin");
            await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), CreateLocation("listed/sub/"), CreateOptions()));
            await WriteAsync(file, Content(1234, seed: 3));
            await WriteAsync(CreateLocation("listed/sub/inner.txt"), Content(7));
            var entries = await WithTimeout(lister.ListFolderAsync(NewContext(), folder, CreateOptions()));
            Assert.Equal(new[] { "sub", "with space 1.bin" }, entries.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray());
            var listedFile = entries.Single(e => e.Name == "with space 1.bin");
            Assert.False(listedFile.IsDirectory);
            // -1 is allowed, as RemoteFolderEntry says: a listing may not give sizes (an HTML page does not).
            Assert.True(listedFile.Length == 1234 || listedFile.Length == -1, $"The file of 1234 bytes is listed with {listedFile.Length}.");
            Assert.True(entries.Single(e => e.Name == "sub").IsDirectory);

            var onFile = await Assert.ThrowsAsync<PluginException>(() => WithTimeout(lister.ListFolderAsync(NewContext(), file, CreateOptions())));
            Assert.Equal("NotAFolder", onFile.ErrorId);
            var missing = await Assert.ThrowsAsync<PluginException>(() =>
                WithTimeout(lister.ListFolderAsync(NewContext(), CreateLocation("absent-" + Guid.NewGuid().ToString("n") + "/"), CreateOptions())));
            Assert.Equal(ErrorCode.NotFound, missing.Code);
        }

        /// <summary>When GetInfo reports a version, reading with another expected version is SourceChanged.</summary>
        [Fact]
        public async Task Protocol_changed_source_is_detected()
        {
            var location = CreateLocation("version.txt");
            await WriteAsync(location, Content(10, 1));
            var info = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), location, CreateOptions()));
            if (info.Version is null)
            {
                return;
            }

            Assert.Equal(Content(10, 1), await ReadAsync(location, 0, info.Version));
            await WriteAsync(location, Content(30, 2), overwrite: true);
            var changed = await WithTimeout(Endpoint.GetInfoAsync(NewContext(), location, CreateOptions()));
            Assert.NotEqual(info.Version, changed.Version);
            await FailsWith(() => ReadAsync(location, 0, info.Version), ErrorCode.SourceChanged);
        }

        /// <summary>Calls with a cancelled token are cancelled.</summary>
        [Fact]
        public async Task Protocol_cancelled_token_cancels()
        {
            var location = CreateLocation("cancel.txt");
            await WriteAsync(location, Content(10));
            await IsCancelled(() => Endpoint.GetInfoAsync(CancelledContext(), location, CreateOptions()));
            await IsCancelled(() => Endpoint.OpenReadAsync(CancelledContext(), location, 0, null, CreateOptions()));
            await IsCancelled(() => Endpoint.OpenWriteAsync(CancelledContext(), CreateLocation("cancel-w.part"), 0, CreateOptions()));
        }

        /// <summary>Parallel writes and reads of distinct files do not interfere.</summary>
        [Fact]
        public async Task Protocol_concurrent_transfers_do_not_interfere()
        {
            var contents = Enumerable.Range(0, 8).Select(i => Content(50000 + i, seed: 200 + i)).ToArray();
            await Task.WhenAll(contents.Select((c, i) => Task.Run(() => WriteAsync(CreateLocation($"par-{i}.bin"), c))));
            await Task.WhenAll(contents.Select((c, i) => Task.Run(async () => Assert.Equal(c, await ReadAsync(CreateLocation($"par-{i}.bin"))))));
        }

        /// <summary>Send and receive through the endpoint, one pass each, and the status of the transfers.</summary>
        [Fact]
        public async Task Protocol_send_and_receive_through_the_plugin()
        {
            var content = Content(12345);
            var local = Path.Combine(WorkDirectory, "outbox", "send me.bin");
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            File.WriteAllBytes(local, content);
            var destination = CreateLocation("sent/");
            if (CreatesDirectories)
            {
                await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), destination, CreateOptions()));
            }
            var sent = await WithTimeout(_transfers.SendAsync(NewContext(), new SendRequest { File = local, Destination = destination.AbsoluteUri, Options = CreateOptions() }, Plugin, Endpoint));
            Assert.False(string.IsNullOrEmpty(sent.Id));
            Assert.Equal(TransferStatus.Completed, await WaitForTransferAsync(sent.Id));

            var inbox = Path.Combine(WorkDirectory, "inbox");
            Directory.CreateDirectory(inbox);
            var remote = new Uri(destination.AbsoluteUri + Uri.EscapeDataString("send me.bin"));
            var received = await WithTimeout(_transfers.ReceiveAsync(NewContext(), new ReceiveRequest { Source = remote.AbsoluteUri, OutputDir = inbox, Options = CreateOptions() }, Plugin, Endpoint));
            Assert.Equal(TransferStatus.Completed, await WaitForTransferAsync(received.Id));
            Assert.Equal(content, File.ReadAllBytes(Path.Combine(inbox, "send me.bin")));
        }

        /// <summary>Status of an unknown transfer id is NotFound (an endpoint plugin holds no transfers of its own).</summary>
        [Fact]
        public async Task Protocol_unknown_transfer_is_not_found()
        {
            await FailsWith(() => Plugin.StatusAsync(NewContext(), Guid.NewGuid().ToString("n")), ErrorCode.NotFound);
        }
    }
}
