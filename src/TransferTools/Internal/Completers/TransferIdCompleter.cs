using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using TransferTools.Abstractions;

namespace TransferTools.Internal.Completers
{
    /// <summary>
    /// Completes transfer ids from the journal, newest first, with name, status and progress as the tooltip.
    /// Stop/Suspend offer only transfers still moving, Resume only resumable ones.
    /// </summary>
    public sealed class TransferIdCompleter : IArgumentCompleter
    {
        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var statuses = (commandName ?? "").ToUpperInvariant() switch
            {
                "STOP-TRANSFER" => new[] { TransferStatus.Pending, TransferStatus.Active, TransferStatus.Suspended, TransferStatus.Failed, TransferStatus.Queued, TransferStatus.TransientError },
                "SUSPEND-TRANSFER" => new[] { TransferStatus.Pending, TransferStatus.Active, TransferStatus.Queued, TransferStatus.TransientError },
                "RESUME-TRANSFER" => new[] { TransferStatus.Suspended, TransferStatus.Failed, TransferStatus.TransientError },
                _ => null,
            };
            var transfers = CompletionSupport.Run((s, c) => s.Transfers.ListAsync(c, statuses, first: 500));
            return CompletionSupport.Matching(transfers ?? new List<Transfer>(), wordToComplete, t => t.Id,
                t => $"{t.Name}  {t.Status} {t.Progress:0.#}%  {t.Direction} → {t.Destination}",
                t => $"{t.Id.Substring(0, System.Math.Min(8, t.Id.Length))}  {t.Name} ({t.Status.ToString().ToLowerInvariant()})");
        }
    }
}
