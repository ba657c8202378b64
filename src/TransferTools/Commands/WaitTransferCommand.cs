using System;
using System.Management.Automation;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.Progress;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Waits until transfers finish (completed, failed, cancelled or suspended), in this or another process.</para>
    /// <para type="description">Writes each finished transfer, showing each one's progress while it waits (a transfer started with
    /// -Asynchronous draws no bar of its own once its command has returned). With -Timeout, a transfer still running when the time is up gets a
    /// non-terminating WaitTimeout error (the transfer itself keeps running).</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Wait, "Transfer", HelpUri = HelpLinks.Root + "Wait-Transfer.md")]
    [OutputType(typeof(Transfer))]
    public sealed class WaitTransferCommand : TransferCmdlet
    {
        private DateTime? _deadline;

        /// <summary>Transfer ids (or unique prefixes); Transfer objects bind by their Id.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.TransferIdCompleter))]
        public string[]? Id { get; set; }

        /// <summary>Seconds to wait in all (default: for ever).</summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        [Alias("TimeoutSec")]
        public int Timeout { get; set; } = -1;

        /// <inheritdoc/>
        protected override bool WantsProgress => true;

        /// <inheritdoc/>
        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            if (Timeout >= 0)
            {
                _deadline = DateTime.UtcNow.AddSeconds(Timeout);
            }
        }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var id in Id!)
            {
                TimeSpan? left = _deadline is null ? (TimeSpan?)null : _deadline.Value - DateTime.UtcNow;
                if (left < TimeSpan.Zero)
                {
                    left = TimeSpan.Zero;
                }

                if (!TryRun(c => WaitShowingProgressAsync(c, id, left), id, out (Transfer Transfer, bool Finished) result))
                {
                    continue;
                }

                if (result.Finished)
                {
                    WriteObject(result.Transfer);
                }
                else
                {
                    WriteError(new ErrorRecord(new TimeoutException($"Transfer {TransferIds.Short(result.Transfer.Id)} is still {result.Transfer.Status.ToSeedValue()} after {Timeout} s."),
                        "WaitTimeout", ErrorCategory.OperationTimeout, result.Transfer));
                }
            }
        }

        /// <summary>
        /// Waits for one transfer and, while it waits, shows its progress (where this call shows progress at all): a
        /// transfer started with -Asynchronous draws no bar of its own once the command that started it has returned,
        /// so without this a user waiting here would look at a still prompt.
        /// </summary>
        private async Task<(Transfer Transfer, bool Finished)> WaitShowingProgressAsync(OperationContext context, string id, TimeSpan? left)
        {
            var wait = Session.Transfers.WaitAsync(context, id, left);
            var progress = context.Progress;
            if (progress is null)
            {
                return await wait.ConfigureAwait(false);
            }

            var bar = new ProgressUpdate { ActivityId = FirstActivityId + _bars++, Activity = "Waiting for transfer " + TransferIds.Short(id) };
            try
            {
                while (!wait.IsCompleted)
                {
                    try
                    {
                        Describe(bar, await Session.Transfers.GetTransferAsync(context, id).ConfigureAwait(false));
                        progress.Report(bar);
                    }
                    catch (PluginException)
                    {
                        // Not found (yet, or any more): the wait itself says so.
                    }

                    await Task.WhenAny(wait, Task.Delay(RefreshInterval, context.CancellationToken)).ConfigureAwait(false);
                }
            }
            finally
            {
                progress.Report(new ProgressUpdate { ActivityId = bar.ActivityId, Activity = bar.Activity, StatusDescription = "Done", Completed = true });
            }

            return await wait.ConfigureAwait(false);
        }

        /// <summary>Fills <paramref name="bar"/> from a transfer's state, in the units and form of the transfer cmdlets' own bars.</summary>
        private static void Describe(ProgressUpdate bar, Transfer transfer)
        {
            var verb = transfer.Direction == TransferDirection.Receive ? "Receiving" : "Sending";
            bar.Activity = $"{verb} {transfer.Name}";
            var percent = (int)Math.Floor(transfer.Progress);
            var bytes = ProgressMonitorPlugin.FormatBytes(transfer.BytesTransferred);
            bar.PercentComplete = transfer.TotalBytes > 0 ? Math.Min(100, percent) : -1;
            bar.StatusDescription = transfer.TotalBytes > 0
                ? $"{percent}% - {bytes} of {ProgressMonitorPlugin.FormatBytes(transfer.TotalBytes)}"
                : bytes;
            if (transfer.BytesPerSecond > 0)
            {
                bar.StatusDescription += $" - {ProgressMonitorPlugin.FormatBytes(transfer.BytesPerSecond)}/s";
            }

            bar.SecondsRemaining = transfer.TimeRemaining is TimeSpan remaining ? (int)Math.Min(int.MaxValue, remaining.TotalSeconds) : -1;
            bar.CurrentOperation = $"Transfer {TransferIds.Short(transfer.Id)} is {transfer.Status.ToSeedValue()}";
        }

        /// <summary>How often the bar is refreshed from the transfer's state.</summary>
        private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(500);

        // Bars of their own, apart from the progress monitor's (7400 up), one per transfer waited for.
        private const int FirstActivityId = 7300;
        private int _bars;
    }
}
