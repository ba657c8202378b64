using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Storage;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Saves files into a store (the local store by default) and outputs the stored items.</para>
    /// </summary>
    [Cmdlet(VerbsData.Save, "StorageItem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Root + "Save-StorageItem.md")]
    [OutputType(typeof(StorageItem))]
    public sealed class SaveStorageItemCommand : TransferCmdlet
    {
        private const string PathSet = "Path";
        private const string LiteralPathSet = "LiteralPath";

        // Piped files are saved in batches: one engine call and one index transaction for many small files.
        private const int BatchSize = 64;
        private readonly List<(string Path, ItemMetadata Metadata)> _batch = new List<(string, ItemMetadata)>();
        private string? _batchStorage;

        /// <summary>The files to save; wildcards allowed.</summary>
        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Path { get; set; }

        /// <summary>The files to save, taken literally (no wildcards); binds the PSPath of piped files.</summary>
        [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
        [Alias("PSPath", "LP")]
        [ValidateNotNullOrEmpty]
        public string[]? LiteralPath { get; set; }

        /// <summary>The item name (default: the file name). Path-like names such as <c>reports/2026/q3.csv</c> are fine.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>Put before each item's name, e.g. <c>reports/2026/</c>.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePrefixCompleter))]
        public string? Prefix { get; set; }

        /// <summary>Custom metadata stored with each item.</summary>
        [Parameter]
        public Hashtable? Metadata { get; set; }

        /// <summary>The MIME type (default: guessed from the file extension).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? MimeType { get; set; }

        /// <summary>The storage plugin to save into (default: LocalStore).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePluginNameCompleter))]
        public string? Storage { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var literal = ParameterSetName == LiteralPathSet;
            foreach (var input in (literal ? LiteralPath : Path) ?? Array.Empty<string>())
            {
                foreach (var file in Resolve(input, literal))
                {
                    Enqueue(file);
                }
            }
        }

        /// <inheritdoc/>
        protected override void EndProcessing()
        {
            Flush();
            base.EndProcessing();
        }

        private IEnumerable<string> Resolve(string input, bool literal)
        {
            var files = new List<string>();
            try
            {
                if (literal)
                {
                    var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(input);
                    if (!File.Exists(full) && !Directory.Exists(full))
                    {
                        throw new ItemNotFoundException($"Cannot find path '{full}' because it does not exist.");
                    }

                    files.Add(full);
                }
                else
                {
                    var resolved = GetResolvedProviderPathFromPSPath(input, out _);
                    if (resolved.Count == 0)
                    {
                        WriteError(PathPatterns.NothingMatched(input));
                        return Array.Empty<string>();
                    }

                    files.AddRange(resolved);
                }
            }
            catch (Exception e) when (e is ItemNotFoundException || e is System.Management.Automation.DriveNotFoundException || e is ProviderNotFoundException)
            {
                WriteError(ErrorMapping.ToErrorRecord(new PluginException(ErrorCode.NotFound, e.Message, e, "FileNotFound", input), input));
                return Array.Empty<string>();
            }

            var result = new List<string>();
            foreach (var f in files)
            {
                if (Directory.Exists(f))
                {
                    WriteVerbose($"Skipping the folder '{f}': Save-StorageItem saves files.");
                    continue;
                }

                result.Add(f);
            }

            return result;
        }

        private void Enqueue(string file)
        {
            var itemName = (Prefix ?? "") + (Name ?? System.IO.Path.GetFileName(file));
            var storage = StorageService.NameOf(Storage);
            if (!ShouldProcess($"{file} -> {storage}:{itemName}", "Save storage item"))
            {
                return;
            }

            if (_batch.Count > 0 && !string.Equals(_batchStorage, storage, StringComparison.OrdinalIgnoreCase))
            {
                Flush();
            }

            _batchStorage = storage;
            _batch.Add((file, new ItemMetadata
            {
                Name = itemName,
                MimeType = MimeType ?? MimeTypes.FromFileName(file),
                Custom = ToDictionary(Metadata),
            }));
            if (_batch.Count >= BatchSize)
            {
                Flush();
            }
        }

        private void Flush()
        {
            if (_batch.Count == 0)
            {
                return;
            }

            var batch = _batch.ToArray();
            var storage = _batchStorage;
            _batch.Clear();
            if (!TryRun(c => Session.Storage.StoreFilesAsync(c, storage, batch), storage, out IReadOnlyList<(StorageItem? Item, Exception? Error)> results))
            {
                return;
            }

            for (var i = 0; i < results.Count; i++)
            {
                if (results[i].Item != null)
                {
                    WriteObject(results[i].Item);
                }
                else if (results[i].Error != null)
                {
                    WriteError(ErrorMapping.ToErrorRecord(results[i].Error!, batch[i].Path));
                }
            }
        }

        private static IDictionary<string, string> ToDictionary(Hashtable? table)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (table is null)
            {
                return result;
            }

            foreach (DictionaryEntry entry in table)
            {
                var value = entry.Value is PSObject ps ? ps.BaseObject : entry.Value;
                result[entry.Key.ToString()!] = value switch
                {
                    null => "",
                    DateTime dt => dt.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
                    DateTimeOffset dto => dto.ToString("o", CultureInfo.InvariantCulture),
                    bool b => b ? "true" : "false",
                    _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
                };
            }

            return result;
        }
    }
}
