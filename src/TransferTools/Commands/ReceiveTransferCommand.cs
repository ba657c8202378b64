using System;
using System.Collections.Generic;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Receives a sent transfer by id (found through its manifest) or pulls a plain remote file into a local folder.</para>
    /// <para type="description">With -TransferId, the manifest (.transfertools/ID.json, or the id's line in a piped batch's manifest) at -Source names the file, its size and SHA-256;
    /// -Source may be left out when this machine's journal knows where the transfer went. With -Source alone, the file at that
    /// location is fetched. Either way the bytes land under a temporary name in -OutputDir and are renamed only after verification.
    /// With -Recurse a remote folder is received too, with every file under it: it arrives inside -OutputDir under its own name,
    /// with its subfolders (empty ones are not created; linked folders are not followed), each file a transfer of its own.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Receive, "Transfer", SupportsShouldProcess = true, DefaultParameterSetName = SourceSet, HelpUri = HelpLinks.Root + "Receive-Transfer.md")]
    [OutputType(typeof(Transfer))]
    public sealed class ReceiveTransferCommand : QueueableTransferCommand
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

        /// <summary>Receives folders as well (sftp://, local ones, and http(s):// folders whose server lists them, as nginx autoindex,
        /// Apache, Caddy and IIS directory browsing do): each arrives inside -OutputDir under its own name, with every
        /// file in it and in its subfolders (empty folders are not created; linked folders are not followed; pipes, sockets and devices are skipped with a warning;
        /// folders more than 64 levels down are reported as SourceTreeTooDeep and not walked, since a web server's listing cannot
        /// tell a link back up the tree from a folder).</summary>
        [Parameter(ParameterSetName = SourceSet)]
        public SwitchParameter Recurse { get; set; }

        /// <summary>Deliver files with the time of their delivery and the destination's default permissions, instead of the
        /// source's modification time and POSIX permission bits (kept by default on local and SFTP destinations, and in the
        /// item's metadata in an object store, from which a receive restores them).</summary>
        [Parameter]
        public SwitchParameter NoPreserve { get; set; }

        /// <summary>How many streams move one large file at once, each its own range, where the protocol allows it (SFTP, and
        /// HTTP(S) downloads whose server gives a strong ETag): 0 (default) uses 8 over SFTP for files of 256 MiB or more when
        /// the connection's measured round trip is 10 ms or more (on a shorter one a single stream is faster), 1 moves every
        /// file as one stream, 2 to 16 split any file of two chunks or more.</summary>
        [Parameter]
        [ValidateRange(0, 16)]
        public int Streams { get; set; }

        /// <summary>How many piped sources move at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (_outputDir is null)
            {
                try
                {
                    _outputDir = LocalPaths.Resolve(SessionState, OutputDir);
                    // Once for the command, not once per file received.
                    LocalDestination.RefuseFile(_outputDir);
                }
                catch (PluginException e)
                {
                    Terminate(e, OutputDir);
                }
            }

            _options ??= BuildOptions(NoPreserve, Streams);
            string? source;
            try
            {
                // Before -WhatIf or -Verbose shows the source, and before anything is journaled.
                TransferLocationText.RefusePassword(Source ?? "");
                source = Source is null || Recurse ? Source : ResolveLocation(Source);
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, null));
                return;
            }

            if (Recurse && Source != null)
            {
                ReceiveTree(Source);
                return;
            }

            Receive(source, _outputDir!, TransferId ?? Source ?? "");
        }

        /// <summary>Starts one receive into <paramref name="outputDir"/> now, while the pipeline (or the walk of a folder)
        /// is still producing the next ones.</summary>
        private void Receive(string? source, string outputDir, string label)
        {
            if (!ShouldProcess(label, $"Receive into '{outputDir}'"))
            {
                return;
            }

            var request = new ReceiveRequest
            {
                TransferId = TransferId,
                Source = source,
                OutputDir = outputDir,
                Options = _options!.Clone(),
            };
            if (Queue)
            {
                QueueTransfer(label, c => Session.Transfers.QueueReceiveAsync(c, request, BuildQueueOptions()));
                return;
            }

            FeedTransfer(label, c => Session.Transfers.StartReceiveAsync(c, request), ThrottleLimit, batched: true);
        }

        /// <summary>
        /// Receives <paramref name="input"/> and, when it is a folder, every file under it into a folder of the same name in
        /// -OutputDir, in the order of the engine's <see cref="FolderWalk"/>, each folder listed when the walk reaches it.
        /// </summary>
        private void ReceiveTree(string input)
        {
            foreach (var file in FilesOf(() => FolderWalk.ForReceive(Session.Transfers, ResolveLocation(input), _options!), input))
            {
                var localFolder = _outputDir!;
                foreach (var name in file.Folder.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    localFolder = System.IO.Path.Combine(localFolder, name);
                }

                Receive(file.Location, localFolder, file.RelativePath.Length == 0 ? input : file.Display);
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing() => CompleteTransfers();
    }
}
