using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Keeps a destination folder in step with a source folder, one way: copies what is missing, updates what differs and, with -Mirror, deletes what the source does not have.</para>
    /// <para type="description">Both trees are listed as sorted streams and merged (rclone's march), so copies start before the listing ends and
    /// memory stays flat. Each copy is an ordinary verified, resumable transfer that keeps the source's modification time and mode, so the
    /// next sync finds it unchanged. Deletes happen only after every copy succeeded, never when any listing or copy failed, never when the
    /// source lists empty (unless -AllowEmptySource) and never more than -MaxDelete. A killed sync finishes when run again.</para>
    /// </summary>
    [Cmdlet(VerbsData.Sync, "TransferFolder", SupportsShouldProcess = true, DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Root + "Sync-TransferFolder.md")]
    [OutputType(typeof(SyncResult), typeof(Transfer))]
    public sealed class SyncTransferFolderCommand : FolderSyncCommand
    {
        private const int ProgressId = 7300;
        private const int MaxAhead = 1000;

        private TransferQueue? _queue;
        private TransferQueue? _fedQueue; // kept past CompleteCopies for ReportSuspended
        private BackgroundRun? _run;
        private SyncState? _state;
        private SyncResult? _result;
        private long _fed;
        private long _done;
        private Stopwatch _progressClock = new Stopwatch();
        private bool _progress;
        private long _scanned;
        private bool _scanDone;

        /// <summary>Also delete destination files and folders that the source does not have (robocopy /MIR, rclone sync).</summary>
        [Parameter]
        public SwitchParameter Mirror { get; set; }

        /// <summary>With -Mirror: also delete destination files that the filters leave out.</summary>
        [Parameter]
        public SwitchParameter DeleteExcluded { get; set; }

        /// <summary>Create source folders at the destination even when they hold no file to copy.</summary>
        [Parameter]
        public SwitchParameter IncludeEmptyFolders { get; set; }

        /// <summary>Keep destination files that are newer than the source's (robocopy /XO, rclone --update).</summary>
        [Parameter]
        public SwitchParameter Update { get; set; }

        /// <summary>Let a source that lists no file delete the destination's files with -Mirror (refused otherwise: an empty listing is more often a mistake).</summary>
        [Parameter]
        public SwitchParameter AllowEmptySource { get; set; }

        /// <summary>Refuse the whole delete phase when it would delete more than this many files.</summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int MaxDelete { get; set; } = -1;

        /// <summary>Move the files -Mirror deletes below this folder (same relative paths) instead of deleting them: a local
        /// folder for a local destination, a URI on the same server or store for a remote one.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BackupPath { get; set; }

        /// <summary>Also write the Transfer object of each copy, before the SyncResult.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>Bytes per chunk of each copy: the unit of journal commits and of re-sending after a resume (default 4 MiB).</summary>
        [Parameter]
        [ValidateRange(4096, 1024 * 1024 * 1024)]
        public int ChunkSize { get; set; } = TransferOptions.DefaultChunkSize;

        /// <summary>Bandwidth limit of each copy in bytes per second (0: none).</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MaxBytesPerSecond { get; set; }

        /// <summary>How many files are copied at once (default 4).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <summary>Record the sync for the transfer agent (Start-TransferAgent) and return at once: a Transfer object, status Queued,
        /// Name '(sync)'. The agent runs the whole sync (plan, copies, deletes under the same safety rules), retries a transient
        /// failure up to -RetryTimeout and keeps the outcome in the journal (Get-TransferStatus, Wait-Transfer; Stop-Transfer removes
        /// it while queued). A -Credential password is kept only encrypted with the home's key.</summary>
        [Parameter]
        public SwitchParameter Queue { get; set; }

        /// <summary>With -Queue: how long the agent retries a sync that failed transiently (a server down, a dropped connection),
        /// counted from now (default 1 day).</summary>
        [Parameter]
        public TimeSpan RetryTimeout { get; set; } = QueueOptions.DefaultRetryTimeout;

        /// <inheritdoc/>
        protected override bool WantsProgress => !Queue.IsPresent;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (!Queue.IsPresent && MyInvocation.BoundParameters.ContainsKey(nameof(RetryTimeout)))
            {
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-RetryTimeout applies to a queued sync: add -Queue."),
                    "QueueParameterWithoutQueue", ErrorCategory.InvalidArgument, null));
            }

            if (Queue.IsPresent && (RetryTimeout <= TimeSpan.Zero || PassThru.IsPresent))
            {
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException(PassThru.IsPresent
                        ? "-PassThru writes the copies of a sync run here; a queued sync runs in the agent (Get-TransferStatus shows it)."
                        : "-RetryTimeout must be positive."),
                    PassThru.IsPresent ? "QueuePassThru" : "RetryTimeoutInvalid", ErrorCategory.InvalidArgument, null));
            }
        }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var source = ResolveSource();
            if (source is null)
            {
                return;
            }

            if (Queue)
            {
                QueueOne(LocalOrUri(source), LocalOrUri(ResolveDestination()));
                return;
            }

            SyncOne(LocalOrUri(source), LocalOrUri(ResolveDestination()));
        }

        /// <summary>Journals the sync for the agent; -WhatIf queues nothing.</summary>
        private void QueueOne(string source, string destination)
        {
            try
            {
                FolderSync.CheckRoots(source, destination);
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, destination));
                return;
            }

            if (!ShouldProcess(destination, $"Queue a sync from '{source}' for the transfer agent"))
            {
                return;
            }

            SyncJob job;
            try
            {
                job = SyncJobLine.Capture(this, source, destination);
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, destination));
                return;
            }

            var credential = Credential?.GetNetworkCredential();
            if (TryRun(c => Session.Transfers.QueueSyncAsync(c, job, credential, new QueueOptions { RetryTimeout = RetryTimeout }), destination, out Transfer queued))
            {
                WriteObject(queued);
            }
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _queue?.Abandon();
                // Ctrl+C: the copies waited for are suspended by now (the base waited for them); say so.
                ReportSuspended(_fedQueue);
                _fedQueue = null;
                _queue = null;
                _state?.Dispose();
                _state = null;
            }
        }

        private static string LocalOrUri(string location) =>
            TransferLocationText.LooksLikeUri(location) && location.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? new Uri(location).LocalPath : location;

        private void SyncOne(string source, string destination)
        {
            var clock = Stopwatch.StartNew();
            var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var w) && w is SwitchParameter s && s.IsPresent;
            var result = new SyncResult { Source = source, Destination = destination };
            _result = result;
            _progress = ShouldShowProgress();
            string? backup = null;
            try
            {
                FolderSync.CheckRoots(source, destination);
                if (BackupPath != null)
                {
                    // A remote destination's backup folder is a URI on the same server or store (its files are moved there).
                    backup = FolderSync.IsLocal(destination) || !TransferLocationText.LooksLikeUri(BackupPath)
                        ? LocalPaths.Resolve(SessionState, BackupPath)
                        : BackupPath;
                    FolderSync.CheckBackupRoot(destination, backup);
                    FolderSync.CheckRoots(destination, backup);
                }
            }
            catch (PluginException e)
            {
                Fail(e.ErrorId == "SyncDestinationInsideSource" && backup != null
                    ? new PluginException(ErrorCode.InvalidArgument, $"The backup folder '{backup}' and the destination '{destination}' overlap; give a backup folder outside the destination.",
                        e, "SyncBackupInsideDestination", backup)
                    : e, destination);
                return;
            }

            var transferOptions = BuildTransferOptions();
            var options = BuildSyncOptions();
            options.Mirror = Mirror;
            options.DeleteExcluded = DeleteExcluded;
            options.IncludeEmptyFolders = IncludeEmptyFolders;
            options.Update = Update;
            try
            {
                _state = SyncState.Open(Session.Transfers.JournalDirectory, source, destination, writes: !whatIf);
            }
            catch (PluginException e)
            {
                Fail(e, destination);
                return;
            }

            try
            {
                result.SyncId = _state.Key;
                if (!whatIf)
                {
                    // Kept until a run succeeds: Resume-Transfer on the SyncId runs this line again.
                    if (_state.RecordJob(SyncJobLine.Capture(this, source, destination)) is { } notKept)
                    {
                        WriteWarning($"The sync's line could not be kept for Resume-Transfer {_state.Key} ({notKept.Message}); running this command again finishes it.");
                    }

                    ResumeUnfinished(transferOptions);
                }

                var window = Max(FolderSync.TimePrecisionOf(source), FolderSync.TimePrecisionOf(destination));
                var plan = new SyncPlan(FolderSync.OpenWalk(Session, source, transferOptions), FolderSync.OpenWalk(Session, destination, transferOptions),
                    options, FolderSync.Hasher(Session.Transfers, transferOptions), window);
                var copyOptions = transferOptions.Clone();
                copyOptions.Conflict = ConflictPolicy.Overwrite;
                copyOptions.ChunkSize = ChunkSize;
                copyOptions.MaxBytesPerSecond = MaxBytesPerSecond;
                copyOptions.NoManifest = true;
                var stepsFailed = false;
                var folderDeletes = new List<string>();
                foreach (var item in StepsOf(plan, source, () => stepsFailed = true))
                {
                    _scanned++;
                    if (!Take(item, source, destination, copyOptions, folderDeletes))
                    {
                        break;
                    }

                    Progress("Scanning", false);
                }

                _scanDone = true;
                Progress("Copying", false);
                CompleteCopies();
                if (!stepsFailed && !plan.ListingFailed && result.Failed == 0)
                {
                    Progress("Deleting", false);
                }

                Deletes(plan, stepsFailed, destination, backup, transferOptions, folderDeletes);
                if (!whatIf && result.Failed == 0 && result.DeletesDone)
                {
                    _state.JobDone();
                }
            }
            finally
            {
                _state?.Dispose();
                _state = null;
                Progress("Done", true);
            }

            result.Duration = clock.Elapsed;
            if (!whatIf)
            {
                // As every cmdlet here: -WhatIf shows what would happen and returns nothing.
                WriteObject(result);
            }
        }

        /// <summary>One step of the plan; false when the sync cannot go on (a root that cannot be walked).</summary>
        private bool Take(SyncItem item, string source, string destination, TransferOptions copyOptions, List<string> folderDeletes)
        {
            var result = _result!;
            switch (item.Action)
            {
                case SyncAction.Error:
                    Fail(item.Error!, item.Target);
                    return !item.Fatal;
                case SyncAction.Note:
                    WriteVerbose(item.Message ?? "");
                    return true;
                case SyncAction.Unchanged:
                    result.Unchanged++;
                    WriteDebug($"{item.RelativePath}: unchanged ({item.Reason})");
                    return true;
                case SyncAction.Delete:
                    _state!.DeferDelete((item.Reason.StartsWith("excluded", StringComparison.Ordinal) ? "x" : "n") + item.RelativePath);
                    return true;
                case SyncAction.DeleteFolder:
                    folderDeletes.Add(item.RelativePath);
                    return true;
                case SyncAction.CreateFolder:
                    var folder = TransferLocationText.Beneath(destination, item.RelativePath);
                    if (ShouldProcess(folder, $"Create folder ({item.Reason})"))
                    {
                        if (!TryRun(c => FolderSync.CreateFolderAsync(c, Session.Transfers, destination, item.RelativePath, copyOptions), folder))
                        {
                            result.Failed++;
                        }
                    }

                    return true;
            }

            var target = FolderSync.LocationOf(destination, item.RelativePath);
            var verb = item.Action == SyncAction.Copy ? "Copy" : "Update";
            if (!ShouldProcess(target, $"{verb} from '{item.Source!.Display}' ({item.Reason})"))
            {
                return true;
            }

            var slash = item.RelativePath.LastIndexOf('/');
            var into = TransferLocationText.Beneath(destination, slash < 0 ? "" : item.RelativePath.Substring(0, slash));
            Func<OperationContext, Task<Transfer>> start;
            // A local source is sent; a remote one is received into a local destination, or copied to a remote one
            // (within the server where it can, else streamed through this machine).
            if (FolderSync.IsLocal(source) || !FolderSync.IsLocal(destination))
            {
                // The plan listed the destination: the copy need not look at the name again (one round trip per file).
                var request = new SendRequest { File = item.Source.Location, Destination = into, DestinationListed = true, Options = copyOptions.Clone() };
                start = c => Session.Transfers.StartSendAsync(c, request);
            }
            else
            {
                var request = new ReceiveRequest { Source = item.Source.Location, OutputDir = into, Options = copyOptions.Clone() };
                start = c => Session.Transfers.StartReceiveAsync(c, request);
            }

            Feed(item, start);
            return true;
        }

        /// <summary>Starts one copy now, while the plan goes on; its result is counted (and written with -PassThru) when it ends.</summary>
        private void Feed(SyncItem item, Func<OperationContext, Task<Transfer>> start)
        {
            if (_queue is null)
            {
                var queue = new TransferQueue(Session.Transfers, ThrottleLimit, batched: true, wait: true);
                _run = StartBackground((context, post) => queue.RunAsync(context, () => post(() => TakeResults(queue))));
                _queue = queue;
                _fedQueue = queue;
            }

            var state = _state!;
            var progress = _progress;
            _queue.Add(item, async c =>
            {
                // Each copy's bar is drawn beneath the sync's own (which shows the scan and the counts), not under a second parent.
                var transfer = await start(progress ? c.WithValue(EngineContextKeys.ProgressParentId, ProgressId) : c).ConfigureAwait(false);
                // On disk before the bytes move: a killed sync's next run resumes this copy from its committed chunks.
                state.Started(transfer.Id);
                return transfer;
            });
            _fed++;
            _run!.Pump();
            while (_fed - _done > MaxAhead && !_run.IsCompleted)
            {
                // The plan runs ahead of the copies by at most MaxAhead files: memory stays flat on a tree of new files.
                Thread.Sleep(5);
                _run.Pump();
            }
        }

        private void TakeResults(TransferQueue queue)
        {
            var result = _result!;
            foreach (var done in queue.TakeReady())
            {
                _done++;
                var item = (SyncItem)done.Target;
                if (done.Transfer != null)
                {
                    _state?.Finished(done.Transfer.Id);
                    result.BytesMoved += Math.Max(0, done.Transfer.BytesTransferred - done.Transfer.ResumedFrom);
                }

                if (done.Error != null)
                {
                    Fail(done.Error, item.Source?.Display ?? item.RelativePath);
                    continue;
                }

                if (item.Action == SyncAction.Copy)
                {
                    result.Copied++;
                }
                else
                {
                    result.Updated++;
                }

                if (PassThru && done.Transfer != null)
                {
                    WriteObject(done.Transfer);
                }
            }

            Progress(_scanDone ? "Copying" : "Scanning", false);
        }

        private void CompleteCopies()
        {
            var queue = _queue;
            var run = _run;
            _queue = null;
            _run = null;
            if (queue is null || run is null)
            {
                return;
            }

            try
            {
                queue.Complete();
                try
                {
                    run.Wait();
                }
                finally
                {
                    queue.Abandon();
                    TakeResults(queue);
                }
            }
            catch (Exception e) when (IsExpected(e))
            {
                Fail(e, null);
            }
        }

        /// <summary>Copies of a killed earlier run of this sync: resumed from their committed chunks before planning, so the plan finds them equal.</summary>
        private void ResumeUnfinished(TransferOptions options)
        {
            var state = _state!;
            var overrides = new ResumeOverrides { Credential = options.Credential };
            foreach (var id in state.Unfinished())
            {
                TryRun(async c =>
                {
                    try
                    {
                        var started = await Session.Transfers.StartResumeAsync(c, id, overrides).ConfigureAwait(false);
                        var (transfer, _) = await Session.Transfers.WaitAsync(c, started.Id, null, suspendOnCancel: true).ConfigureAwait(false);
                        c.Logger.Log(LogLevel.Verbose, $"Resumed the copy '{transfer.Destination}' of an interrupted sync: {transfer.Status}.");
                        if (transfer.Status == TransferStatus.Completed)
                        {
                            _result!.BytesMoved += Math.Max(0, transfer.BytesTransferred - transfer.ResumedFrom);
                        }
                    }
                    catch (PluginException e)
                    {
                        // Finished, cancelled or beyond resuming (its source changed): the plan copies it again if need be.
                        c.Logger.Log(LogLevel.Verbose, $"Copy {TransferIds.Short(id)} of an interrupted sync is not resumed: {e.Message}");
                    }
                }, id);
            }

            state.ForgetUnfinished();
        }


        /// <summary>The delete phase: only when every listing and copy succeeded, the source was not empty and -MaxDelete allows.</summary>
        private void Deletes(SyncPlan plan, bool stepsFailed, string destination, string? backup, TransferOptions options, List<string> folderDeletes)
        {
            var result = _result!;
            var state = _state!;
            var files = state.DeferredDeletes;
            if (files + folderDeletes.Count == 0)
            {
                result.DeletesDone = true;
                return;
            }

            var refusal = FolderSync.RefuseDeletes(plan, stepsFailed || result.Failed > 0, files, AllowEmptySource, MaxDelete, destination);
            if (refusal != null)
            {
                WriteError(ErrorMapping.ToErrorRecord(refusal, destination));
                result.Errors.Add(refusal.Message);
                return;
            }

            var failed = false;
            // A remote destination's deletes (no backup folder) go ThrottleLimit at a time, a batch at a time: each is a round trip.
            var batch = !FolderSync.IsLocal(destination) && backup is null ? new List<string>(DeleteBatch) : null;
            foreach (var line in state.Deletes())
            {
                var relative = line.Substring(1);
                var reason = line[0] == 'x' ? "excluded by the filters (-DeleteExcluded)" : "not in the source";
                var target = FolderSync.LocationOf(destination, relative);
                if (!ShouldProcess(target, $"{(backup is null ? "Delete" : "Move to '" + backup + "'")} ({reason})"))
                {
                    continue;
                }

                if (batch != null)
                {
                    batch.Add(relative);
                    failed |= batch.Count == DeleteBatch && !DeleteBatchNow(batch, destination, options);
                }
                else if (TryRun(c => FolderSync.DeleteFileAsync(c, Session.Transfers, destination, relative, backup, options), target))
                {
                    result.Deleted++;
                }
                else
                {
                    failed = true;
                    result.Failed++;
                }
            }

            failed |= batch != null && !DeleteBatchNow(batch, destination, options);

            // Deepest first: a folder is removed once what it held is gone (what the filters kept stays, and so does its folder).
            folderDeletes.Sort((a, b) => string.CompareOrdinal(b, a));
            foreach (var folder in folderDeletes)
            {
                var target = TransferLocationText.Beneath(destination, folder);
                if (ShouldProcess(target, "Remove folder (not in the source)"))
                {
                    TryRun(c => FolderSync.TryDeleteFolderAsync(c, Session.Transfers, destination, folder, options), target, out bool _);
                }
            }

            result.DeletesDone = !failed;
        }

        private const int DeleteBatch = 256;

        /// <summary>Deletes a batch of remote files, <see cref="ThrottleLimit"/> at once; false when any failed (each one reported).</summary>
        private bool DeleteBatchNow(List<string> batch, string destination, TransferOptions options)
        {
            if (batch.Count == 0)
            {
                return true;
            }

            var relatives = batch.ToArray();
            batch.Clear();
            if (!TryRun(c => FolderSync.DeleteFilesAsync(c, Session.Transfers, destination, relatives, options, ThrottleLimit), destination, out Exception?[] errors))
            {
                _result!.Failed++;
                return false;
            }

            var allDone = true;
            for (var i = 0; i < relatives.Length; i++)
            {
                if (errors[i] is null)
                {
                    _result!.Deleted++;
                    continue;
                }

                if (!IsExpected(errors[i]!))
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(errors[i]!).Throw();
                }

                WriteError(ErrorMapping.ToErrorRecord(errors[i]!, FolderSync.LocationOf(destination, relatives[i])));
                _result!.Failed++;
                allDone = false;
            }

            return allDone;
        }

        private void Fail(Exception error, object? target)
        {
            var record = ErrorMapping.ToErrorRecord(error, target);
            WriteError(record);
            if (_result != null)
            {
                _result.Failed++;
                _result.Errors.Add(error.Message);
            }
        }

        private void Progress(string phase, bool completed)
        {
            if (!_progress)
            {
                return;
            }

            if (!completed && _progressClock.IsRunning && _progressClock.ElapsedMilliseconds < 200)
            {
                return;
            }

            _progressClock.Restart();
            var r = _result!;
            // While the trees are listed the total is unknown: the bar says how far the scan got, not a percentage.
            var scan = _scanDone ? "" : $" ({_scanned} entries compared)";
            var record = new ProgressRecord(ProgressId, "Sync " + r.Source + " → " + r.Destination,
                $"{phase}{scan}: {r.Copied} copied, {r.Updated} updated, {r.Unchanged} unchanged, {_fed - _done} in flight, {r.Deleted} deleted, {r.Failed} failed; {TransferTools.Formatting.ByteSize.Format(r.BytesMoved)} moved")
            {
                RecordType = completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                PercentComplete = !_scanDone || _fed == 0 ? -1 : (int)(100 * _done / _fed),
            };
            WriteProgress(record);
        }

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
    }
}
