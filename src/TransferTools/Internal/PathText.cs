using System;

namespace TransferTools.Formatting
{
    /// <summary>
    /// Paths and texts cut to a table column for the default views. A path loses its beginning, not its end, so the file
    /// name stays visible (<c>…/deep/t3.txt</c>); PowerShell's own cut keeps the beginning and hides the name.
    /// </summary>
    public static class PathText
    {
        private const string Ellipsis = "\u2026";
        private static readonly char[] Separators = { '/', '\\' };

        /// <summary>
        /// <paramref name="path"/> as it is when it fits in <paramref name="width"/> characters; otherwise its end,
        /// starting at a separator where it has one, behind an ellipsis.
        /// </summary>
        public static string KeepEnd(string? path, int width)
        {
            if (string.IsNullOrEmpty(path) || width <= 0)
            {
                return "";
            }

            var text = path!;
            if (text.Length <= width)
            {
                return text;
            }

            var room = width - Ellipsis.Length;
            if (room <= 0)
            {
                return Ellipsis.Substring(0, width);
            }

            var start = text.Length - room;
            var tail = text.Substring(start);
            // Start the tail at a separator, so the first segment shown is whole (…/deep/t3.txt, not …ep/t3.txt); a tail
            // without one is the end of a name too long for the column, the best that is left of it.
            var separator = tail.IndexOfAny(Separators);
            var startsWhole = Array.IndexOf(Separators, text[start - 1]) >= 0;
            if (separator > 0 && !startsWhole)
            {
                tail = tail.Substring(separator);
            }

            return Ellipsis + tail;
        }

        /// <summary><paramref name="text"/> cut at its end to <paramref name="width"/> characters, with an ellipsis.</summary>
        public static string KeepStart(string? text, int width)
        {
            if (string.IsNullOrEmpty(text) || width <= 0)
            {
                return "";
            }

            var value = text!.Replace(Environment.NewLine, " ").Replace('\n', ' ');
            return value.Length <= width ? value : value.Substring(0, Math.Max(0, width - Ellipsis.Length)) + Ellipsis;
        }
    }
}
