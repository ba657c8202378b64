using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// A local source is dropped from the page cache behind its reader once it is larger than one window: which ranges
    /// go and when (the policy, with the calls recorded), and, with the calls made for real, that a large source is no
    /// longer cached after its transfer while a small one is. What it saves is measured in the benchmark, not here.
    /// </summary>
    public sealed class ReadBehindTests : LocalTransferTestBase
    {
        private const long Window = ReadBehind.Window;
        private const long Segment = 128 * 1024;

        private readonly List<(long Offset, long Length)> _dropped = new List<(long, long)>();

        [Fact]
        public void A_file_under_one_window_is_never_dropped()
        {
            var policy = Record(position: 0);
            ReadInSegments(policy, 0, Window - 1);
            policy.Closed();
            Assert.Empty(_dropped);
        }

        [Fact]
        public void A_large_file_is_dropped_a_window_at_a_time_and_its_tail_when_closed()
        {
            var policy = Record(position: 0);
            ReadInSegments(policy, 0, 3 * Window + Window / 2);
            Assert.Equal(new[] { (0L, Window), (Window, Window), (2 * Window, Window) }, _dropped);

            // The rest to the end of the file (length 0), so the folio holding the last bytes goes whatever the length.
            policy.Closed();
            Assert.Equal((3 * Window, 0L), _dropped[^1]);
            policy.Closed();
            Assert.Equal(4, _dropped.Count);
        }

        [Fact]
        public void A_resumed_read_drops_only_what_it_read()
        {
            var opened = Window + Window / 2;
            var policy = Record(position: opened);
            ReadInSegments(policy, opened, 4 * Window);

            Assert.Equal(opened, _dropped[0].Offset);
            var end = opened;
            foreach (var (offset, length) in _dropped)
            {
                Assert.Equal(end, offset);
                end = offset + length;
            }

            Assert.Equal(4 * Window, end);
        }

        [Fact]
        public void A_reader_that_moves_drops_nothing_it_skipped()
        {
            var policy = Record(position: 0);
            ReadInSegments(policy, 0, Window / 2);
            policy.Moved(5 * Window);
            ReadInSegments(policy, 5 * Window, 7 * Window);

            Assert.Equal(new[] { (5 * Window, Window), (6 * Window, Window) }, _dropped);
        }

        [Fact]
        public async Task A_large_source_leaves_the_page_cache_as_it_is_sent_and_a_small_one_stays()
        {
            if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/fincore"))
            {
                return;
            }

            var large = Clean(NewFile("large.bin", (int)(3 * Window + 12345)));
            var small = Clean(NewFile("small.bin", (int)(Window / 2)));
            Assert.True(Resident(large) > 0, "the source should be cached before the transfer");
            var folder = NewFolder("out");

            foreach (var file in new[] { large, small })
            {
                var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = folder + "/" });
                var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
                Assert.Equal(TransferStatus.Completed, done.Status);
            }

            Assert.Equal(0, Resident(large));
            Assert.Equal(new FileInfo(small).Length, Resident(small));
            Assert.Equal(Sha(large), Sha(Path.Combine(folder, "large.bin")));
        }

        private ReadBehind Record(long position) => new ReadBehind(position, (offset, length) => _dropped.Add((offset, length)));

        /// <summary>Reports reads as the transfer pipeline makes them: 128 KiB at a time.</summary>
        private static void ReadInSegments(ReadBehind policy, long from, long to)
        {
            for (var end = Math.Min(to, from + Segment); ; end = Math.Min(to, end + Segment))
            {
                policy.Read(end);
                if (end == to)
                {
                    return;
                }
            }
        }

        /// <summary>Written to the disk, so its cached pages are clean and can be dropped (dirty ones cannot).</summary>
        private static string Clean(string path)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Flush(flushToDisk: true);
            }

            File.ReadAllBytes(path);
            return path;
        }

        /// <summary>Bytes of the file in the page cache, as util-linux <c>fincore</c> counts them.</summary>
        private static long Resident(string path)
        {
            var info = new ProcessStartInfo("/usr/bin/fincore", new[] { "--bytes", "--noheadings", "--output", "RES", path })
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return long.Parse(output, System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
