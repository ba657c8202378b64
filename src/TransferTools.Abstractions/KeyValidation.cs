using System;

namespace TransferTools.Abstractions
{
    /// <summary>
    /// The check every storage plugin applies to ids, names and prefixes before they reach a path, a URI or a query:
    /// nothing outside the store is ever read or written through them.
    /// </summary>
    public static class KeyValidation
    {
        /// <summary>Refuses an empty, over-long, control-character or traversal value with <see cref="ErrorCode.InvalidArgument"/>.</summary>
        /// <param name="value">The id, name or prefix.</param>
        /// <param name="what">What it is, for the message ("item id", "prefix").</param>
        /// <param name="maxLength">The longest value accepted.</param>
        /// <param name="allowSlash">True for path-like names and prefixes (<c>reports/2026/</c>).</param>
        public static string RequireSafe(string? value, string what, int maxLength = 1024, bool allowSlash = false)
        {
            string? problem = null;
            if (string.IsNullOrEmpty(value))
            {
                problem = "is empty";
            }
            else if (value!.Length > maxLength)
            {
                problem = $"is longer than {maxLength} characters";
            }
            else
            {
                foreach (var c in value)
                {
                    if (char.IsControl(c))
                    {
                        problem = "contains a control character";
                        break;
                    }

                    if (c == '\\' || (!allowSlash && c == '/'))
                    {
                        problem = $"contains '{c}'";
                        break;
                    }
                }

                if (problem is null)
                {
                    foreach (var segment in value.Split('/'))
                    {
                        if (segment == ".." || segment == "." || (allowSlash && segment.Length == 0 && value.StartsWith("/", StringComparison.Ordinal)))
                        {
                            problem = "tries to leave the store ('..', '.' or a leading '/')";
                            break;
                        }
                    }
                }
            }

            if (problem != null)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"The {what} '{Printable(value)}' {problem}.",
                    errorId: "Invalid" + ToPascal(what), target: value);
            }

            return value!;
        }

        /// <summary>The value with control characters escaped, safe to print in a message.</summary>
        public static string Printable(string? value)
        {
            if (value is null)
            {
                return "";
            }

            var sb = new System.Text.StringBuilder();
            foreach (var c in value.Length > 200 ? value.Substring(0, 200) + "..." : value)
            {
                sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
            }

            return sb.ToString();
        }

        private static string ToPascal(string what)
        {
            var parts = what.Split(' ');
            var sb = new System.Text.StringBuilder();
            foreach (var p in parts)
            {
                if (p.Length > 0)
                {
                    sb.Append(char.ToUpperInvariant(p[0])).Append(p.Substring(1));
                }
            }

            return sb.ToString();
        }
    }
}
