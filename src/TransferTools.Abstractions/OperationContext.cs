using System;
using System.Collections.Generic;
using System.Threading;

namespace TransferTools.Abstractions
{
    /// <summary>The keys of the context values every operation may carry.</summary>
    public static class ContextKeys
    {
        /// <summary>The transfer an operation belongs to.</summary>
        public const string TransferId = "TransferId";
        /// <summary>The authenticated user on whose behalf the operation runs.</summary>
        public const string UserId = "UserId";
        /// <summary>One id per cmdlet call, shared by every plugin call and event it causes.</summary>
        public const string RequestId = "RequestId";
    }

    /// <summary>How important a log line is.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum LogLevel
    {
        /// <summary>Detail for debugging (PowerShell's debug stream).</summary>
        Debug,
        /// <summary>What is happening (verbose stream).</summary>
        Verbose,
        /// <summary>Something the user should know (warning stream).</summary>
        Warning,
    }

    /// <summary>Where plugins write log lines; the engine forwards them to the calling cmdlet's streams.</summary>
    /// <remarks>Never pass a secret to a logger.</remarks>
    public interface IPluginLogger
    {
        /// <summary>Writes one line.</summary>
        void Log(LogLevel level, string message);
    }

    /// <summary>A logger that drops everything.</summary>
    public sealed class NullPluginLogger : IPluginLogger
    {
        /// <summary>The shared instance.</summary>
        public static readonly NullPluginLogger Instance = new NullPluginLogger();
        /// <inheritdoc/>
        public void Log(LogLevel level, string message) { }
    }

    /// <summary>
    /// What every plugin call receives: cancellation, context values (request, user, transfer), a logger,
    /// and the host's services. One is made per cmdlet call; <see cref="WithTransfer"/> derives one per transfer.
    /// </summary>
    public sealed class OperationContext
    {
        private readonly Dictionary<string, object?> _values;

        /// <summary>Creates a context.</summary>
        public OperationContext(
            CancellationToken cancellationToken = default,
            IPluginLogger? logger = null,
            IPluginHost? host = null,
            IDictionary<string, object?>? values = null)
        {
            CancellationToken = cancellationToken;
            Logger = logger ?? NullPluginLogger.Instance;
            Host = host;
            _values = values is null
                ? new Dictionary<string, object?>(StringComparer.Ordinal)
                : new Dictionary<string, object?>(values, StringComparer.Ordinal);
            if (!_values.ContainsKey(ContextKeys.RequestId))
            {
                _values[ContextKeys.RequestId] = Guid.NewGuid().ToString("n");
            }
        }

        /// <summary>A copy sharing <paramref name="values"/>: a context never changes its values after construction (WithValue copies).</summary>
        private OperationContext(CancellationToken cancellationToken, IPluginLogger logger, IPluginHost? host, Dictionary<string, object?> values, string? accessToken,
            IProgressSink? progress, DateTimeOffset? eventTimestamp)
        {
            CancellationToken = cancellationToken;
            Logger = logger;
            Host = host;
            _values = values;
            AccessToken = accessToken;
            Progress = progress;
            EventTimestamp = eventTimestamp;
        }

        /// <summary>A context with no cancellation, no logger and no host (tests, simple tools).</summary>
        public static OperationContext None => new OperationContext();

        /// <summary>Cancelled when the user presses Ctrl+C or the operation is stopped.</summary>
        public CancellationToken CancellationToken { get; }
        /// <summary>Where to write log lines.</summary>
        public IPluginLogger Logger { get; }
        /// <summary>The engine's services, or null outside a host.</summary>
        public IPluginHost? Host { get; }
        /// <summary>Where the calling cmdlet shows progress bars, or null when it shows none (<c>-Asynchronous</c>,
        /// <c>$ProgressPreference</c>): the progress monitor reports there.</summary>
        public IProgressSink? Progress { get; private set; }

        /// <summary>Context value <c>TransferId</c>, or null.</summary>
        public string? TransferId => GetValue(ContextKeys.TransferId) as string;
        /// <summary>Context value <c>UserId</c>, or null when nobody is authenticated.</summary>
        public string? UserId => GetValue(ContextKeys.UserId) as string;
        /// <summary>Context value <c>RequestId</c> (always set).</summary>
        public string RequestId => (GetValue(ContextKeys.RequestId) as string) ?? "";

        /// <summary>
        /// The session's access token, for plugins that pass it on (an HTTP bearer token).
        /// Never logged, never in <see cref="ToString"/>.
        /// </summary>
        public string? AccessToken { get; private set; }

        /// <summary>
        /// On the context of an <see cref="IMonitorPlugin"/> call: when the event it reports happened (UTC). The engine
        /// delivers events from a queue, a little after they happen, so a monitor stamps them with this, not the clock.
        /// Null on other contexts.
        /// </summary>
        public DateTimeOffset? EventTimestamp { get; private set; }

        /// <summary>All values, including custom ones.</summary>
        public IReadOnlyDictionary<string, object?> Values => _values;

        /// <summary>One value, or null.</summary>
        public object? GetValue(string key) => _values.TryGetValue(key, out var v) ? v : null;

        /// <summary>A copy with <paramref name="key"/> set.</summary>
        public OperationContext WithValue(string key, object? value)
        {
            var copy = new OperationContext(CancellationToken, Logger, Host, _values) { AccessToken = AccessToken, Progress = Progress, EventTimestamp = EventTimestamp };
            copy._values[key] = value;
            return copy;
        }

        /// <summary>A copy whose progress goes to <paramref name="progress"/> (null for none), with the same values.</summary>
        public OperationContext WithProgress(IProgressSink? progress) =>
            new OperationContext(CancellationToken, Logger, Host, _values, AccessToken, progress, EventTimestamp);

        /// <summary>A copy that reports an event which happened at <paramref name="timestamp"/> (see <see cref="EventTimestamp"/>).</summary>
        public OperationContext WithEventTimestamp(DateTimeOffset timestamp) =>
            new OperationContext(CancellationToken, Logger, Host, _values, AccessToken, Progress, timestamp.ToUniversalTime());

        /// <summary>A copy for one transfer.</summary>
        public OperationContext WithTransfer(string transferId) => WithValue(ContextKeys.TransferId, transferId);

        /// <summary>A copy whose log lines go to <paramref name="logger"/> (same values, token and progress): work whose
        /// lines must be held and shown later, in order.</summary>
        public OperationContext WithLogger(IPluginLogger logger) =>
            new OperationContext(CancellationToken, logger ?? NullPluginLogger.Instance, Host, _values, AccessToken, Progress, EventTimestamp);

        /// <summary>A copy with another cancellation token (same values).</summary>
        public OperationContext WithCancellation(CancellationToken token) =>
            // The values are shared, not copied: a transfer derives several such contexts, and nothing changes them.
            new OperationContext(token, Logger, Host, _values, AccessToken, Progress, EventTimestamp);

        /// <summary>A copy carrying the user and the access token of an authenticated session.</summary>
        public OperationContext WithIdentity(string? userId, string? accessToken)
        {
            var copy = WithValue(ContextKeys.UserId, userId);
            copy.AccessToken = accessToken;
            return copy;
        }

        /// <summary>The context values, without the token.</summary>
        public override string ToString() =>
            $"RequestId={RequestId} UserId={UserId ?? "-"} TransferId={TransferId ?? "-"}";
    }
}
