using System;
using System.IO;
using System.Linq;

namespace TransferTools.Engine.Hosting
{
    /// <summary>
    /// The values of a plugin's declared path keys as a registration stores them: absolute, resolved against the folder
    /// the user registered from and their home folder, so that <c>./audit.jsonl</c> or <c>~/audit.jsonl</c> means the
    /// same file in every later session (a plugin's Init runs wherever and whenever the session first needs it).
    /// </summary>
    public static class ConfigurationPaths
    {
        /// <summary>
        /// <paramref name="value"/> with each of its <c>;</c>-separated paths made absolute: <c>~</c> and <c>~/...</c> under
        /// the user's home folder, a relative path under <paramref name="baseDirectory"/> (the process's working folder when
        /// null). An empty value stays empty.
        /// </summary>
        public static string Resolve(string value, string? baseDirectory)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return value;
            }

            return string.Join(";", value.Split(';').Select(p => p.Trim()).Where(p => p.Length > 0).Select(p => ResolveOne(p, baseDirectory)));
        }

        private static string ResolveOne(string path, string? baseDirectory)
        {
            if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            {
                var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                path = path.Length <= 2 ? home : Path.Combine(home, path.Substring(2));
            }
            else if (!Path.IsPathRooted(path))
            {
                path = Path.Combine(baseDirectory ?? Directory.GetCurrentDirectory(), path);
            }

            return Path.GetFullPath(path);
        }
    }
}
