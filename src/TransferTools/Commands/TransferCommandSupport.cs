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

        /// <summary>Bandwidth limit in bytes per second for the whole command (0: none): every file it moves at once shares it,
        /// so a -Recurse send of many files moves no faster in total than this.</summary>
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

        /// <summary>Return the transfer at once and let it run in the background of the session (until the session closes, which
        /// suspends it). The object returned is a snapshot taken at the start (Pending or Active, 0 %): it does not change as the
        /// transfer runs. Get-TransferStatus ID shows where it is now, and Wait-Transfer waits for it and shows its progress.</summary>
        [Parameter]
        public SwitchParameter Asynchronous { get; set; }

        /// <inheritdoc/>
        protected override bool WantsProgress => !Asynchronous.IsPresent;

        /// <summary>The options the parameters describe.</summary>
        /// <param name="noPreserve">-NoPreserve (Send-Transfer and Receive-Transfer only: a resume keeps the journaled choice).</param>
        /// <param name="streams">-Streams (Send-Transfer and Receive-Transfer only: a resume keeps the journaled choice).</param>
        protected TransferOptions BuildOptions(bool noPreserve = false, int streams = 0) => new TransferOptions
        {
            NoPreserve = noPreserve,
            Streams = streams,
            ChunkSize = ChunkSize,
            MaxBytesPerSecond = MaxBytesPerSecond,
            RetryCount = RetryCount,
            StallTimeout = TimeSpan.FromSeconds(StallTimeoutSeconds),
            Conflict = Force.IsPresent && !MyInvocation.BoundParameters.ContainsKey(nameof(Conflict)) ? ConflictPolicy.Overwrite : Conflict,
            Credential = Credential?.GetNetworkCredential(),
            Custom = ProtocolOptions(),
        };

        /// <summary>
        /// The protocol options: <c>-ProtocolOption</c>, and the protocol-specific parameters (<c>-KeyFile</c>,
        /// <c>-HostKeyFingerprint</c>), which win over an entry of the same name in it.
        /// </summary>
        protected IDictionary<string, string> ProtocolOptions() =>
            ProtocolOptionParameters.Collect(SessionState, ProtocolOption, KeyFile, HostKeyFingerprint);

        /// <summary>A local path typed by the user made absolute against the current PowerShell location; URIs pass unchanged.</summary>
        /// <exception cref="PluginException">A UNC path on a system without them, or a path of another provider.</exception>
        protected string ResolveLocation(string location)
        {
            if (TransferLocationText.LooksLikeUri(location))
            {
                return location;
            }

            var trailing = location.EndsWith("/", StringComparison.Ordinal) || location.EndsWith("\\", StringComparison.Ordinal);
            var resolved = LocalPaths.Resolve(SessionState, location);
            return trailing && !resolved.EndsWith(System.IO.Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal)
                ? resolved + System.IO.Path.DirectorySeparatorChar
                : resolved;
        }

        private TransferQueue? _queue;
        private TransferQueue? _fedQueue; // the queue of this call, kept past CompleteTransfers for ReportSuspended
        private BackgroundRun? _queueRun;

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _queue?.Abandon();
                _queue = null;
                // Ctrl+C: the transfers waited for are suspended by now (the base waited for them); say so.
                ReportSuspended(_fedQueue);
                _fedQueue = null;
            }
        }

        /// <summary>
        /// Starts one transfer of a pipeline input now, while later inputs are still coming (call from
        /// <c>ProcessRecord</c>): the engine's <see cref="TransferQueue"/> runs at most <paramref name="throttleLimit"/> at
        /// once and waits for each unless -Asynchronous; the results of earlier inputs are written, in input order, as they
        /// finish: a Transfer, or an error whose target is the input. <see cref="CompleteTransfers"/> (from
        /// <c>EndProcessing</c>) waits for the rest. Ctrl+C, or the command torn down early, suspends the transfers in
        /// flight (they stay resumable).
        /// </summary>
        /// <param name="target">The input the result or error is written for.</param>
        /// <param name="start">Starts the transfer.</param>
        /// <param name="throttleLimit">How many run at once.</param>
        /// <param name="batched">Journal new transfers of this call as one batch once a second input arrives (sends and receives; never resumes).</param>
        protected void FeedTransfer(object target, Func<OperationContext, System.Threading.Tasks.Task<Transfer>> start, int throttleLimit, bool batched)
        {
            if (_queue is null)
            {
                var queue = new TransferQueue(Session.Transfers, throttleLimit, batched, wait: !Asynchronous.IsPresent)
                {
                    // -MaxBytesPerSecond is the command's total, shared by every file it moves at once (issue 28 item 6);
                    // unbound on a resume, each transfer keeps its journaled limit.
                    Limiter = MyInvocation.BoundParameters.ContainsKey(nameof(MaxBytesPerSecond)) && MaxBytesPerSecond > 0
                        ? new BandwidthLimiter(MaxBytesPerSecond) : null,
                };
                _queueRun = StartBackground((context, post) => queue.RunAsync(context, () => post(() => WriteResults(queue))));
                _queue = queue;
                _fedQueue = queue;
            }

            _queue.Add(target, start);
            _queueRun!.Pump();
        }

        /// <summary>Waits for every transfer fed so far, writing the remaining results in input order.</summary>
        protected void CompleteTransfers()
        {
            var queue = _queue;
            var run = _queueRun;
            _queue = null;
            _queueRun = null;
            if (queue is null || run is null)
            {
                return;
            }

            try
            {
                queue.Complete();
                try
                {
                    run.Wait();
                }
                finally
                {
                    queue.Abandon();
                    WriteResults(queue);
                }
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteError(ErrorMapping.ToErrorRecord(e, null));
            }
        }

        /// <summary>True for a failure that is no error for this call (written as a verbose line instead).</summary>
        protected virtual bool IsNoError(Exception error) => false;

        /// <summary>Writes the finished prefix of the results, in input order (pipeline thread).</summary>
        private void WriteResults(TransferQueue queue)
        {
            foreach (var item in queue.TakeReady())
            {
                if (item.Error != null && IsNoError(item.Error))
                {
                    WriteVerbose(item.Error.Message);
                }
                else if (item.Error != null)
                {
                    WriteError(ErrorMapping.ToErrorRecord(item.Error, item.Target));
                }
                else if (item.Transfer != null)
                {
                    WriteObject(item.Transfer);
                }
            }
        }

        /// <summary>
        /// The files of a folder walk, in the walk's order, listing each folder when the walk reaches it (so the first files
        /// move while the rest of the tree is still being listed). What the walk reports on the way (an unreadable folder, an
        /// unsafe name, a tree too deep, a link not followed) is written here, on the pipeline thread; a failure to list
        /// ends the walk.
        /// </summary>
        /// <param name="open">Makes the walk (refusing a location that is no path or URI).</param>
        /// <param name="target">The input, as the target of an error about it.</param>
        protected IEnumerable<FolderWalkEntry> FilesOf(Func<FolderWalk> open, object target)
        {
            FolderWalk walk;
            try
            {
                walk = open();
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteError(ErrorMapping.ToErrorRecord(e, target));
                yield break;
            }

            while (true)
            {
                while (walk.TryNext(out var entry))
                {
                    switch (entry.Kind)
                    {
                        case FolderWalkEntryKind.File:
                            yield return entry;
                            break;
                        case FolderWalkEntryKind.Error:
                            WriteError(ErrorMapping.ToErrorRecord(entry.Error!, entry.Display));
                            break;
                        case FolderWalkEntryKind.Verbose:
                            WriteVerbose(entry.Message!);
                            break;
                    }
                }

                if (!TryRun(c => walk.ListNextAsync(c), walk.RootDisplay, out bool more) || !more)
                {
                    yield break;
                }
            }
        }
    }
}
