using System;
using System.Diagnostics;
using System.Threading;

namespace TransferTools.Engine.Transfers
{
    /// <summary>Cancels an attempt when no byte moved for the stall time-out.</summary>
    internal sealed class StallWatch : IDisposable
    {
        private readonly TimeSpan _timeout;
        private readonly CancellationTokenSource _attempt;
        private readonly Timer _timer;
        private long _lastActivity = Stopwatch.GetTimestamp();
        private int _stalled;

        public StallWatch(TimeSpan timeout, CancellationTokenSource attempt)
        {
            _timeout = timeout;
            _attempt = attempt;
            var period = TimeSpan.FromMilliseconds(Math.Max(50, Math.Min(1000, timeout.TotalMilliseconds / 4)));
            _timer = new Timer(_ => Check(), null, period, period);
        }

        public bool Stalled => Volatile.Read(ref _stalled) != 0;

        public void Touch() => Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());

        public void Dispose() => _timer.Dispose();

        private void Check()
        {
            var idle = TimeSpan.FromSeconds((Stopwatch.GetTimestamp() - Interlocked.Read(ref _lastActivity)) / (double)Stopwatch.Frequency);
            if (idle > _timeout && Interlocked.Exchange(ref _stalled, 1) == 0)
            {
                try
                {
                    _attempt.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }
}
