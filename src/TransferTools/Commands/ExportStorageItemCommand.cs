using System.IO;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Storage;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Writes stored items to files: atomically (temporary name, then rename), verified against the stored SHA-256.</para>
    /// </summary>
    [Cmdlet(VerbsData.Export, "StorageItem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, HelpUri = HelpLinks.Root + "Export-StorageItem.md")]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportStorageItemCommand : TransferCmdlet
    {
        /// <summary>The id of the item to export.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StorageIdCompleter))]
        public string? Id { get; set; }

        /// <summary>The file to write, or an existing folder to write into (named after the item).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        /// <summary>Replace an existing file.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>The storage plugin that holds the item (default: LocalStore).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePluginNameCompleter))]
        public string? Storage { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            string destination;
            try
            {
                destination = LocalPaths.Resolve(SessionState, Destination!);
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, Destination));
                return;
            }

            if (!ShouldProcess($"{StorageService.NameOf(Storage)}:{Id} -> {destination}", "Export storage item"))
            {
                return;
            }

            var id = Id!;
            if (TryRun(c => Session.Storage.ExportAsync(c, Storage, id, destination, Force), id, out string path))
            {
                // Through the FileSystem provider, so the object carries the PS* and Unix properties the default file view shows.
                WriteObject(InvokeProvider.Item.Get(new[] { path }, force: true, literalPath: true), enumerateCollection: true);
            }
        }
    }
}
