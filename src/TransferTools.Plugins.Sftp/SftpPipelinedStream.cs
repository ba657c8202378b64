using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;
using Action = System.Action;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// What the pipelined read and write streams share: one SFTP handle with requests in flight whose answers arrive by
    /// callback on SSH.NET's receive thread, the first failure (a refused request, a dropped connection, no answer within
    /// the stall timeout) kept and raised by the next call, and one waiter that an answer wakes.
    /// </summary>
    internal abstract class SftpPipelinedStream : ForwardOnlyStream
    {
        private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

        protected readonly SftpClient _client;
        private readonly Action _closeHandle;
        protected readonly object _session;
        protected readonly byte[] _handle;
        protected readonly TimeSpan _stallTimeout;
        protected readonly Func<Exception, PluginException> _map;
        protected readonly object _lock = new object();
        protected readonly Stopwatch _sinceAnswer = Stopwatch.StartNew();
        protected int _inFlight;
        protected Exception? _failure;
        protected long _position;
        protected bool _disposed;
        private TaskCompletionSource<bool>? _waiter;

        /// <param name="handle">The open file's SFTP handle.</param>
        /// <param name="closeHandle">Closes <paramref name="handle"/> (waiting for the answer) on dispose.</param>
        protected SftpPipelinedStream(SftpClient client, byte[] handle, Action closeHandle, object session, long position,
            TimeSpan stallTimeout, Func<Exception, PluginException> map)
        {
            _client = client;
            _closeHandle = closeHandle;
            _session = session;
            _handle = handle;
            _stallTimeout = stallTimeout;
            _position = position;
            _map = map;
            _client.ErrorOccurred += OnClientError;
        }

        /// <summary>"read" or "write", for messages.</summary>
        protected abstract string Direction { get; }

        public override long Position => _position;

        /// <summary>
        /// Waits until <paramref name="ready"/> (called under <see cref="_lock"/>) holds or a failure is kept. Polls once a
        /// second for a dead connection and for a server that answered nothing within the stall timeout.
        /// </summary>
        protected async Task WaitUntilAsync(Func<bool> ready, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task wake;
                lock (_lock)
                {
                    if (_failure != null || ready())
                    {
                        return;
                    }

                    _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    wake = _waiter.Task;
                }

                using (var delay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    if (await Task.WhenAny(wake, Task.Delay(Poll, delay.Token)).ConfigureAwait(false) == wake)
                    {
                        delay.Cancel();
                        continue;
                    }
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (!_client.IsConnected)
                {
                    Fail(new SshConnectionException($"The SSH connection was closed while {Direction} requests were in flight."));
                }
                else if (_stallTimeout > TimeSpan.Zero && _sinceAnswer.Elapsed > _stallTimeout)
                {
                    Fail(new SshOperationTimeoutException(
                        $"The server answered none of {_inFlight} {Direction} requests within {_stallTimeout.TotalSeconds:0} s."));
                }
            }
        }

        /// <summary>Takes the waiting caller's wake-up, if any; call under <see cref="_lock"/> and complete it outside.</summary>
        protected TaskCompletionSource<bool>? TakeWaiter()
        {
            var wake = _waiter;
            _waiter = null;
            return wake;
        }

        /// <summary>Keeps the first failure and wakes the waiting caller, which raises it.</summary>
        protected void Fail(Exception e)
        {
            TaskCompletionSource<bool>? wake;
            lock (_lock)
            {
                _failure ??= e;
                wake = TakeWaiter();
            }

            wake?.TrySetResult(true);
        }

        protected void ThrowIfFailed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(GetType().Name);
            }

            var failure = _failure;
            if (failure != null)
            {
                throw _map(failure);
            }
        }

        /// <summary>
        /// Stops listening to the client and closes the handle. Returns the server's refusal of the CLOSE, if any: a server
        /// that stores the file only on close (rclone, cloud-backed gateways, a full disk or quota) reports there that it
        /// did not; a writer must fail on it. A dead connection cannot close its handle (it dies with it): null then.
        /// </summary>
        protected Exception? CloseHandle()
        {
            _disposed = true;
            _client.ErrorOccurred -= OnClientError;
            try
            {
                // Answers still on their way land in the stream's own buffers, which SSH.NET alone touches by then.
                _closeHandle();
                return null;
            }
            catch (Exception e) when (SftpErrors.IsServerAnswer(e))
            {
                try
                {
                    return _client.IsConnected ? e : null;
                }
                catch (ObjectDisposedException)
                {
                    // The pool dropped the client: the connection, and the handle with it, are gone.
                    return null;
                }
            }
            catch (Exception)
            {
                return null;
            }
        }

        private void OnClientError(object? sender, ExceptionEventArgs e) => Fail(e.Exception);
    }
}
