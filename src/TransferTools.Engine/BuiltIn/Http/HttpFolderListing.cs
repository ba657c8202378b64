using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.Http
{
    /// <summary>
    /// Reads a web server's folder listing, the page a server such as nginx (<c>autoindex</c>), Apache
    /// (<c>mod_autoindex</c>), Caddy (<c>file_server browse</c>) or IIS (directory browsing) answers for a folder URL, into
    /// <see cref="RemoteFolderEntry"/>s, as rclone's http backend does. Two forms: nginx's JSON (<c>autoindex_format json</c>:
    /// names, kinds, sizes and times) and HTML, where every link to a direct child of the folder is an entry (a trailing
    /// <c>/</c> makes it a folder) and everything else on the page (parent, sort orders, other sites) is ignored.
    /// </summary>
    internal static class HttpFolderListing
    {
        /// <summary>The largest listing read: about 200,000 entries of a typical page.</summary>
        internal const int MaxListingBytes = 32 * 1024 * 1024;

        private static readonly Regex Links = new Regex(
            @"<a\s[^>]*?\bhref\s*=\s*(?:""(?<href>[^""]*)""|'(?<href>[^']*)'|(?<href>[^\s""'>]+))",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled);

        private static readonly char[] QueryOrFragment = { '?', '#' };

        /// <summary>Whether a response of this media type can be a listing this class reads.</summary>
        public static bool CanRead(string? mediaType) => IsJson(mediaType) || IsHtml(mediaType);

        /// <summary>
        /// The entries of <paramref name="body"/>, the listing of <paramref name="folder"/> (the URL it was finally
        /// fetched from, ending in <c>/</c>), each name once, in the order the page gives them.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> (<c>HttpListingUnreadable</c>) for JSON that is not a listing.</exception>
        public static IReadOnlyList<RemoteFolderEntry> Parse(Uri folder, string? mediaType, string body) =>
            IsJson(mediaType) ? ParseJson(folder, body) : ParseHtml(folder, body);

        private static bool IsJson(string? mediaType) =>
            string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase);

        private static bool IsHtml(string? mediaType) =>
            string.Equals(mediaType, "text/html", StringComparison.OrdinalIgnoreCase)
            || string.Equals(mediaType, "application/xhtml+xml", StringComparison.OrdinalIgnoreCase);

        private static IReadOnlyList<RemoteFolderEntry> ParseHtml(Uri folder, string body)
        {
            var entries = new List<RemoteFolderEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match link in Links.Matches(body))
            {
                var href = WebUtility.HtmlDecode(link.Groups["href"].Value).Trim();
                if (ChildOf(folder, href) is { } entry && seen.Add(entry.Name))
                {
                    entries.Add(entry);
                }
            }

            return entries;
        }

        /// <summary>
        /// The entry a link names when it leads to a direct child of <paramref name="folder"/> (relative, absolute-path
        /// or absolute, as servers differ), with no query or fragment; null for anything else.
        /// </summary>
        internal static RemoteFolderEntry? ChildOf(Uri folder, string href)
        {
            if (href.Length == 0 || href.IndexOfAny(QueryOrFragment) >= 0
                || !Uri.TryCreate(folder, href, out var target)
                || !string.Equals(target.GetLeftPart(UriPartial.Authority), folder.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            var parent = folder.AbsolutePath;
            var path = target.AbsolutePath;
            if (!path.StartsWith(parent, StringComparison.Ordinal) || path.Length == parent.Length)
            {
                return null;
            }

            var rest = path.Substring(parent.Length);
            var isDirectory = rest.EndsWith("/", StringComparison.Ordinal);
            var segment = isDirectory ? rest.Substring(0, rest.Length - 1) : rest;
            if (segment.Length == 0 || segment.IndexOf('/') >= 0)
            {
                return null;
            }

            var name = Uri.UnescapeDataString(segment);
            return name == "." || name == ".." ? null : new RemoteFolderEntry { Name = name, IsDirectory = isDirectory };
        }

        private static IReadOnlyList<RemoteFolderEntry> ParseJson(Uri folder, string body)
        {
            var entries = new List<RemoteFolderEntry>();
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind != JsonValueKind.Array)
                {
                    throw Unreadable(folder, "it is not a JSON array");
                }

                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var item in document.RootElement.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var nameValue) || nameValue.ValueKind != JsonValueKind.String)
                    {
                        throw Unreadable(folder, "an entry has no name");
                    }

                    var name = nameValue.GetString()!;
                    var type = item.TryGetProperty("type", out var typeValue) && typeValue.ValueKind == JsonValueKind.String ? typeValue.GetString() : "file";
                    // nginx calls anything that is neither a file nor a directory (a pipe, a socket, a device) "other".
                    if ((type != "file" && type != "directory") || name.Length == 0 || name == "." || name == ".." || !seen.Add(name))
                    {
                        continue;
                    }

                    entries.Add(new RemoteFolderEntry
                    {
                        Name = name,
                        IsDirectory = type == "directory",
                        Length = type == "file" && item.TryGetProperty("size", out var size) && size.TryGetInt64(out var bytes) ? bytes : -1,
                        LastModified = item.TryGetProperty("mtime", out var mtime) && mtime.ValueKind == JsonValueKind.String
                            && DateTimeOffset.TryParse(mtime.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when) ? when : (DateTimeOffset?)null,
                    });
                }
            }
            catch (JsonException e)
            {
                throw Unreadable(folder, e.Message);
            }

            return entries;
        }

        private static PluginException Unreadable(Uri folder, string why)
        {
            var shown = HttpErrors.Redact(folder);
            return new PluginException(ErrorCode.InvalidArgument, $"The folder listing of {shown} cannot be read: {why}.", errorId: "HttpListingUnreadable", target: shown);
        }
    }
}
