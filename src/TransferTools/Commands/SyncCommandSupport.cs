using System;
using System.Collections.Generic;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// Parameters and helpers shared by <c>Sync-TransferFolder</c> and <c>Compare-TransferFolder</c>: the two roots, the
    /// comparison, the filters, the remote side's credentials, and the walk of the plan on the pipeline thread.
    /// </summary>
    public abstract class FolderSyncCommand : TransferCmdlet
    {
        /// <summary>The parameter set of -Path.</summary>
        protected const string PathSet = "Path";

        /// <summary>The parameter set of -LiteralPath.</summary>
        protected const string LiteralPathSet = "LiteralPath";

        /// <summary>The source folder (wildcards allowed, matching one folder): a path, or a URI (sftp://, https://, storage://NAME/prefix/).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>The source folder taken literally; binds the PSPath (or FullName) of a piped folder (<c>Get-Item ./dir | ...</c>).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
        [Alias("PSPath", "LP", "FullName")]
        [ValidateNotNullOrEmpty]
        public string? LiteralPath { get; set; }

        /// <summary>The destination folder: a path or a URI (sftp://, storage://NAME/prefix/); created when missing.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        /// <summary>How files on both sides are compared: SizeAndTime (default; times within the coarser side's precision), Checksum (SHA-256; kept hashes used) or Size.</summary>
        [Parameter]
        public SyncComparison Compare { get; set; } = SyncComparison.SizeAndTime;

        /// <summary>Only files whose path below the root matches one of these (wildcards; '**' for any depth; a leading '/' anchors at the root).</summary>
        [Parameter]
        [SupportsWildcards]
        public string[]? Include { get; set; }

        /// <summary>Leave out files whose path below the root matches one of these: they are neither copied nor deleted.</summary>
        [Parameter]
        [SupportsWildcards]
        public string[]? Exclude { get; set; }

        /// <summary>Leave out folders (and all they hold) whose path below the root matches one of these.</summary>
        [Parameter]
        [SupportsWildcards]
        public string[]? ExcludeFolder { get; set; }

        /// <summary>Only files of at least this many bytes.</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MinSize { get; set; } = -1;

        /// <summary>Only files of at most this many bytes.</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MaxSize { get; set; } = -1;

        /// <summary>Only files modified within this TimeSpan, or since this DateTime.</summary>
        [Parameter]
        public object? MaxAge { get; set; }

        /// <summary>Only files modified at least this TimeSpan ago, or before this DateTime.</summary>
        [Parameter]
        public object? MinAge { get; set; }

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

        /// <summary>How many times a transient failure (connection lost, stall) is retried.</summary>
        [Parameter]
        [ValidateRange(0, 100)]
        public int RetryCount { get; set; } = 5;

        /// <summary>The transfer options of the listings and copies.</summary>
        protected TransferOptions BuildTransferOptions()
        {
            return new TransferOptions
            {
                RetryCount = RetryCount,
                Credential = Credential?.GetNetworkCredential(),
                // As Send-Transfer's: -KeyFile and -HostKeyFingerprint win over an entry of the same name in -ProtocolOption.
                Custom = ProtocolOptionParameters.Collect(SessionState, ProtocolOption, KeyFile, HostKeyFingerprint),
            };
        }

        /// <summary>The comparison and filters the parameters describe (deletes are the caller's to add).</summary>
        protected SyncOptions BuildSyncOptions()
        {
            var filter = new SyncFilter(Include, Exclude, ExcludeFolder)
            {
                MinSize = MinSize >= 0 ? MinSize : (long?)null,
                MaxSize = MaxSize >= 0 ? MaxSize : (long?)null,
                ModifiedAfter = Cutoff(MaxAge, nameof(MaxAge)),
                ModifiedBefore = Cutoff(MinAge, nameof(MinAge)),
            };
            return new SyncOptions { Compare = Compare, Filter = filter };
        }

        /// <summary>The source of this input: a URI as given, or the one local folder the path names.</summary>
        /// <returns>Null when the input names no single folder (an error is written).</returns>
        protected string? ResolveSource()
        {
            var literal = ParameterSetName == LiteralPathSet;
            var input = (literal ? LiteralPath : Path)!;
            if (TransferLocationText.LooksLikeUri(input))
            {
                return input;
            }

            try
            {
                if (literal)
                {
                    return LocalPaths.Resolve(SessionState, input);
                }

                LocalPaths.RefuseUncOffWindows(input);
                var resolved = GetResolvedProviderPathFromPSPath(input, out var provider);
                if (provider.Name != "FileSystem" || resolved.Count != 1)
                {
                    WriteError(new ErrorRecord(new PluginException(ErrorCode.InvalidArgument,
                        $"'{input}' names {(provider.Name != "FileSystem" ? "no file system folder" : resolved.Count + " items")}; a sync takes one source folder.",
                        errorId: "SyncSourceAmbiguous", target: input), "SyncSourceAmbiguous", ErrorCategory.InvalidArgument, input));
                    return null;
                }

                return resolved[0];
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(new PluginException(ErrorCode.NotFound, $"The source folder '{input}' does not exist.", e, "SyncSourceNotFound", input),
                    "SyncSourceNotFound", ErrorCategory.ObjectNotFound, input));
                return null;
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, input));
                return null;
            }
        }

        /// <summary>A location typed by the user: a local path made absolute against the current location; URIs unchanged.</summary>
        protected string ResolveDestination()
        {
            if (TransferLocationText.LooksLikeUri(Destination))
            {
                return Destination;
            }

            try
            {
                return LocalPaths.Resolve(SessionState, Destination);
            }
            catch (PluginException e)
            {
                Terminate(e, Destination);
                throw;
            }
        }

        /// <summary>
        /// The steps of a plan, in its order, listing each folder (or hashing each file) when the plan reaches it, so the
        /// first copies start while the trees are still being listed. A listing that throws (cancel aside) is written as an
        /// error and ends the steps; <paramref name="failed"/> is then set.
        /// </summary>
        protected IEnumerable<SyncItem> StepsOf(SyncPlan plan, object target, System.Action failed)
        {
            while (true)
            {
                while (plan.TryNext(out var item))
                {
                    yield return item;
                }

                if (!TryRun(c => plan.AdvanceAsync(c), target, out bool more))
                {
                    failed();
                    yield break;
                }

                if (!more)
                {
                    yield break;
                }
            }
        }

        private DateTimeOffset? Cutoff(object? value, string name)
        {
            if (value is PSObject wrapped)
            {
                value = wrapped.BaseObject;
            }

            switch (value)
            {
                case null:
                    return null;
                case TimeSpan span:
                    return DateTimeOffset.UtcNow - span;
                case DateTime time:
                    return new DateTimeOffset(time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Local) : time);
                case DateTimeOffset offset:
                    return offset;
                case string text when TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                    return DateTimeOffset.UtcNow - parsed;
                case string text when DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeLocal, out var parsed):
                    return parsed;
                default:
                    ThrowTerminatingError(new ErrorRecord(new PluginException(ErrorCode.InvalidArgument,
                        $"-{name} takes a TimeSpan (how long ago) or a DateTime; '{value}' is neither.", errorId: "SyncAgeInvalid", target: value),
                        "SyncAgeInvalid", ErrorCategory.InvalidArgument, value));
                    return null;
            }
        }
    }
}
