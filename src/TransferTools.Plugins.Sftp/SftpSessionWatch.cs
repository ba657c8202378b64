using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using Renci.SshNet.Common;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// The requests in flight on one SFTP session that <see cref="SftpSessionRequests"/> sent, and what ends them other
    /// than their answer: the session's failure (an error, the connection lost, the SFTP channel closed), the session's
    /// operation timeout, or the caller's cancellation.
    /// </summary>
    /// <remarks>
    /// SSH.NET's own asynchronous requests wait through three waits registered with the thread pool's wait thread (one
    /// per way the session can fail), a timer and a linked token each: registering and unregistering them woke the wait
    /// thread six times per request, which with thousands of small files cost more CPU than the encryption. One watch per
    /// session instead looks at the same three signals with one timer, and only while requests are in flight.
    /// </remarks>
    internal sealed class SftpSessionWatch
    {
        /// <summary>How often the watch looks at the session's signals and the age of its requests while any is in flight.</summary>
        internal static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

        private static readonly ConditionalWeakTable<object, SftpSessionWatch> Watches = new ConditionalWeakTable<object, SftpSessionWatch>();

        private readonly object _session;
        private readonly Signals _signals;
        private readonly object _gate = new object();
        private readonly HashSet<Pending> _pending = new HashSet<Pending>();
        private readonly Timer _timer;
        private bool _polling;
        private Exception? _failure;

        private SftpSessionWatch(object session, Signals signals)
        {
            _session = session;
            _signals = signals;
            _timer = new Timer(s => ((SftpSessionWatch)s!).Poll(), this, Timeout.Infinite, Timeout.Infinite);
        }

        /// <summary>The watch of <paramref name="session"/> (one per session, made on first use).</summary>
        internal static SftpSessionWatch Of(object session, Signals signals) =>
            Watches.TryGetValue(session, out var watch) ? watch : Watches.GetValue(session, s => new SftpSessionWatch(s, signals));

        /// <summary>Requests in flight (for tests).</summary>
        internal int InFlight
        {
            get
            {
                lock (_gate)
                {
                    return _pending.Count;
                }
            }
        }

        /// <summary>
        /// Starts watching <paramref name="request"/> before it is sent: it fails when the session does, when it has waited
        /// longer than the session's operation timeout, and is canceled with <paramref name="cancellationToken"/>. False
        /// when the session has already failed: the request has failed with it and is not to be sent.
        /// </summary>
        internal bool Enter(Pending request, CancellationToken cancellationToken)
        {
            Exception? failure;
            lock (_gate)
            {
                failure = _failure;
                if (failure is null)
                {
                    request.Watch = this;
                    request.Token = cancellationToken;
                    request.SentAt = Stopwatch.GetTimestamp();
                    _pending.Add(request);
                    if (!_polling)
                    {
                        _polling = true;
                        _timer.Change(PollInterval, PollInterval);
                    }
                }
            }

            if (failure != null)
            {
                request.Fail(failure);
                return false;
            }

            if (cancellationToken.CanBeCanceled)
            {
                request.Cancellation = cancellationToken.Register(s => ((Pending)s!).Cancel(), request);
            }

            return true;
        }

        /// <summary>Stops watching <paramref name="request"/>; true when it was still watched (its end is the first).</summary>
        internal bool Leave(Pending request)
        {
            lock (_gate)
            {
                return _pending.Remove(request);
            }
        }

        private void Poll()
        {
            List<Pending>? ended = null;
            Exception? failure;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    // Nothing in flight: a stopped timer holds nothing, so an idle session's watch can be collected with it.
                    _polling = false;
                    _timer.Change(Timeout.Infinite, Timeout.Infinite);
                    return;
                }

                failure = _failure ??= _signals.FailureOf(_session);
                if (failure != null)
                {
                    ended = new List<Pending>(_pending);
                    _pending.Clear();
                }
                else if (_signals.TimeoutOf(_session) is int timeout && timeout >= 0)
                {
                    var oldest = Stopwatch.GetTimestamp() - (long)(timeout * (double)Stopwatch.Frequency / 1000);
                    foreach (var request in _pending)
                    {
                        if (request.SentAt < oldest)
                        {
                            (ended ??= new List<Pending>()).Add(request);
                        }
                    }

                    if (ended != null)
                    {
                        foreach (var request in ended)
                        {
                            _pending.Remove(request);
                        }
                    }
                }
            }

            if (ended is null)
            {
                return;
            }

            foreach (var request in ended)
            {
                request.Fail(failure ?? new SshOperationTimeoutException("Operation has timed out."));
            }
        }

        /// <summary>One request in flight: ended once, by its answer, a failure or a cancellation.</summary>
        internal abstract class Pending
        {
            internal SftpSessionWatch? Watch;
            internal long SentAt;
            internal CancellationToken Token;
            internal CancellationTokenRegistration Cancellation;

            /// <summary>Ends the request with <paramref name="error"/> (it is no longer watched).</summary>
            internal abstract void Fail(Exception error);

            /// <summary>Ends the request as canceled (it is no longer watched).</summary>
            protected abstract void Canceled();

            /// <summary>Called first by an answer: true when the request was still open, and it is no longer watched.</summary>
            protected bool TryEnd()
            {
                if (Watch is { } watch && !watch.Leave(this))
                {
                    return false;
                }

                Cancellation.Dispose();
                return true;
            }

            internal void Cancel()
            {
                if (TryEnd())
                {
                    Canceled();
                }
            }
        }

        /// <summary>
        /// The members of SSH.NET's <c>SubsystemSession</c> that say whether a session has failed, and its operation timeout,
        /// bound once by reflection.
        /// </summary>
        internal sealed class Signals
        {
            private readonly FieldInfo _error;
            private readonly FieldInfo _disconnected;
            private readonly FieldInfo _channelClosed;
            private readonly FieldInfo _exception;
            private readonly PropertyInfo _timeout;

            private Signals(FieldInfo error, FieldInfo disconnected, FieldInfo channelClosed, FieldInfo exception, PropertyInfo timeout)
            {
                _error = error;
                _disconnected = disconnected;
                _channelClosed = channelClosed;
                _exception = exception;
                _timeout = timeout;
            }

            /// <summary>Binds the members of <paramref name="subsystemSessionType"/>.</summary>
            /// <exception cref="MissingMemberException">This SSH.NET lacks one of them.</exception>
            internal static Signals Bind(Type subsystemSessionType)
            {
                const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
                FieldInfo Handle(string name)
                {
                    var field = subsystemSessionType.GetField(name, Any);
                    return field != null && typeof(WaitHandle).IsAssignableFrom(field.FieldType) ? field : throw new MissingMemberException(subsystemSessionType.Name, name);
                }

                var exception = subsystemSessionType.GetField("_exception", Any);
                var timeout = subsystemSessionType.GetProperty("OperationTimeout", Any);
                if (exception is null || exception.FieldType != typeof(Exception) || timeout is null || timeout.PropertyType != typeof(int))
                {
                    throw new MissingMemberException(subsystemSessionType.Name, "_exception or OperationTimeout");
                }

                return new Signals(Handle("_errorOccurredWaitHandle"), Handle("_sessionDisconnectedWaitHandle"), Handle("_channelClosedWaitHandle"), exception, timeout);
            }

            /// <summary>Why <paramref name="session"/> can answer no more (the messages SSH.NET's own waits give), or null.</summary>
            internal Exception? FailureOf(object session)
            {
                try
                {
                    if (IsSet(_error, session))
                    {
                        return _exception.GetValue(session) as Exception ?? new SshException("The SFTP session failed.");
                    }

                    if (IsSet(_disconnected, session))
                    {
                        return new SshConnectionException("Connection was closed by the server.");
                    }

                    return IsSet(_channelClosed, session) ? new SshException("Channel was closed.") : null;
                }
                catch (ObjectDisposedException)
                {
                    // The client was disposed with requests in flight: nothing will answer them.
                    return new SshConnectionException("The SFTP session was closed.");
                }
            }

            /// <summary>The session's operation timeout in milliseconds (-1: none).</summary>
            internal int? TimeoutOf(object session) => _timeout.GetValue(session) as int?;

            private static bool IsSet(FieldInfo field, object session) =>
                field.GetValue(session) is WaitHandle handle ? handle.WaitOne(0) : throw new ObjectDisposedException(field.Name);
        }
    }
}
