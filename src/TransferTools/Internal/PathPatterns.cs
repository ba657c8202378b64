using System.Management.Automation;

namespace TransferTools.Internal
{
    /// <summary>What a <c>-Path</c> that matched nothing tells the user (PowerShell resolves such a wildcard to nothing, silently).</summary>
    public static class PathPatterns
    {
        /// <summary>
        /// <c>PathNotFound</c> (ObjectNotFound, the pattern as target): a name with <c>[</c>, <c>]</c>, <c>*</c> or
        /// <c>?</c> given to -Path is a wildcard pattern, which is why the hint names -LiteralPath.
        /// </summary>
        public static ErrorRecord NothingMatched(string pattern) => new ErrorRecord(
            new ItemNotFoundException(
                $"No file matches '{pattern}'. -Path takes wildcards ([ ] * ?); to give a name that contains them, use -LiteralPath."),
            "PathNotFound", ErrorCategory.ObjectNotFound, pattern);
    }
}
