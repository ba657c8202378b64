using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Agent;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Agent
{
    public class TransferAgentStopTests
    {
        [Fact]
        public async Task A_stop_right_after_a_transfer_completed_logs_the_completion_and_suspends_nothing()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var source = Path.Combine(home.Path, "queued.bin");
            File.WriteAllBytes(source, new byte[4096]);
            var queued = await session.Transfers.QueueSendAsync(OperationContext.None,
                new SendRequest { File = source, Destination = Path.Combine(home.Path, "out") + "/" }, new QueueOptions());

            var log = new ConcurrentQueue<string>();
            using var agent = TransferAgent.Start(session, new TransferAgentOptions { PollInterval = TimeSpan.FromMilliseconds(50) });
            agent.Log = log.Enqueue;
            using var stop = new CancellationTokenSource();
            var running = agent.RunAsync(OperationContext.None.WithCancellation(stop.Token));

            // Stopped as soon as the journal says Completed: before the agent's own next look at its runs (every 250 ms).
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (session.Transfers.Journal.TryLoad(queued.Id)?.Status != TransferStatus.Completed && DateTime.UtcNow < deadline)
            {
                await Task.Delay(2);
            }

            stop.Cancel();
            await running;

            Assert.Equal(TransferStatus.Completed, session.Transfers.Journal.TryLoad(queued.Id)?.Status);
            Assert.Contains(log, line => line.Contains($"Transfer {TransferIds.Short(queued.Id)} (queued.bin) completed", StringComparison.Ordinal));
            Assert.DoesNotContain(log, line => line.Contains("suspending", StringComparison.Ordinal));
        }
    }
}
