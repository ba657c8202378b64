using System.Text.RegularExpressions;

namespace TransferTools.Engine.Monitoring
{
    /// <summary>Removes secrets that can hide in endpoint strings before a monitor writes them anywhere.</summary>
    /// <remarks>
    /// Passwords in URI user info (<c>sftp://user:secret@host</c>) and the values of query parameters (Azure SAS
    /// signatures, tokens) are replaced with <c>***</c>. Query values are masked whatever their name: a log line is
    /// no place to decide which ones are harmless.
    /// </remarks>
    public static class Redaction
    {
        private static readonly Regex UserInfoPassword = new Regex(@"(?<prefix>[A-Za-z][A-Za-z0-9+.\-]*://[^/@:\s]*):[^/\s]*@", RegexOptions.Compiled | RegexOptions.CultureInvariant);
        private static readonly Regex QueryString = new Regex(@"(?<=[A-Za-z][A-Za-z0-9+.\-]*://[^\s?#]*)\?(?<query>[^\s#]*)", RegexOptions.Compiled | RegexOptions.CultureInvariant);
        private static readonly Regex QueryPair = new Regex(@"(?<key>[^=&]+)=[^&]*", RegexOptions.Compiled | RegexOptions.CultureInvariant);

        /// <summary>The text with URI passwords and query values masked; null stays null.</summary>
        public static string? Redact(string? text)
        {
            if (string.IsNullOrEmpty(text) || text!.IndexOf("://", System.StringComparison.Ordinal) < 0)
            {
                return text;
            }

            var result = UserInfoPassword.Replace(text, m => m.Groups["prefix"].Value + ":***@");
            result = QueryString.Replace(result, m => "?" + QueryPair.Replace(m.Groups["query"].Value, p => p.Groups["key"].Value + "=***"));
            return result;
        }
    }
}
