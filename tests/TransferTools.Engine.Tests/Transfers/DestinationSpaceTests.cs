using System;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using Xunit;
using TransferTools.Engine.BuiltIn.FileSystem;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// A local destination without room: the space a transfer still needs is reserved before its first byte (Linux), and a
    /// full disk met by any write is reported as DestinationFull (LimitExceeded), not as an unexplained write failure.
    /// The end-to-end case (a full file system, then Resume-Transfer once there is room) is in tests/Http.Tests.ps1: it
    /// needs a small file system mounted as root.
    /// </summary>
    public sealed class DestinationSpaceTests : LocalTransferTestBase
    {
        [Theory]
        [InlineData(28)]
        [InlineData(unchecked((int)0x80070070))]
        public void A_full_disk_on_write_is_DestinationFull(int hresult)
        {
            var error = FileSystemProtocolPlugin.Map(new IOException("No space left on device", hresult), "/data/out/a.bin", "Write");
            Assert.Equal(ErrorCode.LimitExceeded, error.Code);
            Assert.Equal("DestinationFull", error.ErrorId);
            Assert.Equal("/data/out", error.Target);
            Assert.Contains("no space left in '/data/out'", error.Message);
        }

        [Fact]
        public void Other_write_errors_and_read_errors_keep_their_own_ids()
        {
            Assert.Equal("DestinationWriteFailed", FileSystemProtocolPlugin.Map(new IOException("Input/output error", 5), "/data/a.bin", "Write").ErrorId);
            Assert.Equal("SourceReadFailed", FileSystemProtocolPlugin.Map(new IOException("No space left on device", 28), "/data/a.bin", "Read").ErrorId);
        }

        [Fact]
        public async Task Reserving_space_allocates_the_blocks_and_keeps_the_length()
        {
            if (!OperatingSystem.IsLinux())
            {
                return;
            }

            var path = Path.Combine(NewFolder("reserve"), "partial.tmp");
            var plugin = new FileSystemProtocolPlugin();
            using (var writer = await plugin.OpenWriteAsync(Context, new Uri(path), 0, new TransferOptions()))
            {
                writer.Write(new byte[4096], 0, 4096);
                FileSystemProtocolPlugin.PrepareWrite(writer, 4096, 8 << 20);
                writer.Flush();
            }

            // The length is what a resume reads as "written": it must not grow with the reservation.
            Assert.Equal(4096, new FileInfo(path).Length);
            if (FileSystemSupportsPreallocation(path))
            {
                Assert.True(AllocatedBytes(path) >= 8 << 20, $"{AllocatedBytes(path)} bytes allocated");
            }
        }

        [Fact]
        public async Task Reserving_nothing_or_on_another_stream_does_nothing()
        {
            var path = Path.Combine(NewFolder("none"), "partial.tmp");
            var plugin = new FileSystemProtocolPlugin();
            using (var writer = await plugin.OpenWriteAsync(Context, new Uri(path), 0, new TransferOptions()))
            {
                FileSystemProtocolPlugin.PrepareWrite(writer, 100, 100);
            }

            FileSystemProtocolPlugin.PrepareWrite(new MemoryStream(), 0, 1 << 20);
            Assert.Equal(0, new FileInfo(path).Length);
        }

        [Fact]
        public async Task A_local_transfer_of_several_chunks_delivers_the_same_bytes_with_the_reservation()
        {
            var file = NewFile("big.bin", 3 * 1024 * 1024 + 17);
            var dest = NewFolder("out");
            var started = await Session.Transfers.StartSendAsync(Context,
                new SendRequest { File = file, Destination = dest + "/", Options = new TransferOptions { ChunkSize = 1 << 20 } });
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            var delivered = Path.Combine(dest, "big.bin");
            Assert.Equal(new FileInfo(file).Length, new FileInfo(delivered).Length);
            Assert.Equal(Sha(file), Sha(delivered));
        }

        /// <summary>st_blocks × 512, as stat(1) reports it.</summary>
        private static long AllocatedBytes(string path)
        {
            var output = Run("stat", "-c", "%b %B", path).Split(' ');
            return long.Parse(output[0]) * long.Parse(output[1]);
        }

        /// <summary>Whether fallocate(1) works where <paramref name="path"/> is (ZFS and some others refuse it).</summary>
        private static bool FileSystemSupportsPreallocation(string path)
        {
            var probe = path + ".probe";
            try
            {
                var info = new ProcessStartInfo("fallocate", $"-l 4096 \"{probe}\"") { RedirectStandardError = true };
                using var process = Process.Start(info)!;
                process.WaitForExit();
                return process.ExitCode == 0;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return false;
            }
            finally
            {
                File.Delete(probe);
            }
        }

        private static string Run(string file, params string[] arguments)
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return output;
        }
    }
}
