using System.Collections.Generic;
using System.Management.Automation;

namespace TransferTools.Internal
{
    /// <summary>
    /// The wildcard patterns of a <c>-Name</c> parameter, checked when they are made: PowerShell's
    /// <see cref="WildcardPattern"/> accepts an unclosed <c>[</c> and throws a raw <see cref="WildcardPatternException"/>
    /// at the first match, far from the value that caused it.
    /// </summary>
    public static class NamePatterns
    {
        /// <summary>
        /// A case-insensitive pattern for each name that is a valid wildcard pattern, in order; each invalid one gets an
        /// <c>InvalidWildcardPattern</c> record (InvalidArgument, the name as target) in <paramref name="errors"/>.
        /// </summary>
        public static List<(string Name, WildcardPattern Pattern)> Create(IEnumerable<string> names, List<ErrorRecord> errors)
        {
            var patterns = new List<(string, WildcardPattern)>();
            foreach (var name in names)
            {
                var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
                try
                {
                    pattern.IsMatch("");
                    patterns.Add((name, pattern));
                }
                catch (WildcardPatternException e)
                {
                    errors.Add(new ErrorRecord(
                        new PSArgumentException(
                            $"'{name}' is not a valid name pattern: {e.Message} Escape [ and ] with a backtick (`[) to match them literally.", e),
                        "InvalidWildcardPattern", ErrorCategory.InvalidArgument, name));
                }
            }

            return patterns;
        }
    }
}
