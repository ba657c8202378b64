using System;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>The modification time and permission bits of files on the server (<see cref="IFileAttributePreservation"/>);
    /// moving a file and removing an empty folder there (<see cref="IFileMove"/>, <see cref="IFolderRemoval"/>).</summary>
    public sealed partial class SftpProtocolPlugin : IFileAttributePreservation, IFileMove, IFolderRemoval
    {
        /// <inheritdoc/>
        /// <remarks>A rename on the server (posix-rename where offered, so a file there is replaced in one step).</remarks>
        public Task MoveAsync(OperationContext context, Uri from, Uri to, TransferOptions options)
        {
            var target = SftpLocation.Parse(to);
            return RunAsync(context, from, options, "Move", idempotent: false, async (client, loc, ct) =>
            {
                if (!loc.SameServer(target))
                {
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"Cannot move across servers ({loc.Host}:{loc.Port} to {target.Host}:{target.Port}).", errorId: "SftpMoveAcrossServers", target: to);
                }

                var slash = target.Path.TrimEnd('/').LastIndexOf('/');
                if (slash > 0)
                {
                    await CreateDirectoriesAsync(client, target.Path.Substring(0, slash), ct).ConfigureAwait(false);
                }

                await ReplaceAsync(context, client, loc, target, to, ct).ConfigureAwait(false);
                return true;
            });
        }

        /// <inheritdoc/>
        public Task<bool> RemoveEmptyFolderAsync(OperationContext context, Uri folder, TransferOptions options) =>
            RunAsync(context, folder, options, "RemoveFolder", idempotent: true, async (client, loc, ct) =>
            {
                var path = loc.Path.Length > 1 ? loc.Path.TrimEnd('/') : loc.Path;
                try
                {
                    // rmdir: the server refuses a folder that still holds anything, so nothing in it can be lost.
                    await client.DeleteDirectoryAsync(path, ct).ConfigureAwait(false);
                    return true;
                }
                catch (SftpPathNotFoundException)
                {
                    return true;
                }
                catch (SshException e) when (!(e is SshConnectionException) && !(e is SftpPermissionDeniedException))
                {
                    // Not empty (OpenSSH says "Failure"): kept.
                    return false;
                }
            });

        /// <inheritdoc/>
        /// <remarks>One setstat carrying only the time and the mode (where this SSH.NET lets them be made without a stat;
        /// otherwise one stat and one setstat); the setuid, setgid and sticky bits are not sent (SSH.NET takes three octal
        /// digits).</remarks>
        public Task SetFileAttributesAsync(OperationContext context, Uri location, DateTimeOffset? lastModified, int? posixMode, TransferOptions options) =>
            RunAsync(context, location, options, "SetAttributes", idempotent: true, async (client, loc, ct) =>
            {
                if (lastModified is null && posixMode is null)
                {
                    return true;
                }

                if (SftpNewAttributes.Create(lastModified, posixMode is int bits ? OctalDigits(bits) : (short?)null) is { } only)
                {
                    // A round trip less per file: the stat was only there to have an attributes object to change.
                    await SftpPathRequests.Of(client).SetAttributesAsync(loc.Path, only, ct).ConfigureAwait(false);
                    return true;
                }

                var attributes = await SftpPathRequests.Of(client).GetAttributesAsync(loc.Path, ct).ConfigureAwait(false);
                if (posixMode is int mode)
                {
                    attributes.SetPermissions(OctalDigits(mode));
                }

                if (lastModified is DateTimeOffset time)
                {
                    attributes.LastWriteTimeUtc = time.UtcDateTime;
                }

                await SftpPathRequests.Of(client).SetAttributesAsync(loc.Path, attributes, ct).ConfigureAwait(false);
                return true;
            });

        /// <summary>
        /// Gives the temporary file just created at <paramref name="path"/> the mode the engine asks for
        /// (<see cref="TransferOptions.NewFileMode"/>) before its first byte is written. SSH.NET's open sends no
        /// attributes, so the empty file has the server's default mode for the two round trips this takes. A server that
        /// refuses it (one that keeps no POSIX modes) still gets the file, as it did before.
        /// </summary>
        private static async Task LimitNewFileAsync(OperationContext context, SftpClient client, string path, TransferOptions options, CancellationToken ct)
        {
            // A source that group and others may read has nothing to keep from them: the server's default mode for
            // new files serves, and an upload costs no more round trips than before.
            if (!(options.NewFileMode is int mode) || (mode & 0x24) == 0x24)
            {
                return;
            }

            try
            {
                var attributes = await SftpPathRequests.Of(client).GetAttributesAsync(path, ct).ConfigureAwait(false);
                attributes.SetPermissions(OctalDigits(mode));
                await SftpPathRequests.Of(client).SetAttributesAsync(path, attributes, ct).ConfigureAwait(false);
            }
            catch (SshException e) when (!(e is SshConnectionException))
            {
                context.Logger.Log(LogLevel.Verbose, $"Sftp: the server did not set the mode of '{path}': {e.Message}");
            }
        }

        /// <summary>The permission bits of <paramref name="attributes"/> (mode &amp; 0o7777).</summary>
        private static int PosixModeOf(SftpFileAttributes attributes)
        {
            var bits = new[]
            {
                attributes.IsUIDBitSet, attributes.IsGroupIDBitSet, attributes.IsStickyBitSet,
                attributes.OwnerCanRead, attributes.OwnerCanWrite, attributes.OwnerCanExecute,
                attributes.GroupCanRead, attributes.GroupCanWrite, attributes.GroupCanExecute,
                attributes.OthersCanRead, attributes.OthersCanWrite, attributes.OthersCanExecute,
            };
            var mode = 0;
            foreach (var bit in bits)
            {
                mode = (mode << 1) | (bit ? 1 : 0);
            }

            return mode;
        }

        /// <summary>0o755 as SSH.NET's <c>SetPermissions</c> takes it: the decimal number 755.</summary>
        private static short OctalDigits(int mode) => (short)((((mode >> 6) & 7) * 100) + (((mode >> 3) & 7) * 10) + (mode & 7));
    }
}
