using System.Collections.Generic;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// How far the server's answers confirm an upload: the end of the longest run of requests, from the start, that were
    /// all answered successfully. Requests are sent in file order, but a server may answer them in any order.
    /// </summary>
    /// <remarks>Not thread-safe: the write stream calls it under its lock. Memory: one entry per request in flight.</remarks>
    internal sealed class SftpWriteConfirmations
    {
        // The end offsets of the requests sent and not yet confirmed, in file order, and those of them answered ahead
        // of an earlier request.
        private readonly Queue<long> _unconfirmedEnds = new Queue<long>();
        private readonly HashSet<long> _answeredAhead = new HashSet<long>();

        /// <param name="start">The offset the upload writes from: confirmed already.</param>
        public SftpWriteConfirmations(long start) => Confirmed = start;

        /// <summary>Every byte before this offset was answered successfully.</summary>
        public long Confirmed { get; private set; }

        /// <summary>A request ending at <paramref name="end"/> was sent (after every earlier one).</summary>
        public void Sent(long end) => _unconfirmedEnds.Enqueue(end);

        /// <summary>The server answered the request ending at <paramref name="end"/> successfully.</summary>
        public void Answered(long end)
        {
            if (_unconfirmedEnds.Count == 0 || _unconfirmedEnds.Peek() != end)
            {
                _answeredAhead.Add(end);
                return;
            }

            Confirmed = _unconfirmedEnds.Dequeue();
            while (_unconfirmedEnds.Count > 0 && _answeredAhead.Remove(_unconfirmedEnds.Peek()))
            {
                Confirmed = _unconfirmedEnds.Dequeue();
            }
        }
    }
}
