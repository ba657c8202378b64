using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>The engine's batch queue (<see cref="TransferQueue"/>): order, throttle, batching, waiting and failures.</summary>
    public sealed class TransferQueueTests : LocalTransferTestBase
    {
        /// <summary>Runs the queue as a cmdlet does: inputs added on this thread, results taken here, in order.</summary>
        private static async Task<List<TransferQueueItem>> RunAll(TransferQueue queue, OperationContext context, IEnumerable<(object Target, Func<OperationContext, Task<Transfer>> Start)> inputs)
        {
            var run = Task.Run(() => queue.RunAsync(context, () => { }));
            var results = new List<TransferQueueItem>();
            foreach (var (target, start) in inputs)
            {
                queue.Add(target, start);
                results.AddRange(queue.TakeReady());
            }

            queue.Complete();
            await run;
            queue.Abandon();
            results.AddRange(queue.TakeReady());
            return results;
        }

        private static Transfer Fake(string id) => new Transfer { Id = id, Status = TransferStatus.Active };

        [Fact]
        public async Task Results_come_back_in_input_order_and_no_more_run_at_once_than_the_limit()
        {
            var running = 0;
            var most = 0;
            async Task<Transfer> Start(int n)
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                // Early inputs take longest, so they finish after later ones.
                await Task.Delay(40 - (n * 3));
                Interlocked.Decrement(ref running);
                return Fake("t" + n);
            }

            var queue = new TransferQueue(Session.Transfers, throttleLimit: 3, batched: false, wait: false);
            var results = await RunAll(queue, Context, Enumerable.Range(0, 10).Select(n => ((object)n, (Func<OperationContext, Task<Transfer>>)(_ => Start(n)))));

            Assert.Equal(Enumerable.Range(0, 10).Select(n => "t" + n), results.Select(r => r.Transfer!.Id));
            Assert.Equal(Enumerable.Range(0, 10).Cast<object>(), results.Select(r => r.Target));
            Assert.InRange(most, 1, 3);
        }

        [Fact]
        public async Task An_input_that_fails_to_start_is_its_error_and_the_others_go_on()
        {
            var refused = new PluginException(ErrorCode.NotFound, "gone", errorId: "SourceNotFound");
            var queue = new TransferQueue(Session.Transfers, throttleLimit: 2, batched: false, wait: false);

            var results = await RunAll(queue, Context, new (object, Func<OperationContext, Task<Transfer>>)[]
            {
                ("a", _ => Task.FromResult(Fake("a"))),
                ("b", _ => Task.FromException<Transfer>(refused)),
                ("c", _ => Task.FromResult(Fake("c"))),
            });

            Assert.Equal(new object[] { "a", "b", "c" }, results.Select(r => r.Target));
            Assert.Same(refused, results[1].Error);
            Assert.Null(results[1].Transfer);
            Assert.Equal("c", results[2].Transfer!.Id);
        }

        [Fact]
        public async Task Two_inputs_make_a_batch_and_a_lone_one_does_not()
        {
            async Task<List<object?>> BatchesSeen(int inputs)
            {
                var seen = new List<object?>();
                var queue = new TransferQueue(Session.Transfers, throttleLimit: 2, batched: true, wait: false);
                await RunAll(queue, Context, Enumerable.Range(0, inputs).Select(n => ((object)n, (Func<OperationContext, Task<Transfer>>)(c =>
                {
                    lock (seen)
                    {
                        seen.Add(c.GetValue(TransferManager.BatchContextKey));
                    }

                    return Task.FromResult(Fake("t" + n));
                }))));
                return seen;
            }

            Assert.Null(Assert.Single(await BatchesSeen(1)));
            var batched = await BatchesSeen(3);
            Assert.Equal(3, batched.Count);
            Assert.All(batched, b => Assert.NotNull(b));
            Assert.Single(batched.Distinct());
        }

        [Fact]
        public async Task Waited_transfers_come_back_finished_and_a_failed_one_with_its_explanation()
        {
            var dest = NewFolder("queue-dest");
            var files = Enumerable.Range(0, 3).Select(n => NewFile($"q{n}.bin", 5000 + n)).ToList();
            File.WriteAllBytes(Path.Combine(dest, "q1.bin"), new byte[] { 1 }); // q1 meets an existing file: Conflict
            var queue = new TransferQueue(Session.Transfers, throttleLimit: 2, batched: true, wait: true);

            var results = await RunAll(queue, Context, files.Select(f => ((object)f, (Func<OperationContext, Task<Transfer>>)(c =>
                Session.Transfers.StartSendAsync(c, new SendRequest { File = f, Destination = dest + Path.DirectorySeparatorChar, Options = new TransferOptions() })))));

            Assert.Equal(files.Cast<object>(), results.Select(r => r.Target));
            Assert.Equal(TransferStatus.Completed, results[0].Transfer!.Status);
            Assert.Equal(TransferStatus.Completed, results[2].Transfer!.Status);
            Assert.Equal(Sha(files[2]), Sha(Path.Combine(dest, "q2.bin")));
            var failure = Assert.IsType<PluginException>(results[1].Error);
            Assert.Equal(ErrorCode.Conflict, failure.Code);
        }

        [Fact]
        public async Task The_caller_is_woken_once_for_results_that_wait_and_again_only_after_taking_them()
        {
            var wakes = 0;
            var queue = new TransferQueue(Session.Transfers, throttleLimit: 4, batched: false, wait: false);
            var run = Task.Run(() => queue.RunAsync(Context, () => Interlocked.Increment(ref wakes)));
            for (var n = 0; n < 4; n++)
            {
                queue.Add(n, _ => Task.FromResult(Fake("x")));
            }

            SpinWait.SpinUntil(() => Volatile.Read(ref wakes) > 0, TimeSpan.FromSeconds(5));
            await Task.Delay(50);
            Assert.Equal(1, Volatile.Read(ref wakes));
            Assert.Equal(4, queue.TakeReady().Count());
            queue.Add(4, _ => Task.FromResult(Fake("y")));
            queue.Complete();
            await run;
            Assert.Equal(2, wakes);
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }
}
