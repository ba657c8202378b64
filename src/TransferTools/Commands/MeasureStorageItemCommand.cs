using System.Management.Automation;
using TransferTools.Engine.Storage;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Shows how many items a store holds and their total size (from maintained totals: no scan for the local store).</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Measure, "StorageItem", HelpUri = HelpLinks.Root + "Measure-StorageItem.md")]
    [OutputType(typeof(StorageStatistics))]
    public sealed class MeasureStorageItemCommand : TransferCmdlet
    {
        /// <summary>The storage plugins to measure (default: LocalStore).</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePluginNameCompleter))]
        public string[]? Storage { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var storage in Storage ?? new[] { StorageService.DefaultStorage })
            {
                if (TryRun(c => Session.Storage.MeasureAsync(c, storage), storage, out StorageStatistics stats))
                {
                    WriteObject(stats);
                }
            }
        }
    }
}
