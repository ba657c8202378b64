using System;
using System.IO;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The rule for a local destination a command names, checked once per command before any transfer is journaled, so a
    /// destination that cannot be is one honest error instead of one misleading error per file. As <c>Copy-Item</c>: a
    /// destination folder that is missing is created only when its parent exists (one folder, never a chain), and a file
    /// where a folder is meant is <c>DestinationIsFile</c>, not "the folder does not exist".
    /// </summary>
    public static class LocalDestination
    {
        /// <summary>
        /// Checks <paramref name="path"/> as a destination folder (a path ending in a separator, or the destination of a
        /// <c>-Recurse</c> send): it exists as a folder, or it is missing and its parent folder exists.
        /// </summary>
        /// <exception cref="PluginException"><c>DestinationIsFile</c> (InvalidArgument) when it or a folder above it is a
        /// file; <c>DestinationFolderNotFound</c> (NotFound) when its parent folder is missing too.</exception>
        public static void CheckFolder(string path)
        {
            var folder = Trim(path);
            if (Directory.Exists(folder))
            {
                return;
            }

            if (File.Exists(folder))
            {
                throw IsFile(folder, path);
            }

            var parent = Path.GetDirectoryName(folder);
            if (string.IsNullOrEmpty(parent) || Directory.Exists(parent))
            {
                return;
            }

            throw FileAbove(parent!, path) ?? new PluginException(ErrorCode.NotFound,
                $"The folder '{parent}' does not exist, so '{folder}' cannot be made in it: a missing destination folder is created only "
                + $"inside one that exists, never as a chain of folders. Create it first: New-Item -ItemType Directory -Force '{folder}'",
                errorId: "DestinationFolderNotFound", target: path);
        }

        /// <summary>
        /// Checks the folder <paramref name="path"/> (a destination file name, or an existing folder to deliver into) would
        /// be written in: none of the folders above it is a file. A missing folder is left to the transfer to report.
        /// </summary>
        /// <exception cref="PluginException"><c>DestinationIsFile</c> (InvalidArgument).</exception>
        public static void CheckParent(string path)
        {
            var trimmed = Trim(path);
            var parent = Path.GetDirectoryName(trimmed);
            if (!string.IsNullOrEmpty(parent) && !Directory.Exists(parent) && FileAbove(parent!, path) is { } error)
            {
                throw error;
            }
        }

        /// <summary>Refuses <paramref name="folder"/> as a folder to deliver into when it, or a folder above it, is a file.</summary>
        /// <exception cref="PluginException"><c>DestinationIsFile</c> (InvalidArgument).</exception>
        public static void RefuseFile(string folder)
        {
            if (FileAbove(folder, folder) is { } error)
            {
                throw error;
            }
        }

        /// <summary>The error for a file at <paramref name="folder"/> or above it, where a folder is meant; null when none is a file.</summary>
        internal static PluginException? FileAbove(string folder, string target)
        {
            for (var current = Trim(folder); !string.IsNullOrEmpty(current); current = Path.GetDirectoryName(current))
            {
                if (Directory.Exists(current))
                {
                    return null;
                }

                if (File.Exists(current))
                {
                    return IsFile(current, target);
                }
            }

            return null;
        }

        private static PluginException IsFile(string file, string target) => new PluginException(ErrorCode.InvalidArgument,
            $"'{file}' is a file, not a folder: nothing can be delivered into it. Give a folder, or a new file name without a trailing separator.",
            errorId: "DestinationIsFile", target: target);

        private static string Trim(string path)
        {
            var root = Path.GetPathRoot(path) ?? "";
            var trimmed = path;
            while (trimmed.Length > root.Length && (trimmed.EndsWith("/", StringComparison.Ordinal) || trimmed.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal)))
            {
                trimmed = trimmed.Substring(0, trimmed.Length - 1);
            }

            return trimmed;
        }
    }
}
