using System;
using System.IO;
using System.Text;

namespace TransferTools.Engine.Transfers
{
    /// <summary>Reads and names locations as the user typed them (a path or a URI), before they become URIs.</summary>
    public static class TransferLocationText
    {
        /// <summary>True for <c>scheme://...</c> (two or more letters, so <c>C:\x</c> stays a path).</summary>
        public static bool LooksLikeUri(string text) => TransferLocation.LooksLikeUri(text);

        /// <summary>
        /// Refuses a location typed as a URI with a password in it (<c>PasswordInUri</c>), before a cmdlet shows or journals
        /// it; paths and URIs without one pass.
        /// </summary>
        /// <exception cref="Abstractions.PluginException">The URI carries a password.</exception>
        public static void RefusePassword(string text)
        {
            if (LooksLikeUri(text) && Uri.TryCreate(text, UriKind.Absolute, out var uri))
            {
                TransferLocation.RefusePassword(uri);
            }
        }

        /// <summary>
        /// The folder <paramref name="relative"/> ('/'-separated names) inside the folder <paramref name="location"/>, ending
        /// with a separator so that the engine takes it as a folder: each name percent-encoded after a URI's path (before
        /// any query), joined with the platform's separator to a path.
        /// </summary>
        public static string Beneath(string location, string relative)
        {
            var names = relative.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
            if (!LooksLikeUri(location))
            {
                var path = location;
                foreach (var name in names)
                {
                    path = Path.Combine(path, name);
                }

                return path.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? path : path + Path.DirectorySeparatorChar;
            }

            var tail = location.IndexOfAny(new[] { '?', '#' }, location.IndexOf("://", StringComparison.Ordinal) + 3);
            var head = tail < 0 ? location : location.Substring(0, tail);
            var builder = new StringBuilder(head);
            if (!head.EndsWith("/", StringComparison.Ordinal))
            {
                builder.Append('/');
            }

            foreach (var name in names)
            {
                builder.Append(Uri.EscapeDataString(name)).Append('/');
            }

            return builder.Append(tail < 0 ? "" : location.Substring(tail)).ToString();
        }
    }
}
