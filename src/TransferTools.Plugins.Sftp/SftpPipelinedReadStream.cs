using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;
using Action = System.Action;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// Reads a remote file from any offset with several read requests in flight on one handle, each
    /// answered by a callback (<see cref="SshNetRequests"/>) that copies the data into the request's own buffer, and
    /// hands the bytes out strictly in file order. SSH.NET's <see cref="SftpFileStream"/> reads ahead too, but pays
    /// three registered waits and two timers per 64 KiB request; this is the pipelining OpenSSH's sftp does.
    /// </summary>
    /// <remarks>
    /// A short answer (the server may return fewer bytes than asked: rclone and other servers on Go's SFTP library return
    /// at most 32 KiB whatever was asked) is completed by a new request for the rest, queued right behind it; the reader
    /// sends those for every short answer already in, not one per wait, and later requests ask for no more than the
    /// server gave, so the pipeline stays full rather than waiting a whole round of answers once per request. End of
    /// file before the size known at open reads as the end of the stream (the engine then reports that the source changed). Memory: one buffer per request in flight (about 2 MiB in all by default,
    /// <see cref="SftpConnectionSettings.InFlightBytes"/>), reused; they are never pooled, so an answer that arrives
    /// after the stream closed writes only into them.
    /// </remarks>
    internal sealed class SftpPipelinedReadStream : SftpPipelinedStream
    {
        private readonly ISftpReadRequests _requests;
        private int _requestSize;
        private int _shortAnswers; // answered requests that came back short and have no request for their rest yet
        private readonly int _maxPending;
        private readonly long _size;
        private readonly LinkedList<Request> _queue = new LinkedList<Request>();
        private readonly Stack<Request> _free = new Stack<Request>();
        private Request? _head;
        private int _headPosition;
        private long _nextOffset;
        private bool _eof;

        private const int Pending = 0;
        private const int Done = 1;
        private const int EndOfFile = 2;
        private const int Failed = 3;

        private sealed class Request
        {
            private readonly SftpPipelinedReadStream _owner;

            public Request(SftpPipelinedReadStream owner, int size)
            {
                _owner = owner;
                Buffer = new byte[size];
                (Data, Status) = owner._requests.ReadCallbacks(this);
            }

            public readonly byte[] Buffer;
            public readonly Delegate Data;
            public readonly Delegate Status;
            public long Offset;
            public int Length;
            public int Count;
            public int State;
            public bool RestAsked;
            public LinkedListNode<Request>? Node;

            public void OnData(object response)
            {
                var data = _owner._requests.DataOf(response);
                var n = Math.Min(data.Count, Length);
                System.Buffer.BlockCopy(data.Array!, data.Offset, Buffer, 0, n);
                Count = n;
                _owner.Complete(this, Done, null);
            }

            public void OnStatus(object response)
            {
                var status = _owner._requests.StatusOf(response);
                if (status == SshNetRequests.StatusEof)
                {
                    Count = 0;
                    _owner.Complete(this, EndOfFile, null);
                }
                else
                {
                    _owner.Complete(this, Failed, SshNetRequests.StatusException(status, _owner._requests.MessageOf(response), "read", Length, (ulong)Offset));
                }
            }
        }

        public SftpPipelinedReadStream(SftpClient client, byte[] handle, Action closeHandle, object session, ISftpReadRequests requests, long position, long size,
            int maxPending, int requestSize, TimeSpan stallTimeout, Func<Exception, PluginException> map)
            : base(client, handle, closeHandle, session, position, stallTimeout, map)
        {
            _requests = requests;
            // A small file gets buffers its size (at least 32 KiB, as before servers stated limits), not 255 KiB each.
            _requestSize = (int)Math.Max(1, Math.Min(requestSize, Math.Max(SshNetRequests.MinRequestSize, size - position)));
            _maxPending = Math.Max(1, maxPending);
            _size = size;
            _nextOffset = position;
        }

        protected override string Direction => "read";

        /// <summary>Bytes per read request.</summary>
        internal int RequestSize => _requestSize;

        /// <summary>At most how many read requests are in flight.</summary>
        internal int MaxInFlight => _maxPending;

        public override bool CanRead => !_disposed;
        public override bool CanWrite => false;

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ThrowIfFailed();
            var total = 0;
            while (total < count && !_eof)
            {
                if (_head is null)
                {
                    Request? next;
                    lock (_lock)
                    {
                        Issue(force: _queue.Count == 0);
                        next = _queue.First!.Value;
                        if (next.State == Pending)
                        {
                            next = null;
                        }
                        else
                        {
                            _queue.RemoveFirst();
                        }
                    }

                    if (next is null)
                    {
                        if (total > 0)
                        {
                            break;
                        }

                        await WaitForHeadAsync(cancellationToken).ConfigureAwait(false);
                        ThrowIfFailed();
                        continue;
                    }

                    if (next.State == Failed)
                    {
                        ThrowIfFailed();
                    }

                    if (next.State == EndOfFile || next.Count == 0)
                    {
                        _eof = true;
                        Recycle(next);
                        break;
                    }

                    if (next.Count < next.Length || _shortAnswers > 0)
                    {
                        lock (_lock)
                        {
                            AskForTheRest(next);
                        }
                    }

                    _head = next;
                    _headPosition = 0;
                }

                var n = Math.Min(count - total, _head.Count - _headPosition);
                Buffer.BlockCopy(_head.Buffer, _headPosition, buffer, offset + total, n);
                _headPosition += n;
                total += n;
                if (_headPosition == _head.Count)
                {
                    Recycle(_head);
                    _head = null;
                }
            }

            _position += total;
            return total;
        }

        /// <summary>Keeps the pipeline full up to the size known at open (one request past it when the reader asks for more,
        /// so that a grown file or the end of the file shows).</summary>
        private void Issue(bool force)
        {
            while (_inFlight < _maxPending && (_nextOffset < _size || (force && _inFlight == 0)))
            {
                var length = _nextOffset < _size ? (int)Math.Min(_requestSize, _size - _nextOffset) : _requestSize;
                Send(Take(), _nextOffset, length, after: null, last: true);
                _nextOffset += length;
                force = false;
            }
        }

        /// <summary>
        /// Asks for the rest of every short answer already in (<paramref name="head"/>, just taken off the queue, and those
        /// still in it), each request queued right behind the answer it completes, all sent now: one round trip fills
        /// them all. A short answer before the known end is what the server gives per request: later requests ask for
        /// no more. Call under <c>_lock</c>.
        /// </summary>
        private void AskForTheRest(Request head)
        {
            if (IsShort(head))
            {
                head.RestAsked = true;
                _shortAnswers = Math.Max(0, _shortAnswers - 1);
                Send(Take(head.Length - head.Count), head.Offset + head.Count, head.Length - head.Count, after: null);
            }

            for (var node = _queue.First; node != null && _shortAnswers > 0; node = node.Next)
            {
                var answered = node.Value;
                if (answered.State == Done && IsShort(answered))
                {
                    answered.RestAsked = true;
                    _shortAnswers--;
                    Send(Take(answered.Length - answered.Count), answered.Offset + answered.Count, answered.Length - answered.Count, after: node);
                    node = node.Next!; // the request just queued: pending, nothing to look at
                }
            }
        }

        private static bool IsShort(Request request) => request.State == Done && !request.RestAsked && request.Count > 0 && request.Count < request.Length;

        /// <summary>A request whose buffer holds <paramref name="length"/> bytes (the request size by default); buffers of
        /// requests made before the size shrank are larger, and are reused.</summary>
        private Request Take(int length = 0)
        {
            length = Math.Max(length, _requestSize);
            return _free.Count > 0 && _free.Peek().Buffer.Length >= length ? _free.Pop() : new Request(this, length);
        }

        /// <param name="after">The queued request this one completes; null for the head of the queue; the tail when
        /// <paramref name="last"/>.</param>
        private void Send(Request request, long offset, int length, LinkedListNode<Request>? after, bool last = false)
        {
            request.Offset = offset;
            request.Length = length;
            request.Count = 0;
            request.State = Pending;
            request.RestAsked = false;
            request.Node = last ? _queue.AddLast(request) : after is null ? _queue.AddFirst(request) : _queue.AddAfter(after, request);
            if (_inFlight == 0)
            {
                _sinceAnswer.Restart();
            }

            _inFlight++;
            try
            {
                _requests.SendRead(_session, _handle, offset, length, request.Data, request.Status);
            }
            catch (Exception e)
            {
                _inFlight--;
                _queue.Remove(request.Node);
                _failure ??= e;
                throw _map(e);
            }
        }

        private void Recycle(Request request)
        {
            lock (_lock)
            {
                _free.Push(request);
            }
        }

        private Task WaitForHeadAsync(CancellationToken cancellationToken) =>
            WaitUntilAsync(() => _queue.First != null && _queue.First.Value.State != Pending, cancellationToken);

        /// <summary>An answer, on SSH.NET's receive thread: wakes the reader once the first requests in line are answered
        /// (a few at a time, not once per answer).</summary>
        private void Complete(Request request, int state, Exception? failure)
        {
            TaskCompletionSource<bool>? wake = null;
            lock (_lock)
            {
                request.State = state;
                _inFlight--;
                if (state == Done && request.Count > 0 && request.Count < request.Length)
                {
                    _shortAnswers++;
                    if (request.Offset + request.Count < _size && request.Count < _requestSize)
                    {
                        // Short before the known end: the most this server gives per request (not below 8 KiB, so that
                        // one odd short answer cannot make every later request tiny).
                        _requestSize = Math.Max(request.Count, Math.Min(_requestSize, 8 * 1024));
                    }
                }

                _sinceAnswer.Restart();
                if (failure != null)
                {
                    _failure ??= failure;
                }

                if (failure != null || _inFlight == 0 || AnsweredInLine(4))
                {
                    wake = TakeWaiter();
                }
            }

            wake?.TrySetResult(true);
        }

        private bool AnsweredInLine(int wanted)
        {
            var node = _queue.First;
            for (var i = 0; i < wanted; i++)
            {
                if (node is null)
                {
                    return i > 0;
                }

                if (node.Value.State == Pending)
                {
                    return false;
                }

                node = node.Next;
            }

            return true;
        }

        public override void Flush()
        {
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                // Everything read was already handed out: a refused CLOSE of a read handle loses nothing.
                _ = CloseHandle();
            }

            base.Dispose(disposing);
        }
    }
}
