using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>Collects an object that goes up in one PUT at completion (at most <c>MultipartThreshold</c> bytes).</summary>
    internal sealed class S3SinglePutStream : Stream, IWriteAcknowledgement
    {
        private readonly S3PartUploads.Pending _pending;

        public S3SinglePutStream(S3PartUploads.Pending pending) => _pending = pending;

        /// <inheritdoc/>
        /// <remarks>Held in memory until completion: a crash loses it, and a resume lists no parts, so it is sent again whole.</remarks>
        public long AcknowledgedOffset => _pending.Single!.Length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _pending.Single!.Length;
        public override long Position { get => Length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _pending.Single!.Write(buffer, offset, count);
    }

    /// <summary>
    /// Writes a multipart upload: fills one part at a time and sends it while the next fills, up to a number of parts in
    /// flight; the acknowledged offset is the end of the parts the server has confirmed without a gap, so the engine
    /// commits each chunk once its part is safe. Flushing at the content's end sends the last (short) part.
    /// </summary>
    internal sealed class S3MultipartStream : Stream, IWriteAcknowledgement
    {
        private readonly AmazonS3Client _client;
        private readonly S3Settings _settings;
        private readonly S3PartUploads.Pending _upload;
        private readonly CancellationTokenSource _failed;
        private readonly SemaphoreSlim _slots;
        private readonly List<Task> _inFlight = new List<Task>();
        private readonly SortedDictionary<int, long> _confirmedEnds = new SortedDictionary<int, long>();
        private readonly object _gate = new object();
        private readonly int _partSize;
        private byte[] _buffer;
        private int _filled;
        private int _nextPart;
        private long _position;
        private long _acknowledged;
        private int _nextToAcknowledge;
        private readonly long _total;
        private Exception? _error;

        public S3MultipartStream(AmazonS3Client client, S3Settings settings, S3PartUploads.Pending upload, long offset, long total, int parallelism, CancellationToken token)
        {
            _total = total;
            _client = client;
            _settings = settings;
            _upload = upload;
            _partSize = (int)Math.Min(upload.PartSize, int.MaxValue - 64);
            _failed = CancellationTokenSource.CreateLinkedTokenSource(token);
            _slots = new SemaphoreSlim(parallelism, parallelism);
            _buffer = ArrayPool<byte>.Shared.Rent(_partSize);
            _nextPart = (int)(offset / upload.PartSize) + 1;
            _nextToAcknowledge = _nextPart;
            _position = offset;
            _acknowledged = offset;
        }

        /// <inheritdoc/>
        public long AcknowledgedOffset => Interlocked.Read(ref _acknowledged);

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _position;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (count > 0)
            {
                ThrowIfFailed();
                var take = Math.Min(count, _partSize - _filled);
                Buffer.BlockCopy(buffer, offset, _buffer, _filled, take);
                _filled += take;
                _position += take;
                offset += take;
                count -= take;
                if (_filled == _partSize)
                {
                    await SendPartAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            // Only the content's end makes a short part: any other flush waits for the parts in flight.
            if (_filled > 0 && (_total < 0 || _position >= _total))
            {
                await SendPartAsync(cancellationToken).ConfigureAwait(false);
            }

            Task[] running;
            lock (_gate)
            {
                running = _inFlight.ToArray();
            }

            try
            {
                await Task.WhenAll(running).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Reported below, first failure first.
            }

            ThrowIfFailed();
        }

        private async Task SendPartAsync(CancellationToken cancellationToken)
        {
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(_failed.Token, cancellationToken))
            {
                await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
            }

            var buffer = _buffer;
            var length = _filled;
            var number = _nextPart++;
            var end = _position;
            _buffer = ArrayPool<byte>.Shared.Rent(_partSize);
            _filled = 0;
            var task = Task.Run(() => UploadPartAsync(buffer, length, number, end));
            lock (_gate)
            {
                _inFlight.RemoveAll(t => t.IsCompleted);
                _inFlight.Add(task);
            }
        }

        private async Task UploadPartAsync(byte[] buffer, int length, int number, long end)
        {
            var display = _upload.Target.Display;
            try
            {
                byte[] digest;
                using (var md5 = MD5.Create())
                {
                    digest = md5.ComputeHash(buffer, 0, length);
                }

                var response = await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _upload.Target.Bucket,
                    Key = _upload.Target.Key,
                    UploadId = _upload.UploadId,
                    PartNumber = number,
                    PartSize = length,
                    InputStream = new MemoryStream(buffer, 0, length, writable: false),
                    MD5Digest = Convert.ToBase64String(digest),
                }, _failed.Token).ConfigureAwait(false);
                var returned = S3ProtocolPlugin.EtagMd5(response.ETag);
                if (returned != null && returned != S3ProtocolPlugin.ToHex(digest))
                {
                    throw new PluginException(ErrorCode.ChecksumMismatch, $"Part {number} of '{display}' was stored with MD5 {returned}, not the {S3ProtocolPlugin.ToHex(digest)} sent.",
                        errorId: "S3PartChecksumMismatch", target: display);
                }

                lock (_gate)
                {
                    _confirmedEnds[number] = end;
                    while (_confirmedEnds.TryGetValue(_nextToAcknowledge, out var confirmedEnd))
                    {
                        _confirmedEnds.Remove(_nextToAcknowledge++);
                        Interlocked.Exchange(ref _acknowledged, confirmedEnd);
                        _upload.Length = confirmedEnd;
                    }
                }
            }
            catch (Exception e)
            {
                lock (_gate)
                {
                    _error ??= S3Errors.Map(e, _settings, "upload", display, _failed.Token);
                }

                _failed.Cancel();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _slots.Release();
            }
        }

        private void ThrowIfFailed()
        {
            Exception? error;
            lock (_gate)
            {
                error = _error;
            }

            if (error != null)
            {
                throw error;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _failed.Cancel();
                Task[] running;
                lock (_gate)
                {
                    running = _inFlight.ToArray();
                }

                try
                {
                    Task.WaitAll(running);
                }
                catch (AggregateException)
                {
                    // Errors were reported by Flush, or the transfer is being abandoned.
                }

                ArrayPool<byte>.Shared.Return(_buffer);
                _failed.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
