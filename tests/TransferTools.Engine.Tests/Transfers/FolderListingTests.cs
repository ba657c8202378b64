using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using Xunit;
using TransferTools.Engine.BuiltIn.FileSystem;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// The listing Receive-Transfer -Recurse walks a tree with (<see cref="TransferManager.ListFolderAsync"/>), on local
    /// folders. The SFTP side is in the conformance suite and tests/Sftp.Tests.ps1; a protocol that cannot list folders
    /// (WebDAV over http) in tests/Http.Tests.ps1.
    /// </summary>
    public sealed class FolderListingTests : LocalTransferTestBase
    {
        [Fact]
        public async Task A_folder_lists_its_files_and_subfolders()
        {
            var tree = NewFolder("tree");
            NewFile(Path.Combine("tree", "a.bin"), 1000);
            NewFile(Path.Combine("tree", "name with # and %.txt"), 10);
            Directory.CreateDirectory(Path.Combine(tree, "sub"));

            var entries = await Session.Transfers.ListFolderAsync(Context, tree, new TransferOptions());

            Assert.NotNull(entries);
            Assert.Equal(new[] { "a.bin", "name with # and %.txt", "sub" }, entries!.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(1000, entries.Single(e => e.Name == "a.bin").Length);
            Assert.True(entries.Single(e => e.Name == "sub").IsDirectory);
            Assert.All(entries, e => Assert.False(e.IsLink));
        }

        [Fact]
        public async Task A_file_is_not_listed_but_received_as_one()
        {
            var file = NewFile("one.bin", 10);
            Assert.Null(await Session.Transfers.ListFolderAsync(Context, file, new TransferOptions()));
        }

        [Fact]
        public async Task Nothing_there_is_SourceNotFound()
        {
            var error = await Assert.ThrowsAsync<PluginException>(() =>
                Session.Transfers.ListFolderAsync(Context, Path.Combine(Work, "absent"), new TransferOptions()));
            Assert.Equal(ErrorCode.NotFound, error.Code);
            Assert.Equal("SourceNotFound", error.ErrorId);
        }

        [Fact]
        public async Task Links_are_listed_as_their_targets_and_broken_ones_left_out()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return; // symbolic links need a privilege there
            }

            var tree = NewFolder("linked");
            var target = NewFile("target.bin", 321);
            var folder = NewFolder("elsewhere");
            File.CreateSymbolicLink(Path.Combine(tree, "to-file"), target);
            Directory.CreateSymbolicLink(Path.Combine(tree, "to-folder"), folder);
            File.CreateSymbolicLink(Path.Combine(tree, "broken"), Path.Combine(Work, "nowhere"));

            var entries = (await Session.Transfers.ListFolderAsync(Context, tree, new TransferOptions()))!.ToDictionary(e => e.Name);

            Assert.Equal(new[] { "to-file", "to-folder" }, entries.Keys.OrderBy(n => n, StringComparer.Ordinal));
            Assert.True(entries["to-file"].IsLink);
            Assert.False(entries["to-file"].IsDirectory);
            Assert.Equal(321, entries["to-file"].Length);
            Assert.True(entries["to-folder"].IsLink);
            Assert.True(entries["to-folder"].IsDirectory);
        }

        [Fact]
        public async Task Named_pipes_and_links_to_them_are_left_out_of_a_listing_and_refused_as_sources_without_waiting()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return; // recognized through statx(2), Linux only
            }

            var tree = NewFolder("piped");
            NewFile(Path.Combine("piped", "real.bin"), 10);
            var pipe = Path.Combine(tree, "pipe");
            MakeFifo(pipe);
            File.CreateSymbolicLink(Path.Combine(tree, "to-pipe"), pipe);

            var entries = await Session.Transfers.ListFolderAsync(Context, tree, new TransferOptions());
            Assert.Equal(new[] { "real.bin" }, entries!.Select(e => e.Name));

            foreach (var source in new[] { pipe, Path.Combine(tree, "to-pipe") })
            {
                var send = Task.Run(async () =>
                {
                    try
                    {
                        var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = source, Destination = NewFolder("out") + "/" });
                        var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
                        return $"{done.Status}: {done.Error}";
                    }
                    catch (PluginException e)
                    {
                        return $"{e.ErrorId}: {e.Message}";
                    }
                });
                try
                {
                    Assert.True(await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(30))) == send, $"The send of '{source}' waited on the pipe.");
                }
                finally
                {
                    if (!send.IsCompleted)
                    {
                        // Let the stuck reader go, so the test run can end.
                        using (new FileStream(pipe, FileMode.Open, FileAccess.Write)) { }
                    }
                }

                Assert.Contains("is a named pipe (FIFO), not a file", await send);
            }
        }

        [Fact]
        public async Task A_linked_file_is_sent_whole_with_its_targets_size_not_the_links()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return; // symbolic links need a privilege there
            }

            // FileInfo gives a link's own length (that of the target's path): reading that many bytes delivered a
            // truncated file that verified, since the hash covered what was read.
            var target = NewFile("big-target.bin", 100_000);
            var link = Path.Combine(NewFolder("links"), "link.bin");
            File.CreateSymbolicLink(link, target);
            var broken = Path.Combine(Work, "links", "broken.bin");
            File.CreateSymbolicLink(broken, Path.Combine(Work, "nowhere.bin"));
            var dest = NewFolder("links-out");

            foreach (var request in new[] { new SendRequest { File = link, Destination = dest + "/" }, new SendRequest { File = link, Destination = FileSystemProtocolPlugin.ToUri(Path.Combine(dest, "by-uri.bin")).AbsoluteUri } })
            {
                var started = await Session.Transfers.StartSendAsync(Context, request);
                var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
                Assert.Equal(TransferStatus.Completed, done.Status);
                Assert.Equal(100_000, done.TotalBytes);
                Assert.Equal(Sha(target), done.Sha256);
            }

            Assert.Equal(Sha(target), Sha(Path.Combine(dest, "link.bin")));
            Assert.Equal(Sha(target), Sha(Path.Combine(dest, "by-uri.bin")));
            var info = await new FileSystemProtocolPlugin().GetInfoAsync(Context, FileSystemProtocolPlugin.ToUri(link), new TransferOptions());
            Assert.Equal(100_000, info.Length);
            Assert.False((await new FileSystemProtocolPlugin().GetInfoAsync(Context, FileSystemProtocolPlugin.ToUri(broken), new TransferOptions())).Exists);
            var missing = await Assert.ThrowsAsync<PluginException>(() => Session.Transfers.StartSendAsync(Context, new SendRequest { File = broken, Destination = dest + "/" }));
            Assert.Equal("SourceNotFound", missing.ErrorId);
        }

        private static void MakeFifo(string path)
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", new[] { path });
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
    }
}
