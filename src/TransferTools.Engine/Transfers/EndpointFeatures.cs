using System.IO;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The engine's use of an endpoint's optional capabilities (<see cref="ISpaceReservation"/>, <see cref="IWriteBehind"/>,
    /// ...): each is asked for by its interface, and an endpoint without it is used without it.
    /// </summary>
    internal static class EndpointFeatures
    {
        /// <summary>
        /// Readies <paramref name="writer"/>, opened by <paramref name="endpoint"/>, for the bytes <c>[from, to)</c>: a large
        /// file is written behind from its first byte, and the room for the rest is reserved before the first byte.
        /// </summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.LimitExceeded"/> (<c>DestinationFull</c>) when the room is not there.</exception>
        internal static void PrepareWrite(ITransferEndpoint endpoint, Stream writer, long from, long to)
        {
            if (to <= from)
            {
                return;
            }

            if (endpoint is IWriteBehind writeBehind)
            {
                writeBehind.ExpectWrites(writer, to - from);
            }

            if (endpoint is ISpaceReservation reservation)
            {
                reservation.ReserveSpace(writer, from, to - from);
            }
        }
    }
}
