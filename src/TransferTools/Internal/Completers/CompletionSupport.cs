using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine;

namespace TransferTools.Internal.Completers
{
    /// <summary>
    /// What the completers share: the calling runspace's session (completers run on the pipeline thread, so
    /// <see cref="SessionManager.Current"/> is that runspace's), a short, bounded wait on engine calls, and results
    /// quoted when needed.
    /// </summary>
    internal static class CompletionSupport
    {
        /// <summary>How long one completion may wait on the engine: Tab must feel instant, and an empty list is better than a hang.</summary>
        public static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

        /// <summary>Most results offered at once.</summary>
        public const int MaxResults = 100;

        /// <summary>The session of the runspace asking, or null when there is none.</summary>
        public static TransferSession? Session()
        {
            try
            {
                return SessionManager.Current;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }

        /// <summary>Runs an engine call within <see cref="Budget"/>; null on time-out or any failure (completion never throws).</summary>
        /// <remarks>The session is taken here, on the pipeline thread; the call runs on the thread pool, where there
        /// is no default runspace, and is abandoned (and cancelled) when the budget runs out.</remarks>
        public static T? Run<T>(Func<TransferSession, OperationContext, Task<T>> call) where T : class
        {
            var session = Session();
            if (session is null)
            {
                return null;
            }

            var cts = new CancellationTokenSource(Budget);
            try
            {
                var context = session.CreateContext(cts.Token);
                var task = Task.Run(() => call(session, context), cts.Token);
                return task.Wait(Budget) && task.Status == TaskStatus.RanToCompletion ? task.Result : null;
            }
            catch (Exception)
            {
                return null;
            }
            finally
            {
                cts.Cancel();
            }
        }

        /// <summary>The text typed so far, without quotes.</summary>
        public static string Typed(string? wordToComplete) => (wordToComplete ?? "").Trim('\'', '"');

        /// <summary>A bound parameter's value as a string, or null.</summary>
        public static string? Bound(IDictionary fakeBoundParameters, string name)
        {
            if (fakeBoundParameters == null || !fakeBoundParameters.Contains(name))
            {
                return null;
            }

            var value = fakeBoundParameters[name];
            return (value is PSObject ps ? ps.BaseObject : value)?.ToString();
        }

        /// <summary>A completion result, single-quoted when the text needs it.</summary>
        public static CompletionResult Result(string text, string? listItem = null, string? tooltip = null)
        {
            var needsQuotes = text.Length == 0 || text.Any(c => char.IsWhiteSpace(c) || "'\"`$&(){}[];,|<>@#".IndexOf(c) >= 0);
            var completion = needsQuotes ? "'" + text.Replace("'", "''") + "'" : text;
            return new CompletionResult(completion, listItem ?? text, CompletionResultType.ParameterValue,
                string.IsNullOrEmpty(tooltip) ? text : tooltip!);
        }

        /// <summary>
        /// Candidates that start with the typed text (case-insensitive), in order, at most <see cref="MaxResults"/>;
        /// <paramref name="listItem"/> is what the menu shows (Linux and macOS show no tooltips, so an id alone says nothing).
        /// </summary>
        public static IEnumerable<CompletionResult> Matching<T>(IEnumerable<T> candidates, string? wordToComplete, Func<T, string> text,
            Func<T, string?>? tooltip = null, Func<T, string>? listItem = null)
        {
            var typed = Typed(wordToComplete);
            var pattern = WildcardPattern.ContainsWildcardCharacters(typed)
                ? new WildcardPattern(typed + "*", WildcardOptions.IgnoreCase)
                : null;
            return candidates
                .Where(c => pattern?.IsMatch(text(c)) ?? text(c).StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                .Take(MaxResults)
                .Select(c => Result(text(c), listItem?.Invoke(c), tooltip?.Invoke(c)));
        }
    }
}
