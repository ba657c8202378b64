using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace Samples.MemoryProtocol
{
    /// <summary>
    /// A protocol for mem://BUCKET/PATH locations: files held in memory for the life of the process (scratch space
    /// for tests and pipelines). It implements only the byte-level endpoint; the engine adds chunking, the journal,
    /// resume, retries and verification (StreamingProtocolPlugin).
    /// Configuration: MaxFileSize (optional) - the largest file in bytes.
    /// </summary>
    [TransferPlugin("MemoryProtocol", PluginType.Protocol,
        Description = "mem:// locations held in memory for the life of the process.", Schemes = new[] { "mem" })]
    public sealed class MemoryProtocolPlugin : StreamingProtocolPlugin
    {
        // Process-wide on purpose: a file sent by one session is there for another one to receive.
        private static readonly ConcurrentDictionary<string, MemoryFile> Files = new ConcurrentDictionary<string, MemoryFile>(StringComparer.Ordinal);
        private static readonly ConcurrentDictionary<string, bool> Folders = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        private static long _versions;
        private long _maxFileSize = long.MaxValue;

        // Name, kind and description come from the declaration above: said once.
        public override PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(MemoryProtocolPlugin), "TransferTools samples", "MIT");

        public override IReadOnlyCollection<string> Schemes { get; } = TransferPluginAttribute.Of(typeof(MemoryProtocolPlugin))!.Schemes;

        public override async Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
        {
            await base.InitAsync(context, config).ConfigureAwait(false);
            if (config.TryGetValue("MaxFileSize", out var max) && !long.TryParse(max, out _maxFileSize))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"MaxFileSize '{max}' is not a number of bytes.", errorId: "MemoryBadLimit");
            }
        }

        public override Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var key = Key(location);
            if (Files.TryGetValue(key, out var file))
            {
                return Task.FromResult(new RemoteFileInfo { Exists = true, Length = file.Content.Length, LastModified = file.Modified, Version = file.Version.ToString() });
            }

            return Task.FromResult(Folders.ContainsKey(key) ? new RemoteFileInfo { Exists = true, IsDirectory = true } : RemoteFileInfo.Missing);
        }

        public override Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            if (!Files.TryGetValue(Key(location), out var file))
            {
                throw new PluginException(ErrorCode.NotFound, $"Nothing is at '{location}'.", errorId: "SourceNotFound", target: location);
            }

            if (expectedVersion != null && expectedVersion != file.Version.ToString())
            {
                throw new PluginException(ErrorCode.SourceChanged, $"'{location}' changed since the transfer began.", errorId: "SourceChanged", target: location);
            }

            if (offset < 0 || offset > file.Content.Length)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"Offset {offset} is outside '{location}'.", errorId: "BadOffset", target: location);
            }

            // The snapshot is immutable: a concurrent writer publishes a new array, never changes this one.
            return Task.FromResult<Stream>(new MemoryStream(file.Content, (int)offset, file.Content.Length - (int)offset, writable: false));
        }

        public override Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var key = Key(location);
            var existing = Files.TryGetValue(key, out var file) ? file.Content : Array.Empty<byte>();
            if (offset < 0 || offset > existing.Length)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"Cannot write '{location}' at {offset}: it has {existing.Length} bytes.", errorId: "BadOffset", target: location);
            }

            var stream = new PublishingStream(key, _maxFileSize);
            stream.Write(existing, 0, (int)offset);
            return Task.FromResult<Stream>(stream);
        }

        public override Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var from = Key(temporary);
            var to = Key(final);
            if (!Files.TryGetValue(from, out var file))
            {
                throw new PluginException(ErrorCode.NotFound, $"Nothing is at '{temporary}'.", errorId: "TemporaryNotFound", target: temporary);
            }

            lock (Files)
            {
                if (!overwrite && Files.ContainsKey(to))
                {
                    throw new PluginException(ErrorCode.Conflict, $"'{final}' exists.", errorId: "DestinationExists", target: final);
                }

                Files[to] = new MemoryFile(file.Content);
                Files.TryRemove(from, out _);
            }

            return Task.CompletedTask;
        }

        public override Task DeleteAsync(OperationContext context, Uri location, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            Files.TryRemove(Key(location), out _);
            return Task.CompletedTask;
        }

        public override Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var key = Key(location);
            while (key.Length > 0)
            {
                Folders[key] = true;
                var slash = key.LastIndexOf('/');
                key = slash > 0 ? key.Substring(0, slash) : "";
            }

            return Task.CompletedTask;
        }

        // mem://Bucket/a/./b/ and mem://bucket/a/b are the same place; ".." cannot climb out of the bucket.
        private static string Key(Uri location)
        {
            if (!string.Equals(location.Scheme, "mem", StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(location.Host))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{location}' is not a mem://BUCKET/PATH location.", errorId: "NotMemoryLocation", target: location);
            }

            return location.Host.ToLowerInvariant() + Uri.UnescapeDataString(location.AbsolutePath).TrimEnd('/');
        }

        private sealed class MemoryFile
        {
            public MemoryFile(byte[] content)
            {
                Content = content;
                Version = Interlocked.Increment(ref _versions);
                Modified = DateTimeOffset.UtcNow;
            }

            public byte[] Content { get; }
            public long Version { get; }
            public DateTimeOffset Modified { get; }
        }

        // Buffers writes and publishes the whole file when disposed, so readers never see half a write.
        private sealed class PublishingStream : MemoryStream
        {
            private readonly string _key;
            private readonly long _max;

            public PublishingStream(string key, long max)
            {
                _key = key;
                _max = max;
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                if (Length + count > _max)
                {
                    throw new PluginException(ErrorCode.LimitExceeded, $"Files in this store are at most {_max} bytes.", errorId: "FileTooLarge", target: _key);
                }

                base.Write(buffer, offset, count);
            }

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Write(buffer, offset, count);
                return Task.CompletedTask;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing && CanRead)
                {
                    Files[_key] = new MemoryFile(ToArray());
                }

                base.Dispose(disposing);
            }
        }
    }
}
