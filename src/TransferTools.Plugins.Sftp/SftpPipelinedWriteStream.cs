using System;
using System.Collections.Generic;
using System.Diagnostics;
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
    /// Writes a remote file through one SFTP handle with several write requests in flight, each answered by a callback
    /// (<see cref="SshNetRequests"/>): the pipelining OpenSSH's sftp does, at a fraction of the CPU that SSH.NET's
    /// per-request waits cost.
    /// </summary>
    /// <remarks>
    /// Requests go out in file order; the server may answer in any order. <see cref="FlushAsync"/> returns only once the
    /// server has answered every request sent before it, successfully, which is what the engine's journal relies on (a
    /// resume truncates whatever lies past its committed offset). A failed request, a dropped connection or no answer
    /// within the stall timeout fails the next write or flush. How many requests are in flight follows the answers'
    /// round trips (<see cref="SftpWriteWindow"/>), up to the budget. <see cref="AcknowledgedOffset"/> tells the engine
    /// how far the answers confirm the file, so it commits chunks without flushing (which would empty the pipeline
    /// once per chunk). Memory: one buffer per request in flight (about
    /// 2 MiB in all at most by default, <see cref="SftpConnectionSettings.InFlightBytes"/>), allocated as needed and reused.
    /// </remarks>
    internal sealed class SftpPipelinedWriteStream : SftpPipelinedStream, IWriteAcknowledgement
    {
        private readonly SshNetRequests _requests;
        private readonly int _requestSize;
        private readonly int _maxPending;
        private readonly Action<SshNetRequests.Slot, int, string?> _completed;
        private readonly Stack<SshNetRequests.Slot> _free = new Stack<SshNetRequests.Slot>();
        private readonly SftpWriteWindow _window;
        private readonly SftpWriteConfirmations _confirmations;
        private int _slots;
        private int _wakeAt;
        private SshNetRequests.Slot? _current;
        private int _fill;
        private bool _grown; // the small first slot was outgrown and dropped: every slot from now on is full-size
        private bool _flushed; // the last call was a successful flush: the writer is done, and a refused CLOSE must fail it

        public SftpPipelinedWriteStream(SftpClient client, byte[] handle, Action closeHandle, object session, SshNetRequests requests, long position,
            int maxPending, int requestSize, TimeSpan stallTimeout, Func<Exception, PluginException> map)
            : base(client, handle, closeHandle, session, position, stallTimeout, map)
        {
            _requests = requests;
            _requestSize = requestSize;
            _maxPending = Math.Max(1, maxPending);
            _window = new SftpWriteWindow(_maxPending, shrinkBelow: (long)(SftpWriteWindow.ShortPath.TotalSeconds * Stopwatch.Frequency));
            _completed = OnCompleted;
            _confirmations = new SftpWriteConfirmations(position);
        }

        /// <inheritdoc/>
        public long AcknowledgedOffset
        {
            get
            {
                lock (_lock)
                {
                    return _confirmations.Confirmed;
                }
            }
        }

        protected override string Direction => "write";

        public override bool CanRead => false;
        public override bool CanWrite => !_disposed;

        /// <summary>Bytes per write request (the server's packet size less the request header).</summary>
        internal int RequestSize => _requestSize;

        /// <summary>At most how many write requests are in flight.</summary>
        internal int MaxInFlight => _maxPending;

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ThrowIfFailed();
            _flushed = false;
            while (count > 0)
            {
                if (_current is null)
                {
                    _current = await TakeSlotAsync(count, cancellationToken).ConfigureAwait(false);
                    _fill = 0;
                }

                var data = _current.Data;
                var n = Math.Min(count, _current.Capacity - _fill);
                Buffer.BlockCopy(buffer, offset, data.Array!, data.Offset + _fill, n);
                _fill += n;
                offset += n;
                count -= n;
                if (_fill == _current.Capacity)
                {
                    Send();
                }
            }
        }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            ThrowIfFailed();
            if (_current != null && _fill > 0)
            {
                Send();
            }

            await WaitAsync(0, cancellationToken).ConfigureAwait(false);
            ThrowIfFailed();
            _flushed = true;
        }

        private void Send()
        {
            var slot = _current!;
            slot.Offset = _position;
            slot.Length = _fill;
            _current = null;
            _fill = 0;
            lock (_lock)
            {
                if (_inFlight == 0)
                {
                    _sinceAnswer.Restart();
                }

                _inFlight++;
                _confirmations.Sent(slot.Offset + slot.Length);
            }

            try
            {
                slot.SentAt = Stopwatch.GetTimestamp();
                _requests.Send(_session, slot);
            }
            catch (Exception e)
            {
                Fail(e);
                Release(slot);
                throw _map(e);
            }

            _position += slot.Length;
        }

        /// <param name="wanted">The bytes the caller is writing: the first slot is no larger (at least 32 KiB), so a small
        /// file does not cost a 255 KiB buffer.</param>
        private async Task<SshNetRequests.Slot> TakeSlotAsync(int wanted, CancellationToken cancellationToken)
        {
            int capacity;
            while (true)
            {
                int window;
                lock (_lock)
                {
                    window = _window.Size;
                    // Slots are either free, in flight or being filled (none now), and the window never exceeds
                    // _maxPending: below the window there is a free slot or room for a new one.
                    if (_inFlight < window)
                    {
                        if (_free.Count > 0)
                        {
                            return _free.Pop();
                        }

                        if (_slots < _maxPending)
                        {
                            // Full-size slots are kept, so _slots is 0 only before the first slot, or after a small one was dropped.
                            capacity = _slots == 0 && !_grown ? Math.Min(_requestSize, Math.Max(SshNetRequests.MinRequestSize, wanted)) : _requestSize;
                            _slots++;
                            break;
                        }
                    }
                }

                // The window is full: wait until a quarter of it is answered, so that the writer wakes once per batch of
                // answers rather than once per answer.
                await WaitAsync(window - Math.Max(1, window / 4), cancellationToken).ConfigureAwait(false);
                ThrowIfFailed();
            }

            return _requests.NewSlot(_handle, capacity, _completed);
        }

        /// <summary>Waits until at most <paramref name="pending"/> requests are in flight, or a failure; checks for a dead
        /// connection and for a server that stopped answering.</summary>
        private Task WaitAsync(int pending, CancellationToken cancellationToken) =>
            WaitUntilAsync(() =>
            {
                // Under the lock: answers wake the writer once no more than this many are left in flight.
                _wakeAt = pending;
                return _inFlight <= pending;
            }, cancellationToken);

        /// <summary>The server's answer to one request, on SSH.NET's receive thread: keep it short.</summary>
        private void OnCompleted(SshNetRequests.Slot slot, int status, string? message)
        {
            var ok = status == SshNetRequests.StatusOk;
            if (!ok)
            {
                Fail(SshNetRequests.StatusException(status, message, "write", slot.Length, (ulong)slot.Offset));
            }

            Release(slot, ok);
        }

        /// <param name="answered">The server answered this request successfully: its round trip counts for the window.</param>
        private void Release(SshNetRequests.Slot slot, bool answered = false)
        {
            TaskCompletionSource<bool>? wake = null;
            var now = answered ? Stopwatch.GetTimestamp() : 0;
            lock (_lock)
            {
                if (answered)
                {
                    // Only full-size requests time the window: a short first or last one would look like an idle path.
                    if (slot.Length == _requestSize)
                    {
                        _window.Answered(now - slot.SentAt);
                    }

                    _confirmations.Answered(slot.Offset + slot.Length);
                }

                if (slot.Capacity == _requestSize)
                {
                    _free.Push(slot);
                }
                else
                {
                    // The small first slot: the file has outgrown it, so full-size slots take its place.
                    _slots--;
                    _grown = true;
                }

                _inFlight--;
                _sinceAnswer.Restart();
                if (_inFlight <= _wakeAt || _failure != null)
                {
                    wake = TakeWaiter();
                }
            }

            wake?.TrySetResult(true);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                var done = _flushed;
                try
                {
                    // Unflushed bytes are written if the connection still works; the journal never counted them anyway.
                    if (_failure is null)
                    {
                        FlushAsync(CancellationToken.None).Wait(TimeSpan.FromSeconds(30));
                    }
                }
                catch (Exception)
                {
                    // Dispose must not mask the failure that ended the copy.
                }

                // Requests still in flight (after a failure) are answered or die with the connection; their buffers
                // are only ever read by SSH.NET while sending, which has finished.
                var refused = CloseHandle();
                if (refused != null && done)
                {
                    // The writer flushed everything and is closing: a server that commits on close says here that it
                    // did not. (After another failure the copy is already failing; that failure is the one to report.)
                    throw _map(refused);
                }
            }

            base.Dispose(disposing);
        }
    }
}
