using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The manifest lines of one batch's sends under one remote root, appended to <c>ROOT/.transfertools/BATCH.batch.json</c>
    /// (the file <see cref="TransferManifest"/> reads for a batch member) in groups: each send waits until its line is
    /// stored, as it waited for its own manifest file before, but the lines of every send delivered meanwhile go in one
    /// write, on a handle kept open until the batch ends. Over SFTP a small file's manifest cost four requests of its own
    /// (open, write, close, rename); now a group of them costs one write.
    /// </summary>
    /// <remarks>
    /// One group is written at a time, in order, each at the end of the last one stored, so the file only ever grows by
    /// whole lines; a group that fails fails its sends' manifests (a warning: the files are delivered) and the next group
    /// writes over its bytes, if any landed. Readers skip a torn last line, as in the local batch file. A handle that fails
    /// (a connection lost and made again) is reopened once where the stored lines end.
    /// </remarks>
    internal sealed class RemoteBatchManifest : IDisposable
    {
        private readonly object _gate = new object();
        private readonly ITransferEndpoint _endpoint;
        private readonly Uri _root;
        private List<(byte[] Line, TaskCompletionSource<bool> Stored)> _pending = new List<(byte[], TaskCompletionSource<bool>)>();
        private bool _writing;
        private bool _folderKnown;
        // Bytes stored so far: where the next group goes (nothing is stored before the first group creates the file).
        private long _stored;
        // The open file, kept between groups (one write per group); closed by Dispose when the batch ends.
        private Stream? _stream;
        private bool _disposed;

        /// <param name="endpoint">The destination; it implements <see cref="IRangedWrites"/> (see <see cref="TransferManifest.GoesToBatchFile"/>).</param>
        /// <param name="root">The folder whose <c>.transfertools</c> holds the file.</param>
        /// <param name="location">The batch manifest file.</param>
        public RemoteBatchManifest(ITransferEndpoint endpoint, Uri root, Uri location)
        {
            _endpoint = endpoint;
            _root = root;
            Location = location;
        }

        /// <summary>The batch manifest file.</summary>
        public Uri Location { get; }

        /// <summary>Adds <paramref name="line"/> to the next group; completes when it is stored, faults when its group failed.</summary>
        /// <param name="folderKnown">The manifest folder is known to exist (made for an earlier send of the batch).</param>
        public Task AppendAsync(byte[] line, OperationContext context, TransferOptions options, bool folderKnown)
        {
            var stored = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            bool start;
            lock (_gate)
            {
                _pending.Add((line, stored));
                _folderKnown |= folderKnown;
                start = !_writing;
                _writing = true;
            }

            if (start)
            {
                // Not cancelled with the send that happens to start it: the group holds other sends' lines too (a dead
                // server still ends it, by the endpoint's own timeouts).
                var writing = context.WithCancellation(CancellationToken.None);
                var plain = options.Clone();
                // The manifest is not the delivered file: the file's mode is not the manifest's.
                plain.NewFileMode = null;
                plain.SourceMode = null;
                _ = Task.Run(() => WriteGroupsAsync(writing, plain));
            }

            if (context.CancellationToken.CanBeCanceled)
            {
                // A send cancelled while it waits stops waiting; its line still goes in with its group.
                var registration = context.CancellationToken.Register(() => stored.TrySetCanceled());
                stored.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return stored.Task;
        }

        private async Task WriteGroupsAsync(OperationContext context, TransferOptions options)
        {
            while (true)
            {
                List<(byte[] Line, TaskCompletionSource<bool> Stored)> group;
                lock (_gate)
                {
                    if (_pending.Count == 0)
                    {
                        _writing = false;
                        if (_disposed)
                        {
                            CloseQuietly();
                        }

                        return;
                    }

                    group = _pending;
                    _pending = new List<(byte[], TaskCompletionSource<bool>)>();
                }

                try
                {
                    await WriteAsync(context, options, group).ConfigureAwait(false);
                    foreach (var member in group)
                    {
                        member.Stored.TrySetResult(true);
                    }
                }
                catch (Exception e)
                {
                    foreach (var member in group)
                    {
                        member.Stored.TrySetException(e);
                    }
                }
            }
        }

        private async Task WriteAsync(OperationContext context, TransferOptions options, List<(byte[] Line, TaskCompletionSource<bool> Stored)> group)
        {
            var length = 0;
            foreach (var member in group)
            {
                length += member.Line.Length;
            }

            var bytes = new byte[length];
            var at = 0;
            foreach (var member in group)
            {
                Buffer.BlockCopy(member.Line, 0, bytes, at, member.Line.Length);
                at += member.Line.Length;
            }

            for (var attempt = 1; ; attempt++)
            {
                var reused = _stream != null;
                try
                {
                    var stream = _stream ??= await OpenAsync(context, options).ConfigureAwait(false);
                    await stream.WriteAsync(bytes, 0, bytes.Length, context.CancellationToken).ConfigureAwait(false);
                    await stream.FlushAsync(context.CancellationToken).ConfigureAwait(false);
                    _stored += length;
                    return;
                }
                catch (Exception) when (reused && attempt == 1)
                {
                    // The handle kept from an earlier group died (its connection was lost): once more on a new one.
                    CloseQuietly();
                }
                catch (Exception)
                {
                    CloseQuietly();
                    throw;
                }
            }
        }

        private async Task<Stream> OpenAsync(OperationContext context, TransferOptions options)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    throw new ObjectDisposedException(nameof(RemoteBatchManifest));
                }
            }

            if (_stored > 0)
            {
                return await ((IRangedWrites)_endpoint).OpenWriteRangeAsync(context, Location, _stored, 0, options).ConfigureAwait(false);
            }

            if (!_folderKnown)
            {
                await _endpoint.CreateDirectoryAsync(context, TransferLocation.Combine(_root, TransferManifest.FolderName), options).ConfigureAwait(false);
                _folderKnown = true;
            }

            return await _endpoint.OpenWriteAsync(context, Location, 0, options).ConfigureAwait(false);
        }

        private void CloseQuietly()
        {
            var stream = _stream;
            _stream = null;
            try
            {
                stream?.Dispose();
            }
            catch (Exception)
            {
                // Its lines are stored or written again; the close of a broken handle has nothing to say.
            }
        }

        /// <summary>Closes the file when the batch ends (every send of it has its line stored by then, or failed).</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                if (_writing)
                {
                    // A group still being written (its sends were cancelled): the writer closes the file when it is done.
                    return;
                }
            }

            CloseQuietly();
        }
    }
}
