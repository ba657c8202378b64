using System;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Storage;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists stored items by name prefix (streaming, page by page, in name order), or gets items by id.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "StorageItem", DefaultParameterSetName = ListSet, SupportsPaging = true, HelpUri = HelpLinks.Root + "Get-StorageItem.md")]
    [OutputType(typeof(StorageItem))]
    public sealed class GetStorageItemCommand : TransferCmdlet
    {
        private const string ListSet = "List";
        private const string IdSet = "Id";
        private const int PageSize = 1000;

        /// <summary>Only items whose name starts with this (case-sensitive).</summary>
        [Parameter(Position = 0, ParameterSetName = ListSet, ValueFromPipelineByPropertyName = true)]
        [AllowEmptyString]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePrefixCompleter))]
        public string? Prefix { get; set; }

        /// <summary>Continue a listing after the item with this name and id (see <c>-StartAfterId</c>); for resuming long listings.</summary>
        [Parameter(ParameterSetName = ListSet)]
        [ValidateNotNullOrEmpty]
        public string? StartAfterName { get; set; }

        /// <summary>The id of the item named by <c>-StartAfterName</c>.</summary>
        [Parameter(ParameterSetName = ListSet)]
        [ValidateNotNullOrEmpty]
        public string? StartAfterId { get; set; }

        /// <summary>The ids of the items to get.</summary>
        [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StorageIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>The storage plugin to read (default: LocalStore).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.StoragePluginNameCompleter))]
        public string? Storage { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                foreach (var id in Id!)
                {
                    if (TryRun(c => Session.Storage.GetItemAsync(c, Storage, id), id, out StorageItem item))
                    {
                        WriteObject(item);
                    }
                }

                return;
            }

            List();
        }

        private void List()
        {
            if ((StartAfterName is null) != (StartAfterId is null))
            {
                Terminate(new PluginException(ErrorCode.InvalidArgument, "-StartAfterName and -StartAfterId go together.",
                    errorId: "IncompleteCursor"), StartAfterName ?? StartAfterId);
            }

            if (PagingParameters.IncludeTotalCount)
            {
                if (string.IsNullOrEmpty(Prefix) && StartAfterName is null)
                {
                    var stats = RunOrThrow(c => Session.Storage.StatsAsync(c, Storage), Storage);
                    WriteObject(PagingParameters.NewTotalCount((ulong)Math.Max(0, stats.TotalItems), 1.0));
                }
                else
                {
                    WriteObject(PagingParameters.NewTotalCount(0, 0.0));
                }
            }

            var skip = PagingParameters.Skip;
            var remaining = PagingParameters.First;
            ListCursor? cursor = StartAfterName is null ? null : new ListCursor(StartAfterName, StartAfterId!);
            while (remaining > 0)
            {
                var wanted = skip + remaining;
                var filter = new ListFilter
                {
                    Prefix = string.IsNullOrEmpty(Prefix) ? null : Prefix,
                    Limit = (int)Math.Min(PageSize, wanted),
                    StartAfter = cursor,
                };
                var page = RunOrThrow(c => Session.Storage.ListItemsAsync(c, Storage, filter), Prefix);
                foreach (var item in page)
                {
                    if (skip > 0)
                    {
                        skip--;
                        continue;
                    }

                    if (remaining == 0)
                    {
                        break;
                    }

                    WriteObject(item);
                    remaining--;
                }

                if (page.Count < filter.Limit || page.Count == 0)
                {
                    break;
                }

                cursor = page[page.Count - 1].ToCursor();
            }
        }
    }
}
