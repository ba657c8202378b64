using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Sync
{
    /// <summary>
    /// Which files a folder sync or compare takes, with rclone's filter semantics: patterns are matched on the path
    /// relative to the root ('/'-separated); a pattern without a leading '/' matches at any depth (its end against the
    /// path's end, so <c>*.log</c> takes <c>a/b.log</c>), one with a leading '/' from the root. <c>*</c> matches within
    /// one name, <c>**</c> across folders, <c>?</c> one character, <c>[abc]</c> a class, <c>{a,b}</c> alternatives.
    /// A file matching an exclude is out; otherwise, when there are includes, only a file matching one is in. An excluded
    /// file is neither copied nor deleted (unless <c>-DeleteExcluded</c>).
    /// </summary>
    public sealed class SyncFilter
    {
        private readonly List<Regex> _include = new List<Regex>();
        private readonly List<Regex> _exclude = new List<Regex>();
        private readonly List<Regex> _excludeFolder = new List<Regex>();

        /// <summary>A filter that takes every file.</summary>
        public SyncFilter()
        {
        }

        /// <summary>A filter from the cmdlet parameters.</summary>
        /// <exception cref="PluginException">A pattern that cannot be read (<c>SyncFilterInvalid</c>).</exception>
        public SyncFilter(IEnumerable<string>? include, IEnumerable<string>? exclude, IEnumerable<string>? excludeFolder)
        {
            Add(_include, include);
            Add(_exclude, exclude);
            Add(_excludeFolder, excludeFolder);
        }

        /// <summary>Smallest size taken, in bytes (null: no limit).</summary>
        public long? MinSize { get; set; }

        /// <summary>Largest size taken, in bytes (null: no limit).</summary>
        public long? MaxSize { get; set; }

        /// <summary>Only files modified at or after this time (<c>-MaxAge</c>).</summary>
        public DateTimeOffset? ModifiedAfter { get; set; }

        /// <summary>Only files modified at or before this time (<c>-MinAge</c>).</summary>
        public DateTimeOffset? ModifiedBefore { get; set; }

        /// <summary>True when any rule is set.</summary>
        public bool IsActive => _include.Count + _exclude.Count + _excludeFolder.Count > 0 || MinSize.HasValue || MaxSize.HasValue
                                || ModifiedAfter.HasValue || ModifiedBefore.HasValue;

        /// <summary>True when the folder at <paramref name="relativeFolder"/> (no trailing '/') is left out with all it holds.</summary>
        public bool IsFolderExcluded(string relativeFolder)
        {
            foreach (var pattern in _excludeFolder)
            {
                if (pattern.IsMatch(relativeFolder))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>True when the file at <paramref name="relativePath"/> is taken.</summary>
        /// <param name="relativePath">The file's path below the root, '/'-separated.</param>
        /// <param name="length">Its size, or -1 when unknown (size rules then do not apply).</param>
        /// <param name="modified">Its modification time, when known (age rules apply only then).</param>
        public bool Includes(string relativePath, long length, DateTimeOffset? modified)
        {
            if (_excludeFolder.Count > 0)
            {
                for (var slash = relativePath.IndexOf('/'); slash > 0; slash = relativePath.IndexOf('/', slash + 1))
                {
                    if (IsFolderExcluded(relativePath.Substring(0, slash)))
                    {
                        return false;
                    }
                }
            }

            foreach (var pattern in _exclude)
            {
                if (pattern.IsMatch(relativePath))
                {
                    return false;
                }
            }

            if (_include.Count > 0)
            {
                var any = false;
                foreach (var pattern in _include)
                {
                    if (pattern.IsMatch(relativePath))
                    {
                        any = true;
                        break;
                    }
                }

                if (!any)
                {
                    return false;
                }
            }

            if (length >= 0 && ((MinSize.HasValue && length < MinSize.Value) || (MaxSize.HasValue && length > MaxSize.Value)))
            {
                return false;
            }

            if (modified.HasValue && ((ModifiedAfter.HasValue && modified.Value < ModifiedAfter.Value) || (ModifiedBefore.HasValue && modified.Value > ModifiedBefore.Value)))
            {
                return false;
            }

            return true;
        }

        private static void Add(List<Regex> list, IEnumerable<string>? patterns)
        {
            if (patterns is null)
            {
                return;
            }

            foreach (var pattern in patterns)
            {
                if (!string.IsNullOrEmpty(pattern))
                {
                    list.Add(ToRegex(pattern));
                }
            }
        }

        /// <summary>The regular expression for one glob (rclone syntax), anchored at the end and, with a leading '/', at the root.</summary>
        internal static Regex ToRegex(string glob)
        {
            var text = glob.Replace('\\', '/');
            var anchored = text.StartsWith("/", StringComparison.Ordinal);
            if (anchored)
            {
                text = text.Substring(1);
            }

            text = text.TrimEnd('/');
            var regex = new StringBuilder(anchored ? "^" : "(?:^|/)");
            var braces = 0;
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                switch (c)
                {
                    case '*' when i + 1 < text.Length && text[i + 1] == '*':
                        i++;
                        if (i + 1 < text.Length && text[i + 1] == '/')
                        {
                            // "**/" also matches no folder at all: "a/**/b" takes "a/b".
                            i++;
                            regex.Append("(?:.*/)?");
                        }
                        else
                        {
                            regex.Append(".*");
                        }

                        break;
                    case '*':
                        regex.Append("[^/]*");
                        break;
                    case '?':
                        regex.Append("[^/]");
                        break;
                    case '[':
                        var close = text.IndexOf(']', i + 1);
                        if (close < 0)
                        {
                            throw Invalid(glob, "a '[' without its ']'");
                        }

                        var set = text.Substring(i + 1, close - i - 1);
                        regex.Append('[').Append(set.StartsWith("!", StringComparison.Ordinal) ? "^" + Regex.Escape(set.Substring(1)) : Regex.Escape(set)).Append(']');
                        i = close;
                        break;
                    case '{':
                        braces++;
                        regex.Append("(?:");
                        break;
                    case '}' when braces > 0:
                        braces--;
                        regex.Append(')');
                        break;
                    case ',' when braces > 0:
                        regex.Append('|');
                        break;
                    default:
                        regex.Append(Regex.Escape(c.ToString()));
                        break;
                }
            }

            if (braces != 0)
            {
                throw Invalid(glob, "a '{' without its '}'");
            }

            regex.Append('$');
            return new Regex(regex.ToString(), RegexOptions.CultureInvariant);
        }

        private static PluginException Invalid(string glob, string why) =>
            new PluginException(ErrorCode.InvalidArgument, $"The filter '{glob}' has {why}.", errorId: "SyncFilterInvalid", target: glob);
    }
}
