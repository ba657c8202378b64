using System;
using System.Collections.Generic;
using System.Linq;
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

        /// <summary>Receives folders as well (sftp://, local ones, and http(s):// folders whose server lists them, as nginx autoindex,
        /// Apache, Caddy and IIS directory browsing do): each arrives inside -OutputDir under its own name, with every
        /// file in it and in its subfolders (empty folders are not created; linked folders are not followed; pipes, sockets and devices are skipped with a warning;
        /// folders more than 64 levels down are reported as SourceTreeTooDeep and not walked, since a web server's listing cannot
        /// tell a link back up the tree from a folder).</summary>
        [Parameter(ParameterSetName = SourceSet)]
        public SwitchParameter Recurse { get; set; }

        /// <summary>How many piped sources move at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            _outputDir ??= SessionState.Path.GetUnresolvedProviderPathFromPSPath(OutputDir);
            _options ??= BuildOptions();
            if (Recurse && Source != null)
            {
                ReceiveTree(Source);
                return;
            }

            Receive(Source is null ? null : ResolveLocation(Source), _outputDir, TransferId ?? Source ?? "");
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
            FeedTransfer(label, c => Session.Transfers.StartReceiveAsync(c, request), ThrottleLimit, batched: true);
        }

        /// <summary>
        /// Receives <paramref name="input"/> and, when it is a folder, every file under it into a folder of the same name
        /// in -OutputDir. Files come before subfolders, in ordinal name order; each folder is listed only when the walk
        /// reaches it, so the first files move while the rest of the tree is still being listed. A name that is not a
        /// plain file name here (a '\' from a Linux server on Windows, say) is reported and skipped, so nothing lands
        /// outside -OutputDir.
        /// </summary>
        private void ReceiveTree(string input)
        {
            var root = ResolveLocation(input);
            if (!TryRun(c => Session.Transfers.ListFolderAsync(c, root, _options!), input, out IReadOnlyList<RemoteFolderEntry>? listed))
            {
                return;
            }

            if (listed is null)
            {
                // A file: received as without -Recurse.
                Receive(root, _outputDir!, input);
                return;
            }

            var rootUri = AsFolder(TransferLocation.Parse(root));
            var rootName = TransferLocation.FileName(new Uri(rootUri.GetLeftPart(UriPartial.Path).TrimEnd('/')));
            var pending = new Stack<(Uri Folder, string LocalFolder, IReadOnlyList<RemoteFolderEntry>? Entries, int Depth)>();
            pending.Push((rootUri, TransferLocation.IsPlainFileName(rootName) ? System.IO.Path.Combine(_outputDir!, rootName) : _outputDir!, listed, 0));
            while (pending.Count > 0)
            {
                var (folder, localFolder, entries, depth) = pending.Pop();
                var shown = TransferLocation.DisplayWithoutQuery(folder);
                if (entries is null && !TryList(folder, shown, out entries))
                {
                    return;
                }

                var sorted = (entries ?? Array.Empty<RemoteFolderEntry>()).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
                foreach (var file in sorted.Where(e => !e.IsDirectory))
                {
                    if (IsSafeName(file, shown))
                    {
                        var location = TransferLocation.Combine(folder, file.Name);
                        Receive(location.AbsoluteUri, localFolder, TransferLocation.DisplayWithoutQuery(location));
                    }
                }

                var subfolders = sorted.Where(e => e.IsDirectory).ToList();
                for (var i = subfolders.Count - 1; i >= 0; i--)
                {
                    var subfolder = subfolders[i];
                    if (!IsSafeName(subfolder, shown))
                    {
                        continue;
                    }

                    if (subfolder.IsLink)
                    {
                        // As Send-Transfer -Recurse: a link back up the tree cannot loop.
                        WriteVerbose($"'{shown}{subfolder.Name}' links to a folder; not followed.");
                        continue;
                    }

                    var location = AsFolder(TransferLocation.Combine(folder, subfolder.Name));
                    if (depth + 1 > MaxFolderDepth)
                    {
                        var deep = TransferLocation.DisplayWithoutQuery(location);
                        WriteError(ErrorMapping.ToErrorRecord(new PluginException(ErrorCode.LimitExceeded,
                            $"'{deep}' is more than {MaxFolderDepth} folders below '{TransferLocation.DisplayWithoutQuery(rootUri)}', so it is not walked: a server that cannot tell a link from a folder (HTTP) may be leading round a loop.",
                            errorId: "SourceTreeTooDeep", target: deep), deep));
                        continue;
                    }

                    pending.Push((location, System.IO.Path.Combine(localFolder, subfolder.Name), null, depth + 1));
                }
            }
        }

        /// <summary>Lists a subfolder of the tree. One that cannot be read (denied, or gone meanwhile) is reported and
        /// skipped; any other failure (the server lost after the retries) is reported and ends the walk.</summary>
        private bool TryList(Uri folder, string shown, out IReadOnlyList<RemoteFolderEntry>? entries)
        {
            try
            {
                entries = Run(c => Session.Transfers.ListFolderAsync(c, folder.AbsoluteUri, _options!));
                return true;
            }
            catch (PluginException e) when (e.Code == ErrorCode.PermissionDenied || e.Code == ErrorCode.NotFound)
            {
                WriteError(ErrorMapping.ToErrorRecord(new PluginException(e.Code,
                    $"The folder '{shown}' cannot be listed, so its files are not received: {e.Message}", e, "SourceFolderUnreadable", shown), shown));
                entries = null;
                return true;
            }
            catch (Exception e) when (IsExpected(e))
            {
                WriteError(ErrorMapping.ToErrorRecord(e, shown));
                entries = null;
                return false;
            }
        }

        private bool IsSafeName(RemoteFolderEntry entry, string folder)
        {
            if (TransferLocation.IsPlainFileName(entry.Name))
            {
                return true;
            }

            WriteError(ErrorMapping.ToErrorRecord(new PluginException(ErrorCode.InvalidArgument,
                $"'{entry.Name}' in '{folder}' is not a file name this system can hold as one (a separator, a control character or '..'); it is skipped.",
                errorId: "SourceNameUnsafe", target: folder + entry.Name), folder + entry.Name));
            return false;
        }

        /// <summary>
        /// How deep -Recurse walks. SFTP and local listings say which folders are links, and those are not followed; a web
        /// server's listing cannot, so a link back up the tree there would otherwise be walked round for ever.
        /// </summary>
        internal const int MaxFolderDepth = 64;

        private static Uri AsFolder(Uri location) =>
            TransferLocation.EndsWithSlash(location) ? location : new Uri(location.GetLeftPart(UriPartial.Path) + "/" + location.Query);

        /// <inheritdoc/>
        protected override void EndProcessing() => CompleteTransfers();
    }
}
