using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;

namespace TransferTools.Engine.Transfers
{
    /// <summary>One input of a <see cref="TransferQueue"/> and, once <see cref="Done"/>, its result.</summary>
    public sealed class TransferQueueItem
    {
        internal TransferQueueItem(object target, Func<OperationContext, Task<Transfer>> start)
        {
            Target = target;
            Start = start;
        }

        /// <summary>The input the result is for (the target of an error about it).</summary>
        public object Target { get; }

        /// <summary>The transfer, once started (waited for unless the queue does not wait).</summary>
        public Transfer? Transfer { get; internal set; }

        /// <summary>Why the input failed: it could not start, or its transfer ended failed, cancelled or suspended (null when it completed).</summary>
        public Exception? Error { get; internal set; }

        internal Func<OperationContext, Task<Transfer>> Start { get; }

        internal bool Done => Volatile.Read(ref _done);

        internal void Finish() => Volatile.Write(ref _done, true);

        private bool _done;
    }

    /// <summary>
    /// The transfers one command call starts, fed one input at a time while more are still coming (a pipeline, a folder
    /// walk): a pool of workers takes the inputs in order, starts each, waits for it (unless asked not to), and hands the
    /// results back in input order, so the first file moves while the rest are still being enumerated and memory does not
    /// hold the whole input first.
    /// <para>Batching: a lone input keeps its own journal record; when a second input arrives within
    /// <see cref="FirstInputHold"/> of the first, the inputs of the call are journaled as one batch
    /// (<see cref="TransferManager.BeginBatch"/>).</para>
    /// <para>Threads: <see cref="Add"/>, <see cref="Complete"/>, <see cref="TakeReady"/> and <see cref="Abandon"/> are
    /// called by one thread (a cmdlet's pipeline thread); <see cref="RunAsync"/> runs the workers elsewhere and calls its
    /// <c>resultsReady</c> callback (once per wake-up, not per result) when results wait to be taken.</para>
    /// </summary>
    public sealed class TransferQueue
    {
        /// <summary>How long a first input waits for a second one before it starts on its own.</summary>
        public static readonly TimeSpan FirstInputHold = TimeSpan.FromMilliseconds(100);

        private readonly TransferManager _manager;
        private readonly int _throttleLimit;
        private readonly bool _batched;
        private readonly bool _wait;
        private readonly Channel<TransferQueueItem> _queue = Channel.CreateUnbounded<TransferQueueItem>();
        private readonly Queue<TransferQueueItem> _inOrder = new Queue<TransferQueueItem>(); // caller's thread only
        private readonly object _gate = new object();
        private IDisposable? _batch;
        private TransferQueueItem? _first;
        private Timer? _firstTimer;
        private int _added; // caller's thread only
        private int _expected; // 0 while inputs may still come, then how many came
        private int _unreported; // results done but not yet signalled to the caller
        private readonly ConcurrentQueue<Transfer> _suspendedOnCancel = new ConcurrentQueue<Transfer>();

        /// <summary>A queue of transfers run by <paramref name="manager"/>.</summary>
        /// <param name="manager">Waits for the transfers and explains their failures.</param>
        /// <param name="throttleLimit">How many inputs are worked on at once.</param>
        /// <param name="batched">Journal the inputs as one batch once a second one arrives (sends and receives; never resumes).</param>
        /// <param name="wait">Wait for each transfer to end (false: the result is the transfer as started, running on in the session).</param>
        public TransferQueue(TransferManager manager, int throttleLimit, bool batched, bool wait)
        {
            _manager = manager ?? throw new ArgumentNullException(nameof(manager));
            _throttleLimit = Math.Max(1, throttleLimit);
            _batched = batched;
            _wait = wait;
        }

        /// <summary>
        /// The bandwidth limit of the whole call, shared by every transfer it runs at once (null: none, or each transfer's
        /// journaled one). Its rate may change while the transfers run.
        /// </summary>
        public BandwidthLimiter? Limiter { get; set; }

        /// <summary>
        /// The transfers this queue was waiting for when its context was cancelled (Ctrl+C), as they stood once suspended,
        /// so that the command can say where each stopped and how to continue it.
        /// </summary>
        public IReadOnlyList<Transfer> SuspendedOnCancel => _suspendedOnCancel.ToArray();

        /// <summary>Queues one input: <paramref name="start"/> starts its transfer, given the context of the worker that takes it.</summary>
        /// <param name="target">The input, handed back with its result.</param>
        /// <param name="start">Starts the transfer.</param>
        public void Add(object target, Func<OperationContext, Task<Transfer>> start)
        {
            var item = new TransferQueueItem(target, start);
            _inOrder.Enqueue(item);
            switch (++_added)
            {
                case 1 when _batched:
                    // A lone transfer keeps its own journal record; a second input arriving soon after makes the two the
                    // start of a batch. The first waits at most FirstInputHold for it, so a slow producer still sees its
                    // first file move before it produces the next.
                    _first = item;
                    _firstTimer = new Timer(_ => ReleaseFirst(), null, FirstInputHold, Timeout.InfiniteTimeSpan);
                    break;
                case 2 when _batched:
                    if (Interlocked.Exchange(ref _first, null) is TransferQueueItem first)
                    {
                        Volatile.Write(ref _batch, _manager.BeginBatch());
                        _queue.Writer.TryWrite(first);
                    }

                    _queue.Writer.TryWrite(item);
                    break;
                default:
                    _queue.Writer.TryWrite(item);
                    break;
            }
        }

        /// <summary>No more inputs: the workers end once every queued one is done.</summary>
        public void Complete()
        {
            Volatile.Write(ref _expected, _added);
            _firstTimer?.Dispose();
            lock (_gate)
            {
                ReleaseFirst();
                _queue.Writer.TryComplete();
            }
        }

        /// <summary>Lets go of the batch, once: at the end, or when the caller gives up without waiting (its members keep their own references).</summary>
        public void Abandon()
        {
            _firstTimer?.Dispose();
            Interlocked.Exchange(ref _batch, null)?.Dispose();
        }

        /// <summary>The results finished so far that no earlier input still holds back, in input order.</summary>
        public IEnumerable<TransferQueueItem> TakeReady()
        {
            Interlocked.Exchange(ref _unreported, 0);
            return Ready();
        }

        private IEnumerable<TransferQueueItem> Ready()
        {
            while (_inOrder.Count > 0 && _inOrder.Peek().Done)
            {
                yield return _inOrder.Dequeue();
            }
        }

        /// <summary>
        /// Runs the workers until <see cref="Complete"/> was called and every input is done, or the context is cancelled
        /// (the transfers being waited for are then suspended: resumable).
        /// </summary>
        /// <param name="context">The command's context: cancellation, logger, progress.</param>
        /// <param name="resultsReady">Called from a worker when results wait for <see cref="TakeReady"/>; not again until it has been called.</param>
        public async Task RunAsync(OperationContext context, System.Action resultsReady)
        {
            // Lets the progress monitor say "2 of 5 files" once the count is known (0 while inputs still come).
            context = context.WithValue(EngineContextKeys.ExpectedTransferCount, (Func<int>)(() => Volatile.Read(ref _expected)));
            if (Limiter != null)
            {
                context = context.WithValue(EngineContextKeys.CommandBandwidth, Limiter);
            }

            var workers = new List<Task>();
            for (var w = 0; w < _throttleLimit; w++)
            {
                workers.Add(WorkAsync(context, resultsReady));
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        private async Task WorkAsync(OperationContext context, System.Action resultsReady)
        {
            await Task.Yield();
            var reader = _queue.Reader;
            // The context with the batch in it is built once per worker and batch, not per input (each copy is a dictionary).
            IDisposable? contextBatch = null;
            var batchContext = context;
            while (await reader.WaitToReadAsync(context.CancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    context.CancellationToken.ThrowIfCancellationRequested();
                    var batch = Volatile.Read(ref _batch);
                    if (!ReferenceEquals(batch, contextBatch))
                    {
                        contextBatch = batch;
                        batchContext = batch is null ? context : context.WithValue(TransferManager.BatchContextKey, batch);
                    }

                    await RunOneAsync(batchContext, item).ConfigureAwait(false);
                    item.Finish();
                    // One wake-up of the caller takes every result ready by then.
                    if (Interlocked.Increment(ref _unreported) == 1)
                    {
                        resultsReady();
                    }
                }
            }
        }

        private async Task RunOneAsync(OperationContext context, TransferQueueItem item)
        {
            string? waitingFor = null;
            try
            {
                var transfer = await item.Start(context).ConfigureAwait(false);
                if (_wait)
                {
                    waitingFor = transfer.Id;
                    transfer = (await _manager.WaitAsync(context, transfer.Id, null, suspendOnCancel: true).ConfigureAwait(false)).Transfer;
                }

                item.Transfer = transfer;
                item.Error = _wait ? _manager.GetFailure(transfer) : null;
            }
            catch (OperationCanceledException) when (waitingFor != null && context.CancellationToken.IsCancellationRequested)
            {
                // Suspended by the cancel (WaitAsync waited for that): keep how it stands for the command's last word.
                try
                {
                    _suspendedOnCancel.Enqueue(await _manager.GetTransferAsync(context.WithCancellation(CancellationToken.None), waitingFor).ConfigureAwait(false));
                }
                catch (PluginException)
                {
                    // Gone meanwhile (stopped from elsewhere): nothing to continue.
                }

                throw;
            }
            catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
            {
                item.Error = e;
            }
        }

        private void ReleaseFirst()
        {
            // Under the gate: the timer's write of the first input must not fall after Complete ended the queue.
            lock (_gate)
            {
                if (Interlocked.Exchange(ref _first, null) is TransferQueueItem first)
                {
                    _queue.Writer.TryWrite(first);
                }
            }
        }
    }
}
