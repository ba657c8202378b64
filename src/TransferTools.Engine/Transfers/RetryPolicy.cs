using System;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// A transfer's retry policy, for its attempts and for the look at a source before its transfer exists: a transient
    /// failure is retried with exponential backoff and jitter, each retry recorded and announced as a warning.
    /// </summary>
    internal sealed class RetryPolicy
    {
        /// <summary>The first retry's delay before jitter; doubles per retry up to <see cref="MaxDelay"/>.</summary>
        public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>The longest wait between retries.</summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>
        /// Runs <paramref name="operation"/>; a transient failure is retried up to <paramref name="retryCount"/> times while
        /// <paramref name="mayRetry"/> holds, each retry recorded by <paramref name="onRetry"/> and logged as a warning that
        /// begins with <paramref name="warningPrefix"/>.
        /// </summary>
        public async Task<T> RunAsync<T>(OperationContext context, string warningPrefix, int retryCount, Func<Task<T>> operation,
            Func<bool> mayRetry, Action<PluginException>? onRetry, CancellationToken cancellationToken)
        {
            for (var retry = 1; ; retry++)
            {
                try
                {
                    return await operation().ConfigureAwait(false);
                }
                catch (Exception e) when (TransferErrors.ToPluginException(e) is { IsTransient: true } transient && retry <= retryCount
                                          && (retry == 1 || !IsUnreachable(e)) && mayRetry())
                {
                    var delay = Delay(retry);
                    onRetry?.Invoke(transient);
                    context.Logger.Log(LogLevel.Warning, $"{warningPrefix}{transient.Message} Retry {retry} of {retryCount} in {delay.TotalSeconds:0.#} s.");
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// The retry policy for a request made outside a running transfer (before it exists, or a folder listing):
        /// retried while the context is not cancelled, without a record to update.
        /// </summary>
        public Task<T> RunAsync<T>(OperationContext context, int retryCount, Func<Task<T>> operation) =>
            RunAsync(context, "", retryCount, operation, () => !context.CancellationToken.IsCancellationRequested, onRetry: null, context.CancellationToken);

        /// <summary>
        /// True when <paramref name="error"/> comes from a host that refused the connection or whose name does not resolve:
        /// a dropped connection or a 503 may pass in seconds, but a server that is not running or a mistyped host will not,
        /// so such a failure gets one short retry instead of half a minute of them (a queued transfer's agent waits longer).
        /// </summary>
        internal static bool IsUnreachable(Exception error)
        {
            for (var e = error; e != null; e = e.InnerException)
            {
                if (e is System.Net.Sockets.SocketException socket
                    && (socket.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused
                        || socket.SocketErrorCode == System.Net.Sockets.SocketError.HostNotFound
                        || socket.SocketErrorCode == System.Net.Sockets.SocketError.NoData))
                {
                    return true;
                }

                if (e is AggregateException aggregate && aggregate.InnerExceptions.Count == 1)
                {
                    return IsUnreachable(aggregate.InnerExceptions[0]);
                }
            }

            return false;
        }

        /// <summary>The wait before retry number <paramref name="retry"/> (1 for the first).</summary>
        public TimeSpan Delay(int retry) => ComputeDelay(retry, BaseDelay, MaxDelay, ThreadSafeRandom.NextDouble());

        /// <summary>
        /// Exponential backoff with "equal jitter": half the step fixed, half random (<paramref name="random"/> in [0, 1)),
        /// so retries from many transfers spread out.
        /// </summary>
        internal static TimeSpan ComputeDelay(int retry, TimeSpan baseDelay, TimeSpan max, double random)
        {
            var step = Math.Min(max.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, retry - 1));
            return TimeSpan.FromMilliseconds(step / 2 + random * step / 2);
        }

        private static class ThreadSafeRandom
        {
            private static readonly Random Seed = new Random();

            [ThreadStatic]
            private static Random? _local;

            public static double NextDouble()
            {
                if (_local is null)
                {
                    int seed;
                    lock (Seed)
                    {
                        seed = Seed.Next();
                    }

                    _local = new Random(seed);
                }

                return _local.NextDouble();
            }
        }
    }
}
