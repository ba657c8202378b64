using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// Writes a remote file through several SFTP handles at once. SSH.NET's <see cref="SftpFileStream"/> waits for
    /// the server's answer to each write request before sending the next; over any real round-trip time that caps an
    /// upload far below the link. Here incoming bytes are cut into segments that several handles write at their own
    /// offsets concurrently, so many requests are in flight, as OpenSSH's sftp does.
    /// </summary>
    /// <remarks>
    /// Segments may land out of order, so the file can have holes while writing; <see cref="FlushAsync"/> returns only
    /// once every byte written before it is on the server, which is what the engine's journal relies on (a resume
    /// truncates whatever lies past its committed offset).
    /// </remarks>
    internal sealed class SftpParallelWriteStream : ForwardOnlyStream
    {
        private readonly SftpClient _client;
        private readonly string _path;
        private readonly Func<Exception, PluginException> _map;
        private readonly int _segmentSize;
        private readonly int _handles;
        private readonly Channel<Segment> _queue;
        private readonly List<Task> _workers = new List<Task>();
        private readonly List<SftpFileStream> _streams = new List<SftpFileStream>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly object _lock = new object();
        private readonly SftpFileStream _first;
        private long _position;
        private long _pending;
        private TaskCompletionSource<bool>? _drained;
        private Exception? _failure;
        private byte[]? _current;
        private int _currentLength;
        private long _currentOffset;
        private bool _disposed;

        private readonly struct Segment
        {
            public Segment(long offset, byte[] buffer, int length)
            {
                Offset = offset;
                Buffer = buffer;
                Length = length;
            }

            public long Offset { get; }
            public byte[] Buffer { get; }
            public int Length { get; }
        }

        public SftpParallelWriteStream(SftpClient client, SftpFileStream first, string path, long position, int handles, int segmentSize,
            Func<Exception, PluginException> map)
        {
            _client = client;
            _first = first;
            _path = path;
            _position = position;
            _currentOffset = position;
            _handles = Math.Max(1, handles);
            _segmentSize = segmentSize;
            _map = map;
            _queue = Channel.CreateBounded<Segment>(new BoundedChannelOptions(_handles * 2) { SingleWriter = true });
        }

        public override bool CanRead => false;
        public override bool CanWrite => !_disposed;
        public override long Position => _position;

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ThrowIfFailed();
            while (count > 0)
            {
                _current ??= ArrayPool<byte>.Shared.Rent(_segmentSize);
                var n = Math.Min(count, _segmentSize - _currentLength);
                Buffer.BlockCopy(buffer, offset, _current, _currentLength, n);
                _currentLength += n;
                offset += n;
                count -= n;
                _position += n;
                if (_currentLength == _segmentSize)
                {
                    await DispatchAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            ThrowIfFailed();
            if (_currentLength > 0)
            {
                await DispatchAsync(cancellationToken).ConfigureAwait(false);
            }

            Task drained;
            lock (_lock)
            {
                if (_pending == 0)
                {
                    drained = Task.CompletedTask;
                }
                else
                {
                    _drained ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    drained = _drained.Task;
                }
            }

            var cancelled = Task.Delay(Timeout.Infinite, cancellationToken);
            if (await Task.WhenAny(drained, cancelled).ConfigureAwait(false) == cancelled)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            ThrowIfFailed();
            try
            {
                foreach (var s in Streams())
                {
                    await s.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw _map(e);
            }
        }

        private IEnumerable<SftpFileStream> Streams()
        {
            lock (_lock)
            {
                return _streams.ToArray();
            }
        }

        private async Task DispatchAsync(CancellationToken cancellationToken)
        {
            var segment = new Segment(_currentOffset, _current!, _currentLength);
            _currentOffset += _currentLength;
            _current = null;
            _currentLength = 0;
            lock (_lock)
            {
                _pending++;
                if (_workers.Count < _handles && _workers.Count < _pending)
                {
                    var first = _workers.Count == 0;
                    _workers.Add(Task.Run(() => WorkAsync(first)));
                }
            }

            try
            {
                await _queue.Writer.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(segment.Buffer);
                Done();
                throw;
            }
        }

        private async Task WorkAsync(bool useFirst)
        {
            SftpFileStream? stream = null;
            try
            {
                stream = useFirst ? _first : await _client.OpenAsync(_path, FileMode.Open, FileAccess.Write, _stop.Token).ConfigureAwait(false);
                lock (_lock)
                {
                    _streams.Add(stream);
                }

                while (await _queue.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
                {
                    while (_queue.Reader.TryRead(out var segment))
                    {
                        try
                        {
                            if (_failure is null)
                            {
                                stream.Seek(segment.Offset, SeekOrigin.Begin);
                                await stream.WriteAsync(segment.Buffer, 0, segment.Length, _stop.Token).ConfigureAwait(false);
                            }
                        }
                        catch (Exception e)
                        {
                            Fail(e);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(segment.Buffer);
                            Done();
                        }
                    }
                }
            }
            catch (Exception e)
            {
                Fail(e);
                // Keep draining so nobody waits on a segment that no worker will take.
                while (_queue.Reader.TryRead(out var segment))
                {
                    ArrayPool<byte>.Shared.Return(segment.Buffer);
                    Done();
                }
            }
        }

        private void Done()
        {
            TaskCompletionSource<bool>? drained = null;
            lock (_lock)
            {
                _pending--;
                if (_pending == 0 && _drained != null)
                {
                    drained = _drained;
                    _drained = null;
                }
            }

            drained?.TrySetResult(true);
        }

        private void Fail(Exception e)
        {
            lock (_lock)
            {
                _failure ??= e;
            }
        }

        private void ThrowIfFailed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(SftpParallelWriteStream));
            }

            var failure = _failure;
            if (failure != null)
            {
                throw _map(failure);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
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

                _disposed = true;
                _queue.Writer.TryComplete();
                _stop.Cancel();
                foreach (var s in Streams())
                {
                    try
                    {
                        s.Dispose();
                    }
                    catch (Exception)
                    {
                        // A dead connection cannot close its handles; they die with it.
                    }
                }

                if (!_streams.Contains(_first))
                {
                    try
                    {
                        _first.Dispose();
                    }
                    catch (Exception)
                    {
                    }
                }

                if (_current != null)
                {
                    ArrayPool<byte>.Shared.Return(_current);
                    _current = null;
                }

                _stop.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
