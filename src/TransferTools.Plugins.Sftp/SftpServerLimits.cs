using System;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// What an SFTP server accepts per request, from its answer to OpenSSH's <c>limits@openssh.com</c> extension
    /// (OpenSSH 8.7 and later: 256 KiB packets, 255 KiB reads and writes).
    /// </summary>
    internal sealed class SftpServerLimits
    {
        /// <summary>Room left in a packet for the request or answer header around the data, as OpenSSH's sftp leaves.</summary>
        internal const long HeaderAllowance = 1024;

        private SftpServerLimits(long? maxReadLength, long? maxWriteLength, long? maxOpenHandles)
        {
            MaxReadLength = maxReadLength;
            MaxWriteLength = maxWriteLength;
            MaxOpenHandles = maxOpenHandles;
        }

        /// <summary>Data bytes one read request may ask for; null when the server gave no limit.</summary>
        public long? MaxReadLength { get; }

        /// <summary>Data bytes one write request may carry; null when the server gave no limit.</summary>
        public long? MaxWriteLength { get; }

        /// <summary>Handles the server lets one session hold open; null when the server gave no limit.</summary>
        public long? MaxOpenHandles { get; }

        /// <summary>
        /// The limits from the reply's four fields (0 means "no limit" in the extension). A read or write length is also
        /// kept a header's room under the packet length, so a server that states only the packet length is still obeyed.
        /// </summary>
        public static SftpServerLimits From(ulong maxPacketLength, ulong maxReadLength, ulong maxWriteLength, ulong maxOpenHandles)
        {
            long? packetRoom = maxPacketLength == 0 ? (long?)null : Math.Max(0, (long)Math.Min(maxPacketLength, long.MaxValue) - HeaderAllowance);
            long? Bound(ulong length)
            {
                long? own = length == 0 ? (long?)null : (long)Math.Min(length, long.MaxValue);
                return own is null ? packetRoom : packetRoom is null ? own : Math.Min(own.Value, packetRoom.Value);
            }

            return new SftpServerLimits(Bound(maxReadLength), Bound(maxWriteLength),
                maxOpenHandles == 0 ? (long?)null : (long)Math.Min(maxOpenHandles, long.MaxValue));
        }

        /// <inheritdoc/>
        public override string ToString() =>
            $"read {MaxReadLength?.ToString() ?? "unlimited"}, write {MaxWriteLength?.ToString() ?? "unlimited"}, handles {MaxOpenHandles?.ToString() ?? "unlimited"}";
    }
}
