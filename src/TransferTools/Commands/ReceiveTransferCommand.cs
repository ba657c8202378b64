using System;
using System.Management.Automation;
using TransferTools.Abstractions;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Receives a sent transfer by id (found through its manifest) or pulls a plain remote file into a local folder.</para>
    /// <para type="description">With -TransferId, the manifest (.transfertools/ID.json, or the id's line in a piped batch's manifest) at -Source names the file, its size and SHA-256;
    /// -Source may be left out when this machine's journal knows where the transfer went. With -Source alone, the file at that
    /// location is fetched. Either way the bytes land under a temporary name in -OutputDir and are renamed only after verification.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "Transfer", SupportsShouldProcess = true, DefaultParameterSetName = SourceSet)]
    [OutputType(typeof(Transfer))]
    public sealed class ReceiveTransferCommand : TransferOptionsCommand
    {
        private const string SourceSet = "Source";
        private const string TransferIdSet = "TransferId";

        private string? _outputDir;
        private TransferOptions? _options;

        /// <summary>The id of a transfer sent earlier (pipe Send-Transfer's output or give the id).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = TransferIdSet)]
        [Alias("Id")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string? TransferId { get; set; }

        /// <summary>The remote file (or, with -TransferId, the folder the transfer was sent to): a path or a URI.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = SourceSet)]
        [Parameter(ParameterSetName = TransferIdSet)]
        [ValidateNotNullOrEmpty]
        public string? Source { get; set; }

        /// <summary>The local folder to deliver into (created when missing).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string OutputDir { get; set; } = "";

        /// <summary>How many piped sources move at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var label = TransferId ?? Source ?? "";
            if (!ShouldProcess(label, $"Receive into '{OutputDir}'"))
            {
                return;
            }

            // Each input starts now, while the pipeline is still producing the next ones.
            _outputDir ??= SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutputDir);
            _options ??= BuildOptions();
            var request = new ReceiveRequest
            {
                TransferId = TransferId,
                Source = Source is null ? null : ResolveLocation(Source),
                OutputDir = _outputDir,
                Options = _options.Clone(),
            };
            FeedTransfer(label, c => Session.Transfers.StartReceiveAsync(c, request), ThrottleLimit, batched: true);
        }

        /// <inheritdoc/>
        protected override void EndProcessing() => CompleteTransfers();
    }
}
