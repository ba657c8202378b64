using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// Fire-and-callback SFTP read and write requests on SSH.NET's session: the mechanism its own <c>UploadFile</c> uses,
    /// which SSH.NET does not expose for a caller's own handle and offset. Every public write path of SSH.NET waits for each
    /// request's answer through three registered waits and two timers (about 100 µs of CPU per 32 KiB request, more than
    /// the encryption); this sends a request and gets a callback on SSH.NET's receive thread when the server answers, so
    /// dozens of requests stay in flight at almost no cost, as OpenSSH's sftp does.
    /// </summary>
    /// <remarks>
    /// The members are internal to SSH.NET, so they are bound once by reflection against the exact SSH.NET version the
    /// plugin ships with. When any is missing (a different SSH.NET), <see cref="Instance"/> is null and transfers use
    /// SSH.NET's public streams (<see cref="SftpParallelWriteStream"/>, <see cref="SftpStream"/>) instead: slower, never wrong.
    /// </remarks>
    internal sealed class SshNetRequests : ISftpReadRequests
    {
        private static readonly Lazy<SshNetRequests?> Lazy = new Lazy<SshNetRequests?>(TryBind);

        private readonly Func<SftpClient, object?> _session;
        private readonly Func<byte[], int, object> _newBuffer;
        private readonly Func<object, byte[], uint> _maxWriteLength;
        private readonly Action<object, ulong, int> _setRequest;
        private readonly Func<object, ArraySegment<byte>> _data;
        private readonly Action<object, object, Delegate> _send;
        private readonly Func<object, int> _statusCode;
        private readonly Func<object, string?> _errorMessage;
        private readonly Type _callbackType;
        private readonly MethodInfo _onResponse;
        private readonly Func<object, uint, uint> _maxReadLength;
        private readonly Action<object, byte[], ulong, uint, Delegate, Delegate> _sendRead;
        private readonly Func<object, ArraySegment<byte>> _responseData;
        private readonly Type _dataCallbackType;
        private readonly LimitsBinding? _limits;
        private readonly ConditionalWeakTable<object, Task<SftpServerLimits?>> _limitsBySession = new ConditionalWeakTable<object, Task<SftpServerLimits?>>();

        /// <summary>
        /// The session's own path requests, which SSH.NET's <see cref="SftpClient"/> precedes with one or two
        /// <c>realpath</c> round trips each (to canonicalize the path): sent as they are, a path operation costs one round
        /// trip. Paths are sent as the user wrote them; the server resolves a relative one against the session's
        /// starting folder, as SSH.NET would.
        /// </summary>
        internal sealed class PathBinding
        {
            public Func<object, string, CancellationToken, Task<Renci.SshNet.Sftp.SftpFileAttributes>> LStat = null!;
            public Func<object, string, CancellationToken, Task> MkDir = null!;
            public Func<object, string, CancellationToken, Task> Remove = null!;
            public Func<object, string, string, CancellationToken, Task> Rename = null!;

            /// <summary>posix-rename@openssh.com; fails with <see cref="NotSupportedException"/> where the server lacks it.</summary>
            public Func<object, string, string, CancellationToken, Task> PosixRename = null!;

            /// <summary>setstat, or null when this SSH.NET lacks it.</summary>
            public Func<object, string, Renci.SshNet.Sftp.SftpFileAttributes, CancellationToken, Task>? SetStat;

            /// <summary>lstat answering null for a missing path, or null when this SSH.NET lacks the members to send it.</summary>
            public Func<object, string, CancellationToken, Task<Renci.SshNet.Sftp.SftpFileAttributes?>>? LStatOrNull;

            /// <summary>Opens a file with SFTP open flags (<see cref="OpenForReading"/>, <see cref="OpenForWriting"/>):
            /// one round trip, where SSH.NET's <c>SftpFileStream</c> adds an <c>fstat</c>.</summary>
            public Func<object, string, int, CancellationToken, Task<byte[]>> Open = null!;

            /// <summary>Closes a handle, waiting for the answer.</summary>
            public Action<object, byte[]> Close = null!;

            /// <summary>opendir, readdir and close of a folder listing without SSH.NET's <c>realpath</c> first (one round trip
            /// less per folder, and no <c>SftpFile</c> per entry), or null when this SSH.NET lacks them.</summary>
            public DirectoryBinding? Directories;
        }

        /// <summary>The folder requests of <c>ISftpSession</c>.</summary>
        internal sealed class DirectoryBinding
        {
            public Func<object, string, CancellationToken, Task<byte[]>> OpenDir = null!;
            /// <summary>The next entries of an open folder; null at its end.</summary>
            public Func<object, byte[], CancellationToken, Task<KeyValuePair<string, Renci.SshNet.Sftp.SftpFileAttributes>[]?>> ReadDir = null!;
            public Func<object, byte[], CancellationToken, Task> CloseAsync = null!;
        }

        /// <summary>SSH_FXF_READ.</summary>
        public const int OpenForReading = 0x01;

        /// <summary>SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, as SSH.NET opens for <see cref="FileMode.Create"/>.</summary>
        public const int OpenForWriting = 0x02 | 0x08 | 0x10;

        /// <summary>The session's path requests without SSH.NET's <c>realpath</c> first, or null when this SSH.NET
        /// lacks them (<see cref="SftpClient"/>'s own methods are used then).</summary>
        public PathBinding? Paths { get; }

        /// <summary>The members behind <see cref="LimitsAsync"/>; null when this SSH.NET lacks them (requests then stay
        /// within one channel packet, as before).</summary>
        internal sealed class LimitsBinding
        {
            public Func<object, bool> Offered = null!;
            public Action<object, Delegate, Delegate> Send = null!;
            public Func<object, Stream> ReplyData = null!;
            public Type ReplyCallbackType = null!;
            public Type StatusCallbackType = null!;
        }

        private SshNetRequests(Func<SftpClient, object?> session, Func<byte[], int, object> newBuffer, Func<object, byte[], uint> maxWriteLength,
            Action<object, ulong, int> setRequest, Func<object, ArraySegment<byte>> data, Action<object, object, Delegate> send,
            Func<object, int> statusCode, Func<object, string?> errorMessage, Type callbackType,
            Func<object, uint, uint> maxReadLength, Action<object, byte[], ulong, uint, Delegate, Delegate> sendRead,
            Func<object, ArraySegment<byte>> responseData, Type dataCallbackType, LimitsBinding? limits, PathBinding? paths)
        {
            _limits = limits;
            Paths = paths;
            _maxReadLength = maxReadLength;
            _sendRead = sendRead;
            _responseData = responseData;
            _dataCallbackType = dataCallbackType;
            _session = session;
            _newBuffer = newBuffer;
            _maxWriteLength = maxWriteLength;
            _setRequest = setRequest;
            _data = data;
            _send = send;
            _statusCode = statusCode;
            _errorMessage = errorMessage;
            _callbackType = callbackType;
            _onResponse = typeof(Slot).GetMethod(nameof(Slot.OnResponse), BindingFlags.Instance | BindingFlags.Public)!;
        }

        /// <summary>The bound members, or null when this SSH.NET lacks them.</summary>
        public static SshNetRequests? Instance => Lazy.Value;

        /// <summary>Why binding failed (for the verbose log), or null.</summary>
        public static string? BindFailure { get; private set; }

        /// <summary>The SFTP status code for success.</summary>
        public const int StatusOk = 0;

        /// <summary>The SFTP status code for end of file.</summary>
        public const int StatusEof = 1;

        /// <summary>
        /// Bytes per read request: <paramref name="bufferSize"/> (at least 32 KiB), within what the server said it
        /// accepts (<paramref name="limits"/>), or within one SSH channel packet when it said nothing (SSH.NET's own
        /// choice: every SFTP server takes that much).
        /// </summary>
        /// <remarks>A server that states no limits gets 32 KiB reads, what OpenSSH's sftp asks of it: servers on Go's SFTP
        /// library (rclone, SFTPGo) answer no more whatever is asked, and a larger request then costs a second one.</remarks>
        public int ReadRequestSize(object session, uint bufferSize, SftpServerLimits? limits) =>
            RequestSize(limits is null ? Math.Min(bufferSize, MinRequestSize) : bufferSize, limits?.MaxReadLength, wanted => _maxReadLength(session, wanted));

        /// <summary>The smallest request size chosen (unless the server states less), and the smallest buffer a small file gets.</summary>
        public const int MinRequestSize = 32 * 1024;

        private static int RequestSize(uint bufferSize, long? stated, Func<uint, uint> withinOnePacket)
        {
            var wanted = Math.Max(bufferSize, MinRequestSize);
            return stated is long max ? (int)Math.Max(1, Math.Min(wanted, max)) : (int)Math.Max(512, withinOnePacket(wanted));
        }

        /// <summary>The data and status callbacks of a read request, bound to <paramref name="target"/>'s
        /// <c>OnData(object)</c> and <c>OnStatus(object)</c>.</summary>
        public (Delegate Data, Delegate Status) ReadCallbacks(object target)
        {
            var type = target.GetType();
            return (Delegate.CreateDelegate(_dataCallbackType, target, type.GetMethod("OnData", new[] { typeof(object) })!),
                Delegate.CreateDelegate(_callbackType, target, type.GetMethod("OnStatus", new[] { typeof(object) })!));
        }

        /// <summary>Sends a read request; exactly one of the callbacks runs on SSH.NET's receive thread with the answer.</summary>
        public void SendRead(object session, byte[] handle, long offset, int length, Delegate data, Delegate status) =>
            _sendRead(session, handle, (ulong)offset, (uint)length, data, status);

        /// <summary>The bytes of a data answer (valid only during the callback).</summary>
        public ArraySegment<byte> DataOf(object response) => _responseData(response);

        /// <summary>The status code of a status answer.</summary>
        public int StatusOf(object response) => _statusCode(response);

        /// <summary>The message of a status answer.</summary>
        public string? MessageOf(object response) => _errorMessage(response);

        /// <summary>One reusable write request: its buffer (handle, offset, data) and its answer callback.</summary>
        public sealed class Slot
        {
            internal object Buffer = null!;
            internal Delegate Callback = null!;
            internal SshNetRequests Owner = null!;

            /// <summary>The most bytes this slot's request carries.</summary>
            public int Capacity;

            /// <summary>Where the request writes, and how many bytes.</summary>
            public long Offset;
            public int Length;

            /// <summary>When the request was sent (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
            public long SentAt;

            /// <summary>Called on SSH.NET's receive thread with the server's status answer.</summary>
            public Action<Slot, int, string?> Completed = null!;

            /// <summary>The bytes to send (fill <see cref="Length"/> of them, then <see cref="SshNetRequests.Send"/>).</summary>
            public ArraySegment<byte> Data => Owner._data(Buffer);

            /// <summary>The callback target (public so that the delegate binds without visibility checks).</summary>
            public void OnResponse(object response) => Completed(this, Owner._statusCode(response), Owner._errorMessage(response));
        }

        /// <summary>The SFTP session of a connected client (null when it has none).</summary>
        public object? SessionOf(SftpClient client) => _session(client);

        /// <summary>Bytes per write request on <paramref name="handle"/>, chosen as <see cref="ReadRequestSize"/> is.</summary>
        public int WriteRequestSize(object session, byte[] handle, uint bufferSize, SftpServerLimits? limits) =>
            RequestSize(bufferSize, limits?.MaxWriteLength, wanted => Math.Min(wanted, _maxWriteLength(session, handle)));

        /// <summary>
        /// What the server accepts per request, asked once per SFTP session through OpenSSH's <c>limits@openssh.com</c>
        /// extension when the server offers it; null when it does not, does not answer within <paramref name="timeout"/>,
        /// or this SSH.NET lacks the members to ask.
        /// </summary>
        /// <remarks>
        /// SSH.NET keeps every request within one SSH channel packet (32 KiB on OpenSSH), while OpenSSH's sftp asks for
        /// the server's limits and moves 255 KiB per request: eight times fewer requests, answers and server-side
        /// writes per gigabyte. SSH.NET itself splits a larger request over several channel packets and joins a larger
        /// answer, so only the size needs the server's word.
        /// </remarks>
        public Task<SftpServerLimits?> LimitsAsync(object session, TimeSpan timeout)
        {
            if (_limits is null)
            {
                return Task.FromResult<SftpServerLimits?>(null);
            }

            // One question per session, shared by every stream on it; a reconnect is a new session and asks again.
            return _limitsBySession.GetValue(session, s => AskLimitsAsync(_limits, s, timeout));
        }

        private static async Task<SftpServerLimits?> AskLimitsAsync(LimitsBinding binding, object session, TimeSpan timeout)
        {
            bool offered;
            try
            {
                offered = binding.Offered(session);
            }
            catch (Exception)
            {
                return null;
            }

            if (!offered)
            {
                return null;
            }

            var answer = new LimitsAnswer(binding);
            try
            {
                // The MethodInfo overload: only it binds a method taking object to a delegate of a derived parameter type.
                binding.Send(session, Delegate.CreateDelegate(binding.ReplyCallbackType, answer, typeof(LimitsAnswer).GetMethod(nameof(LimitsAnswer.OnReply))!),
                    Delegate.CreateDelegate(binding.StatusCallbackType, answer, typeof(LimitsAnswer).GetMethod(nameof(LimitsAnswer.OnStatus))!));
            }
            catch (Exception)
            {
                return null;
            }

            using (var timer = new CancellationTokenSource())
            {
                var done = await Task.WhenAny(answer.Result, Task.Delay(timeout, timer.Token)).ConfigureAwait(false);
                timer.Cancel();
                return done == answer.Result ? answer.Result.Result : null;
            }
        }

        /// <summary>The callbacks of one limits question (public so that the delegates bind without visibility checks).</summary>
        public sealed class LimitsAnswer
        {
            private readonly LimitsBinding _binding;
            private readonly TaskCompletionSource<SftpServerLimits?> _result =
                new TaskCompletionSource<SftpServerLimits?>(TaskCreationOptions.RunContinuationsAsynchronously);

            internal LimitsAnswer(LimitsBinding binding) => _binding = binding;

            internal Task<SftpServerLimits?> Result => _result.Task;

            /// <summary>The extended reply: four uint64, max packet, read and write lengths and open handles.</summary>
            public void OnReply(object response)
            {
                try
                {
                    var stream = _binding.ReplyData(response);
                    var fields = new ulong[4];
                    var bytes = new byte[8];
                    for (var i = 0; i < fields.Length; i++)
                    {
                        if (stream.Read(bytes, 0, 8) != 8)
                        {
                            _result.TrySetResult(null);
                            return;
                        }

                        for (var b = 0; b < 8; b++)
                        {
                            fields[i] = (fields[i] << 8) | bytes[b];
                        }
                    }

                    _result.TrySetResult(SftpServerLimits.From(fields[0], fields[1], fields[2], fields[3]));
                }
                catch (Exception)
                {
                    _result.TrySetResult(null);
                }
            }

            /// <summary>A status answer instead of a reply: the server refused the question.</summary>
            public void OnStatus(object response) => _result.TrySetResult(null);
        }

        /// <summary>A request slot for <paramref name="handle"/> carrying up to <paramref name="capacity"/> bytes.</summary>
        public Slot NewSlot(byte[] handle, int capacity, Action<Slot, int, string?> completed)
        {
            var slot = new Slot { Owner = this, Completed = completed, Capacity = capacity };
            slot.Buffer = _newBuffer(handle, capacity);
            slot.Callback = Delegate.CreateDelegate(_callbackType, slot, _onResponse);
            return slot;
        }

        /// <summary>Sends the slot's request (blocks only while the SSH window or the socket is full). The slot's buffer
        /// is serialized before this returns; it must not be reused before its callback ran.</summary>
        public void Send(object session, Slot slot)
        {
            _setRequest(slot.Buffer, (ulong)slot.Offset, slot.Length);
            _send(session, slot.Buffer, slot.Callback);
        }

        private static SshNetRequests? TryBind()
        {
            try
            {
                return Bind();
            }
            catch (Exception e)
            {
                BindFailure = $"{e.GetType().Name}: {e.Message}";
                return null;
            }
        }

        private static SshNetRequests Bind()
        {
            var assembly = typeof(SftpClient).Assembly;
            const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            Type Need(string name) => assembly.GetType(name, throwOnError: false) ?? throw new MissingMemberException(name);
            T NotNull<T>(T? value, string what) where T : class => value ?? throw new MissingMemberException(what);

            var sessionType = Need("Renci.SshNet.Sftp.ISftpSession");
            var bufferType = Need("Renci.SshNet.Sftp.Requests.SftpWriteRequestBuffer");
            var statusType = Need("Renci.SshNet.Sftp.Responses.SftpStatusResponse");
            var callbackType = typeof(Action<>).MakeGenericType(statusType);

            var sessionField = NotNull(typeof(SftpClient).GetField("_sftpSession", Any), "SftpClient._sftpSession");
            var send = NotNull(sessionType.GetMethod("RequestWrite", new[] { bufferType, callbackType }), "ISftpSession.RequestWrite(buffer, callback)");
            var maxWrite = NotNull(sessionType.GetMethod("CalculateOptimalWriteLength", new[] { typeof(uint), typeof(byte[]) }), "ISftpSession.CalculateOptimalWriteLength");
            var offset = NotNull(bufferType.GetProperty("ServerFileOffset", Any), "SftpWriteRequestBuffer.ServerFileOffset");
            var length = NotNull(bufferType.GetProperty("DataLength", Any), "SftpWriteRequestBuffer.DataLength");
            var data = NotNull(bufferType.GetProperty("Data", Any), "SftpWriteRequestBuffer.Data");
            var statusCode = NotNull(statusType.GetProperty("StatusCode", Any), "SftpStatusResponse.StatusCode");
            var errorMessage = NotNull(statusType.GetProperty("ErrorMessage", Any), "SftpStatusResponse.ErrorMessage");
            if (offset.PropertyType != typeof(ulong) || length.PropertyType != typeof(int) || data.PropertyType != typeof(ArraySegment<byte>))
            {
                throw new MissingMemberException("SftpWriteRequestBuffer has changed shape.");
            }

            var client = Expression.Parameter(typeof(SftpClient), "client");
            var session = Expression.Lambda<Func<SftpClient, object?>>(Expression.Convert(Expression.Field(client, sessionField), typeof(object)), client).Compile();

            var s = Expression.Parameter(typeof(object), "session");
            var b = Expression.Parameter(typeof(object), "buffer");
            var h = Expression.Parameter(typeof(byte[]), "handle");
            var cb = Expression.Parameter(typeof(Delegate), "callback");
            var maxWriteLength = Expression.Lambda<Func<object, byte[], uint>>(
                Expression.Call(Expression.Convert(s, sessionType), maxWrite, Expression.Constant(uint.MaxValue), h), s, h).Compile();
            var sendCall = Expression.Lambda<Action<object, object, Delegate>>(
                Expression.Call(Expression.Convert(s, sessionType), send, Expression.Convert(b, bufferType), Expression.Convert(cb, callbackType)), s, b, cb).Compile();

            var o = Expression.Parameter(typeof(ulong), "offset");
            var n = Expression.Parameter(typeof(int), "length");
            var typed = Expression.Convert(b, bufferType);
            var setRequest = Expression.Lambda<Action<object, ulong, int>>(
                Expression.Block(Expression.Assign(Expression.Property(typed, offset), o), Expression.Assign(Expression.Property(typed, length), n)), b, o, n).Compile();
            var getData = Expression.Lambda<Func<object, ArraySegment<byte>>>(Expression.Property(typed, data), b).Compile();

            var r = Expression.Parameter(typeof(object), "response");
            var status = Expression.Lambda<Func<object, int>>(
                Expression.Convert(Expression.Property(Expression.Convert(r, statusType), statusCode), typeof(int)), r).Compile();
            var message = Expression.Lambda<Func<object, string?>>(
                Expression.Property(Expression.Convert(r, statusType), errorMessage), r).Compile();

            // Reads: new SftpReadRequest(version, id, handle, offset, length, onData, onStatus), sent by the session.
            var sftpSessionType = Need("Renci.SshNet.Sftp.SftpSession");
            var requestType = Need("Renci.SshNet.Sftp.Requests.SftpRequest");
            var readType = Need("Renci.SshNet.Sftp.Requests.SftpReadRequest");
            var dataType = Need("Renci.SshNet.Sftp.Responses.SftpDataResponse");
            var dataCallbackType = typeof(Action<>).MakeGenericType(dataType);
            var readCtor = NotNull(readType.GetConstructor(Any, null,
                new[] { typeof(uint), typeof(uint), typeof(byte[]), typeof(ulong), typeof(uint), dataCallbackType, callbackType }, null), "SftpReadRequest(...)");
            var sendRequest = NotNull(sftpSessionType.GetMethod("SendRequest", Any, null, new[] { requestType }, null), "SftpSession.SendRequest");
            var version = NotNull(sftpSessionType.GetProperty("ProtocolVersion", Any), "SftpSession.ProtocolVersion");
            var nextId = NotNull(sftpSessionType.GetProperty("NextRequestId", Any), "SftpSession.NextRequestId");
            var maxRead = NotNull(sessionType.GetMethod("CalculateOptimalReadLength", new[] { typeof(uint) }), "ISftpSession.CalculateOptimalReadLength");
            var responseData = NotNull(dataType.GetProperty("Data", Any), "SftpDataResponse.Data");
            if (version.PropertyType != typeof(uint) || nextId.PropertyType != typeof(uint) || responseData.PropertyType != typeof(ArraySegment<byte>))
            {
                throw new MissingMemberException("SftpSession has changed shape.");
            }

            var size = Expression.Parameter(typeof(uint), "size");
            var maxReadLength = Expression.Lambda<Func<object, uint, uint>>(
                Expression.Call(Expression.Convert(s, sessionType), maxRead, size), s, size).Compile();
            var ro = Expression.Parameter(typeof(ulong), "offset");
            var rn = Expression.Parameter(typeof(uint), "length");
            var onData = Expression.Parameter(typeof(Delegate), "onData");
            var onStatus = Expression.Parameter(typeof(Delegate), "onStatus");
            var concrete = Expression.Variable(sftpSessionType, "sftp");
            var sendRead = Expression.Lambda<Action<object, byte[], ulong, uint, Delegate, Delegate>>(
                Expression.Block(new[] { concrete },
                    Expression.Assign(concrete, Expression.Convert(s, sftpSessionType)),
                    Expression.Call(concrete, sendRequest, Expression.New(readCtor,
                        Expression.Property(concrete, version), Expression.Property(concrete, nextId), h, ro, rn,
                        Expression.Convert(onData, dataCallbackType), Expression.Convert(onStatus, callbackType)))),
                s, h, ro, rn, onData, onStatus).Compile();
            var dataOf = Expression.Lambda<Func<object, ArraySegment<byte>>>(
                Expression.Property(Expression.Convert(r, dataType), responseData), r).Compile();

            return new SshNetRequests(session, NewBufferFactory(bufferType), maxWriteLength, setRequest, getData, sendCall, status, message, callbackType,
                maxReadLength, sendRead, dataOf, dataCallbackType, BindLimits(assembly, sftpSessionType, sendRequest, version, nextId, callbackType),
                BindPaths(sessionType));
        }

        /// <summary>The session's <c>RequestSetStat</c> (synchronous, as SSH.NET offers it, so run on the thread pool), or
        /// null when it has none.</summary>
        private static Func<object, string, Renci.SshNet.Sftp.SftpFileAttributes, CancellationToken, Task>? BindSetStat(Type sessionType, Expression typed,
            ParameterExpression s, ParameterExpression path)
        {
            var attributesType = typeof(Renci.SshNet.Sftp.SftpFileAttributes);
            var setStat = sessionType.GetMethod("RequestSetStat", new[] { typeof(string), attributesType });
            if (setStat is null)
            {
                return null;
            }

            var attributes = Expression.Parameter(attributesType, "attributes");
            var call = Expression.Lambda<Action<object, string, Renci.SshNet.Sftp.SftpFileAttributes>>(
                Expression.Call(typed, setStat, path, attributes), s, path, attributes).Compile();
            return (session, file, changed, ct) => Task.Run(() => call(session, file, changed), ct);
        }

        /// <summary>The path requests of <c>ISftpSession</c>; optional: null when any is missing.</summary>
        private static PathBinding? BindPaths(Type sessionType)
        {
            var ct = typeof(CancellationToken);
            var lstat = sessionType.GetMethod("RequestLStatAsync", new[] { typeof(string), ct });
            var mkdir = sessionType.GetMethod("RequestMkDirAsync", new[] { typeof(string), ct });
            var remove = sessionType.GetMethod("RequestRemoveAsync", new[] { typeof(string), ct });
            var rename = sessionType.GetMethod("RequestRenameAsync", new[] { typeof(string), typeof(string), ct });
            var posixRename = sessionType.GetMethod("RequestPosixRename", new[] { typeof(string), typeof(string) });
            var flagsType = sessionType.Assembly.GetType("Renci.SshNet.Sftp.Flags", throwOnError: false);
            var open = flagsType is null ? null : sessionType.GetMethod("RequestOpenAsync", new[] { typeof(string), flagsType, ct });
            var close = sessionType.GetMethod("RequestClose", new[] { typeof(byte[]) });
            if (flagsType is null || !flagsType.IsEnum || !HasFlag(flagsType, "Read", OpenForReading) || !HasFlag(flagsType, "Write", 0x02)
                || !HasFlag(flagsType, "CreateNewOrOpen", 0x08) || !HasFlag(flagsType, "Truncate", 0x10)
                || open is null || open.ReturnType != typeof(Task<byte[]>) || close is null
                || lstat is null || lstat.ReturnType != typeof(Task<Renci.SshNet.Sftp.SftpFileAttributes>)
                || mkdir is null || mkdir.ReturnType != typeof(Task) || remove is null || remove.ReturnType != typeof(Task)
                || rename is null || rename.ReturnType != typeof(Task) || posixRename is null)
            {
                return null;
            }

            var s = Expression.Parameter(typeof(object), "session");
            var path = Expression.Parameter(typeof(string), "path");
            var other = Expression.Parameter(typeof(string), "newPath");
            var token = Expression.Parameter(ct, "cancellationToken");
            var flags = Expression.Parameter(typeof(int), "flags");
            var handle = Expression.Parameter(typeof(byte[]), "handle");
            var typed = Expression.Convert(s, sessionType);
            var binding = new PathBinding
            {
                Close = Expression.Lambda<Action<object, byte[]>>(Expression.Call(typed, close, handle), s, handle).Compile(),
                Directories = BindDirectories(sessionType, typed, s, path, handle, token),
            };

            // Where this SSH.NET's members allow, the same requests without its per-request waits (SftpSessionRequests);
            // otherwise SSH.NET's own.
            if (SftpSessionRequests.Instance is { } direct)
            {
                binding.LStat = async (session, file, ct) => (await direct.LStatAsync(session, file, nullWhenMissing: false, ct).ConfigureAwait(false))!;
                binding.LStatOrNull = (session, file, ct) => direct.LStatAsync(session, file, nullWhenMissing: true, ct);
                binding.MkDir = direct.MkDirAsync;
                binding.Remove = direct.RemoveAsync;
                binding.Rename = direct.RenameAsync;
                binding.PosixRename = direct.PosixRenameAsync;
                binding.Open = direct.OpenAsync;
                binding.SetStat = direct.SetStatAsync;
                return binding;
            }

            binding.LStat = Expression.Lambda<Func<object, string, CancellationToken, Task<Renci.SshNet.Sftp.SftpFileAttributes>>>(
                Expression.Call(typed, lstat, path, token), s, path, token).Compile();
            binding.MkDir = Expression.Lambda<Func<object, string, CancellationToken, Task>>(Expression.Call(typed, mkdir, path, token), s, path, token).Compile();
            binding.Remove = Expression.Lambda<Func<object, string, CancellationToken, Task>>(Expression.Call(typed, remove, path, token), s, path, token).Compile();
            binding.Rename = Expression.Lambda<Func<object, string, string, CancellationToken, Task>>(
                Expression.Call(typed, rename, path, other, token), s, path, other, token).Compile();
            // SSH.NET has no asynchronous posix-rename.
            var posixRenameCall = Expression.Lambda<Action<object, string, string>>(Expression.Call(typed, posixRename, path, other), s, path, other).Compile();
            binding.PosixRename = (session, from, to, ct) => Task.Run(() => posixRenameCall(session, from, to), ct);
            binding.Open = Expression.Lambda<Func<object, string, int, CancellationToken, Task<byte[]>>>(
                Expression.Call(typed, open, path, Expression.Convert(flags, flagsType), token), s, path, flags, token).Compile();
            binding.SetStat = BindSetStat(sessionType, typed, s, path);
            return binding;

            static bool HasFlag(Type enumType, string name, int value) =>
                Enum.IsDefined(enumType, name) && Convert.ToInt32(Enum.Parse(enumType, name), System.Globalization.CultureInfo.InvariantCulture) == value;
        }

        /// <summary>opendir, readdir and close of <c>ISftpSession</c>; optional: null when any is missing.</summary>
        private static DirectoryBinding? BindDirectories(Type sessionType, Expression typed, ParameterExpression s, ParameterExpression path,
            ParameterExpression handle, ParameterExpression token)
        {
            var ct = typeof(CancellationToken);
            var openDir = sessionType.GetMethod("RequestOpenDirAsync", new[] { typeof(string), ct });
            var readDir = sessionType.GetMethod("RequestReadDirAsync", new[] { typeof(byte[]), ct });
            var close = sessionType.GetMethod("RequestCloseAsync", new[] { typeof(byte[]), ct });
            if (openDir is null || openDir.ReturnType != typeof(Task<byte[]>) || close is null || close.ReturnType != typeof(Task)
                || readDir is null || readDir.ReturnType != typeof(Task<KeyValuePair<string, Renci.SshNet.Sftp.SftpFileAttributes>[]>))
            {
                return null;
            }

            return new DirectoryBinding
            {
                OpenDir = Expression.Lambda<Func<object, string, CancellationToken, Task<byte[]>>>(Expression.Call(typed, openDir, path, token), s, path, token).Compile(),
                ReadDir = Expression.Lambda<Func<object, byte[], CancellationToken, Task<KeyValuePair<string, Renci.SshNet.Sftp.SftpFileAttributes>[]?>>>(
                    Expression.Call(typed, readDir, handle, token), s, handle, token).Compile(),
                CloseAsync = Expression.Lambda<Func<object, byte[], CancellationToken, Task>>(Expression.Call(typed, close, handle, token), s, handle, token).Compile(),
            };
        }

        /// <summary>
        /// SSH.NET has no request for <c>limits@openssh.com</c>, so the question goes out as SSH.NET's
        /// <c>fstatvfs@openssh.com</c> request renamed, with an empty handle: the four bytes of that empty handle trail the
        /// request, which OpenSSH's server discards (it reads no fields for limits) and any other server either ignores or
        /// answers with a status, which leaves the requests at one channel packet. Optional: null when any member is missing.
        /// </summary>
        private static LimitsBinding? BindLimits(Assembly assembly, Type sftpSessionType, MethodInfo sendRequest, PropertyInfo version, PropertyInfo nextId,
            Type statusCallbackType)
        {
            const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
            var requestType = assembly.GetType("Renci.SshNet.Sftp.Requests.FStatVfsRequest", throwOnError: false);
            var extendedType = assembly.GetType("Renci.SshNet.Sftp.Requests.SftpExtendedRequest", throwOnError: false);
            var replyType = assembly.GetType("Renci.SshNet.Sftp.Responses.SftpExtendedReplyResponse", throwOnError: false);
            var dataType = assembly.GetType("Renci.SshNet.Common.SshData", throwOnError: false);
            if (requestType is null || extendedType is null || replyType is null || dataType is null)
            {
                return null;
            }

            var replyCallbackType = typeof(Action<>).MakeGenericType(replyType);
            var ctor = requestType.GetConstructor(Any, null, new[] { typeof(uint), typeof(uint), typeof(byte[]), replyCallbackType, statusCallbackType }, null);
            var setName = extendedType.GetProperty("Name", Any)?.GetSetMethod(nonPublic: true);
            var dataStream = dataType.GetProperty("DataStream", Any);
            var extensions = sftpSessionType.GetField("_supportedExtensions", Any);
            if (ctor is null || setName is null || dataStream is null || !typeof(Stream).IsAssignableFrom(dataStream.PropertyType)
                || extensions is null || !typeof(IDictionary<string, string>).IsAssignableFrom(extensions.FieldType))
            {
                return null;
            }

            var s = Expression.Parameter(typeof(object), "session");
            var onReply = Expression.Parameter(typeof(Delegate), "onReply");
            var onStatus = Expression.Parameter(typeof(Delegate), "onStatus");
            var sftp = Expression.Variable(sftpSessionType, "sftp");
            var request = Expression.Variable(requestType, "request");
            var send = Expression.Lambda<Action<object, Delegate, Delegate>>(
                Expression.Block(new[] { sftp, request },
                    Expression.Assign(sftp, Expression.Convert(s, sftpSessionType)),
                    Expression.Assign(request, Expression.New(ctor, Expression.Property(sftp, version), Expression.Property(sftp, nextId),
                        Expression.Constant(Array.Empty<byte>()), Expression.Convert(onReply, replyCallbackType), Expression.Convert(onStatus, statusCallbackType))),
                    Expression.Call(request, setName, Expression.Constant(LimitsExtension)),
                    Expression.Call(sftp, sendRequest, request)),
                s, onReply, onStatus).Compile();

            var offered = Expression.Variable(typeof(IDictionary<string, string>), "offered");
            var isOffered = Expression.Lambda<Func<object, bool>>(
                Expression.Block(new[] { offered },
                    Expression.Assign(offered, Expression.Convert(Expression.Field(Expression.Convert(s, sftpSessionType), extensions), typeof(IDictionary<string, string>))),
                    Expression.AndAlso(Expression.NotEqual(offered, Expression.Constant(null, typeof(IDictionary<string, string>))),
                        Expression.Call(offered, typeof(IDictionary<string, string>).GetMethod(nameof(IDictionary<string, string>.ContainsKey))!, Expression.Constant(LimitsExtension)))),
                s).Compile();

            var r = Expression.Parameter(typeof(object), "response");
            var replyData = Expression.Lambda<Func<object, Stream>>(
                Expression.Convert(Expression.Property(Expression.Convert(r, dataType), dataStream), typeof(Stream)), r).Compile();

            return new LimitsBinding { Offered = isOffered, Send = send, ReplyData = replyData, ReplyCallbackType = replyCallbackType, StatusCallbackType = statusCallbackType };
        }

        /// <summary>OpenSSH's extension for the server's request limits.</summary>
        public const string LimitsExtension = "limits@openssh.com";

        /// <summary>new SftpWriteRequestBuffer(ReadOnlySpan&lt;byte&gt; handle, int dataCapacity, bool usePool): a span
        /// argument cannot go through reflection or an expression tree, so a few lines of IL build it.</summary>
        private static Func<byte[], int, object> NewBufferFactory(Type bufferType)
        {
            var ctor = bufferType.GetConstructors(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                .FirstOrDefault(c =>
                {
                    var p = c.GetParameters();
                    return p.Length == 3 && p[0].ParameterType.Name == "ReadOnlySpan`1" && p[1].ParameterType == typeof(int) && p[2].ParameterType == typeof(bool);
                }) ?? throw new MissingMemberException("SftpWriteRequestBuffer(ReadOnlySpan<byte>, int, bool)");
            var spanType = ctor.GetParameters()[0].ParameterType;
            var toSpan = spanType.GetMethod("op_Implicit", new[] { typeof(byte[]) }) ?? throw new MissingMemberException("ReadOnlySpan<byte>.op_Implicit(byte[])");

            var method = new DynamicMethod("NewSftpWriteRequestBuffer", typeof(object), new[] { typeof(byte[]), typeof(int) },
                typeof(SftpClient).Module, skipVisibility: true);
            var il = method.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Call, toSpan);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Ldc_I4_0);
            il.Emit(OpCodes.Newobj, ctor);
            il.Emit(OpCodes.Ret);
            return (Func<byte[], int, object>)method.CreateDelegate(typeof(Func<byte[], int, object>));
        }

        /// <summary>
        /// The SSH.NET exception for an SFTP status answer (what SSH.NET itself would have thrown), so the plugin's error
        /// mapping treats a refused pipelined request exactly like a refused call through SSH.NET's public API.
        /// </summary>
        /// <param name="status">The SFTP status code of the answer.</param>
        /// <param name="message">The server's message, if any.</param>
        /// <param name="operation">"read" or "write".</param>
        /// <param name="length">The bytes the request asked for.</param>
        /// <param name="offset">Where in the file.</param>
        public static Exception StatusException(int status, string? message, string operation, long length, ulong offset)
        {
            var detail = string.IsNullOrEmpty(message) ? "status " + status : message!;
            var text = $"The server refused to {operation} {length} bytes at offset {offset}: {detail}";
            switch (status)
            {
                case 2:
                    return new Renci.SshNet.Common.SftpPathNotFoundException(text);
                case 3:
                    return new Renci.SshNet.Common.SftpPermissionDeniedException(text);
                case 4:
                    return new Renci.SshNet.Common.SshException("Failure: " + text);
                case 6:
                case 7:
                    return new Renci.SshNet.Common.SshConnectionException(text);
                default:
                    return new Renci.SshNet.Common.SshException(text);
            }
        }
    }
}
