using System;

namespace TransferTools.Plugins.Sftp
{
    /// <summary>
    /// The read requests <see cref="SftpPipelinedReadStream"/> sends on an open handle and the answers it takes apart:
    /// <see cref="SshNetRequests"/> (SSH.NET's session) in the plugin. An interface only so that a test can stand in for a
    /// server that answers short or late, which no real server in the test services does on demand.
    /// </summary>
    internal interface ISftpReadRequests
    {
        /// <summary>The data and status callbacks of a read request, bound to <paramref name="target"/>'s
        /// <c>OnData(object)</c> and <c>OnStatus(object)</c>.</summary>
        (Delegate Data, Delegate Status) ReadCallbacks(object target);

        /// <summary>Sends a read request; exactly one of the callbacks later runs with the answer.</summary>
        void SendRead(object session, byte[] handle, long offset, int length, Delegate data, Delegate status);

        /// <summary>The bytes of a data answer (valid only during the callback).</summary>
        ArraySegment<byte> DataOf(object response);

        /// <summary>The status code of a status answer.</summary>
        int StatusOf(object response);

        /// <summary>The message of a status answer.</summary>
        string? MessageOf(object response);
    }
}
