using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// Stat, mkdir, rename and remove on one connected client, each in one round trip. SSH.NET's own methods send a
    /// <c>realpath</c> (two for a missing path) before each: over a WAN that made a 4 KiB upload cost about 40 round
    /// trips, most of them <c>realpath</c>. Falls back to <see cref="SftpClient"/>'s methods when this SSH.NET lacks
    /// the session members (<see cref="SshNetRequests.Paths"/>).
    /// </summary>
    internal readonly struct SftpPathRequests
    {
        private readonly SftpClient _client;
        private readonly object? _session;
        private readonly SshNetRequests.PathBinding? _paths;

        private SftpPathRequests(SftpClient client, object? session, SshNetRequests.PathBinding? paths)
        {
            _client = client;
            _session = session;
            _paths = session is null ? null : paths;
        }

        /// <summary>The path requests of <paramref name="client"/>.</summary>
        public static SftpPathRequests Of(SftpClient client)
        {
            var requests = SshNetRequests.Instance;
            return new SftpPathRequests(client, requests?.SessionOf(client), requests?.Paths);
        }

        /// <summary>What is at <paramref name="path"/>, following a symbolic link as SSH.NET's <c>GetAttributes</c> does.</summary>
        /// <exception cref="SftpPathNotFoundException">Nothing is there.</exception>
        public async Task<SftpFileAttributes> GetAttributesAsync(string path, CancellationToken cancellationToken)
        {
            if (_paths is null)
            {
                return await _client.GetAttributesAsync(path, cancellationToken).ConfigureAwait(false);
            }

            var sent = Stopwatch.GetTimestamp();
            var attributes = await _paths.LStat(_session!, path, cancellationToken).ConfigureAwait(false);
            SftpRoundTrip.Observe(_client, sent);
            // A link: let SSH.NET resolve it (realpath, then lstat of the target), as before.
            return attributes.IsSymbolicLink ? await _client.GetAttributesAsync(path, cancellationToken).ConfigureAwait(false) : attributes;
        }

        /// <summary>What is at <paramref name="path"/>, or null when nothing is.</summary>
        public async Task<SftpFileAttributes?> TryGetAttributesAsync(string path, CancellationToken cancellationToken)
        {
            if (_paths?.LStatOrNull is { } lstat)
            {
                // Without an exception for a missing path: most looks of an upload find nothing (a new file, its name free).
                // Throwing and catching SSH.NET's SftpPathNotFoundException was about 13 % of the CPU of thousands of files.
                var sent = Stopwatch.GetTimestamp();
                var attributes = await lstat(_session!, path, cancellationToken).ConfigureAwait(false);
                SftpRoundTrip.Observe(_client, sent);
                return attributes?.IsSymbolicLink == true ? await ResolvedLinkAsync(path, cancellationToken).ConfigureAwait(false) : attributes;
            }

            try
            {
                return await GetAttributesAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (SftpPathNotFoundException)
            {
                return null;
            }
        }

        /// <summary>What a link at <paramref name="path"/> points to (SSH.NET resolves it), or null when nothing.</summary>
        private async Task<SftpFileAttributes?> ResolvedLinkAsync(string path, CancellationToken cancellationToken)
        {
            try
            {
                return await _client.GetAttributesAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (SftpPathNotFoundException)
            {
                return null;
            }
        }

        /// <summary>Creates one folder (its parent must exist).</summary>
        public Task CreateDirectoryAsync(string path, CancellationToken cancellationToken) =>
            _paths is null ? _client.CreateDirectoryAsync(path, cancellationToken) : _paths.MkDir(_session!, path, cancellationToken);

        /// <summary>Sets the attributes of <paramref name="path"/> that were changed in <paramref name="attributes"/> (setstat).</summary>
        public Task SetAttributesAsync(string path, SftpFileAttributes attributes, CancellationToken cancellationToken)
        {
            if (_paths?.SetStat is { } setStat)
            {
                return setStat(_session!, path, attributes, cancellationToken);
            }

            // SSH.NET has no asynchronous setstat.
            var client = _client;
            return Task.Run(() => client.SetAttributes(path, attributes), cancellationToken);
        }

        /// <summary>
        /// The entries of the folder <paramref name="path"/> (with "." and ".."), by name and attributes: opendir, readdir
        /// until the end, close, without SSH.NET's <c>realpath</c> first and without an <c>SftpFile</c> per entry.
        /// </summary>
        public async Task<List<KeyValuePair<string, SftpFileAttributes>>> ListAsync(string path, CancellationToken cancellationToken)
        {
            var entries = new List<KeyValuePair<string, SftpFileAttributes>>();
            if (_paths?.Directories is not { } directories)
            {
                await foreach (var file in _client.ListDirectoryAsync(path, cancellationToken).ConfigureAwait(false))
                {
                    entries.Add(new KeyValuePair<string, SftpFileAttributes>(file.Name, file.Attributes));
                }

                return entries;
            }

            var handle = await directories.OpenDir(_session!, path, cancellationToken).ConfigureAwait(false);
            try
            {
                while (await directories.ReadDir(_session!, handle, cancellationToken).ConfigureAwait(false) is { } batch)
                {
                    entries.AddRange(batch);
                }
            }
            finally
            {
                await directories.CloseAsync(_session!, handle, cancellationToken).ConfigureAwait(false);
            }

            return entries;
        }

        /// <summary>Deletes a file.</summary>
        public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
            _paths is null ? _client.DeleteFileAsync(path, cancellationToken) : _paths.Remove(_session!, path, cancellationToken);

        /// <summary>A plain SFTP rename, which never replaces an existing file.</summary>
        public Task RenameAsync(string from, string to, CancellationToken cancellationToken) =>
            _paths is null ? _client.RenameFileAsync(from, to, cancellationToken) : _paths.Rename(_session!, from, to, cancellationToken);

        /// <summary>posix-rename@openssh.com, which replaces an existing file in one step.</summary>
        /// <exception cref="System.NotSupportedException">The server does not offer it.</exception>
        public Task PosixRenameAsync(string from, string to, CancellationToken cancellationToken)
        {
            if (_paths != null)
            {
                return _paths.PosixRename(_session!, from, to, cancellationToken);
            }

            // SSH.NET has no asynchronous posix-rename.
            var client = _client;
            return Task.Run(() => client.RenameFile(from, to, isPosix: true), cancellationToken);
        }
    }
}
