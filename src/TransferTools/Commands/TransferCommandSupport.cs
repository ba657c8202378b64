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

        /// <summary>An OpenSSH private key file for sftp:// (its passphrase, if any, is the password of -Credential).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>The SSH host key fingerprint to trust for sftp://, <c>SHA256:...</c> as <c>ssh-keygen -l</c> prints it.</summary>
        [Parameter]
        [ValidatePattern(@"^(SHA256:)?[A-Za-z0-9+/]{43}=?$")]
        public string? HostKeyFingerprint { get; set; }

        /// <summary>Protocol-specific options (journaled, so never secrets), e.g. <c>@{ KnownHostsPath = '~/.ssh/known_hosts' }</c>.</summary>
        [Parameter]
        public System.Collections.Hashtable? ProtocolOption { get; set; }

        /// <summary>Replace an existing destination file (same as -Conflict Overwrite).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>What to do when the destination file exists: Fail (default), Overwrite, Skip or Rename.</summary>
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
            KeyFile = KeyFile is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(KeyFile),
            HostKeyFingerprint = HostKeyFingerprint,
            Custom = ProtocolOptions(),
        };

        private IDictionary<string, string> ProtocolOptions()
        {
            var custom = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (ProtocolOption != null)
            {
                foreach (System.Collections.DictionaryEntry entry in ProtocolOption)
                {
                    custom[entry.Key?.ToString() ?? ""] = entry.Value?.ToString() ?? "";
                }
            }

            return custom;
        }

        /// <summary>A local path typed by the user made absolute against the current PowerShell location; URIs pass unchanged.</summary>
        protected string ResolveLocation(string location)
        {
            if (TransferLocationText.LooksLikeUri(location))
            {
                return location;
            }

            var trailing = location.EndsWith("/", StringComparison.Ordinal) || location.EndsWith("\\", StringComparison.Ordinal);
            var resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(location);
            return trailing && !resolved.EndsWith(System.IO.Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal)
                ? resolved + System.IO.Path.DirectorySeparatorChar
                : resolved;
        }

        /// <summary>
        /// Starts the given transfers (at most <paramref name="throttleLimit"/> at once), waits for each unless
        /// -Asynchronous, and writes results in input order as soon as each one and all before it are done: a Transfer,
        /// or an error whose target is the input. Ctrl+C suspends the transfers in flight (they stay resumable) and
        /// stops the pipeline.
        /// </summary>
        /// <param name="work">What to start, with the input each result or error is written for.</param>
        /// <param name="throttleLimit">How many run at once.</param>
        /// <param name="batched">Journal new transfers of this call as one batch (sends and receives; never resumes).</param>
        protected void RunTransfers(IReadOnlyList<(object Target, Func<OperationContext, System.Threading.Tasks.Task<Transfer>> Start)> work, int throttleLimit,
            bool batched = false)
        {
            if (work.Count == 0)
            {
                return;
            }

            var results = new (Transfer? Transfer, Exception? Error)[work.Count];
            var done = new bool[work.Count];
            var written = 0; // touched only on the pipeline thread

            // Runs on the pipeline thread: writes the finished prefix of the results, in input order.
            void WriteReady()
            {
                while (written < results.Length && System.Threading.Volatile.Read(ref done[written]))
                {
                    var (transfer, error) = results[written];
                    if (error != null)
                    {
                        WriteError(ErrorMapping.ToErrorRecord(error, work[written].Target));
                    }
                    else if (transfer != null)
                    {
                        WriteObject(transfer);
                    }

                    results[written] = default;
                    written++;
                }
            }

            try
            {
                RunWithOutput(async (context, post) =>
                {
                    // Lets the progress monitor say "2 of 5 files" before the last one has started.
                    context = context.WithValue(TransferTools.Engine.Monitoring.EngineContextKeys.ExpectedTransferCount, work.Count);
                    var manager = Session.Transfers;
                    using var batch = batched && work.Count > 1 ? manager.BeginBatch() : null;
                    if (batch != null)
                    {
                        context = context.WithValue(TransferManager.BatchContextKey, batch);
                    }

                    // ThrottleLimit workers take the inputs in order (a task per input cost every small file a task and a wait).
                    var next = -1;
                    var pending = 0; // results done but not yet handed to the pipeline thread
                    async System.Threading.Tasks.Task Worker()
                    {
                        await System.Threading.Tasks.Task.Yield();
                        int index;
                        while ((index = System.Threading.Interlocked.Increment(ref next)) < work.Count)
                        {
                            context.CancellationToken.ThrowIfCancellationRequested();
                            try
                            {
                                var transfer = await work[index].Start(context).ConfigureAwait(false);
                                if (!Asynchronous.IsPresent)
                                {
                                    transfer = (await manager.WaitAsync(context, transfer.Id, null, suspendOnCancel: true).ConfigureAwait(false)).Transfer;
                                }

                                results[index] = (transfer, Asynchronous.IsPresent ? null : manager.GetFailure(transfer));
                            }
                            catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
                            {
                                results[index] = (null, e);
                            }

                            System.Threading.Volatile.Write(ref done[index], true);
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

                    var workers = new List<System.Threading.Tasks.Task>();
                    for (var w = 0; w < Math.Max(1, Math.Min(throttleLimit, work.Count)); w++)
                    {
                        workers.Add(Worker());
                    }

                    await System.Threading.Tasks.Task.WhenAll(workers).ConfigureAwait(false);
                });
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteError(ErrorMapping.ToErrorRecord(e, null));
                return;
            }

            WriteReady();
        }
    }

    /// <summary>Tells URIs from paths the same way the engine does.</summary>
    internal static class TransferLocationText
    {
        /// <summary>True for <c>scheme://...</c> with a scheme of two or more characters (so <c>C:\x</c> stays a path).</summary>
        public static bool LooksLikeUri(string text)
        {
            var colon = text.IndexOf("://", StringComparison.Ordinal);
            if (colon < 2 || !char.IsLetter(text[0]))
            {
                return false;
            }

            for (var i = 0; i < colon; i++)
            {
                var c = text[i];
                if (c > 127 || !(char.IsLetterOrDigit(c) || c == '+' || c == '-' || c == '.'))
                {
                    return false;
                }
            }

            return true;
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
