using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.FileSystem;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// Single-piece local transfers delivered through an unnamed file (O_TMPFILE + linkat on Linux) and through the
    /// named temporary file they fall back to: same bytes, same permissions, same conflict outcomes, nothing left over.
    /// </summary>
    public sealed class UnnamedFileDeliveryTests : LocalTransferTestBase
    {
        /// <summary>Where the fast path can run at all (64-bit Linux with /proc); elsewhere both modes take the fallback.</summary>
        private static bool Supported => OperatingSystem.IsLinux() && UnnamedFile.Available;

        private async Task<Transfer> SendAsync(string file, string destination, ConflictPolicy conflict = ConflictPolicy.Fail)
        {
            var started = await Session.Transfers.StartSendAsync(Context,
                new SendRequest { File = file, Destination = destination, Options = new TransferOptions { Conflict = conflict } });
            return (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
        }

        /// <summary>Names in a folder other than the manifest folder: the delivered files and any litter.</summary>
        private static string[] Names(string folder) =>
            Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Where(n => n != ".transfertools").OrderBy(n => n, StringComparer.Ordinal).ToArray()!;

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task Delivers_the_bytes_with_the_permissions_of_a_new_file(bool unnamed)
        {
            Session.Transfers.UseUnnamedFiles = unnamed;
            var file = NewFile("a.bin", 4096);
            var dest = NewFolder("out");
            var done = await SendAsync(file, dest + "/");
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "a.bin")));
            Assert.Equal(Sha(file), done.Sha256);
            Assert.Equal(new[] { "a.bin" }, Names(dest));
            Assert.Equal(unnamed && Supported ? 1 : 0, Session.Transfers.UnnamedDeliveries);
            if (!OperatingSystem.IsWindows())
            {
                // What FileStream gives a file it creates here: 0666 less the umask.
                var reference = Path.Combine(Work, "reference");
                using (new FileStream(reference, FileMode.CreateNew))
                {
                }

                Assert.Equal(File.GetUnixFileMode(reference), File.GetUnixFileMode(Path.Combine(dest, "a.bin")));
            }
        }

        [Fact]
        public async Task An_empty_file_is_delivered_too()
        {
            var file = NewFile("empty.bin", 0);
            var dest = NewFolder("out");
            var done = await SendAsync(file, dest + "/");
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(0, new FileInfo(Path.Combine(dest, "empty.bin")).Length);
            Assert.Equal(Supported ? 1 : 0, Session.Transfers.UnnamedDeliveries);
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task Fail_leaves_the_existing_file_and_nothing_else(bool unnamed)
        {
            Session.Transfers.UseUnnamedFiles = unnamed;
            var file = NewFile("a.bin", 4096);
            var dest = NewFolder("out");
            var existing = Path.Combine(dest, "a.bin");
            File.WriteAllText(existing, "keep me");
            var done = await SendAsync(file, dest + "/");
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal("DestinationExists", ((PluginException)Session.Transfers.GetFailure(done)!).ErrorId);
            Assert.Equal("keep me", File.ReadAllText(existing));
            Assert.Equal(new[] { "a.bin" }, Names(dest));
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task Overwrite_replaces_the_existing_file(bool unnamed)
        {
            Session.Transfers.UseUnnamedFiles = unnamed;
            var file = NewFile("a.bin", 5000);
            var dest = NewFolder("out");
            File.WriteAllText(Path.Combine(dest, "a.bin"), "old");
            var done = await SendAsync(file, dest + "/", ConflictPolicy.Overwrite);
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "a.bin")));
            Assert.Equal(new[] { "a.bin" }, Names(dest));
            Assert.Equal(unnamed && Supported ? 1 : 0, Session.Transfers.UnnamedDeliveries);
        }

        [Fact]
        public async Task Overwrite_of_a_folder_fails_and_leaves_no_temporary()
        {
            var file = NewFile("a.bin", 100);
            var dest = NewFolder("out");
            Directory.CreateDirectory(Path.Combine(dest, "a.bin"));
            var done = await SendAsync(file, dest + "/", ConflictPolicy.Overwrite);
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal("DestinationIsFolder", ((PluginException)Session.Transfers.GetFailure(done)!).ErrorId);
            Assert.Equal(new[] { "a.bin" }, Names(dest));
        }

        [Fact]
        public async Task Skip_and_Rename_behave_as_on_the_named_path()
        {
            var file = NewFile("a.bin", 3000);
            var dest = NewFolder("out");
            File.WriteAllText(Path.Combine(dest, "a.bin"), "old");
            var skipped = await SendAsync(file, dest + "/", ConflictPolicy.Skip);
            Assert.Equal(TransferStatus.Completed, skipped.Status);
            Assert.True(skipped.Skipped);
            Assert.Equal(0, skipped.BytesTransferred);
            Assert.Equal(100, skipped.Progress);
            Assert.Equal("old", File.ReadAllText(Path.Combine(dest, "a.bin")));
            var renamed = await SendAsync(file, dest + "/", ConflictPolicy.Rename);
            Assert.Equal(TransferStatus.Completed, renamed.Status);
            Assert.False(renamed.Skipped);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "a (1).bin")));
            Assert.Equal(new[] { "a (1).bin", "a.bin" }, Names(dest));
            Assert.Equal(Supported ? 1 : 0, Session.Transfers.UnnamedDeliveries);
        }

        [Fact]
        public async Task A_checksum_mismatch_on_receive_delivers_nothing_and_leaves_nothing()
        {
            // Send, then corrupt the sent file in place (same size): receiving it by id must refuse it.
            var file = NewFile("a.bin", 4096);
            var shared = NewFolder("shared");
            var sent = await SendAsync(file, shared + "/");
            Assert.Equal(TransferStatus.Completed, sent.Status);
            var bytes = File.ReadAllBytes(Path.Combine(shared, "a.bin"));
            bytes[10] ^= 0xff;
            File.WriteAllBytes(Path.Combine(shared, "a.bin"), bytes);
            var output = NewFolder("received");
            var started = await Session.Transfers.StartReceiveAsync(Context,
                new ReceiveRequest { TransferId = sent.Id, Source = shared, OutputDir = output, Options = new TransferOptions() });
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Failed, done.Status);
            Assert.Equal(ErrorCode.ChecksumMismatch, done.ErrorCode);
            Assert.Empty(Directory.GetFileSystemEntries(output));
        }

        [Fact]
        public void A_name_taken_before_the_link_fails_it_and_the_unnamed_file_vanishes()
        {
            if (!Supported)
            {
                return;
            }

            var dest = NewFolder("race");
            var final = Path.Combine(dest, "a.bin");
            using (var unnamed = UnnamedFile.TryCreate(dest, final))
            {
                Assert.NotNull(unnamed);
                unnamed!.Write(new byte[] { 1, 2, 3 }, 3);
                Assert.Equal(3, unnamed.Length());
                File.WriteAllText(final, "first");
                Assert.False(unnamed.TryLink(final));
            }

            Assert.Equal("first", File.ReadAllText(final));
            Assert.Equal(new[] { "a.bin" }, Names(dest));
        }

        [Fact]
        public void A_missing_folder_is_reported_as_for_a_named_file()
        {
            if (!Supported)
            {
                return;
            }

            var missing = Path.Combine(Work, "nowhere");
            var error = Assert.Throws<PluginException>(() => UnnamedFile.TryCreate(missing, Path.Combine(missing, "a.bin")));
            Assert.Equal("DestinationFolderNotFound", error.ErrorId);
        }
    }
}
