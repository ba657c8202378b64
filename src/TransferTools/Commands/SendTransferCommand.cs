using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Sends local files to a folder, file name or URI: chunked, journaled, verified (SHA-256) and resumable.</para>
    /// <para type="description">Each file goes to a temporary name beside the destination and is renamed into place only after
    /// its size and SHA-256 are verified; a manifest (in .transfertools/: ID.json, or one line per file of a piped batch) is left beside it for Receive-Transfer -TransferId.
    /// -Destination is a folder when it exists as one or ends with '/' (the file keeps its name), otherwise the full target name.
    /// Waits and shows progress unless -Asynchronous. Ctrl+C suspends the transfer; Resume-Transfer continues it, also from a new process.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Send, "Transfer", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
    [OutputType(typeof(Transfer))]
    public sealed class SendTransferCommand : TransferOptionsCommand
    {
        private const string PathSet = "Path";
        private const string LiteralPathSet = "LiteralPath";

        private string? _destination;
        private TransferOptions? _options;

        /// <summary>The files to send (wildcards allowed).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string[]? Path { get; set; }

        /// <summary>The files to send, taken literally (no wildcards).</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
        [Alias("PSPath", "LP")]
        [ValidateNotNullOrEmpty]
        public string[]? LiteralPath { get; set; }

        /// <summary>Where to: a folder, a full file name, or a URI (file://, sftp://, https://, storage://NAME/...).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        /// <summary>How many piped files move at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var literal = ParameterSetName == LiteralPathSet;
            foreach (var input in (literal ? LiteralPath : Path) ?? Array.Empty<string>())
            {
                foreach (var file in ResolveSources(input, literal))
                {
                    if (ShouldProcess(file, $"Send to '{Destination}'"))
                    {
                        // Each file starts now, while the pipeline is still enumerating the next ones.
                        _destination ??= ResolveLocation(Destination);
                        _options ??= BuildOptions();
                        var request = new SendRequest { File = file, Destination = _destination, Options = _options.Clone() };
                        FeedTransfer(file, c => Session.Transfers.StartSendAsync(c, request), ThrottleLimit, batched: true);
                    }
                }
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

        private IEnumerable<string> ResolveSources(string input, bool literal)
        {
            var files = new List<string>();
            const string ProviderPrefix = @"Microsoft.PowerShell.Core\FileSystem::";
            var candidate = literal && input.StartsWith(ProviderPrefix, StringComparison.OrdinalIgnoreCase) ? input.Substring(ProviderPrefix.Length) : input;
            if (IsPlainFullPath(candidate, literal))
            {
                // A full path without wildcards (what Get-ChildItem pipes) is its own provider path: resolving it through
                // the provider costs each piped file a drive lookup (which reads the mount table) and a glob.
                if (File.Exists(candidate))
                {
                    files.Add(candidate);
                    return files;
                }
            }

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
                        return files;
                    }

                    files.AddRange(resolved);
                }
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(new PluginException(ErrorCode.NotFound, e.Message, e, "SourceNotFound", input), "SourceNotFound", ErrorCategory.ObjectNotFound, input));
                return files;
            }

            var existing = new List<string>();
            foreach (var file in files)
            {
                if (System.IO.Directory.Exists(file))
                {
                    WriteError(new ErrorRecord(new PluginException(ErrorCode.InvalidArgument,
                        $"'{file}' is a folder; send the files in it (Get-ChildItem -File | Send-Transfer).", errorId: "SourceIsFolder", target: input),
                        "SourceIsFolder", ErrorCategory.InvalidArgument, input));
                }
                else if (!System.IO.File.Exists(file))
                {
                    WriteError(new ErrorRecord(new PluginException(ErrorCode.NotFound, $"The source file '{file}' does not exist.", errorId: "SourceNotFound", target: input),
                        "SourceNotFound", ErrorCategory.ObjectNotFound, input));
                }
                else
                {
                    existing.Add(file);
                }
            }

            return existing;
        }
    }
}
