using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Sync
{
    /// <summary>
    /// The engine side of <c>Sync-TransferFolder</c> and <c>Compare-TransferFolder</c>, besides the plan
    /// (<see cref="SyncPlan"/>): walking either side, reading a file's hash, deleting at the destination.
    /// Copies themselves are ordinary sends and receives run by a <see cref="TransferQueue"/>.
    /// </summary>
    public static class FolderSync
    {
        /// <summary>The walk of one side: a local folder through the file protocol, a remote one authorized as a receive from it.</summary>
        /// <param name="session">The session.</param>
        /// <param name="location">A local path or a URI.</param>
        /// <param name="options">The transfer options (credential, protocol options, retries) for a remote listing.</param>
        public static FolderWalk OpenWalk(TransferSession session, string location, TransferOptions options) =>
            IsLocal(location) ? FolderWalk.ForSend(session, location) : FolderWalk.ForReceive(session.Transfers, location, options);

        /// <summary>True for a local path (a walk's local entries have paths as locations, remote ones URIs).</summary>
        public static bool IsLocal(string location) => !TransferLocation.LooksLikeUri(location) || TransferLocation.Parse(location).IsFile;

        /// <summary>
        /// How close two modification times of files at <paramref name="location"/> can be and still be the same time:
        /// SFTP v3 and most file systems keep whole seconds when a time is set (1 s, the safe default); FAT and exFAT keep
        /// even seconds (2 s, found from the file system the local folder, or the nearest existing folder above it, is on);
        /// a web server's folder listing shows minutes (60 s).
        /// </summary>
        public static TimeSpan TimePrecisionOf(string location)
        {
            if (IsLocal(location))
            {
                var path = TransferLocation.LooksLikeUri(location) ? TransferLocation.ToLocalPath(TransferLocation.Parse(location)) : location;
                return TimePrecisionOfFileSystem(FileSystemFormatOf(path));
            }

            var scheme = TransferLocation.Parse(location).Scheme.ToLowerInvariant();
            return scheme == "http" || scheme == "https" ? TimeSpan.FromMinutes(1) : TimeSpan.FromSeconds(1);
        }

        /// <summary>
        /// The time precision of a file system by the name the OS gives its format (<see cref="DriveInfo.DriveFormat"/>:
        /// "msdos"/"vfat"/"exfat" on Linux and macOS, "FAT"/"FAT32"/"exFAT" on Windows): 2 s for the FAT family, else 1 s
        /// (null, unknown: 1 s).
        /// </summary>
        public static TimeSpan TimePrecisionOfFileSystem(string? format)
        {
            switch (format?.Trim().ToLowerInvariant())
            {
                case "msdos":
                case "vfat":
                case "fat":
                case "fat12":
                case "fat16":
                case "fat32":
                case "exfat":
                    return TimeSpan.FromSeconds(2);
                default:
                    return TimeSpan.FromSeconds(1);
            }
        }

        /// <summary>
        /// The format of the file system <paramref name="path"/> is on (its nearest existing folder, as a destination may
        /// not exist yet): statfs on Unix, the volume's format on Windows; null when it cannot be told.
        /// </summary>
        internal static string? FileSystemFormatOf(string path)
        {
            try
            {
                var probe = Path.GetFullPath(path);
                while (!Directory.Exists(probe))
                {
                    var parent = Path.GetDirectoryName(probe);
                    if (string.IsNullOrEmpty(parent))
                    {
                        return null;
                    }

                    probe = parent!;
                }

                // On Unix DriveInfo takes any path and statfs()es it; on Windows it wants the volume's root.
                return new DriveInfo(Path.DirectorySeparatorChar == '\\' ? Path.GetPathRoot(probe)! : probe).DriveFormat;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException
                                      || e is System.Security.SecurityException)
            {
                return null;
            }
        }

        /// <summary>Reads the SHA-256 of one walked file (lower-case hex): the one its endpoint keeps, else from its bytes.</summary>
        public static Func<OperationContext, FolderWalkEntry, Task<string>> Hasher(TransferManager manager, TransferOptions options) => async (context, entry) =>
        {
            if (!string.IsNullOrEmpty(entry.Sha256))
            {
                return entry.Sha256!;
            }

            using var sha = SHA256.Create();
            if (IsLocal(entry.Location))
            {
                var path = TransferLocation.LooksLikeUri(entry.Location) ? TransferLocation.ToLocalPath(TransferLocation.Parse(entry.Location)) : entry.Location;
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
                return await HashAsync(sha, file, context).ConfigureAwait(false);
            }

            var endpoint = await manager.ResolveEndpointAsync(context, entry.Location, Abstractions.Action.Read).ConfigureAwait(false);
            var uri = TransferLocation.Parse(entry.Location);
            using var stream = await manager.RetriedAsync(context, options.RetryCount, () => endpoint.OpenReadAsync(context, uri, 0, null, options)).ConfigureAwait(false);
            return await HashAsync(sha, stream, context).ConfigureAwait(false);
        };

        /// <summary>The location of <paramref name="relativePath"/> below the folder <paramref name="root"/>: a path, or a URI.</summary>
        public static string LocationOf(string root, string relativePath)
        {
            var slash = relativePath.LastIndexOf('/');
            var folder = TransferLocationText.Beneath(root, slash < 0 ? "" : relativePath.Substring(0, slash));
            var name = relativePath.Substring(slash + 1);
            return IsLocal(folder) && !TransferLocation.LooksLikeUri(folder)
                ? Path.Combine(folder, name)
                : TransferLocation.Combine(TransferLocation.Parse(folder), name).AbsoluteUri;
        }

        /// <summary>
        /// Deletes one destination file, or moves it below <paramref name="backupRoot"/> (same relative path; an older
        /// backup of it is replaced). A file already gone counts as deleted. A remote destination's backup folder is on the
        /// same server or store (<see cref="CheckBackupRoot"/>): the file is moved there by the endpoint
        /// (<see cref="IFileMove"/>, a rename), or copied through the endpoint's own streams and then deleted.
        /// </summary>
        public static async Task DeleteFileAsync(OperationContext context, TransferManager manager, string destinationRoot, string relativePath, string? backupRoot,
            TransferOptions options)
        {
            var location = LocationOf(destinationRoot, relativePath);
            if (IsLocal(location))
            {
                var path = TransferLocation.LooksLikeUri(location) ? TransferLocation.ToLocalPath(TransferLocation.Parse(location)) : location;
                try
                {
                    if (backupRoot is null)
                    {
                        File.Delete(path);
                        return;
                    }

                    var backup = Path.Combine(backupRoot, relativePath.Replace('/', Path.DirectorySeparatorChar));
                    Directory.CreateDirectory(Path.GetDirectoryName(backup)!);
                    if (File.Exists(backup))
                    {
                        File.Delete(backup);
                    }

                    if (File.Exists(path))
                    {
                        File.Move(path, backup);
                    }

                    return;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    throw new PluginException(e is UnauthorizedAccessException ? ErrorCode.PermissionDenied : ErrorCode.InvalidState,
                        $"'{path}' could not be {(backupRoot is null ? "deleted" : "moved to the backup folder")}: {e.Message}", e, "SyncDeleteFailed", path);
                }
            }

            var endpoint = await manager.ResolveEndpointAsync(context, location, Abstractions.Action.Write).ConfigureAwait(false);
            var uri = TransferLocation.Parse(location);
            if (backupRoot != null)
            {
                await BackUpAsync(context, manager, endpoint, uri, TransferLocation.Parse(LocationOf(backupRoot, relativePath)), options).ConfigureAwait(false);
                return;
            }

            await manager.RetriedAsync<object?>(context, options.RetryCount, async () =>
            {
                await endpoint.DeleteAsync(context, uri, options).ConfigureAwait(false);
                return null;
            }).ConfigureAwait(false);
        }

        /// <summary>
        /// Deletes several destination files (no backup folder), up to <paramref name="atOnce"/> at a time: each delete of a
        /// remote file is a round trip, and one at a time they were a good part of a re-sync's time after a few hundred
        /// files went from the source. Never throws for one file: its failure is in the result, at the file's index.
        /// </summary>
        /// <exception cref="OperationCanceledException">The context was cancelled.</exception>
        public static async Task<Exception?[]> DeleteFilesAsync(OperationContext context, TransferManager manager, string destinationRoot,
            IReadOnlyList<string> relativePaths, TransferOptions options, int atOnce)
        {
            var errors = new Exception?[relativePaths.Count];
            using var gate = new SemaphoreSlim(Math.Max(1, atOnce));
            var deletes = new List<Task>(relativePaths.Count);
            try
            {
                for (var i = 0; i < relativePaths.Count; i++)
                {
                    var index = i;
                    await gate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
                    deletes.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await DeleteFileAsync(context, manager, destinationRoot, relativePaths[index], null, options).ConfigureAwait(false);
                        }
                        catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
                        {
                            errors[index] = e;
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }));
                }
            }
            finally
            {
                // Also when cancelled while waiting for a slot: the deletes already started end before the gate they
                // release is disposed.
                await Task.WhenAll(deletes).ConfigureAwait(false);
            }

            return errors;
        }

        /// <summary>
        /// Refuses a backup folder a remote destination cannot move its files into: one on another server or store (a move
        /// there would be a transfer between two remote ends). A local destination takes any local folder.
        /// </summary>
        /// <exception cref="PluginException"><c>SyncBackupElsewhere</c>.</exception>
        public static void CheckBackupRoot(string destination, string backup)
        {
            if (IsLocal(destination) ? IsLocal(backup) : !IsLocal(backup) && SameServer(TransferLocation.Parse(destination), TransferLocation.Parse(backup)))
            {
                return;
            }

            throw new PluginException(ErrorCode.InvalidArgument,
                $"The backup folder '{backup}' is not where the destination '{destination}' is: -BackupPath must be {(IsLocal(destination) ? "a local folder" : "a folder on the same server or store (a URI)")}, so deleted files are moved there, not sent.",
                errorId: "SyncBackupElsewhere", target: backup);
        }

        private static bool SameServer(Uri a, Uri b) =>
            string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Authority, b.Authority, StringComparison.OrdinalIgnoreCase);

        /// <summary>Moves a remote file into the backup folder: a rename where the endpoint has one, else a copy then a delete.</summary>
        private static async Task BackUpAsync(OperationContext context, TransferManager manager, ITransferEndpoint endpoint, Uri from, Uri to, TransferOptions options)
        {
            var shown = TransferLocation.DisplayWithoutQuery(from);
            var info = await manager.RetriedAsync(context, options.RetryCount, () => endpoint.GetInfoAsync(context, from, options)).ConfigureAwait(false);
            if (!info.Exists)
            {
                return; // gone already: nothing to keep
            }

            if (endpoint is IFileMove move)
            {
                await move.MoveAsync(context, from, to, options).ConfigureAwait(false);
                return;
            }

            // The bytes go through this process, once; the backup appears whole (committed from a temporary) before the
            // original is deleted, so a failure half-way loses nothing.
            await endpoint.CreateDirectoryAsync(context, TransferLocation.Parent(to), options).ConfigureAwait(false);
            var temporary = TransferLocation.Temporary(to, Guid.NewGuid().ToString("n"));
            try
            {
                using (var read = await endpoint.OpenReadAsync(context, from, 0, null, options).ConfigureAwait(false))
                using (var write = await endpoint.OpenWriteAsync(context, temporary, 0, options).ConfigureAwait(false))
                {
                    await read.CopyToAsync(write, 1 << 16, context.CancellationToken).ConfigureAwait(false);
                }

                await endpoint.CommitAsync(context, temporary, to, overwrite: true, options).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException))
            {
                try
                {
                    await endpoint.DeleteAsync(context, temporary, options).ConfigureAwait(false);
                }
                catch (Exception cleanup) when (!(cleanup is OperationCanceledException))
                {
                    context.Logger.Log(LogLevel.Verbose, $"The half-made backup '{TransferLocation.DisplayWithoutQuery(temporary)}' was not removed: {cleanup.Message}");
                }

                throw e is PluginException ? e : new PluginException(ErrorCode.InvalidState, $"'{shown}' could not be moved to the backup folder: {e.Message}", e, "SyncDeleteFailed", shown);
            }

            await manager.RetriedAsync<object?>(context, options.RetryCount, async () =>
            {
                await endpoint.DeleteAsync(context, from, options).ConfigureAwait(false);
                return null;
            }).ConfigureAwait(false);
        }

        /// <summary>
        /// Removes a destination folder the source does not have, when it is empty (what the filters kept stays, and so does
        /// its folder): a local folder, or a remote one through <see cref="IFolderRemoval"/>. True when removed; false when
        /// something is still in it, or the endpoint keeps no folders of its own to remove (an object store's folder is a
        /// name prefix and went with its last file), said at Verbose.
        /// </summary>
        public static async Task<bool> TryDeleteFolderAsync(OperationContext context, TransferManager manager, string destinationRoot, string relativePath, TransferOptions options)
        {
            var location = TransferLocationText.Beneath(destinationRoot, relativePath);
            if (!TransferLocation.LooksLikeUri(location) || TransferLocation.Parse(location).IsFile)
            {
                var path = TransferLocation.LooksLikeUri(location) ? TransferLocation.ToLocalPath(TransferLocation.Parse(location)) : location;
                try
                {
                    Directory.Delete(path, recursive: false);
                    return true;
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    return false;
                }
            }

            var endpoint = await manager.ResolveEndpointAsync(context, location, Abstractions.Action.Write).ConfigureAwait(false);
            if (!(endpoint is IFolderRemoval removal))
            {
                context.Logger.Log(LogLevel.Verbose, $"'{TransferLocation.DisplayWithoutQuery(TransferLocation.Parse(location))}' is not removed: its endpoint keeps no folders apart from their files.");
                return false;
            }

            var uri = TransferLocation.Parse(location);
            return await manager.RetriedAsync(context, options.RetryCount, () => removal.RemoveEmptyFolderAsync(context, uri, options)).ConfigureAwait(false);
        }

        /// <summary>Creates a destination folder (<c>-IncludeEmptyFolders</c>).</summary>
        public static async Task CreateFolderAsync(OperationContext context, TransferManager manager, string destinationRoot, string relativePath, TransferOptions options)
        {
            var location = TransferLocationText.Beneath(destinationRoot, relativePath);
            if (!TransferLocation.LooksLikeUri(location))
            {
                Directory.CreateDirectory(location);
                return;
            }

            var endpoint = await manager.ResolveEndpointAsync(context, location, Abstractions.Action.Write).ConfigureAwait(false);
            await endpoint.CreateDirectoryAsync(context, TransferLocation.Parse(location), options).ConfigureAwait(false);
        }

        /// <summary>
        /// Why the delete phase of a sync must not run, or null when it may: rclone's rule (nothing is deleted when any
        /// listing or copy failed), an empty source (a wrong path or an unmounted share more often than a wish to empty
        /// the destination) unless allowed, and more deletes than the caller's limit.
        /// </summary>
        /// <param name="plan">The finished plan.</param>
        /// <param name="failed">True when any copy, update or step of the sync failed.</param>
        /// <param name="deletes">How many files the plan would delete.</param>
        /// <param name="allowEmptySource">-AllowEmptySource.</param>
        /// <param name="maxDelete">-MaxDelete, or a negative number for no limit.</param>
        /// <param name="destination">The destination, as messages show it.</param>
        public static PluginException? RefuseDeletes(SyncPlan plan, bool failed, long deletes, bool allowEmptySource, int maxDelete, string destination)
        {
            if (failed || plan.ListingFailed)
            {
                return new PluginException(ErrorCode.InvalidState,
                    $"{deletes} planned delete(s) in '{destination}' were not done: a listing or a copy of this sync failed, and a sync then deletes nothing. Run it again once the cause is fixed.",
                    errorId: "SyncDeletesSkipped", target: destination);
            }

            if (plan.SourceFiles == 0 && !allowEmptySource)
            {
                return new PluginException(ErrorCode.InvalidState,
                    $"The source lists no file, so -Mirror would delete every file ({deletes}) in '{destination}'; nothing was deleted. Add -AllowEmptySource if that is meant.",
                    errorId: "SyncSourceEmpty", target: destination);
            }

            if (maxDelete >= 0 && deletes > maxDelete)
            {
                return new PluginException(ErrorCode.LimitExceeded,
                    $"This sync would delete {deletes} file(s) in '{destination}', more than -MaxDelete {maxDelete}; nothing was deleted.",
                    errorId: "SyncMaxDeleteExceeded", target: destination);
            }

            return null;
        }

        /// <summary>
        /// Refuses a pair of roots that cannot be synced: the destination inside the source (a sync would copy into
        /// itself for ever) or the same folder.
        /// </summary>
        /// <exception cref="PluginException"><c>SyncDestinationInsideSource</c>.</exception>
        public static void CheckRoots(string source, string destination)
        {
            string Norm(string location) => (IsLocal(location)
                ? Path.GetFullPath(TransferLocation.LooksLikeUri(location) ? TransferLocation.ToLocalPath(TransferLocation.Parse(location)) : location)
                    .TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar
                : TransferLocation.Parse(location).GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");

            var s = Norm(source);
            var d = Norm(destination);
            var comparison = Path.DirectorySeparatorChar == '\\' ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            if (d.StartsWith(s, comparison) || s.StartsWith(d, comparison))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"The destination '{destination}' and the source '{source}' overlap (one is inside the other): a sync between them would copy into itself.",
                    errorId: "SyncDestinationInsideSource", target: destination);
            }
        }

        private static async Task<string> HashAsync(HashAlgorithm sha, Stream stream, OperationContext context)
        {
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await stream.ReadAsync(buffer, 0, buffer.Length, context.CancellationToken).ConfigureAwait(false)) > 0)
            {
                sha.TransformBlock(buffer, 0, read, null, 0);
            }

            sha.TransformFinalBlock(buffer, 0, 0);
            return Hex.ToLowerString(sha.Hash!);
        }
    }
}
