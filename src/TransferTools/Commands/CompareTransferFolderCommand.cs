using System.Management.Automation;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Transfers;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Compares two folder trees (local, sftp://, https:// listings, storage://) and returns one object per difference, as rclone check.</para>
    /// <para type="description">Lists both sides with the same filters and comparison as Sync-TransferFolder and returns a FolderDifference for each file
    /// that is only in the source, only in the destination, or changed; equal files only with -IncludeEqual. With -Quiet it returns only $true when
    /// the trees are equal and $false otherwise (a listing that failed counts as not equal). Changes nothing.</para>
    /// </summary>
    [Cmdlet(VerbsData.Compare, "TransferFolder", DefaultParameterSetName = PathSet, HelpUri = Internal.HelpLinks.Root + "Compare-TransferFolder.md")]
    [OutputType(typeof(FolderDifference), typeof(bool))]
    public sealed class CompareTransferFolderCommand : FolderSyncCommand
    {
        /// <summary>Also return equal files (Difference = Equal).</summary>
        [Parameter]
        public SwitchParameter IncludeEqual { get; set; }

        /// <summary>Return only $true when the trees are equal, $false otherwise.</summary>
        [Parameter]
        public SwitchParameter Quiet { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var source = ResolveSource();
            if (source is null)
            {
                if (Quiet)
                {
                    WriteObject(false);
                }

                return;
            }

            var destination = ResolveDestination();
            var transferOptions = BuildTransferOptions();
            var options = BuildSyncOptions();
            // Deletes planned = files only the destination has; nothing is ever deleted here.
            options.Mirror = true;
            var window = FolderSync.TimePrecisionOf(source) > FolderSync.TimePrecisionOf(destination)
                ? FolderSync.TimePrecisionOf(source)
                : FolderSync.TimePrecisionOf(destination);
            SyncPlan plan;
            try
            {
                plan = new SyncPlan(FolderSync.OpenWalk(Session, source, transferOptions), FolderSync.OpenWalk(Session, destination, transferOptions),
                    options, FolderSync.Hasher(Session.Transfers, transferOptions), window);
            }
            catch (System.Exception e) when (IsExpected(e))
            {
                WriteError(Internal.ErrorMapping.ToErrorRecord(e, source));
                if (Quiet)
                {
                    WriteObject(false);
                }

                return;
            }

            var equal = true;
            var failed = false;
            foreach (var item in StepsOf(plan, source, () => failed = true))
            {
                FolderDifference? difference = null;
                switch (item.Action)
                {
                    case SyncAction.Error:
                        failed = true;
                        WriteError(Internal.ErrorMapping.ToErrorRecord(item.Error!, item.Target));
                        break;
                    case SyncAction.Note:
                        WriteVerbose(item.Message ?? "");
                        break;
                    case SyncAction.Copy:
                        difference = Difference(item, FolderDifferenceKind.SourceOnly);
                        break;
                    case SyncAction.Delete:
                        difference = Difference(item, FolderDifferenceKind.DestinationOnly);
                        break;
                    case SyncAction.Update:
                        difference = Difference(item, FolderDifferenceKind.Changed);
                        break;
                    case SyncAction.Unchanged when IncludeEqual && !Quiet:
                        WriteObject(Difference(item, FolderDifferenceKind.Equal));
                        break;
                }

                if (difference != null)
                {
                    equal = false;
                    if (!Quiet)
                    {
                        WriteObject(difference);
                    }
                }
            }

            if (Quiet)
            {
                WriteObject(equal && !failed && !plan.ListingFailed);
            }
        }

        private static FolderDifference Difference(SyncItem item, FolderDifferenceKind kind) => new FolderDifference
        {
            RelativePath = item.RelativePath,
            Difference = kind,
            Reason = item.Reason,
            SourceSize = Size(item.Source),
            DestinationSize = Size(item.Destination),
            SourceModified = item.Source?.LastModified,
            DestinationModified = item.Destination?.LastModified,
            SourceSha256 = item.SourceSha256,
            DestinationSha256 = item.DestinationSha256,
            SourcePath = item.Source?.Display,
            DestinationPath = item.Destination?.Display,
        };

        private static long? Size(FolderWalkEntry? entry) => entry is null || entry.Length < 0 ? (long?)null : entry.Length;
    }
}
