using System;
using System.IO;
using System.Runtime.InteropServices;
using TransferTools.Abstractions;

namespace TransferTools.Engine
{
    /// <summary>
    /// How the engine and its local plugins name failures of files on this machine: one wording and one error id for
    /// each kind, whether the FileSystem protocol, the local store or the engine's own check of a source meets it.
    /// </summary>
    internal static class LocalFiles
    {
        private const int Enospc = 28;
        private const int Edquot = 122;

        /// <summary>
        /// True when <paramref name="file"/> (whose <see cref="FileInfo.Exists"/> was false) names a folder, or a link to
        /// one, as <see cref="Directory.Exists(string)"/> would say, from the status the FileInfo already holds.
        /// </summary>
        internal static bool IsFolder(FileInfo file)
        {
            FileAttributes attributes;
            try
            {
                attributes = file.Attributes;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // The status could not be read (e.g. a folder on the way is not searchable): ask as before.
                return Directory.Exists(file.FullName);
            }

            return (int)attributes != -1 && (attributes & FileAttributes.Directory) != 0;
        }

        /// <summary>A named pipe, socket or device where a file was expected: reading a pipe would wait for a writer for ever.</summary>
        internal static PluginException NotARegularFile(string path, string kind, string done = "transferred") => new PluginException(ErrorCode.InvalidArgument,
            $"'{path}' is {kind}, not a file: only files are {done}.", errorId: "NotARegularFile", target: path);

        internal static PluginException Exists(string path) => new PluginException(ErrorCode.Conflict,
            $"'{path}' exists already. Use -Force or -Conflict Overwrite to replace it, -Conflict Rename to keep both, or -Conflict Skip.",
            errorId: "DestinationExists", target: path);

        /// <summary>Maps a local I/O failure to a plugin error with a stable id.</summary>
        internal static PluginException Map(Exception e, string path, string operation)
        {
            var errorIdPrefix = operation == "Read" ? "Source" : "Destination";
            return e switch
            {
                PluginException pe => pe,
                FileNotFoundException _ => new PluginException(ErrorCode.NotFound, $"'{path}' does not exist.", e, errorIdPrefix + "NotFound", path),
                // A file where a folder of the path should be says so, instead of "the folder does not exist".
                DirectoryNotFoundException _ when operation != "Read" && Transfers.LocalDestination.FileAbove(Path.GetDirectoryName(path) ?? "", path) is { } isFile => isFile,
                IOException _ when operation == "CreateDirectory" && Transfers.LocalDestination.FileAbove(path, path) is { } fileInPlace => fileInPlace,
                DirectoryNotFoundException _ => new PluginException(ErrorCode.NotFound, $"The folder of '{path}' does not exist.", e,
                    errorIdPrefix + "FolderNotFound", path),
                UnauthorizedAccessException _ => new PluginException(ErrorCode.PermissionDenied, $"Access to '{path}' is denied ({operation.ToLowerInvariant()}).", e,
                    errorIdPrefix + "AccessDenied", path),
                IOException io when operation != "Read" && IsOutOfSpace(io) => new PluginException(ErrorCode.LimitExceeded,
                    $"There is no space left in '{FolderOf(path)}': the disk or the user's quota is full.", e, "DestinationFull", FolderOf(path)),
                _ => new PluginException(ErrorCode.Unknown, $"{operation} of '{path}' failed: {e.Message}", e, errorIdPrefix + operation + "Failed", path),
            };
        }

        /// <summary>
        /// True for the I/O errors that mean "no room": ENOSPC and EDQUOT (.NET gives the errno as the HResult on Unix;
        /// EDQUOT is 122 on Linux, 69 on macOS), ERROR_DISK_FULL and ERROR_HANDLE_DISK_FULL on Windows.
        /// </summary>
        internal static bool IsOutOfSpace(IOException e)
        {
            var code = e.HResult;
            return code == Enospc
                   || code == (RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? 69 : Edquot)
                   || code == unchecked((int)0x80070070)
                   || code == unchecked((int)0x80070027);
        }

        /// <summary>The folder of <paramref name="path"/>, or the path itself when it has none.</summary>
        internal static string FolderOf(string path) => Path.GetDirectoryName(path) is { Length: > 0 } folder ? folder : path;
    }
}
