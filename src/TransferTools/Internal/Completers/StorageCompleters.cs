using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using TransferTools.Abstractions;

namespace TransferTools.Internal.Completers
{
    /// <summary>Completes item ids of the store named by <c>-Storage</c> (default LocalStore), with the item's name as the tooltip.</summary>
    public sealed class StorageIdCompleter : IArgumentCompleter
    {
        private const int Scan = 500;

        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var storage = CompletionSupport.Bound(fakeBoundParameters, "Storage");
            var items = CompletionSupport.Run((s, c) => s.Storage.ListAsync(c, storage, new ListFilter { Limit = Scan }));
            return CompletionSupport.Matching(items ?? new List<Item>(), wordToComplete, i => i.Id,
                i => $"{i.Metadata.Name} ({i.Metadata.Size} bytes, {i.Metadata.CreatedAt:u})",
                i => $"{i.Id}  {i.Metadata.Name}");
        }
    }

    /// <summary>
    /// Completes name prefixes of the store named by <c>-Storage</c> one level at a time, like folders:
    /// <c>rep</c> → <c>reports/</c> → <c>reports/2026/</c>.
    /// </summary>
    public sealed class StoragePrefixCompleter : IArgumentCompleter
    {
        private const int Scan = 1000;

        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var typed = CompletionSupport.Typed(wordToComplete);
            var storage = CompletionSupport.Bound(fakeBoundParameters, "Storage");
            var items = CompletionSupport.Run((s, c) => s.Storage.ListAsync(c, storage,
                new ListFilter { Prefix = typed.Length == 0 ? null : typed, Limit = Scan }));
            if (items is null)
            {
                return Enumerable.Empty<CompletionResult>();
            }

            // The next level under what was typed: up to and including the next '/', or the whole name.
            var next = items.Select(i => i.Metadata.Name)
                .Select(name =>
                {
                    var slash = name.IndexOf('/', typed.Length);
                    return slash < 0 ? name : name.Substring(0, slash + 1);
                })
                .GroupBy(p => p, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            return next.Take(CompletionSupport.MaxResults).Select(g => CompletionSupport.Result(g.Key, null,
                g.Key.EndsWith("/", StringComparison.Ordinal) ? $"{g.Key} ({g.Count()}{(g.Count() >= Scan ? "+" : "")} items)" : g.Key));
        }
    }
}
