using System;
using System.IO;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Tests.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Sync
{
    /// <summary>
    /// The engine side of a folder sync besides its plan (<see cref="FolderSync"/>): which time window two sides get.
    /// </summary>
    public sealed class FolderSyncTests : LocalTransferTestBase
    {
        [Theory]
        [InlineData("msdos", 2)]
        [InlineData("vfat", 2)]
        [InlineData("exfat", 2)]
        [InlineData("FAT32", 2)]
        [InlineData("FAT", 2)]
        [InlineData("exFAT", 2)]
        [InlineData("ext4", 1)]
        [InlineData("NTFS", 1)]
        [InlineData("apfs", 1)]
        [InlineData("overlay", 1)]
        [InlineData(null, 1)]
        public void FAT_and_exFAT_keep_even_seconds_so_their_window_is_2_s_every_other_file_system_1_s(string? format, int seconds)
        {
            Assert.Equal(TimeSpan.FromSeconds(seconds), FolderSync.TimePrecisionOfFileSystem(format));
        }

        [Fact]
        public void A_local_folder_gets_the_window_of_its_file_system_found_through_its_nearest_existing_folder()
        {
            // The work folder is on an ordinary file system here (not FAT): 1 s, also for a destination not created yet.
            var format = FolderSync.FileSystemFormatOf(Work);
            Assert.False(string.IsNullOrEmpty(format));
            Assert.Equal(format, FolderSync.FileSystemFormatOf(Path.Combine(Work, "not", "yet")));
            Assert.Equal(FolderSync.TimePrecisionOfFileSystem(format), FolderSync.TimePrecisionOf(Path.Combine(Work, "not", "yet")));
            Assert.Equal(TimeSpan.FromSeconds(1), FolderSync.TimePrecisionOf("sftp://h/x/"));
            Assert.Equal(TimeSpan.FromMinutes(1), FolderSync.TimePrecisionOf("https://h/x/"));
        }
    }
}
