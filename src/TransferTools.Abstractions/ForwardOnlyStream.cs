using System;
using System.IO;

namespace TransferTools.Abstractions
{
    /// <summary>
    /// A stream read or written from start to end, as a transfer moves bytes (a download body, an upload, a remote file
    /// handle): it cannot seek and has no length. A derived class overrides <see cref="Stream.CanRead"/>,
    /// <see cref="Stream.CanWrite"/> and <see cref="Stream.Flush"/>, and <see cref="Read"/> or <see cref="Write"/> (or
    /// both); every other member throws <see cref="NotSupportedException"/>. <see cref="Position"/> may be overridden
    /// (the getter only) to say how far the stream has got.
    /// </summary>
    public abstract class ForwardOnlyStream : Stream
    {
        /// <summary>Always false.</summary>
        public sealed override bool CanSeek => false;

        /// <summary>Throws <see cref="NotSupportedException"/> unless a derived class knows its length.</summary>
        public override long Length => throw new NotSupportedException();

        /// <summary>The getter throws <see cref="NotSupportedException"/> unless overridden; the setter always does.</summary>
        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        /// <summary>Throws <see cref="NotSupportedException"/>.</summary>
        public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        /// <summary>Throws <see cref="NotSupportedException"/>.</summary>
        public sealed override void SetLength(long value) => throw new NotSupportedException();

        /// <summary>Throws <see cref="NotSupportedException"/>: a stream that reads overrides it.</summary>
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        /// <summary>Throws <see cref="NotSupportedException"/>: a stream that writes overrides it.</summary>
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
