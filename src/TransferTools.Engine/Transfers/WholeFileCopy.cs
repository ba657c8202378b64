using System;
using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// Copies a file of at most one segment in one read, one hash and one write: the three-stage pipeline's tasks,
    /// channels and segment pool cost a small file more than its bytes do. Same checks, same result. Between two local
    /// endpoints (<see cref="ILocalFileEndpoint"/>) the I/O is synchronous, and the bytes go to a file without a name
    /// where the destination can hold one (<see cref="IUnnamedTemporaries"/>).
    /// </summary>
    internal sealed class WholeFileCopy
    {
        private readonly RunningTransfer _run;
        private readonly ITransferEndpoint _source;
        private readonly ITransferEndpoint _destination;
        private readonly OperationContext _context;
        private readonly TransferOptions _options;
        private readonly StallWatch _stall;
        private readonly bool _useUnnamed;

        public WholeFileCopy(RunningTransfer run, ITransferEndpoint source, ITransferEndpoint destination, OperationContext context, TransferOptions options,
            StallWatch stall, bool useUnnamed)
        {
            _run = run;
            _source = source;
            _destination = destination;
            _context = context;
            _options = options;
            _stall = stall;
            _useUnnamed = useUnnamed;
        }

        /// <summary>
        /// True once <see cref="CopyAsync"/> wrote the temporary through a stream that confirmed every byte at its offset
        /// (<see cref="IWriteAcknowledgement"/>) into a file it created empty, and closed it without a refusal: the
        /// temporary then holds exactly the bytes sent, and its size needs no stat before the delivery.
        /// </summary>
        public bool Acknowledged { get; private set; }

        /// <summary>
        /// Copies the <paramref name="total"/> bytes of <paramref name="sourceUri"/>, hashing them into <paramref name="sha"/>
        /// (and <paramref name="md5"/>, when given).
        /// </summary>
        /// <returns>The unnamed file holding the bytes, or null when they are in the temporary file <paramref name="temp"/>.</returns>
        public async Task<IUnnamedTemporary?> CopyAsync(Uri sourceUri, Uri temp, Uri final, long total, IncrementalHash sha, IncrementalHash? md5 = null)
        {
            var token = _context.CancellationToken;
            var length = (int)total;
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            var localSource = _source as ILocalFileEndpoint;
            var local = localSource != null && _destination is ILocalFileEndpoint;
            try
            {
                using (var reader = local
                           ? localSource!.OpenWholeForRead(_context, sourceUri)
                           : await _source.OpenReadAsync(_context, sourceUri, 0, _run.Record.SourceVersion, _options).ConfigureAwait(false))
                {
                    var filled = 0;
                    while (filled < length)
                    {
                        // A local file is read synchronously: an async read of an ordinary file only moves it to another thread.
                        var n = local
                            ? reader.Read(buffer, filled, length - filled)
                            : await reader.ReadAsync(buffer, filled, length - filled, token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new PluginException(ErrorCode.SourceChanged,
                                $"The source ended after {filled} bytes; {total} were expected. It changed during the transfer.", errorId: "SourceChanged");
                        }

                        filled += n;
                        _stall.Touch();
                    }
                }

                token.ThrowIfCancellationRequested();
                sha.AppendData(buffer, 0, length);
                md5?.AppendData(buffer, 0, length);
                if (local && _useUnnamed && _destination is IUnnamedTemporaries unnamedFiles)
                {
                    var unnamed = unnamedFiles.TryCreateUnnamed(_context, final, _options);
                    if (unnamed != null)
                    {
                        try
                        {
                            unnamed.Write(buffer, length);
                        }
                        catch
                        {
                            unnamed.Dispose();
                            throw;
                        }

                        _stall.Touch();
                        _run.Update(r => r.BytesTransferred = total);
                        return unnamed;
                    }
                }

                var writer = await _destination.OpenWriteAsync(_context, temp, 0, _options).ConfigureAwait(false);
                var acknowledged = false;
                try
                {
                    if (local)
                    {
                        writer.Write(buffer, 0, length);
                        writer.Flush();
                    }
                    else
                    {
                        await writer.WriteAsync(buffer, 0, length, token).ConfigureAwait(false);
                        await writer.FlushAsync(token).ConfigureAwait(false);
                        acknowledged = writer is IWriteAcknowledgement confirmed && confirmed.AcknowledgedOffset == length;
                    }
                }
                finally
                {
                    // (A server that stores on close and fails there throws here: then nothing is acknowledged.)
                    writer.Dispose();
                }

                Acknowledged = acknowledged;

                _stall.Touch();
                _run.Update(r => r.BytesTransferred = total);
                return null;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
