using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Renci.SshNet;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>
    /// <see cref="SftpPipelinedReadStream"/> against a scripted server that answers at most 20,000 bytes per read (as
    /// servers on Go's SFTP library answer 32 KiB whatever is asked) and answers only when the test lets it, so the order
    /// of the requests the stream issues is exact: no timing, no real server (none in the test services answers short).
    /// </summary>
    public class SftpShortReadTests
    {
        private const int MostPerAnswer = 20_000;

        /// <summary>A server that holds every read request until <see cref="AnswerAll"/>, then answers them in the order
        /// sent: at most <see cref="MostPerAnswer"/> bytes of the file each, end of file past its end.</summary>
        private sealed class ShortServer : ISftpReadRequests
        {
            private readonly byte[] _file;
            private readonly List<(long Offset, int Length, Delegate Data, Delegate Status)> _held = new();

            public ShortServer(byte[] file) => _file = file;

            /// <summary>Every read request in the order sent.</summary>
            public List<(long Offset, int Length)> Sent { get; } = new();

            /// <summary>Bytes answered in all (each byte of the file once when no answer is asked twice).</summary>
            public long Answered { get; private set; }

            public (Delegate Data, Delegate Status) ReadCallbacks(object target) =>
                ((Action<object>)(r => target.GetType().GetMethod("OnData")!.Invoke(target, new[] { r })),
                 (Action<object>)(r => target.GetType().GetMethod("OnStatus")!.Invoke(target, new[] { r })));

            public void SendRead(object session, byte[] handle, long offset, int length, Delegate data, Delegate status)
            {
                lock (_held)
                {
                    Sent.Add((offset, length));
                    _held.Add((offset, length, data, status));
                }
            }

            public void AnswerAll()
            {
                List<(long Offset, int Length, Delegate Data, Delegate Status)> now;
                lock (_held)
                {
                    now = new List<(long, int, Delegate, Delegate)>(_held);
                    _held.Clear();
                }

                foreach (var (offset, length, data, status) in now)
                {
                    if (offset >= _file.Length)
                    {
                        ((Action<object>)status)(SshNetRequests.StatusEof);
                        continue;
                    }

                    var n = (int)Math.Min(Math.Min(length, MostPerAnswer), _file.Length - offset);
                    Answered += n;
                    ((Action<object>)data)(new ArraySegment<byte>(_file, (int)offset, n));
                }
            }

            public ArraySegment<byte> DataOf(object response) => (ArraySegment<byte>)response;

            public int StatusOf(object response) => (int)response;

            public string? MessageOf(object response) => null;
        }

        [Fact]
        public async Task Short_answers_shrink_the_requests_and_their_rest_is_asked_at_the_tail()
        {
            var file = new byte[400_000 + 1234];
            new Random(27).NextBytes(file);
            var server = new ShortServer(file);
            using var client = new SftpClient("127.0.0.1", 22, "nobody", "unused"); // never connected: the server is the fake
            using var stream = new SftpPipelinedReadStream(client, new byte[] { 1 }, () => { }, new object(), server, 0, file.Length,
                maxPending: 4, requestSize: 64 * 1024, stallTimeout: TimeSpan.FromSeconds(30), map: e => new PluginException(ErrorCode.Unknown, e.Message, e));
            Assert.Equal(64 * 1024, stream.RequestSize);

            var back = new MemoryStream();
            var buffer = new byte[1024 * 1024];
            while (true)
            {
                // Answer what is in flight, then read: the stream finds answers in line and hands them out, stopping (with
                // bytes) at a request still in flight; only the final end-of-file probe waits, and is answered here.
                server.AnswerAll();
                var read = stream.ReadAsync(buffer, 0, buffer.Length);
                while (!read.IsCompleted)
                {
                    server.AnswerAll();
                    await Task.WhenAny(read, Task.Delay(10));
                }

                var n = await read;
                if (n == 0)
                {
                    break;
                }

                back.Write(buffer, 0, n);
            }

            // (c) the bytes are the file's, each asked for once.
            Assert.Equal(file, back.ToArray());
            Assert.Equal(file.Length, server.Answered);

            // (a) the request size shrank to what the server gave.
            Assert.Equal(MostPerAnswer, stream.RequestSize);

            // (b) The order: four requests of 64 KiB (all in flight before any answer), all answered short; the reader
            // then refills the pipeline with requests of the new size, and asks for the rest of every short answer
            // already in at once, each as a new request at the tail, after the requests already in flight; it does not
            // block on one rest at a time.
            const int K64 = 64 * 1024;
            var expectedStart = new List<(long, int)>
            {
                (0, K64), (K64, K64), (2 * K64, K64), (3 * K64, K64),
                (4 * K64, MostPerAnswer), (4 * K64 + MostPerAnswer, MostPerAnswer), (4 * K64 + 2 * MostPerAnswer, MostPerAnswer), (4 * K64 + 3 * MostPerAnswer, MostPerAnswer),
                (MostPerAnswer, K64 - MostPerAnswer), (K64 + MostPerAnswer, K64 - MostPerAnswer), (2 * K64 + MostPerAnswer, K64 - MostPerAnswer), (3 * K64 + MostPerAnswer, K64 - MostPerAnswer),
            };
            Assert.Equal(expectedStart, server.Sent.Take(expectedStart.Count).ToList());

            // After the first answers, no request but a rest (one that starts inside an earlier request, where its
            // answer ended) asks for more than the server gives.
            for (var i = 4; i < server.Sent.Count; i++)
            {
                var (offset, length) = server.Sent[i];
                var isRest = server.Sent.Take(i).Any(r => r.Offset < offset && offset < r.Offset + r.Length);
                Assert.True(isRest || length <= MostPerAnswer, $"request {i} at {offset} asked for {length} bytes after the server gave {MostPerAnswer}");
            }
        }
    }
}
