using System;
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
    /// An <c>lstat</c> that answers "nothing there" with null instead of an exception. SSH.NET's own request throws
    /// <see cref="SftpPathNotFoundException"/>, and every new file an upload makes is looked for first (is the name free,
    /// is the folder there): with thousands of small files, throwing and catching that exception was about 13 % of the
    /// process's CPU. This sends SSH.NET's own lstat request on the session with callbacks of its own and waits through
    /// the session's own wait (which fails on a lost connection or the operation timeout), as SSH.NET's
    /// <c>RequestLStatAsync</c> does.
    /// </summary>
    /// <remarks>
    /// The members are internal to SSH.NET and bound once by reflection; when any is missing (another SSH.NET),
    /// <see cref="Instance"/> is null and callers use the throwing request, as before: slower, never wrong.
    /// </remarks>
    internal sealed class SftpQuietStat
    {
        private static readonly Lazy<SftpQuietStat?> Lazy = new Lazy<SftpQuietStat?>(TryBind);
        private static readonly MethodInfo OnAttributesMethod = typeof(Answer).GetMethod(nameof(Answer.OnAttributes))!;
        private static readonly MethodInfo OnStatusMethod = typeof(Answer).GetMethod(nameof(Answer.OnStatus))!;

        private readonly Action<object, string, Delegate, Delegate> _send;
        private readonly Func<object, TaskCompletionSource<SftpFileAttributes?>, CancellationToken, Task<SftpFileAttributes?>> _wait;
        private readonly Func<object, SftpFileAttributes> _attributesOf;
        private readonly Func<object, int> _statusOf;
        private readonly Func<object, string?> _messageOf;
        private readonly Type _attrsCallbackType;
        private readonly Type _statusCallbackType;

        private SftpQuietStat(Action<object, string, Delegate, Delegate> send,
            Func<object, TaskCompletionSource<SftpFileAttributes?>, CancellationToken, Task<SftpFileAttributes?>> wait,
            Func<object, SftpFileAttributes> attributesOf, Func<object, int> statusOf, Func<object, string?> messageOf, Type attrsCallbackType, Type statusCallbackType)
        {
            _send = send;
            _wait = wait;
            _attributesOf = attributesOf;
            _statusOf = statusOf;
            _messageOf = messageOf;
            _attrsCallbackType = attrsCallbackType;
            _statusCallbackType = statusCallbackType;
        }

        /// <summary>The bound request, or null when this SSH.NET lacks its members.</summary>
        public static SftpQuietStat? Instance => Lazy.Value;

        /// <summary>The SFTP status for a missing path (SSH_FX_NO_SUCH_FILE).</summary>
        private const int NoSuchFile = 2;

        /// <summary>What is at <paramref name="path"/> (a link itself, not its target), or null when nothing is there.</summary>
        /// <exception cref="SftpPermissionDeniedException">The server refused to look.</exception>
        /// <exception cref="SshException">Any other refusal, or the connection was lost.</exception>
        public Task<SftpFileAttributes?> LStatAsync(object session, string path, CancellationToken cancellationToken)
        {
            var answer = new Answer(this);
            // The MethodInfo overload: only it binds a method taking object to a delegate of a derived parameter type.
            _send(session, path, Delegate.CreateDelegate(_attrsCallbackType, answer, OnAttributesMethod),
                Delegate.CreateDelegate(_statusCallbackType, answer, OnStatusMethod));
            return _wait(session, answer.Result, cancellationToken);
        }

        /// <summary>The callbacks of one request (public so that the delegates bind without visibility checks).</summary>
        public sealed class Answer
        {
            private readonly SftpQuietStat _owner;

            internal Answer(SftpQuietStat owner) => _owner = owner;

            internal TaskCompletionSource<SftpFileAttributes?> Result { get; } =
                new TaskCompletionSource<SftpFileAttributes?>(TaskCreationOptions.RunContinuationsAsynchronously);

            /// <summary>The attributes answer.</summary>
            public void OnAttributes(object response) => Result.TrySetResult(_owner._attributesOf(response));

            /// <summary>A status answer: "no such file" is the null answer; anything else fails as SSH.NET would.</summary>
            public void OnStatus(object response)
            {
                var status = _owner._statusOf(response);
                if (status == NoSuchFile)
                {
                    Result.TrySetResult(null);
                    return;
                }

                var message = _owner._messageOf(response);
                var text = string.IsNullOrEmpty(message) ? "status " + status : message!;
                Result.TrySetException(status == 3 ? new SftpPermissionDeniedException(text) : new SshException(text));
            }
        }

        private static SftpQuietStat? TryBind()
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

        private static SftpQuietStat Bind()
        {
            const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            var assembly = typeof(SftpFileAttributes).Assembly;
            Type Need(string name) => assembly.GetType(name, throwOnError: false) ?? throw new MissingMemberException(name);
            T NotNull<T>(T? value, string what) where T : class => value ?? throw new MissingMemberException(what);

            var sessionType = Need("Renci.SshNet.Sftp.SftpSession");
            var requestType = Need("Renci.SshNet.Sftp.Requests.SftpRequest");
            var lstatType = Need("Renci.SshNet.Sftp.Requests.SftpLStatRequest");
            var attrsType = Need("Renci.SshNet.Sftp.Responses.SftpAttrsResponse");
            var statusType = Need("Renci.SshNet.Sftp.Responses.SftpStatusResponse");
            var attrsCallbackType = typeof(Action<>).MakeGenericType(attrsType);
            var statusCallbackType = typeof(Action<>).MakeGenericType(statusType);

            var ctor = NotNull(lstatType.GetConstructor(Any, null,
                new[] { typeof(uint), typeof(uint), typeof(string), typeof(Encoding), attrsCallbackType, statusCallbackType }, null), "SftpLStatRequest(...)");
            var sendRequest = NotNull(sessionType.GetMethod("SendRequest", Any, null, new[] { requestType }, null), "SftpSession.SendRequest");
            var version = NotNull(sessionType.GetProperty("ProtocolVersion", Any), "SftpSession.ProtocolVersion");
            var nextId = NotNull(sessionType.GetProperty("NextRequestId", Any), "SftpSession.NextRequestId");
            var encoding = NotNull(sessionType.GetField("_encoding", Any), "SftpSession._encoding");
            var timeout = NotNull(sessionType.GetProperty("OperationTimeout", Any), "SftpSession.OperationTimeout");
            var attributes = NotNull(attrsType.GetProperty("Attributes", Any), "SftpAttrsResponse.Attributes");
            var statusCode = NotNull(statusType.GetProperty("StatusCode", Any), "SftpStatusResponse.StatusCode");
            var errorMessage = NotNull(statusType.GetProperty("ErrorMessage", Any), "SftpStatusResponse.ErrorMessage");
            var waitGeneric = NotNull(Array.Find(sessionType.GetMethods(Any), m => m.Name == "WaitOnHandleAsync" && m.IsGenericMethodDefinition
                && m.GetParameters().Length == 3), "SftpSession.WaitOnHandleAsync<T>(tcs, timeout, token)");
            var wait = waitGeneric.MakeGenericMethod(typeof(SftpFileAttributes));
            if (version.PropertyType != typeof(uint) || nextId.PropertyType != typeof(uint) || encoding.FieldType != typeof(Encoding)
                || timeout.PropertyType != typeof(int) || attributes.PropertyType != typeof(SftpFileAttributes)
                || wait.ReturnType != typeof(Task<SftpFileAttributes>) || wait.GetParameters()[0].ParameterType != typeof(TaskCompletionSource<SftpFileAttributes>)
                || wait.GetParameters()[1].ParameterType != typeof(int) || wait.GetParameters()[2].ParameterType != typeof(CancellationToken))
            {
                throw new MissingMemberException("SftpSession has changed shape.");
            }

            var s = Expression.Parameter(typeof(object), "session");
            var path = Expression.Parameter(typeof(string), "path");
            var onAttrs = Expression.Parameter(typeof(Delegate), "onAttributes");
            var onStatus = Expression.Parameter(typeof(Delegate), "onStatus");
            var sftp = Expression.Variable(sessionType, "sftp");
            var send = Expression.Lambda<Action<object, string, Delegate, Delegate>>(
                Expression.Block(new[] { sftp },
                    Expression.Assign(sftp, Expression.Convert(s, sessionType)),
                    Expression.Call(sftp, sendRequest, Expression.New(ctor, Expression.Property(sftp, version), Expression.Property(sftp, nextId), path,
                        Expression.Field(sftp, encoding), Expression.Convert(onAttrs, attrsCallbackType), Expression.Convert(onStatus, statusCallbackType)))),
                s, path, onAttrs, onStatus).Compile();

            var tcs = Expression.Parameter(typeof(TaskCompletionSource<SftpFileAttributes?>), "result");
            var token = Expression.Parameter(typeof(CancellationToken), "cancellationToken");
            var typed = Expression.Convert(s, sessionType);
            var waitCall = Expression.Lambda<Func<object, TaskCompletionSource<SftpFileAttributes?>, CancellationToken, Task<SftpFileAttributes?>>>(
                Expression.Call(typed, wait, tcs, Expression.Property(typed, timeout), token), s, tcs, token).Compile();

            var r = Expression.Parameter(typeof(object), "response");
            var attributesOf = Expression.Lambda<Func<object, SftpFileAttributes>>(Expression.Property(Expression.Convert(r, attrsType), attributes), r).Compile();
            var statusOf = Expression.Lambda<Func<object, int>>(
                Expression.Convert(Expression.Property(Expression.Convert(r, statusType), statusCode), typeof(int)), r).Compile();
            var messageOf = Expression.Lambda<Func<object, string?>>(Expression.Property(Expression.Convert(r, statusType), errorMessage), r).Compile();
            return new SftpQuietStat(send, waitCall, attributesOf, statusOf, messageOf, attrsCallbackType, statusCallbackType);
        }
    }
}
