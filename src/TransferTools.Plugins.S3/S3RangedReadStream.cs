using System;
using System.Buffers;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// A large object read as several ranged GETs in flight (<c>Parallelism</c>, default 4, of <see cref="RangeSize"/>
    /// each), handed out in order: one GET stream is bound by a single connection's window, several fill the link. Every
    /// range is guarded by <c>If-Match</c> on the ETag the first answer gave (or the one the transfer began with), so the
    /// bytes all come from one version of the object: a replaced object is <see cref="ErrorCode.SourceChanged"/>, never
    /// spliced. Memory is bounded: at most <c>Parallelism</c> ranges are buffered.
    /// </summary>
    internal sealed class S3RangedReadStream : System.IO.Stream
    {
        /// <summary>The bytes of one ranged GET: 8 MiB.</summary>
        internal const int RangeSize = 8 * 1024 * 1024;

        private readonly AmazonS3Client _client;
        private readonly S3Settings _settings;
        private readonly S3Location _location;
        private readonly string _etag;
        private readonly long _end;
        private readonly int _parallelism;
        private readonly CancellationTokenSource _cancel;
        private readonly Queue<Task<Range>> _ahead = new Queue<Task<Range>>();
        private long _next;
        private Range? _current;
        private int _position;
        private bool _disposed;

        /// <param name="first">The answer to the first range (from <paramref name="start"/>), whose body is read as the first range.</param>
        /// <param name="end">The object's length.</param>
        public S3RangedReadStream(AmazonS3Client client, S3Settings settings, S3Location location, GetObjectResponse first, string etag, long start, long end,
            int parallelism, CancellationToken token)
        {
            _client = client;
            _settings = settings;
            _location = location;
            _etag = etag;
            _end = end;
            _parallelism = Math.Max(1, parallelism);
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(token);
            var length = (int)Math.Min(RangeSize, end - start);
            _ahead.Enqueue(ReadBodyAsync(first, start, length));
            _next = start + length;
            ScheduleAhead();
        }

        public override bool CanRead => !_disposed;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_current != null && _position < _current.Count)
                {
                    var n = Math.Min(count, _current.Count - _position);
                    Buffer.BlockCopy(_current.Bytes, _position, buffer, offset, n);
                    _position += n;
                    return n;
                }

                if (_current != null)
                {
                    ArrayPool<byte>.Shared.Return(_current.Bytes);
                    _current = null;
                }

                if (_ahead.Count == 0 || count == 0)
                {
                    return 0;
                }

                cancellationToken.ThrowIfCancellationRequested();
                _current = await _ahead.Dequeue().ConfigureAwait(false);
                _position = 0;
                ScheduleAhead();
            }
        }

        private void ScheduleAhead()
        {
            while (_ahead.Count < _parallelism && _next < _end)
            {
                var length = (int)Math.Min(RangeSize, _end - _next);
                _ahead.Enqueue(FetchAsync(_next, length));
                _next += length;
            }
        }

        private async Task<Range> FetchAsync(long start, int length)
        {
            GetObjectResponse response;
            try
            {
                response = await _client.GetObjectAsync(new GetObjectRequest
                {
                    BucketName = _location.Bucket,
                    Key = _location.Key,
                    ByteRange = new ByteRange(start, start + length - 1),
                    EtagToMatch = _etag,
                }, _cancel.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (S3Errors.IsPreconditionFailed(e))
            {
                throw new PluginException(ErrorCode.SourceChanged,
                    $"'{_location.Display}' was replaced at {_settings.EndpointDisplay} while it was read (its ETag is no longer {_etag}); its bytes are not combined with the earlier ones.",
                    e, "SourceChanged", _location.Display);
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, _settings, "download", _location.Display, _cancel.Token);
            }

            return await ReadBodyAsync(response, start, length).ConfigureAwait(false);
        }

        private async Task<Range> ReadBodyAsync(GetObjectResponse response, long start, int length)
        {
            var bytes = ArrayPool<byte>.Shared.Rent(length);
            var filled = 0;
            try
            {
                using (response)
                {
                    while (filled < length)
                    {
                        var n = await response.ResponseStream.ReadAsync(bytes, filled, length - filled, _cancel.Token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            break;
                        }

                        filled += n;
                    }
                }
            }
            catch (Exception e)
            {
                ArrayPool<byte>.Shared.Return(bytes);
                throw S3Errors.Map(e, _settings, "download", _location.Display, _cancel.Token);
            }

            if (filled < length)
            {
                ArrayPool<byte>.Shared.Return(bytes);
                throw new PluginException(ErrorCode.ConnectionError,
                    $"{_settings.EndpointDisplay} ended the range of '{_location.Display}' at {start + filled}, before its end at {start + length}; the download failed.",
                    errorId: "S3ConnectionFailed", target: _location.Display);
            }

            return new Range(bytes, length);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                _cancel.Cancel();
                if (_current != null)
                {
                    ArrayPool<byte>.Shared.Return(_current.Bytes);
                    _current = null;
                }

                // Ranges still in flight give their buffers back when they end; their failures (the cancellation) are observed here.
                while (_ahead.Count > 0)
                {
                    _ahead.Dequeue().ContinueWith(t =>
                    {
                        if (t.Status == TaskStatus.RanToCompletion)
                        {
                            ArrayPool<byte>.Shared.Return(t.Result.Bytes);
                        }
                        else
                        {
                            _ = t.Exception;
                        }
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }

            base.Dispose(disposing);
        }

        private sealed class Range
        {
            public Range(byte[] bytes, int count)
            {
                Bytes = bytes;
                Count = count;
            }

            public byte[] Bytes { get; }
            public int Count { get; }
        }
    }
}
