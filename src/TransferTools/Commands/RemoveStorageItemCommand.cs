using System;
using System.Management.Automation;
using TransferTools.Engine.Storage;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Deletes stored items by id.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "StorageItem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Root + "Remove-StorageItem.md")]
    [OutputType(typeof(void))]
    public sealed class RemoveStorageItemCommand : TransferCmdlet
    {
        /// <summary>The ids of the items to delete.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StorageIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>The storage plugin that holds the items (default: LocalStore).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePluginNameCompleter))]
        public string? Storage { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var id in Id!)
            {
                if (ShouldProcess(Describe(id), "Remove storage item"))
                {
                    TryRun(c => Session.Storage.DeleteAsync(c, Storage, id), id);
                }
            }
        }

        /// <summary>
        /// The item as -WhatIf and -Confirm name it: store, id and name, so a user can tell what goes. An item that cannot
        /// be looked up is named by its id; the delete then reports why.
        /// </summary>
        private string Describe(string id)
        {
            var target = $"{StorageService.NameOf(Storage)}:{id}";
            try
            {
                return $"{target} ({Run(c => Session.Storage.GetItemAsync(c, Storage, id)).Name})";
            }
            catch (Exception e) when (IsExpected(e))
            {
                return target;
            }
        }
    }
}
