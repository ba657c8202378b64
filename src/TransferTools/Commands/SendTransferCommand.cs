using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Sends local files to a folder, file name or URI: chunked, journaled, verified (SHA-256) and resumable.</para>
    /// <para type="description">Each file goes to a temporary name beside the destination and is renamed into place only after
    /// its size and SHA-256 are verified; a manifest (in .transfertools/: ID.json, or one line per file of a piped batch) is left beside it for Receive-Transfer -TransferId
    /// (for a tree sent with -Recurse, in the destination folder only; none with -NoManifest).
    /// -Destination is a folder when it exists as one or ends with '/' (the file keeps its name), otherwise the full target name.
    /// With -Recurse a folder is sent too, with every file under it: it arrives inside the destination folder under its own name,
    /// with its subfolders (empty ones are not created; linked folders are not followed, as Get-ChildItem -Recurse).
    /// A remote source (s3://, sftp://, https://, storage://...) is copied to the destination, remote too if wanted: by the server
    /// within one S3 service, otherwise streamed through this machine (no local spool), hashed and resumable.
    /// Waits and shows progress unless -Asynchronous. Ctrl+C suspends the transfer; Resume-Transfer continues it, also from a new process.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Send, "Transfer", SupportsShouldProcess = true, DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Root + "Send-Transfer.md")]
    [OutputType(typeof(Transfer))]
    public sealed class SendTransferCommand : QueueableTransferCommand
    {
        private const string PathSet = "Path";
        private const string LiteralPathSet = "LiteralPath";

        private string? _destination;
        private TransferOptions? _options;

        /// <summary>The files to send (wildcards allowed), or the URI of a remote file (or, with -Recurse, folder) to copy from.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Path { get; set; }

        /// <summary>The files to send, taken literally (no wildcards); binds the PSPath (or FullName) of piped files.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
        [Alias("PSPath", "LP", "FullName")]
        [ValidateNotNullOrEmpty]
        public string[]? LiteralPath { get; set; }

        /// <summary>Where to: a folder, a full file name, or a URI (file://, sftp://, https://, storage://NAME/...).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        /// <summary>Sends folders as well: each arrives inside the destination folder under its own name, with every file in it
        /// and in its subfolders (empty folders are not created; linked folders are not followed; pipes, sockets and devices are skipped with a warning).</summary>
        [Parameter]
        public SwitchParameter Recurse { get; set; }

        /// <summary>Deliver files with the time of their delivery and the destination's default permissions, instead of the
        /// source's modification time and POSIX permission bits (kept by default on local and SFTP destinations, and in the
        /// item's metadata in an object store, from which a receive restores them).</summary>
        [Parameter]
        public SwitchParameter NoPreserve { get; set; }

        /// <summary>Leave no manifest (.transfertools) at the destination: nothing but the files arrives, and they cannot be
        /// received by their id (Receive-Transfer -TransferId).</summary>
        [Parameter]
        public SwitchParameter NoManifest { get; set; }

        /// <summary>How many streams move one large file at once, each its own range, where the protocol allows it (SFTP, and
        /// HTTP(S) downloads whose server gives a strong ETag): 0 (default) uses 8 over SFTP for files of 256 MiB or more when
        /// the connection's measured round trip is 10 ms or more (on a shorter one a single stream is faster), 1 moves every
        /// file as one stream, 2 to 16 split any file of two chunks or more.</summary>
        [Parameter]
        [ValidateRange(0, 16)]
        public int Streams { get; set; }

        /// <summary>How many piped files move at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            try
            {
                // Before -WhatIf or -Verbose shows the destination, and before anything is journaled.
                TransferLocationText.RefusePassword(Destination);
                _destination = ResolveLocation(Destination);
                if (!TransferLocationText.LooksLikeUri(Destination))
                {
                    // Once for the command: a destination that cannot be is one error, not one per file.
                    if (Recurse || _destination.EndsWith("/", StringComparison.Ordinal) || _destination.EndsWith(System.IO.Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal))
                    {
                        LocalDestination.CheckFolder(_destination);
                    }
                    else
                    {
                        LocalDestination.CheckParent(_destination);
                    }
                }
            }
            catch (PluginException e)
            {
                Terminate(e, null);
            }
        }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var literal = ParameterSetName == LiteralPathSet;
            foreach (var input in (literal ? LiteralPath : Path) ?? Array.Empty<string>())
            {
                if (SendRemote(input))
                {
                    continue;
                }

                if (PlainFile(input, literal) is string plain)
                {
                    // What Get-ChildItem pipes: one file, no list, no provider.
                    Send(plain, null);
                    continue;
                }

                foreach (var source in ResolveSources(input, literal))
                {
                    if (!source.IsFolder)
                    {
                        Send(source.Path, null);
                        continue;
                    }

                    // The tree is walked as it is sent, so a large one costs no list of its files up front.
                    foreach (var file in FilesOf(() => FolderWalk.ForSend(Session, source.Path), input))
                    {
                        Send(file.Location, file.Folder.Length == 0 ? null : file.Folder);
                    }
                }
            }
        }

        /// <summary>
        /// A source that is a remote URI (s3://, sftp://, https://, storage://...) is copied from there to the destination,
        /// which may be remote too: within one S3 service by the server, otherwise relayed through this machine as a stream
        /// (nothing spooled locally). With -Recurse a remote folder is walked as Receive-Transfer -Recurse walks it.
        /// </summary>
        /// <returns>False for a local path (handled by the caller).</returns>
        private bool SendRemote(string input)
        {
            if (!TransferLocationText.LooksLikeUri(input) || input.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            string location;
            try
            {
                // Before -WhatIf or -Verbose shows it, and before anything is journaled.
                TransferLocationText.RefusePassword(input);
                location = ResolveLocation(input);
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, input));
                return true;
            }

            if (!Recurse)
            {
                Send(location, null);
                return true;
            }

            _options ??= NewOptions();
            foreach (var file in FilesOf(() => FolderWalk.ForReceive(Session.Transfers, location, _options), input))
            {
                Send(file.Location, file.Folder.Length == 0 ? null : file.Folder);
            }

            return true;
        }

        private TransferOptions NewOptions()
        {
            var options = BuildOptions(NoPreserve, Streams);
            options.NoManifest = NoManifest.IsPresent;
            return options;
        }

        /// <param name="folder">Where under the destination folder the file goes ('/'-separated), or null: into the destination itself.</param>
        private void Send(string file, string? folder)
        {
            var shown = folder is null ? Destination : Destination.TrimEnd('/', '\\') + "/" + folder + "/";
            if (ShouldProcess(file, $"Send to '{shown}'"))
            {
                // Each file starts now, while the pipeline is still enumerating the next ones.
                _options ??= NewOptions();

                var destination = folder is null ? _destination! : TransferLocationText.Beneath(_destination!, folder);
                // A tree's manifests all go to the destination folder's .transfertools, none into its subfolders.
                var request = new SendRequest { File = file, Destination = destination, ManifestRoot = folder is null ? null : _destination, Options = _options.Clone() };
                if (Queue)
                {
                    QueueTransfer(file, c => Session.Transfers.QueueSendAsync(c, request, BuildQueueOptions()));
                    return;
                }

                FeedTransfer(file, c => Session.Transfers.StartSendAsync(c, request), ThrottleLimit, batched: true);
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing() => CompleteTransfers();

        /// <summary>True for a rooted file system path with no wildcard, provider or drive qualifier PowerShell would interpret.</summary>
        private static bool IsPlainFullPath(string input, bool literal)
        {
            if (input.Length == 0 || (!literal && WildcardPattern.ContainsWildcardCharacters(input)) || input.IndexOf("::", StringComparison.Ordinal) >= 0
                || input.IndexOf("/../", StringComparison.Ordinal) >= 0 || input.IndexOf("/./", StringComparison.Ordinal) >= 0
                || input.IndexOf("\\..\\", StringComparison.Ordinal) >= 0 || input.IndexOf("\\.\\", StringComparison.Ordinal) >= 0)
            {
                return false;
            }

            if (System.IO.Path.DirectorySeparatorChar == '/')
            {
                return input[0] == '/';
            }

            // Windows: C:\... (a drive letter and a separator) or a UNC path.
            return (input.Length >= 3 && char.IsLetter(input[0]) && input[1] == ':' && (input[2] == '\\' || input[2] == '/'))
                   || input.StartsWith("\\\\", StringComparison.Ordinal);
        }

        /// <summary>
        /// The file a full path without wildcards names (what Get-ChildItem pipes, as its PSPath), or null when the input
        /// needs the provider: it is its own provider path, and resolving it through the provider would cost each piped
        /// file a drive lookup (which reads the mount table) and a glob.
        /// </summary>
        private static string? PlainFile(string input, bool literal)
        {
            const string ProviderPrefix = @"Microsoft.PowerShell.Core\FileSystem::";
            var candidate = literal && input.StartsWith(ProviderPrefix, StringComparison.OrdinalIgnoreCase) ? input.Substring(ProviderPrefix.Length) : input;
            return IsPlainFullPath(candidate, literal) && File.Exists(candidate) ? candidate : null;
        }

        private IEnumerable<(string Path, bool IsFolder)> ResolveSources(string input, bool literal)
        {
            var sources = new List<(string Path, bool IsFolder)>();
            var files = new List<string>();
            try
            {
                if (literal)
                {
                    files.Add(SessionState.Path.GetUnresolvedProviderPathFromPSPath(input));
                }
                else
                {
                    var resolved = GetResolvedProviderPathFromPSPath(input, out var provider);
                    if (provider.Name != "FileSystem")
                    {
                        WriteError(new ErrorRecord(new PSArgumentException($"'{input}' is not a file system path."), "SourceNotAFile", ErrorCategory.InvalidArgument, input));
                        return sources;
                    }

                    if (resolved.Count == 0)
                    {
                        WriteError(PathPatterns.NothingMatched(input));
                        return sources;
                    }

                    files.AddRange(resolved);
                }
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(new PluginException(ErrorCode.NotFound, e.Message, e, "SourceNotFound", input), "SourceNotFound", ErrorCategory.ObjectNotFound, input));
                return sources;
            }

            foreach (var file in files)
            {
                if (System.IO.Directory.Exists(file))
                {
                    if (Recurse)
                    {
                        sources.Add((file, true));
                        continue;
                    }

                    WriteError(new ErrorRecord(new PluginException(ErrorCode.InvalidArgument,
                        $"'{file}' is a folder; add -Recurse to send it with everything in it, or send the files in it (Get-ChildItem -File | Send-Transfer).",
                        errorId: "SourceIsFolder", target: input),
                        "SourceIsFolder", ErrorCategory.InvalidArgument, input));
                }
                else if (!System.IO.File.Exists(file))
                {
                    WriteError(new ErrorRecord(new PluginException(ErrorCode.NotFound, $"The source file '{file}' does not exist.", errorId: "SourceNotFound", target: input),
                        "SourceNotFound", ErrorCategory.ObjectNotFound, input));
                }
                else
                {
                    sources.Add((file, false));
                }
            }

            return sources;
        }
    }
}
