using System;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>The upload's request window (TCP Vegas' rule), fed with the round trips of a modelled path: no server needed.</summary>
    public class SftpWriteWindowTests
    {
        /// <summary>
        /// A server that writes one request per <paramref name="service"/> time units behind a path that adds
        /// <paramref name="latency"/> to each round trip, kept busy with as many requests as the window allows. The first
        /// round starts with an empty queue, so its answers come back one service time apart; after that, a window larger
        /// than the path holds only queues.
        /// </summary>
        private static void Simulate(SftpWriteWindow window, long service, long latency, int rounds, bool emptyQueueFirst = true)
        {
            for (var round = 0; round < rounds; round++)
            {
                var size = window.Size;
                for (var answer = 0; answer < size; answer++)
                {
                    var queued = round == 0 && emptyQueueFirst ? answer + 1 : size;
                    window.Answered(Math.Max(latency + service, queued * service));
                }
            }
        }

        [Fact]
        public void A_path_whose_round_trip_makes_the_answers_time_keeps_the_whole_budget()
        {
            // A WAN: 50 ms of round trip, 1 ms of server time per request.
            var window = new SftpWriteWindow(9);
            Simulate(window, service: 1_000, latency: 50_000, rounds: 50);
            Assert.Equal(9, window.Size);
        }

        [Fact]
        public void A_long_path_whose_answers_vary_keeps_the_whole_budget()
        {
            // 10 ms of round trip (units of 1 µs), the answers 10 to 30 ms apart (jitter, the SSH window's stalls): the
            // rule alone reads that as a queue and shrinks the window; on a path of 2 ms or more it may not.
            void Vary(SftpWriteWindow w)
            {
                for (var i = 0; i < 1_000; i++)
                {
                    w.Answered(i % 2 == 0 ? 30_000 : 10_000);
                }
            }

            var unguarded = new SftpWriteWindow(9);
            Vary(unguarded);
            Assert.InRange(unguarded.Size, SftpWriteWindow.MinimumSize, 6);
            var guarded = new SftpWriteWindow(9, shrinkBelow: 2_000);
            Vary(guarded);
            Assert.Equal(9, guarded.Size);

            // Loopback under the same guard: answers of 1 ms queue behind each other and still shrink the window.
            var loopback = new SftpWriteWindow(9, shrinkBelow: 2_000);
            Simulate(loopback, service: 1_000, latency: 0, rounds: 50);
            Assert.InRange(loopback.Size, SftpWriteWindow.MinimumSize, 4);
        }

        [Fact]
        public void Requests_queueing_at_the_server_shrink_the_window_to_a_few()
        {
            // Loopback: no latency to hide, so every request beyond the one being written waits in the server's buffer.
            var window = new SftpWriteWindow(9);
            Simulate(window, service: 1_000, latency: 0, rounds: 50);
            Assert.InRange(window.Size, SftpWriteWindow.MinimumSize, 4);
        }

        [Fact]
        public void The_window_settles_where_one_to_three_requests_wait_beyond_what_the_path_holds()
        {
            // The path holds 4 requests (3 service times of latency): a window of 5 to 7 keeps 1 to 3 waiting.
            var window = new SftpWriteWindow(16);
            Simulate(window, service: 1_000, latency: 3_000, rounds: 100);
            Assert.InRange(window.Size, 5, 7);
        }

        [Fact]
        public void The_window_grows_back_when_the_answers_come_as_fast_as_the_fastest_again()
        {
            var window = new SftpWriteWindow(9);
            Simulate(window, service: 1_000, latency: 0, rounds: 50);
            Assert.True(window.Size <= 4);

            // Whatever the window, each answer now takes the fastest time seen: nothing waits, so the window reopens.
            for (var i = 0; i < 500; i++)
            {
                window.Answered(1_000);
            }

            Assert.Equal(9, window.Size);
        }

        [Fact]
        public void A_small_budget_is_kept_and_the_window_never_goes_below_its_minimum()
        {
            var one = new SftpWriteWindow(1);
            Simulate(one, service: 1_000, latency: 0, rounds: 20);
            Assert.Equal(1, one.Size);
            Assert.Equal(1, new SftpWriteWindow(0).Size);
            var two = new SftpWriteWindow(2);
            Simulate(two, service: 1_000, latency: 0, rounds: 20);
            Assert.Equal(2, two.Size);

            // Wildly varying round trips look like a long queue: the window shrinks to its minimum, not below.
            var window = new SftpWriteWindow(64);
            for (var i = 0; i < 10_000; i++)
            {
                window.Answered(i % 2 == 0 ? 1 : 1_000_000);
            }

            Assert.Equal(SftpWriteWindow.MinimumSize, window.Size);
        }
    }
}
