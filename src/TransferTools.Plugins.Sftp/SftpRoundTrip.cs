using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using Renci.SshNet;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// The shortest time a small request (a stat) has taken on one connection: the network's round trip plus the server's
    /// quickest answer. The minimum, as TCP keeps its own, because a single request can wait behind the machine's other
    /// work but never arrives sooner than the link allows. Kept with the connection it measures and gone with it.
    /// </summary>
    internal sealed class SftpRoundTrip
    {
        private static readonly ConditionalWeakTable<SftpClient, SftpRoundTrip> ByClient = new ConditionalWeakTable<SftpClient, SftpRoundTrip>();

        private long _shortestTicks = long.MaxValue;

        /// <summary>The shortest request measured on <paramref name="client"/>, or null when it has measured none.</summary>
        public static TimeSpan? Of(SftpClient client) =>
            ByClient.TryGetValue(client, out var gauge) && Interlocked.Read(ref gauge._shortestTicks) is var ticks && ticks != long.MaxValue
                ? TimeSpan.FromTicks(ticks)
                : (TimeSpan?)null;

        /// <summary>Counts a request on <paramref name="client"/> that was sent at <paramref name="startTimestamp"/>
        /// (<see cref="Stopwatch.GetTimestamp"/>) and has just been answered.</summary>
        public static void Observe(SftpClient client, long startTimestamp)
        {
            var elapsed = Stopwatch.GetTimestamp() - startTimestamp;
            var ticks = (long)(elapsed * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency));
            var gauge = ByClient.GetValue(client, _ => new SftpRoundTrip());
            var seen = Interlocked.Read(ref gauge._shortestTicks);
            while (ticks < seen)
            {
                var was = Interlocked.CompareExchange(ref gauge._shortestTicks, ticks, seen);
                if (was == seen)
                {
                    return;
                }

                seen = was;
            }
        }
    }
}
