using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;

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
    }
}
