using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// A token bucket shared by every transfer that should count against one bandwidth limit: the transfers of one command
    /// (<c>-MaxBytesPerSecond</c> is the command's total, not each file's), or every transfer of the transfer agent (its
    /// <c>-BandwidthSchedule</c>). The rate can change at any time (<see cref="Rate"/>): waiters see the new rate within
    /// <see cref="RecheckInterval"/>, so a schedule that lifts a limit at 18:00 speeds up transfers already in flight.
    /// </summary>
    /// <remarks>
    /// A writer takes its bytes when the bucket is not in debt and may drive it into debt (a segment is never split); the
    /// next writer waits until the debt is paid back at the current rate. Over any stretch longer than a few segments the
    /// bytes taken by all writers together stay at the rate, whatever the number of writers.
    /// </remarks>
    public sealed class BandwidthLimiter
    {
        /// <summary>How often a waiting writer looks at the rate again (a change of rate reaches waiters this quickly).</summary>
        internal static readonly TimeSpan RecheckInterval = TimeSpan.FromMilliseconds(200);

        private readonly object _gate = new object();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _rate;
        private double _tokens;
        private TimeSpan _last;

        /// <summary>A limiter at <paramref name="bytesPerSecond"/> (0: unlimited until <see cref="Rate"/> is set).</summary>
        public BandwidthLimiter(long bytesPerSecond)
        {
            _rate = Math.Max(0, bytesPerSecond);
        }

        /// <summary>Bytes per second for all writers together; 0 is unlimited. Settable while transfers run.</summary>
        public long Rate
        {
            get => Interlocked.Read(ref _rate);
            set
            {
                lock (_gate)
                {
                    Refill();
                    Interlocked.Exchange(ref _rate, Math.Max(0, value));
                    // A debt run up at the old rate is paid at the new one; a burst saved at the old rate is not carried over.
                    _tokens = Math.Min(_tokens, Burst(value));
                }
            }
        }

        /// <summary>Waits until <paramref name="bytes"/> may be written, then takes them from the bucket.</summary>
        /// <param name="bytes">The bytes about to be written.</param>
        /// <param name="waiting">Called after each wait slice (a limited transfer is not a stalled one).</param>
        /// <param name="cancellationToken">Ends the wait.</param>
        public async Task TakeAsync(long bytes, System.Action? waiting, CancellationToken cancellationToken)
        {
            while (true)
            {
                TimeSpan wait;
                lock (_gate)
                {
                    var rate = Interlocked.Read(ref _rate);
                    if (rate <= 0)
                    {
                        _tokens = 0;
                        return;
                    }

                    Refill();
                    if (_tokens >= 0)
                    {
                        _tokens -= bytes;
                        return;
                    }

                    wait = TimeSpan.FromSeconds(-_tokens / rate);
                }

                await Task.Delay(wait < RecheckInterval ? wait : RecheckInterval, cancellationToken).ConfigureAwait(false);
                waiting?.Invoke();
            }
        }

        /// <summary>Waits for every limiter of <paramref name="limiters"/> in turn (a transfer can count against its command's and the agent's).</summary>
        internal static async Task TakeAllAsync(IReadOnlyList<BandwidthLimiter> limiters, long bytes, System.Action? waiting, CancellationToken cancellationToken)
        {
            foreach (var limiter in limiters)
            {
                await limiter.TakeAsync(bytes, waiting, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The lowest rate of <paramref name="limiters"/> that is limited, or 0 (sizes the pipeline's segments).</summary>
        internal static long LowestRate(IReadOnlyList<BandwidthLimiter> limiters)
        {
            long lowest = 0;
            foreach (var limiter in limiters)
            {
                var rate = limiter.Rate;
                if (rate > 0 && (lowest == 0 || rate < lowest))
                {
                    lowest = rate;
                }
            }

            return lowest;
        }

        private void Refill()
        {
            var now = _clock.Elapsed;
            var rate = Interlocked.Read(ref _rate);
            _tokens = Math.Min(Burst(rate), _tokens + (now - _last).TotalSeconds * rate);
            _last = now;
        }

        /// <summary>What an idle bucket saves up: a tenth of a second's worth, so a pause is not followed by a flood.</summary>
        private static double Burst(long rate) => rate / 10.0;
    }
}
