using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.Http
{
    /// <summary>
    /// A response body being downloaded: no copy in between (reads go straight to the connection), a read that
    /// brings no byte within the stall timeout fails as a transient <see cref="ErrorCode.Timeout"/>, and failures
    /// become <see cref="PluginException"/>s.
    /// </summary>
    /// <remarks>
    /// Stalls are caught by one watchdog timer per stream, not by a timer per read: a 1 GiB body arrives in tens of
    /// thousands of socket-sized reads, and a linked token source plus a timer for each cost about a tenth of the
    /// download's time.
    /// </remarks>
    internal sealed class HttpReadStream : ForwardOnlyStream
    {
        private readonly HttpResponseMessage _response;
        private readonly Stream _body;
        private readonly Uri _uri;
        private readonly TimeSpan _stallTimeout;
        private readonly CancellationTokenSource? _stalled;
        private readonly Timer? _watchdog;
        private CancellationTokenSource? _linked;
        private CancellationToken _linkedFor;
        private long _readStartedAt;
        private long _position;
        private long _received;
        private bool _disposed;

        public HttpReadStream(HttpResponseMessage response, Stream body, Uri uri, long position, TimeSpan stallTimeout)
        {
            _response = response;
            _body = body;
            _uri = uri;
            _position = position;
            _stallTimeout = stallTimeout;
            if (stallTimeout > TimeSpan.Zero)
            {
                _stalled = new CancellationTokenSource();
                var period = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, Math.Min(TimeSpan.FromSeconds(1).Ticks, stallTimeout.Ticks / 4)));
                _watchdog = new Timer(_ => CheckStalled(), null, period, period);
            }
        }

        public override bool CanRead => !_disposed;
        public override bool CanWrite => false;
        public override long Position => _position;

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            var token = TokenFor(cancellationToken);
            Volatile.Write(ref _readStartedAt, Stopwatch.GetTimestamp());
            try
            {
                var n = await _body.ReadAsync(buffer, offset, count, token).ConfigureAwait(false);
                _position += n;
                _received += n;
                return n;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && _received == 0 && EndedBeforeTheBody(e))
            {
                // A success with a length, then the connection closed before one byte of the body: what rclone serve
                // webdav does for a file it cannot read. Every retry gets the same, so it is not a network fault.
                throw new PluginException(ErrorCode.Unknown,
                    $"Read {HttpErrors.Redact(_uri)}: the server answered {(int)_response.StatusCode} {_response.ReasonPhrase} for {_response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "a body of unknown length"} bytes, then closed the connection without sending any (can the server read the file?).",
                    e, "HttpBodyMissing", HttpErrors.Redact(_uri));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                throw e is OperationCanceledException
                    ? new PluginException(ErrorCode.Timeout,
                        $"Read {HttpErrors.Redact(_uri)}: no byte arrived for {_stallTimeout.TotalSeconds:0} s (stalled at {_position}); it will be retried.",
                        e, "HttpStalled", HttpErrors.Redact(_uri))
                    : HttpErrors.FromException(e, _uri, "Read", _response.RequestMessage);
            }
            finally
            {
                Volatile.Write(ref _readStartedAt, 0);
            }
        }

        /// <summary>The body ended before its announced length (.NET: "The response ended prematurely").</summary>
        private static bool EndedBeforeTheBody(Exception e)
        {
            for (var inner = e; inner != null; inner = inner.InnerException)
            {
                if (inner is IOException && inner.Message.IndexOf("ended prematurely", StringComparison.OrdinalIgnoreCase) >= 0)
                {
                    return true;
                }
            }

            return false;
        }

        public override void Flush()
        {
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                _watchdog?.Dispose();
                _body.Dispose();
                _response.Dispose();
                _linked?.Dispose();
                _stalled?.Dispose();
            }

            base.Dispose(disposing);
        }

        /// <summary>
        /// The token a read waits on: the caller's joined with the watchdog's. The engine passes the same token to every
        /// read of a stream, so the joined source is made once, not once per read.
        /// </summary>
        private CancellationToken TokenFor(CancellationToken cancellationToken)
        {
            if (_stalled is null)
            {
                return cancellationToken;
            }

            if (!cancellationToken.CanBeCanceled)
            {
                return _stalled.Token;
            }

            if (_linked is null || !_linkedFor.Equals(cancellationToken))
            {
                _linked?.Dispose();
                _linked = CancellationTokenSource.CreateLinkedTokenSource(_stalled.Token, cancellationToken);
                _linkedFor = cancellationToken;
            }

            return _linked.Token;
        }

        private void CheckStalled()
        {
            var started = Volatile.Read(ref _readStartedAt);
            if (started != 0 && Stopwatch.GetTimestamp() - started > _stallTimeout.TotalSeconds * Stopwatch.Frequency)
            {
                try
                {
                    _stalled!.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // Disposed between the check and the cancel: the stream is gone, nothing to stop.
                }
            }
        }
    }

    /// <summary>
    /// The body of a PUT being uploaded while the engine writes it: <see cref="HttpClient"/> asks for the body
    /// (<see cref="SerializeToStreamAsync"/>), the engine's writes go straight into the request stream, and disposing
    /// the writer ends the body. Sent chunked, since the size is not known up front.
    /// </summary>
    internal sealed class StreamingUploadContent : HttpContent
    {
        private readonly TaskCompletionSource<Stream> _requestStream = new TaskCompletionSource<Stream>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<bool> _done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Stream> RequestStream => _requestStream.Task;

        public void Complete() => _done.TrySetResult(true);

        /// <summary>True once the body was abandoned: the server discards it and nobody waits for its answer.</summary>
        public bool IsAborted { get; private set; }

        public void Abort(Exception reason)
        {
            IsAborted = !_done.Task.IsCompleted || IsAborted;
            _requestStream.TrySetException(reason);
            _done.TrySetException(reason);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            if (!_requestStream.TrySetResult(stream))
            {
                // Asked twice (a redirect or an authentication retry): the body cannot be replayed.
                throw new InvalidOperationException("The upload body cannot be sent twice.");
            }

            await _done.Task.ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    /// <summary>The engine's side of an upload: writes go into the PUT body; the server's answer is checked at commit.</summary>
    internal sealed class HttpUploadStream : ForwardOnlyStream
    {
        private readonly StreamingUploadContent _content;
        private readonly Task<HttpResponseMessage> _response;
        private readonly Uri _uri;
        private readonly TimeSpan _stallTimeout;
        private long _position;
        private bool _disposed;
        private bool _flushedSinceWrite = true;
        private CancellationToken _lastToken;

        /// <summary>
        /// The PUT goes straight to the final name (<see cref="HttpPlainPut"/>): a body ended early would store a
        /// truncated file there, so a stream whose caller was cancelled (a suspended or failed copy) is abandoned on
        /// dispose, not ended, even after a flush.
        /// </summary>
        public bool Direct { get; set; }

        public HttpUploadStream(StreamingUploadContent content, HttpRequestMessage request, Task<HttpResponseMessage> response, Uri uri, TimeSpan stallTimeout)
        {
            _content = content;
            Request = request;
            _response = response;
            _uri = uri;
            _stallTimeout = stallTimeout;
        }

        /// <summary>The PUT: a failure to reach the server is described from it (<see cref="HttpErrors.FromException"/>).</summary>
        public HttpRequestMessage Request { get; }

        /// <summary>True when the upload was abandoned (failed or disposed unflushed): nothing will be stored.</summary>
        public bool Abandoned => _content.IsAborted;

        /// <summary>The server's answer, known once the body has ended.</summary>
        public Task<HttpResponseMessage> Response => _response;

        public override bool CanRead => false;
        public override bool CanWrite => !_disposed;
        public override long Position => _position;

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(HttpUploadStream));
            }

            using var stall = _stallTimeout > TimeSpan.Zero ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken) : null;
            stall?.CancelAfter(_stallTimeout);
            var token = stall?.Token ?? cancellationToken;
            _lastToken = cancellationToken;
            try
            {
                _flushedSinceWrite = false;
                var body = await WhenBodyRequestedAsync(token).ConfigureAwait(false);
                await body.WriteAsync(buffer, offset, count, token).ConfigureAwait(false);
                _position += count;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                throw await FailureAsync(e).ConfigureAwait(false);
            }
            catch (OperationCanceledException e)
            {
                _content.Abort(e);
                throw;
            }
        }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            _lastToken = cancellationToken;
            if (!_content.RequestStream.IsCompleted)
            {
                _flushedSinceWrite = true;
                return;
            }

            try
            {
                var body = await _content.RequestStream.ConfigureAwait(false);
                await body.FlushAsync(cancellationToken).ConfigureAwait(false);
                _flushedSinceWrite = true;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                throw await FailureAsync(e).ConfigureAwait(false);
            }
        }

        /// <summary>Ends the body and waits for the server's answer.</summary>
        public async Task<HttpResponseMessage> CompleteAsync()
        {
            _disposed = true;
            _content.Complete();
            return await _response.ConfigureAwait(false);
        }

        /// <summary>Stops the upload without ending the body, so the server discards what it got.</summary>
        public void Abort() => _content.Abort(new OperationCanceledException("The upload was abandoned."));

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                if (_flushedSinceWrite && !(Direct && _lastToken.IsCancellationRequested))
                {
                    // End the body; the server's answer is awaited (and its errors raised) by GetInfoAsync or CommitAsync.
                    _content.Complete();
                }
                else
                {
                    // Written but never flushed: the copy failed midway. Abort, so the server discards the partial body
                    // instead of storing a truncated file.
                    _content.Abort(new OperationCanceledException("The upload was abandoned before its data was flushed."));
                }
            }

            base.Dispose(disposing);
        }

        private async Task<Stream> WhenBodyRequestedAsync(CancellationToken token)
        {
            var requested = _content.RequestStream;
            if (!requested.IsCompleted)
            {
                var cancelled = Task.Delay(Timeout.Infinite, token);
                var first = await Task.WhenAny(requested, _response, cancelled).ConfigureAwait(false);
                if (first == cancelled)
                {
                    token.ThrowIfCancellationRequested();
                }

                if (first == _response)
                {
                    // The server answered before asking for the body (e.g. 401/403 to Expect: 100-continue).
                    throw new IOException("The server answered before the upload body was sent.");
                }
            }

            return await requested.ConfigureAwait(false);
        }

        /// <summary>Prefers the server's answer (403, 507, ...) over the broken-pipe error it caused.</summary>
        private async Task<PluginException> FailureAsync(Exception e)
        {
            _content.Abort(e);
            try
            {
                var finished = await Task.WhenAny(_response, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
                if (finished == _response && _response.Status == TaskStatus.RanToCompletion && !_response.Result.IsSuccessStatusCode)
                {
                    using var response = _response.Result;
                    return await HttpErrors.FromStatusAsync(response, _uri, "Upload").ConfigureAwait(false);
                }
            }
            catch (Exception)
            {
                // Fall back to the write's own failure.
            }

            return e is OperationCanceledException
                ? new PluginException(ErrorCode.Timeout, $"Upload {HttpErrors.Redact(_uri)}: the server took no byte for {_stallTimeout.TotalSeconds:0} s; it will be retried.",
                    e, "HttpStalled", HttpErrors.Redact(_uri))
                : HttpErrors.FromException(e, _uri, "Upload", Request);
        }
    }
}
