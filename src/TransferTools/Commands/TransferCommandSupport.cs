using System;
using System.Collections.Generic;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>Parameters and helpers shared by the transfer cmdlets that move bytes (Send, Receive, Resume).</summary>
    public abstract class TransferOptionsCommand : TransferCmdlet
    {
        /// <summary>Bytes per chunk: the unit of journal commits and of re-sending after a resume (default 4 MiB).</summary>
        [Parameter]
        [ValidateRange(4096, 1024 * 1024 * 1024)]
        public int ChunkSize { get; set; } = TransferOptions.DefaultChunkSize;

        /// <summary>Bandwidth limit in bytes per second (0: none).</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MaxBytesPerSecond { get; set; }

        /// <summary>How many times a transient failure (connection lost, stall) is retried, with exponential backoff and jitter.</summary>
        [Parameter]
        [ValidateRange(0, 100)]
        public int RetryCount { get; set; } = 5;

        /// <summary>Seconds without a byte moving before an attempt counts as stalled (and is retried).</summary>
        [Parameter]
        [ValidateRange(1, 86400)]
        public int StallTimeoutSeconds { get; set; } = 60;

        /// <summary>User name and password for the remote side (never journaled).</summary>
        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>An OpenSSH private key file for sftp:// (its passphrase, if any, is the password of -Credential): the SFTP
        /// protocol option <c>KeyFile</c>, the path made absolute.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>The SSH host key fingerprint to trust for sftp://, <c>SHA256:...</c> as <c>ssh-keygen -l</c> prints it: the
        /// SFTP protocol option <c>HostKeyFingerprint</c>.</summary>
        [Parameter]
        [ValidatePattern(@"^(SHA256:)?[A-Za-z0-9+/]{43}=?$")]
        public string? HostKeyFingerprint { get; set; }

        /// <summary>Protocol-specific options (journaled, so never secrets), e.g. <c>@{ KnownHostsPath = '~/.ssh/known_hosts' }</c>.</summary>
        [Parameter]
        public System.Collections.Hashtable? ProtocolOption { get; set; }

        /// <summary>Replace an existing destination file (same as -Conflict Overwrite).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>What to do when the destination file exists: Fail (default), Overwrite, Skip or Rename. A skipped file comes back as a completed transfer with Skipped set and BytesTransferred 0.</summary>
        [Parameter]
        public ConflictPolicy Conflict { get; set; } = ConflictPolicy.Fail;

        /// <summary>Return the transfer at once and let it run in the background of the session.</summary>
        [Parameter]
        public SwitchParameter Asynchronous { get; set; }

        /// <inheritdoc/>
        protected override bool WantsProgress => !Asynchronous.IsPresent;

        /// <summary>The options the parameters describe.</summary>
        protected TransferOptions BuildOptions() => new TransferOptions
        {
            ChunkSize = ChunkSize,
            MaxBytesPerSecond = MaxBytesPerSecond,
            RetryCount = RetryCount,
            StallTimeout = TimeSpan.FromSeconds(StallTimeoutSeconds),
            Conflict = Force.IsPresent && !MyInvocation.BoundParameters.ContainsKey(nameof(Conflict)) ? ConflictPolicy.Overwrite : Conflict,
            Credential = Credential?.GetNetworkCredential(),
            Custom = ProtocolOptions(),
        };

        /// <summary>The SFTP protocol option that <c>-KeyFile</c> sets.</summary>
        internal const string KeyFileOption = "KeyFile";

        /// <summary>The SFTP protocol option that <c>-HostKeyFingerprint</c> sets.</summary>
        internal const string HostKeyFingerprintOption = "HostKeyFingerprint";

        /// <summary>
        /// The protocol options: <c>-ProtocolOption</c>, and the protocol-specific parameters (<c>-KeyFile</c>,
        /// <c>-HostKeyFingerprint</c>), which win over an entry of the same name in it.
        /// </summary>
        protected IDictionary<string, string> ProtocolOptions()
        {
            var custom = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (ProtocolOption != null)
            {
                foreach (System.Collections.DictionaryEntry entry in ProtocolOption)
                {
                    custom[entry.Key?.ToString() ?? ""] = entry.Value?.ToString() ?? "";
                }
            }

            if (KeyFile != null)
            {
                custom[KeyFileOption] = SessionState.Path.GetUnresolvedProviderPathFromPSPath(KeyFile);
            }

            if (HostKeyFingerprint != null)
            {
                custom[HostKeyFingerprintOption] = HostKeyFingerprint;
            }

            return custom;
        }

        /// <summary>A local path typed by the user made absolute against the current PowerShell location; URIs pass unchanged.</summary>
        protected string ResolveLocation(string location)
        {
            if (TransferLocation.LooksLikeUri(location))
            {
                return location;
            }

            var trailing = location.EndsWith("/", StringComparison.Ordinal) || location.EndsWith("\\", StringComparison.Ordinal);
            var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(location);
            return trailing && !resolved.EndsWith(System.IO.Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal)
                ? resolved + System.IO.Path.DirectorySeparatorChar
                : resolved;
        }

        private TransferFeed? _feed;

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _feed?.Abandon();
                _feed = null;
            }
        }

        /// <summary>
        /// Starts one transfer of a pipeline input now, while later inputs are still coming (call from
        /// <c>ProcessRecord</c>): at most <paramref name="throttleLimit"/> run at once, each is waited for unless
        /// -Asynchronous, and the results of earlier inputs are written, in input order, as they finish: a Transfer, or
        /// an error whose target is the input. <see cref="CompleteTransfers"/> (from <c>EndProcessing</c>) waits for the
        /// rest. Ctrl+C, or the command torn down early, suspends the transfers in flight (they stay resumable).
        /// </summary>
        /// <param name="target">The input the result or error is written for.</param>
        /// <param name="start">Starts the transfer.</param>
        /// <param name="throttleLimit">How many run at once.</param>
        /// <param name="batched">Journal new transfers of this call as one batch once a second input arrives (sends and receives; never resumes).</param>
        protected void FeedTransfer(object target, Func<OperationContext, System.Threading.Tasks.Task<Transfer>> start, int throttleLimit, bool batched)
        {
            _feed ??= new TransferFeed(this, throttleLimit, batched);
            _feed.Add(target, start);
        }

        /// <summary>Waits for every transfer fed so far, writing the remaining results in input order.</summary>
        protected void CompleteTransfers()
        {
            var feed = _feed;
            _feed = null;
            if (feed is null)
            {
                return;
            }

            try
            {
                feed.Complete();
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteError(ErrorMapping.ToErrorRecord(e, null));
            }
        }

        /// <summary>
        /// Transfers fed from the pipeline: ThrottleLimit workers take the inputs in order from a queue while more
        /// arrive, so the first file moves while the rest are still being enumerated and memory does not hold the
        /// whole input first.
        /// </summary>
        private sealed class TransferFeed
        {
            private sealed class Item
            {
                public Item(object target, Func<OperationContext, System.Threading.Tasks.Task<Transfer>> start)
                {
                    Target = target;
                    Start = start;
                }

                public object Target { get; }
                public Func<OperationContext, System.Threading.Tasks.Task<Transfer>> Start { get; }
                public Transfer? Transfer { get; set; }
                public Exception? Error { get; set; }
                public volatile bool Done;
            }

            private readonly TransferOptionsCommand _command;
            private readonly bool _batched;
            private readonly System.Threading.Channels.Channel<Item> _queue =
                System.Threading.Channels.Channel.CreateUnbounded<Item>();
            private readonly Queue<Item> _inOrder = new Queue<Item>(); // pipeline thread only
            private readonly BackgroundRun _run;
            private IDisposable? _batch;
            private int _added; // pipeline thread only
            private int _expected; // 0 while inputs may still come, then how many came

            public TransferFeed(TransferOptionsCommand command, int throttleLimit, bool batched)
            {
                _command = command;
                _batched = batched;
                _run = command.StartBackground((context, post) => RunAsync(context, post, throttleLimit));
            }

            public void Add(object target, Func<OperationContext, System.Threading.Tasks.Task<Transfer>> start)
            {
                var item = new Item(target, start);
                _inOrder.Enqueue(item);
                switch (++_added)
                {
                    case 1 when _batched:
                        // A lone transfer keeps its own journal record; a second input arriving soon after makes the two
                        // the start of a batch. The first waits at most FirstInputHold for it, so a slow producer still
                        // sees its first file move before it produces the next.
                        _first = item;
                        _firstTimer = new System.Threading.Timer(_ => ReleaseFirst(), null, FirstInputHold, System.Threading.Timeout.InfiniteTimeSpan);
                        break;
                    case 2 when _batched:
                        if (System.Threading.Interlocked.Exchange(ref _first, null) is Item first)
                        {
                            System.Threading.Volatile.Write(ref _batch, _command.Session.Transfers.BeginBatch());
                            _queue.Writer.TryWrite(first);
                        }

                        _queue.Writer.TryWrite(item);
                        break;
                    default:
                        _queue.Writer.TryWrite(item);
                        break;
                }

                _run.Pump();
            }

            /// <summary>How long a first input waits for a second one before it starts on its own.</summary>
            internal static readonly TimeSpan FirstInputHold = TimeSpan.FromMilliseconds(100);

            private Item? _first;
            private System.Threading.Timer? _firstTimer;

            private readonly object _gate = new object();

            private void ReleaseFirst()
            {
                // Under the gate: the timer's write of the first input must not fall after Complete ended the queue.
                lock (_gate)
                {
                    if (System.Threading.Interlocked.Exchange(ref _first, null) is Item first)
                    {
                        _queue.Writer.TryWrite(first);
                    }
                }
            }

            public void Complete()
            {
                System.Threading.Volatile.Write(ref _expected, _added);
                _firstTimer?.Dispose();
                lock (_gate)
                {
                    ReleaseFirst();
                    _queue.Writer.TryComplete();
                }

                try
                {
                    _run.Wait();
                }
                finally
                {
                    Abandon();
                    WriteReady();
                }
            }

            /// <summary>Lets go of the batch, once: at the end, or when the command is torn down without waiting (its members keep their own references).</summary>
            public void Abandon()
            {
                _firstTimer?.Dispose();
                System.Threading.Interlocked.Exchange(ref _batch, null)?.Dispose();
            }

            /// <summary>Writes the finished prefix of the results, in input order (pipeline thread).</summary>
            private void WriteReady()
            {
                while (_inOrder.Count > 0 && _inOrder.Peek().Done)
                {
                    var item = _inOrder.Dequeue();
                    if (item.Error != null)
                    {
                        _command.WriteError(ErrorMapping.ToErrorRecord(item.Error, item.Target));
                    }
                    else if (item.Transfer != null)
                    {
                        _command.WriteObject(item.Transfer);
                    }
                }
            }

            private async System.Threading.Tasks.Task RunAsync(OperationContext context, Action<System.Action> post, int throttleLimit)
            {
                // Lets the progress monitor say "2 of 5 files" once the count is known (0 while inputs still come).
                context = context.WithValue(TransferTools.Engine.Monitoring.EngineContextKeys.ExpectedTransferCount,
                    (Func<int>)(() => System.Threading.Volatile.Read(ref _expected)));
                var manager = _command.Session.Transfers;
                var asynchronous = _command.Asynchronous.IsPresent;
                var pending = 0; // results done but not yet handed to the pipeline thread

                async System.Threading.Tasks.Task Worker()
                {
                    await System.Threading.Tasks.Task.Yield();
                    var reader = _queue.Reader;
                    // The context with the batch in it is built once per worker and batch, not per input (each copy is a dictionary).
                    IDisposable? contextBatch = null;
                    var batchContext = context;
                    while (await reader.WaitToReadAsync(context.CancellationToken).ConfigureAwait(false))
                    {
                        while (reader.TryRead(out var item))
                        {
                            context.CancellationToken.ThrowIfCancellationRequested();
                            var batch = System.Threading.Volatile.Read(ref _batch);
                            if (!ReferenceEquals(batch, contextBatch))
                            {
                                contextBatch = batch;
                                batchContext = batch is null ? context : context.WithValue(TransferManager.BatchContextKey, batch);
                            }

                            var itemContext = batchContext;
                            try
                            {
                                var transfer = await item.Start(itemContext).ConfigureAwait(false);
                                if (!asynchronous)
                                {
                                    transfer = (await manager.WaitAsync(itemContext, transfer.Id, null, suspendOnCancel: true).ConfigureAwait(false)).Transfer;
                                }

                                item.Transfer = transfer;
                                item.Error = asynchronous ? null : manager.GetFailure(transfer);
                            }
                            catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
                            {
                                item.Error = e;
                            }

                            item.Done = true;
                            // One wake-up of the pipeline thread writes every result ready by then.
                            if (System.Threading.Interlocked.Increment(ref pending) == 1)
                            {
                                post(() =>
                                {
                                    System.Threading.Interlocked.Exchange(ref pending, 0);
                                    WriteReady();
                                });
                            }
                        }
                    }
                }

                var workers = new List<System.Threading.Tasks.Task>();
                for (var w = 0; w < Math.Max(1, throttleLimit); w++)
                {
                    workers.Add(Worker());
                }

                await System.Threading.Tasks.Task.WhenAll(workers).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Names folders inside a location as the user typed it (a path or a URI).</summary>
    internal static class TransferLocationText
    {
        /// <summary>
        /// The folder <paramref name="relative"/> ('/'-separated names) inside the folder <paramref name="location"/>, ending
        /// with a separator so that the engine takes it as a folder: each name percent-encoded after a URI's path (before
        /// any query), joined with the platform's separator to a path.
        /// </summary>
        public static string Beneath(string location, string relative)
        {
            var names = relative.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
            if (!TransferLocation.LooksLikeUri(location))
            {
                var path = location;
                foreach (var name in names)
                {
                    path = System.IO.Path.Combine(path, name);
                }

                return path.EndsWith(System.IO.Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? path : path + System.IO.Path.DirectorySeparatorChar;
            }

            var tail = location.IndexOfAny(new[] { '?', '#' }, location.IndexOf("://", StringComparison.Ordinal) + 3);
            var head = tail < 0 ? location : location.Substring(0, tail);
            var builder = new System.Text.StringBuilder(head);
            if (!head.EndsWith("/", StringComparison.Ordinal))
            {
                builder.Append('/');
            }

            foreach (var name in names)
            {
                builder.Append(Uri.EscapeDataString(name)).Append('/');
            }

            return builder.Append(tail < 0 ? "" : location.Substring(tail)).ToString();
        }
    }

    /// <summary>Helpers for cmdlets that act on transfers by id.</summary>
    internal static class TransferIds
    {
        /// <summary>The id values of a pipeline input (ids or Transfer objects).</summary>
        public static IEnumerable<string> Of(string[]? ids) => ids ?? Array.Empty<string>();

        /// <summary>The short form shown in messages.</summary>
        public static string Short(string id) => id.Length > 8 ? id.Substring(0, 8) : id;
    }
}
