using System;

namespace TransferTools.Engine.Transfers
{
    /// <summary>How two versions of one source (<see cref="Abstractions.RemoteFileInfo.Version"/>) are compared.</summary>
    internal static class SourceVersion
    {
        /// <summary>
        /// Whether two versions name the same content: equal strings, where an HTTP weak ETag matches the strong one with
        /// the same value (RFC 9110's weak comparison). Apache marks a file's ETag weak while it is less than a second
        /// old, so a download that began right after an upload saw W/"x" and its resume sees "x" for the very same file.
        /// A changed file has another value. (No other endpoint's version starts with <c>W/</c>.)
        /// </summary>
        internal static bool Same(string? a, string? b) =>
            string.Equals(StripWeak(a), StripWeak(b), StringComparison.Ordinal);

        private static string? StripWeak(string? version) =>
            version != null && version.StartsWith("W/", StringComparison.Ordinal) ? version.Substring(2) : version;
    }
}
