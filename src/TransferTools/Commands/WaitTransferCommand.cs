using System;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Waits until transfers finish (completed, failed, cancelled or suspended), in this or another process.</para>
    /// <para type="description">Writes each finished transfer. With -Timeout, a transfer still running when the time is up gets a
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

                if (!TryRun(c => Session.Transfers.WaitAsync(c, id, left), id, out (Transfer Transfer, bool Finished) result))
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
    }
}
