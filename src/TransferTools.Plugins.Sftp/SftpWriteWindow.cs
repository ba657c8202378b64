using System;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// How many write requests an upload keeps in flight: as many as the path needs to stay busy and no more, adjusted
    /// from the answers' round-trip times by TCP Vegas' rule.
    /// </summary>
    /// <remarks>
    /// <para>Why not simply the most the budget allows: OpenSSH's sshd holds every request that sftp-server has not
    /// taken yet in one buffer and keeps moving that buffer's contents to its front as it drains. When the client is
    /// faster than the server, as over loopback or a fast LAN, the requests in flight pile up there. Nine requests of
    /// 255 KiB (the 2 MiB default) made a 1 GiB upload over loopback about 5–10% slower than two to four, with more
    /// CPU spent by sshd. Over a WAN the round trip, not the server, dominates each answer's time; the window then
    /// stays at the budget, which the round trip needs.</para>
    /// <para>The rule: over each round (a window's worth of answers), <c>window × (1 − fastest / mean)</c> estimates how
    /// many requests were queued rather than moving. Above <see cref="MostQueued"/> the window shrinks by one; below
    /// <see cref="FewestQueued"/> it grows by one, up to the budget. Not thread-safe: the write stream calls it under
    /// its lock.</para>
    /// <para>It shrinks only on a short path (the fastest answer under the constructor's <c>shrinkBelow</c>). On a longer
    /// one the answers vary for the path's own reasons (its jitter; the SSH channel's window, which stalls a request
    /// for a round trip), the rule read that as a queue, and the window fell to its minimum: a 256 MiB upload through
    /// a 10 ms round trip took 3.9–4.3 s against 2.6–2.9 s with the window held at the budget (OpenSSH: 2.6–2.8 s).</para>
    /// </remarks>
    internal sealed class SftpWriteWindow
    {
        /// <summary>The smallest window: a window of w never shows w or more requests waiting, so below
        /// <see cref="MostQueued"/> + 1 the rule cannot shrink it any further.</summary>
        internal const int MinimumSize = 3;

        /// <summary>Fewer requests queued than this: the path may be idle at times, so the window grows.</summary>
        internal const double FewestQueued = 1.0;

        /// <summary>More requests queued than this: they only wait at the server, so the window shrinks.</summary>
        internal const double MostQueued = 3.0;

        /// <summary>The fastest full-size write answer under which a path counts as short (loopback, a LAN): there the
        /// window may shrink. At 2 ms or more the budget's 2 MiB move at most 1 GiB/s, which no queue at the server matches.</summary>
        internal static readonly TimeSpan ShortPath = TimeSpan.FromMilliseconds(2);

        private readonly int _maximum;
        private readonly int _minimum;
        private readonly long _shrinkBelow;
        private long _fastest = long.MaxValue;
        private long _roundTotal;
        private int _roundAnswers;

        /// <param name="maximum">The budget: the most requests in flight (at least 1). The window starts there.</param>
        /// <param name="shrinkBelow">The window shrinks only while the fastest answer is quicker than this (the unit of
        /// <see cref="Answered"/>): a path of a longer round trip needs the whole budget.</param>
        public SftpWriteWindow(int maximum, long shrinkBelow = long.MaxValue)
        {
            _maximum = Math.Max(1, maximum);
            _shrinkBelow = shrinkBelow;
            _minimum = Math.Min(MinimumSize, _maximum);
            Size = _maximum;
        }

        /// <summary>How many requests may be in flight now.</summary>
        public int Size { get; private set; }

        /// <summary>Records one full-size request's round trip, from sending it to its answer (any time unit, the same
        /// for every call).</summary>
        public void Answered(long roundTrip)
        {
            roundTrip = Math.Max(1, roundTrip);
            _fastest = Math.Min(_fastest, roundTrip);
            _roundTotal += roundTrip;
            _roundAnswers++;
            if (_roundAnswers < Size)
            {
                return;
            }

            var mean = (double)_roundTotal / _roundAnswers;
            var queued = Size * (1 - _fastest / mean);
            if (queued > MostQueued && Size > _minimum && _fastest < _shrinkBelow)
            {
                Size--;
            }
            else if (queued < FewestQueued && Size < _maximum)
            {
                Size++;
            }

            _roundTotal = 0;
            _roundAnswers = 0;
        }
    }
}
