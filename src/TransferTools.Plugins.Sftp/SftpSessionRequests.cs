using System;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// The path and handle requests of an upload (open, lstat, setstat, rename, posix-rename, mkdir, remove), sent on SSH.NET's
    /// session with callbacks of their own and watched by <see cref="SftpSessionWatch"/> instead of SSH.NET's per-request
    /// waits. Each request is the one SSH.NET would send, and fails with the exception SSH.NET would throw.
    /// </summary>
    /// <remarks>
    /// The members are internal to SSH.NET and bound once by reflection; when any is missing (another SSH.NET),
    /// <see cref="Instance"/> is null and callers use SSH.NET's own requests: slower, never wrong.
    /// </remarks>
    internal sealed class SftpSessionRequests
    {
        private const int StatusOk = 0;
        private const int StatusNoSuchFile = 2;
        private const string PosixRenameExtension = "posix-rename@openssh.com";

        private static readonly Lazy<SftpSessionRequests?> Lazy = new Lazy<SftpSessionRequests?>(TryBind);

        private readonly SftpSessionWatch.Signals _signals;
        private readonly Action<object, string, int, Delegate, Delegate> _open;
        private readonly Action<object, string, Delegate, Delegate> _lstat;
        private readonly Action<object, string, SftpFileAttributes, Delegate> _setStat;
        private readonly Action<object, string, string, Delegate> _rename;
        private readonly Action<object, string, string, Delegate> _posixRename;
        private readonly Func<object, bool> _offersPosixRename;
        private readonly Action<object, string, Delegate> _mkDir;
        private readonly Action<object, string, Delegate> _remove;
        private readonly Func<object, int> _statusOf;
        private readonly Func<object, string?, Exception?> _errorOf;
        private readonly Func<object, byte[]> _handleOf;
        private readonly Func<object, SftpFileAttributes> _attributesOf;
        private readonly Type _statusCallback;
        private readonly Type _handleCallback;
        private readonly Type _attributesCallback;

        private SftpSessionRequests(SftpSessionWatch.Signals signals, Action<object, string, int, Delegate, Delegate> open,
            Action<object, string, Delegate, Delegate> lstat, Action<object, string, SftpFileAttributes, Delegate> setStat,
            Action<object, string, string, Delegate> rename, Action<object, string, string, Delegate> posixRename, Func<object, bool> offersPosixRename,
            Action<object, string, Delegate> mkDir, Action<object, string, Delegate> remove, Func<object, int> statusOf, Func<object, string?, Exception?> errorOf,
            Func<object, byte[]> handleOf, Func<object, SftpFileAttributes> attributesOf, Type statusCallback, Type handleCallback, Type attributesCallback)
        {
            _signals = signals;
            _open = open;
            _lstat = lstat;
            _setStat = setStat;
            _rename = rename;
            _posixRename = posixRename;
            _offersPosixRename = offersPosixRename;
            _mkDir = mkDir;
            _remove = remove;
            _statusOf = statusOf;
            _errorOf = errorOf;
            _handleOf = handleOf;
            _attributesOf = attributesOf;
            _statusCallback = statusCallback;
            _handleCallback = handleCallback;
            _attributesCallback = attributesCallback;
        }

        /// <summary>The bound requests, or null when this SSH.NET lacks their members.</summary>
        public static SftpSessionRequests? Instance => Lazy.Value;

        /// <summary>How many of these requests on <paramref name="session"/> wait for an answer.</summary>
        public int InFlight(object session) => SftpSessionWatch.Of(session, _signals).InFlight;

        /// <summary>Opens <paramref name="path"/> with SFTP open flags; the handle.</summary>
        public Task<byte[]> OpenAsync(object session, string path, int flags, CancellationToken cancellationToken)
        {
            var answer = new Answer<byte[]>(this, path, Outcome.Value);
            return Send(session, answer, cancellationToken, () => _open(session, path, flags, answer.ValueCallback(_handleCallback), answer.StatusCallback()));
        }

        /// <summary>What is at <paramref name="path"/> (a link itself); null when nothing is and <paramref name="nullWhenMissing"/>.</summary>
        /// <exception cref="SftpPathNotFoundException">Nothing is there (unless <paramref name="nullWhenMissing"/>).</exception>
        public Task<SftpFileAttributes?> LStatAsync(object session, string path, bool nullWhenMissing, CancellationToken cancellationToken)
        {
            var answer = new Answer<SftpFileAttributes?>(this, path, nullWhenMissing ? Outcome.ValueOrNullWhenMissing : Outcome.Value);
            return Send(session, answer, cancellationToken, () => _lstat(session, path, answer.ValueCallback(_attributesCallback), answer.StatusCallback()));
        }

        /// <summary>setstat of <paramref name="path"/>.</summary>
        public Task SetStatAsync(object session, string path, SftpFileAttributes attributes, CancellationToken cancellationToken)
        {
            var answer = new Answer<bool>(this, path, Outcome.Status);
            return Send(session, answer, cancellationToken, () => _setStat(session, path, attributes, answer.StatusCallback()));
        }

        /// <summary>A plain SFTP rename (never replaces an existing file).</summary>
        public Task RenameAsync(object session, string from, string to, CancellationToken cancellationToken)
        {
            var answer = new Answer<bool>(this, null, Outcome.Status);
            return Send(session, answer, cancellationToken, () => _rename(session, from, to, answer.StatusCallback()));
        }

        /// <summary>posix-rename@openssh.com, which replaces an existing file in one step.</summary>
        /// <exception cref="NotSupportedException">The server does not offer it.</exception>
        public Task PosixRenameAsync(object session, string from, string to, CancellationToken cancellationToken)
        {
            if (!_offersPosixRename(session))
            {
                return Task.FromException(new NotSupportedException($"Extension method {PosixRenameExtension} currently not supported by the server."));
            }

            var answer = new Answer<bool>(this, null, Outcome.Status);
            return Send(session, answer, cancellationToken, () => _posixRename(session, from, to, answer.StatusCallback()));
        }

        /// <summary>Creates one folder.</summary>
        public Task MkDirAsync(object session, string path, CancellationToken cancellationToken)
        {
            var answer = new Answer<bool>(this, null, Outcome.Status);
            return Send(session, answer, cancellationToken, () => _mkDir(session, path, answer.StatusCallback()));
        }

        /// <summary>Removes one file.</summary>
        public Task RemoveAsync(object session, string path, CancellationToken cancellationToken)
        {
            var answer = new Answer<bool>(this, path, Outcome.Status);
            return Send(session, answer, cancellationToken, () => _remove(session, path, answer.StatusCallback()));
        }

        private Task<T> Send<T>(object session, Answer<T> answer, CancellationToken cancellationToken, Action send)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return Task.FromCanceled<T>(cancellationToken);
            }

            if (!SftpSessionWatch.Of(session, _signals).Enter(answer, cancellationToken))
            {
                return answer.Task;
            }

            try
            {
                send();
            }
            catch (Exception e)
            {
                // Not sent (the session is closed or the connection lost): as SSH.NET's own request would throw.
                answer.Refused(e);
            }

            return answer.Task;
        }

        internal enum Outcome
        {
            /// <summary>A status answer ends it: OK succeeds, anything else fails.</summary>
            Status,

            /// <summary>A value answer (handle, attributes) succeeds; a status answer fails.</summary>
            Value,

            /// <summary>As <see cref="Value"/>, and "no such file" answers null.</summary>
            ValueOrNullWhenMissing,
        }

        /// <summary>The callbacks of one request (public so that the delegates bind without visibility checks).</summary>
        public sealed class Answer<T> : SftpSessionWatch.Pending
        {
            private static readonly MethodInfo OnValueMethod = typeof(Answer<T>).GetMethod(nameof(OnValue))!;
            private static readonly MethodInfo OnStatusMethod = typeof(Answer<T>).GetMethod(nameof(OnStatus))!;

            private readonly TaskCompletionSource<T> _result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            private readonly SftpSessionRequests _owner;
            private readonly string? _path;
            private readonly Outcome _outcome;

            internal Answer(SftpSessionRequests owner, string? path, Outcome outcome)
            {
                _owner = owner;
                _path = path;
                _outcome = outcome;
            }

            internal Task<T> Task => _result.Task;

            // The MethodInfo overload: only it binds a method taking object to a delegate of a derived parameter type.
            internal Delegate ValueCallback(Type callbackType) => Delegate.CreateDelegate(callbackType, this, OnValueMethod);

            internal Delegate StatusCallback() => Delegate.CreateDelegate(_owner._statusCallback, this, OnStatusMethod);

            /// <summary>The value answer (a handle or attributes), on SSH.NET's receive thread.</summary>
            public void OnValue(object response)
            {
                if (TryEnd())
                {
                    object value = typeof(T) == typeof(byte[]) ? _owner._handleOf(response) : _owner._attributesOf(response);
                    _result.TrySetResult((T)value);
                }
            }

            /// <summary>The status answer, on SSH.NET's receive thread.</summary>
            public void OnStatus(object response)
            {
                if (!TryEnd())
                {
                    return;
                }

                var status = _owner._statusOf(response);
                if (status == StatusOk && _outcome == Outcome.Status)
                {
                    _result.TrySetResult(default!);
                }
                else if (status == StatusNoSuchFile && _outcome == Outcome.ValueOrNullWhenMissing)
                {
                    _result.TrySetResult(default!);
                }
                else
                {
                    _result.TrySetException(_owner._errorOf(response, _path) ?? new SshException($"Unexpected SFTP status {status}."));
                }
            }

            internal void Refused(Exception error)
            {
                if (TryEnd())
                {
                    _result.TrySetException(error);
                }
            }

            internal override void Fail(Exception error)
            {
                Cancellation.Dispose();
                _result.TrySetException(error);
            }

            protected override void Canceled() => _result.TrySetCanceled(Token);
        }

        private static SftpSessionRequests? TryBind()
        {
            try
            {
                return Bind();
            }
            catch (Exception)
            {
                return null;
            }
        }

        private static SftpSessionRequests Bind()
        {
            const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            var assembly = typeof(SftpFileAttributes).Assembly;
            Type Need(string name) => assembly.GetType(name, throwOnError: false) ?? throw new MissingMemberException(name);
            T NotNull<T>(T? value, string what) where T : class => value ?? throw new MissingMemberException(what);

            var sessionType = Need("Renci.SshNet.Sftp.SftpSession");
            var requestType = Need("Renci.SshNet.Sftp.Requests.SftpRequest");
            var statusType = Need("Renci.SshNet.Sftp.Responses.SftpStatusResponse");
            var handleType = Need("Renci.SshNet.Sftp.Responses.SftpHandleResponse");
            var attrsType = Need("Renci.SshNet.Sftp.Responses.SftpAttrsResponse");
            var flagsType = Need("Renci.SshNet.Sftp.Flags");
            var statusCallback = typeof(Action<>).MakeGenericType(statusType);
            var handleCallback = typeof(Action<>).MakeGenericType(handleType);
            var attributesCallback = typeof(Action<>).MakeGenericType(attrsType);

            var sendRequest = NotNull(sessionType.GetMethod("SendRequest", Any, null, new[] { requestType }, null), "SftpSession.SendRequest");
            var version = NotNull(sessionType.GetProperty("ProtocolVersion", Any), "SftpSession.ProtocolVersion");
            var nextId = NotNull(sessionType.GetProperty("NextRequestId", Any), "SftpSession.NextRequestId");
            var encoding = NotNull(sessionType.GetField("_encoding", Any), "SftpSession._encoding");
            var extensions = NotNull(sessionType.GetField("_supportedExtensions", Any), "SftpSession._supportedExtensions");
            var errorOf = NotNull(sessionType.GetMethod("GetSftpException", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, null,
                new[] { statusType, typeof(string) }, null), "SftpSession.GetSftpException(response, path)");
            if (version.PropertyType != typeof(uint) || nextId.PropertyType != typeof(uint) || encoding.FieldType != typeof(Encoding)
                || !typeof(System.Collections.Generic.IDictionary<string, string>).IsAssignableFrom(extensions.FieldType)
                || !typeof(Exception).IsAssignableFrom(errorOf.ReturnType) || !flagsType.IsEnum)
            {
                throw new MissingMemberException("SftpSession has changed shape.");
            }

            var session = Expression.Parameter(typeof(object), "session");
            var sftp = Expression.Variable(sessionType, "sftp");

            // new REQUEST(version, id, arguments..., [encoding], callbacks...) sent on the session, as SSH.NET's own methods do.
            TDelegate Sender<TDelegate>(string requestName, params Type[] argumentTypes)
            {
                var type = Need("Renci.SshNet.Sftp.Requests." + requestName);
                var invoke = typeof(TDelegate).GetMethod("Invoke")!.GetParameters();
                var parameters = invoke.Select((p, i) => Expression.Parameter(p.ParameterType, "p" + i)).ToArray();
                var ctor = NotNull(type.GetConstructor(Any, null, argumentTypes, null), requestName + "(...)");
                var values = new Expression[argumentTypes.Length];
                int next = 1, callbacks = 0;
                for (var i = 0; i < argumentTypes.Length; i++)
                {
                    var argument = argumentTypes[i];
                    values[i] = i == 0 ? Expression.Property(sftp, version)
                        : i == 1 ? Expression.Property(sftp, nextId)
                        : argument == typeof(Encoding) ? Expression.Field(sftp, encoding)
                        : argument.IsGenericType && argument.GetGenericTypeDefinition() == typeof(Action<>)
                            ? Expression.Convert(parameters[invoke.Length - CallbackCount(argumentTypes) + callbacks++], argument)
                        : Expression.Convert(parameters[next++], argument);
                }

                return Expression.Lambda<TDelegate>(
                    Expression.Block(new[] { sftp },
                        Expression.Assign(sftp, Expression.Convert(parameters[0], sessionType)),
                        Expression.Call(sftp, sendRequest, Expression.New(ctor, values))),
                    parameters).Compile();
            }

            static int CallbackCount(Type[] types) => types.Count(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Action<>));

            var u = typeof(uint);
            var s = typeof(string);
            var e = typeof(Encoding);
            var open = Sender<Action<object, string, int, Delegate, Delegate>>("SftpOpenRequest", u, u, s, e, flagsType, handleCallback, statusCallback);
            var lstat = Sender<Action<object, string, Delegate, Delegate>>("SftpLStatRequest", u, u, s, e, attributesCallback, statusCallback);
            var setStat = Sender<Action<object, string, SftpFileAttributes, Delegate>>("SftpSetStatRequest", u, u, s, e, typeof(SftpFileAttributes), statusCallback);
            var rename = Sender<Action<object, string, string, Delegate>>("SftpRenameRequest", u, u, s, s, e, statusCallback);
            var posixRename = Sender<Action<object, string, string, Delegate>>("PosixRenameRequest", u, u, s, s, e, statusCallback);
            var mkDir = Sender<Action<object, string, Delegate>>("SftpMkDirRequest", u, u, s, e, statusCallback);
            var remove = Sender<Action<object, string, Delegate>>("SftpRemoveRequest", u, u, s, e, statusCallback);

            var offersPosixRename = Expression.Lambda<Func<object, bool>>(
                Expression.Call(Expression.Field(Expression.Convert(session, sessionType), extensions),
                    typeof(System.Collections.Generic.IDictionary<string, string>).GetMethod("ContainsKey")!, Expression.Constant(PosixRenameExtension)),
                session).Compile();

            var r = Expression.Parameter(typeof(object), "response");
            var path = Expression.Parameter(typeof(string), "path");
            var statusCode = NotNull(statusType.GetProperty("StatusCode", Any), "SftpStatusResponse.StatusCode");
            var handle = NotNull(handleType.GetProperty("Handle", Any), "SftpHandleResponse.Handle");
            var attributes = NotNull(attrsType.GetProperty("Attributes", Any), "SftpAttrsResponse.Attributes");
            if (handle.PropertyType != typeof(byte[]) || attributes.PropertyType != typeof(SftpFileAttributes))
            {
                throw new MissingMemberException("SFTP responses have changed shape.");
            }

            return new SftpSessionRequests(
                SftpSessionWatch.Signals.Bind(sessionType.BaseType ?? sessionType),
                open, lstat, setStat, rename, posixRename, offersPosixRename, mkDir, remove,
                Expression.Lambda<Func<object, int>>(Expression.Convert(Expression.Property(Expression.Convert(r, statusType), statusCode), typeof(int)), r).Compile(),
                Expression.Lambda<Func<object, string?, Exception?>>(Expression.Call(errorOf, Expression.Convert(r, statusType), path), r, path).Compile(),
                Expression.Lambda<Func<object, byte[]>>(Expression.Property(Expression.Convert(r, handleType), handle), r).Compile(),
                Expression.Lambda<Func<object, SftpFileAttributes>>(Expression.Property(Expression.Convert(r, attrsType), attributes), r).Compile(),
                statusCallback, handleCallback, attributesCallback);
        }
    }
}
