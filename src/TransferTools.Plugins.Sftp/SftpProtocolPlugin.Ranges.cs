using System;
using System.IO;
using System.Threading.Tasks;
using Renci.SshNet.Sftp;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp
{
    // Ranged reads and writes for segmented transfers (-Streams): each range its own handle, pipelined as a whole-file
    // stream is. Over a long round trip one connection moves at most its SSH channel window per round trip (2 MiB from
    // OpenSSH's server), whatever the handles on it, so by default each stream gets a connection of its own
    // (StreamConnections = PerStream); docs/benchmarks.md has both measured.
    public sealed partial class SftpProtocolPlugin
    {
        /// <summary>SSH_FXF_WRITE alone: an existing temporary is written in place, neither created nor truncated.</summary>
        private const int OpenForWritingInPlace = 0x02;

        /// <inheritdoc/>
        public bool CanReadRanges(Uri location, string? version, TransferOptions options) => true;

        /// <inheritdoc/>
        public Task<Stream> OpenReadRangeAsync(OperationContext context, Uri location, long offset, long length, string? expectedVersion, int lane,
            TransferOptions options)
        {
            var settings = Settings(options);
            return RunAsync(context, location, options, "OpenRead", idempotent: true, async (client, loc, ct) =>
            {
                var attributes = await SftpPathRequests.Of(client).GetAttributesAsync(loc.Path, ct).ConfigureAwait(false);
                CheckReadable(attributes, loc, location, offset, expectedVersion);
                var end = Math.Min(attributes.Size, offset + length);
                var requests = SshNetRequests.Instance;
                var session = requests?.SessionOf(client);
                if (settings.PendingReads > 0 && session != null)
                {
                    if (requests!.Paths is { } paths)
                    {
                        var handle = await paths.Open(session, loc.Path, SshNetRequests.OpenForReading, ct).ConfigureAwait(false);
                        return await PipelinedReaderAsync(context, client, session, requests, handle, () => paths.Close(session, handle), loc, offset, end, settings)
                            .ConfigureAwait(false);
                    }

                    var stream = await client.OpenAsync(loc.Path, FileMode.Open, FileAccess.Read, ct).ConfigureAwait(false);
                    return await PipelinedReaderAsync(context, client, session, requests, stream.Handle, stream.Dispose, loc, offset, end, settings)
                        .ConfigureAwait(false);
                }

                return await PlainReaderAsync(client, loc, offset, ct).ConfigureAwait(false);
            }, LaneOf(lane, settings));
        }

        /// <inheritdoc/>
        public Task<Stream> OpenWriteRangeAsync(OperationContext context, Uri location, long offset, int lane, TransferOptions options)
        {
            var settings = Settings(options);
            return RunAsync(context, location, options, "OpenWrite", idempotent: true, async (client, loc, ct) =>
            {
                if (offset < 0)
                {
                    throw new PluginException(ErrorCode.InvalidArgument, $"Negative offset {offset}.", errorId: "SftpInvalidOffset", target: location);
                }

                var requests = SshNetRequests.Instance;
                var session = requests?.SessionOf(client);
                if (settings.PendingWrites > 0 && session != null && requests!.Paths is { } paths)
                {
                    var handle = await paths.Open(session, loc.Path, OpenForWritingInPlace, ct).ConfigureAwait(false);
                    return await PipelinedWriterAsync(context, client, session, requests, handle, () => paths.Close(session, handle), loc, offset, settings)
                        .ConfigureAwait(false);
                }

                SftpFileStream stream = await client.OpenAsync(loc.Path, FileMode.Open, FileAccess.Write, ct).ConfigureAwait(false);
                try
                {
                    stream.Seek(offset, SeekOrigin.Begin);
                }
                catch
                {
                    stream.Dispose();
                    throw;
                }

                return await WriterAsync(context, client, stream, loc, offset, settings).ConfigureAwait(false);
            }, LaneOf(lane, settings));
        }

        /// <inheritdoc/>
        public TimeSpan? MeasuredRoundTrip(Uri location, TransferOptions options) =>
            _pool.Connected(SftpLocation.Parse(location), options, Settings(options)) is { } client ? SftpRoundTrip.Of(client) : null;

        /// <summary>The pool's lane for a stream: its own connection, or the shared one (<see cref="StreamConnectionsKey"/>).</summary>
        private static int LaneOf(int lane, SftpConnectionSettings settings) => settings.StreamsShareConnection ? 0 : lane;
    }
}
