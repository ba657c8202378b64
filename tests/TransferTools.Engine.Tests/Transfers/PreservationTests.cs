using System;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    public sealed class PreservationTests : LocalTransferTestBase
    {
        private static readonly DateTime Old = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);

        [Theory]
        [InlineData(1_000, 0)]      // one piece: an unnamed file on Linux
        [InlineData(200_000, 16384)] // chunks through a named .ttpart
        public async Task A_private_file_arrives_private_with_its_time(int size, int chunkSize)
        {
            if (OperatingSystem.IsWindows())
            {
                return;
            }

            var file = NewFile($"key-{size}", size);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetLastWriteTimeUtc(file, Old);
            var dest = NewFolder($"out-{size}");
            var options = chunkSize > 0 ? new TransferOptions { ChunkSize = chunkSize } : new TransferOptions();
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = dest, Options = options });
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;

            Assert.Equal(TransferStatus.Completed, done.Status);
            var delivered = Path.Combine(dest, Path.GetFileName(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(delivered));
            Assert.Equal(Old, File.GetLastWriteTimeUtc(delivered));
        }

        [Fact]
        public async Task NoPreserve_keeps_the_delivery_time()
        {
            var file = NewFile("plain", 1_000);
            File.SetLastWriteTimeUtc(file, Old);
            var dest = NewFolder("out-plain");
            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { NoPreserve = true } });
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;

            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.True(File.GetLastWriteTimeUtc(Path.Combine(dest, "plain")) > DateTime.UtcNow.AddMinutes(-5));
        }
    }
}
