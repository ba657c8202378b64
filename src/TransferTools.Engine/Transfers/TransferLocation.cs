using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>Turns what users type (paths, UNC paths, URIs) into absolute URIs, and names files beside others.</summary>
    internal static class TransferLocation
    {
        /// <summary>An absolute URI for <paramref name="text"/>: a URI with a scheme, or a local/UNC path (made absolute).</summary>
        public static Uri Parse(string text)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "The location is empty.", errorId: "InvalidLocation", target: text);
            }

            if (LooksLikeUri(text))
            {
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri))
                {
                    RefusePassword(uri);
                    return uri;
                }

                var shown = Monitoring.Redaction.Redact(text);
                throw new PluginException(ErrorCode.InvalidArgument, $"'{shown}' is not a valid URI.", errorId: "InvalidLocation", target: shown);
            }

            try
            {
                var trailing = text.EndsWith("/", StringComparison.Ordinal) || text.EndsWith("\\", StringComparison.Ordinal);
                var uri = FromLocalPath(text);
                return trailing && !uri.AbsolutePath.EndsWith("/", StringComparison.Ordinal) ? new Uri(uri + "/") : uri;
            }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{text}' is not a valid path: {e.Message}", e, "InvalidLocation", text);
            }
        }

        /// <summary>
        /// Refuses a URI that carries a password (<c>sftp://user:PW@host/</c>) before anything is journaled, logged or
        /// shown: the journal keeps locations in plain text, so a password belongs in <c>-Credential</c>.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> (<c>PasswordInUri</c>), naming the
        /// location without its password.</exception>
        public static void RefusePassword(Uri uri)
        {
            if (uri.IsAbsoluteUri && uri.UserInfo.IndexOf(':') >= 0)
            {
                var shown = DisplayWithoutQuery(uri);
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{shown}' carries a password in the URI, where it would be journaled and logged in plain text; remove it and pass it with -Credential.",
                    errorId: "PasswordInUri", target: shown);
            }
        }

        /// <summary>True for <c>scheme://...</c> (two or more letters, so <c>C:\x</c> stays a path).</summary>
        public static bool LooksLikeUri(string text)
        {
            var colon = text.IndexOf("://", StringComparison.Ordinal);
            if (colon < 2)
            {
                return false;
            }

            for (var i = 0; i < colon; i++)
            {
                var c = text[i];
                if (!(char.IsLetterOrDigit(c) || c == '+' || c == '-' || c == '.') || c > 127)
                {
                    return false;
                }
            }

            return char.IsLetter(text[0]);
        }

        /// <summary>
        /// <see cref="Display"/> for messages and error targets: a URI's query, which may carry a signature or a token (a
        /// pre-signed URL), is left out and marked with <c>?…</c>.
        /// </summary>
        public static string DisplayWithoutQuery(Uri uri) =>
            uri.IsFile || string.IsNullOrEmpty(uri.Query) ? Display(uri) : Display(new UriBuilder(uri) { Query = "" }.Uri) + "?…";

        /// <summary>
        /// How users see a location: the local path for <c>file://</c>, otherwise the URI without credentials, its path as
        /// readable as it can be while it still reads back as the same URI: "report (1).csv", not "report%20%281%29.csv";
        /// only '%', '#', '?' and a '/' inside a name stay escaped.
        /// </summary>
        public static string Display(Uri uri)
        {
            if (string.Equals(uri.Scheme, "file", StringComparison.OrdinalIgnoreCase))
            {
                return ToLocalPath(uri);
            }

            if (!string.IsNullOrEmpty(uri.UserInfo) && uri.UserInfo.Contains(":"))
            {
                // Never show a password typed into a URI.
                uri = new UriBuilder(uri) { Password = "" }.Uri;
            }

            var text = uri.ToString();
            var pathStart = text.IndexOf('/', uri.Scheme.Length + 3);
            if (pathStart < 0 || text.IndexOf('%', pathStart) < 0)
            {
                return text;
            }

            var end = text.IndexOfAny(new[] { '?', '#' }, pathStart);
            end = end < 0 ? text.Length : end;
            return text.Substring(0, pathStart) + ReadablePath(text.Substring(pathStart, end - pathStart)) + text.Substring(end);
        }

        /// <summary>Unescapes the characters of a URI path that mean the same escaped or not (RFC 3986 sub-delims, ':' and '@').</summary>
        private static string ReadablePath(string path)
        {
            var result = new System.Text.StringBuilder(path.Length);
            for (var i = 0; i < path.Length; i++)
            {
                if (path[i] == '%' && i + 2 < path.Length
                    && int.TryParse(path.Substring(i + 1, 2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var code)
                    && "!$&'()*+,;=:@".IndexOf((char)code) >= 0)
                {
                    result.Append((char)code);
                    i += 2;
                }
                else
                {
                    result.Append(path[i]);
                }
            }

            return result.ToString();
        }

        /// <summary>True when the URI names a folder explicitly (ends with '/').</summary>
        public static bool EndsWithSlash(Uri uri) => uri.AbsolutePath.EndsWith("/", StringComparison.Ordinal);

        /// <summary>The last path segment, unescaped ("" for a folder URI).</summary>
        public static string FileName(Uri uri)
        {
            var path = uri.AbsolutePath;
            var slash = path.LastIndexOf('/');
            return Uri.UnescapeDataString(slash < 0 ? path : path.Substring(slash + 1));
        }

        /// <summary><paramref name="folder"/> with <paramref name="name"/> appended as one escaped segment.</summary>
        public static Uri Combine(Uri folder, string name)
        {
            var text = folder.GetLeftPart(UriPartial.Path);
            if (!text.EndsWith("/", StringComparison.Ordinal))
            {
                text += "/";
            }

            return new Uri(text + Uri.EscapeDataString(name) + folder.Query);
        }

        /// <summary><paramref name="folder"/> with the '/'-separated <paramref name="relative"/> path appended, each segment escaped.</summary>
        public static Uri CombinePath(Uri folder, string relative)
        {
            var result = folder;
            var segments = relative.Split('/');
            for (var i = 0; i < segments.Length; i++)
            {
                result = Combine(result, segments[i]);
                if (i < segments.Length - 1)
                {
                    result = new Uri(result.GetLeftPart(UriPartial.Path) + "/" + result.Query);
                }
            }

            return result;
        }

        /// <summary>True for a '/'-separated path of plain file names (<see cref="IsPlainFileName"/>): nothing that climbs out
        /// of the folder it is read against, no empty segment, nothing absolute.</summary>
        public static bool IsPlainRelativePath(string? relative)
        {
            if (string.IsNullOrEmpty(relative) || relative!.Length > 4096)
            {
                return false;
            }

            foreach (var segment in relative.Split('/'))
            {
                if (!IsPlainFileName(segment))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The '/'-separated path of <paramref name="file"/> under <paramref name="root"/> (a folder URI), unescaped;
        /// null when the file is not under it or a segment is not a plain file name.</summary>
        public static string? RelativePath(Uri root, Uri file)
        {
            var rootText = root.GetLeftPart(UriPartial.Path);
            if (!rootText.EndsWith("/", StringComparison.Ordinal))
            {
                rootText += "/";
            }

            var fileText = file.GetLeftPart(UriPartial.Path);
            if (fileText.Length <= rootText.Length || !fileText.StartsWith(rootText, StringComparison.Ordinal))
            {
                return null;
            }

            var segments = fileText.Substring(rootText.Length).Split('/');
            for (var i = 0; i < segments.Length; i++)
            {
                segments[i] = Uri.UnescapeDataString(segments[i]);
                if (!IsPlainFileName(segments[i]))
                {
                    return null;
                }
            }

            return string.Join("/", segments);
        }

        /// <summary>The folder form of <paramref name="location"/>: its path ending with '/' (the query kept).</summary>
        public static Uri AsFolder(Uri location) =>
            EndsWithSlash(location) ? location : new Uri(location.GetLeftPart(UriPartial.Path) + "/" + location.Query);

        /// <summary>The folder holding <paramref name="file"/> (ends with '/').</summary>
        public static Uri Parent(Uri file)
        {
            var text = file.GetLeftPart(UriPartial.Path);
            var slash = text.LastIndexOf('/', text.Length - (text.EndsWith("/", StringComparison.Ordinal) ? 2 : 1));
            return new Uri(text.Substring(0, slash + 1) + file.Query);
        }

        /// <summary>A name beside <paramref name="file"/>.</summary>
        public static Uri Sibling(Uri file, string name) => Combine(Parent(file), name);

        /// <summary>The temporary name a transfer writes to: <c>.NAME.ID8.ttpart</c> beside the final name.</summary>
        public static Uri Temporary(Uri final, string id) => Sibling(final, "." + FileName(final) + "." + id.Substring(0, 8) + ".ttpart");

        /// <summary>The <paramref name="attempt"/>-th alternative name: <c>name (1).ext</c>.</summary>
        public static Uri Renamed(Uri final, int attempt)
        {
            var name = FileName(final);
            var dot = name.LastIndexOf('.');
            var stem = dot > 0 ? name.Substring(0, dot) : name;
            var ext = dot > 0 ? name.Substring(dot) : "";
            return Sibling(final, $"{stem} ({attempt}){ext}");
        }

        /// <summary>True for a plain file name: no separators, not '.', '..' or empty, no control characters.</summary>
        public static bool IsPlainFileName(string? name)
        {
            if (string.IsNullOrEmpty(name) || name == "." || name == ".." || name!.Length > 255)
            {
                return false;
            }

            foreach (var c in name)
            {
                if (c == '/' || c == '\\' || char.IsControl(c) || c == ':' && Path.DirectorySeparatorChar == '\\')
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The <c>file://</c> URI of a local path (made absolute), escaping characters such as '#', '%' and '?'.</summary>
        public static Uri FromLocalPath(string path)
        {
            var full = Path.GetFullPath(path);
            var isWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
            if (!isWindows && IsUnreservedPath(full))
            {
                // Every file of a batch comes here: a path that escaping leaves unchanged (the common case) skips the
                // split, the escape of each segment and the join, and gives the same URI.
                return new Uri("file://" + full);
            }

            var builder = new StringBuilder("file://");
            string rest;
            if (full.StartsWith(@"\\", StringComparison.Ordinal) || (!isWindows && full.StartsWith("//", StringComparison.Ordinal)))
            {
                // UNC: \\server\share\x -> file://server/share/x
                var trimmed = full.Substring(2).Replace('\\', '/');
                var slash = trimmed.IndexOf('/');
                var host = slash < 0 ? trimmed : trimmed.Substring(0, slash);
                builder.Append(host);
                rest = slash < 0 ? "/" : trimmed.Substring(slash);
            }
            else
            {
                rest = full.Replace('\\', '/');
                if (!rest.StartsWith("/", StringComparison.Ordinal))
                {
                    rest = "/" + rest; // C:/x -> /C:/x
                }
            }

            var segments = rest.Split('/');
            for (var i = 0; i < segments.Length; i++)
            {
                var keepDrive = isWindows && i == 1 && segments[i].Length == 2 && segments[i][1] == ':';
                segments[i] = keepDrive ? segments[i] : Uri.EscapeDataString(segments[i]);
            }

            builder.Append(string.Join("/", segments));
            return new Uri(builder.ToString());
        }

        /// <summary>True for an absolute POSIX path that <see cref="Uri.EscapeDataString"/> leaves as it is in every segment:
        /// only RFC 3986 unreserved characters and '/', not starting with "//" (UNC) and with no "." or ".." segment.</summary>
        private static bool IsUnreservedPath(string full)
        {
            if (full.Length < 1 || full[0] != '/' || (full.Length > 1 && full[1] == '/'))
            {
                return false;
            }

            for (var i = 0; i < full.Length; i++)
            {
                var c = full[i];
                var plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '~' || c == '/'
                            || (c == '.' && full[i - 1] != '/'); // a segment starting with '.' may be "." or "..", which Uri would fold
                if (!plain)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The local path a <c>file://</c> URI names.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> for another scheme.</exception>
        public static string ToLocalPath(Uri location)
        {
            if (!location.IsAbsoluteUri || !string.Equals(location.Scheme, "file", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{location}' is not a file:// location.", errorId: "NotAFileLocation", target: location.ToString());
            }

            var path = Uri.UnescapeDataString(location.AbsolutePath);
            var isWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
            if (!string.IsNullOrEmpty(location.Host) && !string.Equals(location.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                return isWindows ? @"\\" + location.Host + path.Replace('/', '\\') : "//" + location.Host + path;
            }

            if (isWindows)
            {
                if (path.Length >= 3 && path[0] == '/' && path[2] == ':')
                {
                    path = path.Substring(1);
                }

                path = path.Replace('/', '\\');
            }

            return path;
        }
    }
}
