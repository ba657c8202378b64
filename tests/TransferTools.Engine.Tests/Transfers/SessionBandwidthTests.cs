using System;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// A transfer agent sets the session's limit so the copies of a queued sync it runs (a nested Sync-TransferFolder of its
    /// session) share the agent's total (issue 32 item 4).
    /// </summary>
    public sealed class SessionBandwidthTests : LocalTransferTestBase
    {
        [Fact]
        public async Task A_transfer_started_in_the_session_takes_its_bytes_from_the_session_limit()
        {
            var file = NewFile("limited.bin", 1024 * 1024);
            var dest = NewFolder("limited-out") + Path.DirectorySeparatorChar;
            var limiter = new BandwidthLimiter(1024);
            Session.Transfers.SessionBandwidth = limiter;

            var started = await Session.Transfers.StartSendAsync(Context, new SendRequest { File = file, Destination = dest, Options = new TransferOptions { ChunkSize = 65536 } });
            // At 1 KiB/s the file would take about 17 minutes: still running after a second shows the limit applies.
            var (running, finished) = await Session.Transfers.WaitAsync(Context, started.Id, TimeSpan.FromSeconds(1));
            Assert.False(finished);
            Assert.True(running.BytesTransferred < running.TotalBytes);

            // Lifting the session's limit lets the same transfer finish, verified.
            limiter.Rate = 0;
            var done = (await Session.Transfers.WaitAsync(Context, started.Id)).Transfer;
            Assert.Equal(TransferStatus.Completed, done.Status);
            Assert.Equal(Sha(file), Sha(Path.Combine(dest, "limited.bin")));
        }
    }
}
