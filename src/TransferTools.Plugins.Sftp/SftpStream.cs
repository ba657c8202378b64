using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// A remote file opened for reading or writing: forwards to SSH.NET's <see cref="SftpFileStream"/> and turns its
    /// failures into <see cref="PluginException"/>s (a dropped connection is a transient <see cref="ErrorCode.ConnectionError"/>,
    /// and the pooled client is dropped so the engine's retry reconnects).
    /// </summary>
    internal sealed class SftpStream : ForwardOnlyStream
    {
        private readonly SftpFileStream _inner;
        private readonly Func<Exception, PluginException> _map;
        private readonly bool _write;
        private long _position;
        private bool _disposed;

        public SftpStream(SftpFileStream inner, long position, bool write, Func<Exception, PluginException> map)
        {
            _inner = inner;
            _position = position;
            _write = write;
            _map = map;
        }

        public override bool CanRead => !_write && !_disposed;
        public override bool CanWrite => _write && !_disposed;
        public override long Position => _position;

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            try
            {
                var n = await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                _position += n;
                return n;
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw _map(e);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            try
            {
                await _inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                _position += count;
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw _map(e);
            }
        }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            try
            {
                await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                throw _map(e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                try
                {
                    _inner.Dispose();
                }
                catch (Exception)
                {
                    // Dispose must not mask the failure that ended the copy. Written data counts only after
                    // FlushAsync succeeded; what a dead connection lost here is re-sent from the journal.
                }
            }

            base.Dispose(disposing);
        }
    }
}
