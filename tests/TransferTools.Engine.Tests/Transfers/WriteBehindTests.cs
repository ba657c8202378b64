using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using Xunit;
using TransferTools.Engine.BuiltIn.FileSystem;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// A large local file is written behind the transfer: which windows are handed to the disk and which are dropped from
    /// the page cache, and when (the policy, with the system calls recorded), and that the bytes arrive intact with the
    /// calls made for real, on a disk and on tmpfs. What it saves is measured in the benchmark, not here.
    /// </summary>
    public sealed class WriteBehindTests : LocalTransferTestBase
    {
        private const long MiB = 1024 * 1024;
        private const long Window = WriteBehind.Window;

        private readonly List<long> _handedOver = new List<long>();
        private readonly List<long> _dropped = new List<long>();

        [Fact]
        public void A_file_of_unknown_size_is_cached_as_usual_until_it_is_large()
        {
            var policy = Record(position: 0);
            WriteInSegments(policy, 0, WriteBehind.LargeFile - 1);
            Assert.Empty(_handedOver);
            Assert.Empty(_dropped);

            WriteInSegments(policy, WriteBehind.LargeFile - 1, WriteBehind.LargeFile + 6 * Window);

            // Everything written so far is handed to the disk once the file is large; only what comes after is dropped.
            Assert.Equal(Windows(0, WriteBehind.LargeFile / Window + 6), _handedOver);
            var firstDroppable = WriteBehind.LargeFile;
            Assert.All(_dropped, offset => Assert.True(offset >= firstDroppable, $"dropped {offset}, written before the file was large"));
            Assert.Equal(new[] { firstDroppable, firstDroppable + Window }, _dropped);
        }

        [Fact]
        public void A_file_known_to_be_large_is_written_behind_from_its_first_window()
        {
            var policy = Record(position: 0);
            policy.Expect(WriteBehind.LargeFile);
            WriteInSegments(policy, 0, 10 * Window + 5);

            Assert.Equal(Windows(0, 10), _handedOver);
            // A window is dropped WindowsKept windows after it was handed over, so the disk has time to finish it.
            Assert.Equal(Windows(0, 10 - WriteBehind.WindowsKept), _dropped);
        }

        [Fact]
        public void A_file_known_to_be_small_stays_in_the_cache()
        {
            var policy = Record(position: 0);
            policy.Expect(WriteBehind.LargeFile - 1);
            WriteInSegments(policy, 0, WriteBehind.LargeFile - 1);
            Assert.Empty(_handedOver);
            Assert.Empty(_dropped);
        }

        [Fact]
        public void A_resumed_file_starts_at_the_window_holding_its_offset()
        {
            // A 1 MiB chunk size resumes off the 4 MiB windows.
            var opened = 6 * MiB;
            var policy = Record(position: opened);
            policy.Expect(WriteBehind.LargeFile);
            WriteInSegments(policy, opened, opened + 8 * Window);

            Assert.Equal(4 * MiB, _handedOver.First());
            Assert.Equal(Windows(1, 8), _handedOver);
            Assert.Equal(Windows(1, 8 - WriteBehind.WindowsKept), _dropped);
        }

        [Fact]
        public void One_large_write_hands_over_every_window_it_filled()
        {
            var policy = Record(position: 0);
            policy.Expect(WriteBehind.LargeFile);
            policy.Written(3 * Window - 1);
            Assert.Equal(Windows(0, 2), _handedOver);
            policy.Written(9 * Window);
            Assert.Equal(Windows(0, 9), _handedOver);
            Assert.Equal(Windows(0, 9 - WriteBehind.WindowsKept), _dropped);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_large_local_transfer_arrives_intact_with_the_calls_made(bool onTmpfs)
        {
            // tmpfs has no disk to hand pages to: the calls must do no harm there either.
            var folder = onTmpfs ? TmpfsFolder() : NewFolder("disk");
            if (folder is null)
            {
                return;
            }

            try
            {
                var size = (int)(WriteBehind.LargeFile + 3 * Window + 12345);
                var file = NewFile("large.bin", size);
                var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = folder + "/" });
                var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;

                Assert.Equal(TransferStatus.Completed, done.Status);
                var delivered = Path.Combine(folder, "large.bin");
                Assert.Equal(size, new FileInfo(delivered).Length);
                Assert.Equal(Sha(file), Sha(delivered));
                Assert.Equal(Sha(file), done.Sha256);
            }
            finally
            {
                if (onTmpfs)
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        [Fact]
        public async Task The_file_system_plugin_writes_a_large_file_written_in_one_go_intact()
        {
            var path = Path.Combine(NewFolder("direct"), "partial.tmp");
            var bytes = new byte[WriteBehind.LargeFile + Window + 7];
            new Random(4).NextBytes(bytes);
            var plugin = new FileSystemProtocolPlugin();
            using (var writer = await plugin.OpenWriteAsync(Context, new Uri(path), 0, new TransferOptions()))
            {
                FileSystemProtocolPlugin.PrepareWrite(writer, 0, bytes.Length);
                writer.Write(bytes, 0, 1000);
                await writer.WriteAsync(bytes, 1000, bytes.Length - 1000);
            }

            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(path)));
        }

        private WriteBehind Record(long position) =>
            new WriteBehind(position, (offset, length) =>
            {
                Assert.Equal(Window, length);
                _handedOver.Add(offset);
            }, (offset, length) =>
            {
                Assert.Equal(Window, length);
                _dropped.Add(offset);
            });

        /// <summary>Reports writes as the transfer pipeline makes them: 128 KiB at a time.</summary>
        private static void WriteInSegments(WriteBehind policy, long from, long to)
        {
            for (var end = Math.Min(to, from + 128 * 1024); ; end = Math.Min(to, end + 128 * 1024))
            {
                policy.Written(end);
                if (end == to)
                {
                    return;
                }
            }
        }

        private static long[] Windows(long first, long count) =>
            Enumerable.Range(0, (int)count).Select(i => (first + i) * Window).ToArray();

        private static string? TmpfsFolder()
        {
            if (!OperatingSystem.IsLinux() || !Directory.Exists("/dev/shm"))
            {
                return null;
            }

            return Directory.CreateDirectory(Path.Combine("/dev/shm", "tt-writebehind-" + Guid.NewGuid().ToString("n"))).FullName;
        }
    }
}
