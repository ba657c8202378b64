using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>
    /// The path requests sent on SSH.NET's session with callbacks of their own (<see cref="SftpSessionRequests"/>) against
    /// a real sshd: each does what SSH.NET's own request does, fails as it would, and a request the server never answers
    /// ends on the operation timeout, on cancellation or with the connection instead of waiting forever.
    /// </summary>
    public class SftpSessionRequestsTests : IClassFixture<SshdFixture>
    {
        private readonly SshdFixture _f;

        public SftpSessionRequestsTests(SshdFixture fixture) => _f = fixture;

        private SftpClient Connect()
        {
            var client = new SftpClient("127.0.0.1", _f.Port, _f.KeyUser, new PrivateKeyFile(_f.Server.Get("KeyFile")));
            client.Connect();
            return client;
        }

        [Fact]
        public async Task Each_request_does_what_the_SSH_NET_request_of_the_same_name_does()
        {
            var requests = SftpSessionRequests.Instance;
            Assert.NotNull(requests);
            using var client = Connect();
            var session = SshNetRequests.Instance!.SessionOf(client)!;
            var folder = $"{_f.KeyUserData}/requests-{Guid.NewGuid():n}";
            var ct = CancellationToken.None;

            await requests!.MkDirAsync(session, folder, ct);
            Assert.True(Directory.Exists(folder));
            await Assert.ThrowsAnyAsync<SshException>(() => requests.MkDirAsync(session, folder, ct));

            var a = folder + "/a.txt";
            var handle = await requests.OpenAsync(session, a, SshNetRequests.OpenForWriting, ct);
            Assert.NotEmpty(handle);
            SshNetRequests.Instance.Paths!.Close(session, handle);
            Assert.Equal(0, new FileInfo(a).Length);
            await Assert.ThrowsAsync<SftpPathNotFoundException>(() => requests.OpenAsync(session, folder + "/none/x", SshNetRequests.OpenForWriting, ct));

            var attributes = (await requests.LStatAsync(session, a, nullWhenMissing: false, ct))!;
            Assert.Equal(0, attributes.Size);
            Assert.Null(await requests.LStatAsync(session, folder + "/none", nullWhenMissing: true, ct));
            await Assert.ThrowsAsync<SftpPathNotFoundException>(() => requests.LStatAsync(session, folder + "/none", nullWhenMissing: false, ct));
            // Nothing readable on the way there: a refusal, not "nothing there", even where a missing path answers null.
            await Assert.ThrowsAsync<SftpPermissionDeniedException>(() => requests.LStatAsync(session, "/root/.transfertools-none", nullWhenMissing: true, ct));

            var time = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
            attributes.LastWriteTimeUtc = time;
            await requests.SetStatAsync(session, a, attributes, ct);
            Assert.Equal(time, File.GetLastWriteTimeUtc(a));

            // rename never replaces; posix-rename does.
            var b = folder + "/b.txt";
            var c = folder + "/c.txt";
            await requests.RenameAsync(session, a, b, ct);
            Assert.True(File.Exists(b) && !File.Exists(a));
            File.WriteAllText(c, "c");
            await Assert.ThrowsAnyAsync<SshException>(() => requests.RenameAsync(session, b, c, ct));
            await requests.PosixRenameAsync(session, b, c, ct);
            Assert.Equal(0, new FileInfo(c).Length);
            Assert.False(File.Exists(b));

            await requests.RemoveAsync(session, c, ct);
            Assert.False(File.Exists(c));
            await Assert.ThrowsAsync<SftpPathNotFoundException>(() => requests.RemoveAsync(session, c, ct));
            Assert.Equal(0, requests.InFlight(session));
        }

        [Fact]
        public async Task A_request_never_answered_ends_on_the_timeout_on_cancellation_or_with_the_connection()
        {
            var requests = SftpSessionRequests.Instance!;
            // The SFTP server serves one request at a time: opening a named pipe no one writes to holds it, and every
            // request after it, without an answer, on this session only.
            var fifo = $"{_f.KeyUserData}/hold-{Guid.NewGuid():n}";
            Run("mkfifo", "-m", "666", fifo);
            var client = Connect();
            try
            {
                var session = SshNetRequests.Instance!.SessionOf(client)!;
                client.OperationTimeout = TimeSpan.FromSeconds(1);
                var clock = Stopwatch.StartNew();
                await Assert.ThrowsAsync<SshOperationTimeoutException>(() => requests.OpenAsync(session, fifo, SshNetRequests.OpenForReading, CancellationToken.None));
                Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));

                client.OperationTimeout = Timeout.InfiniteTimeSpan;
                using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
                {
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => requests.LStatAsync(session, "/", nullWhenMissing: false, cancel.Token));
                }

                Assert.Equal(0, requests.InFlight(session));

                // The connection dies (the server process killed) with a request in flight and no timeout: the request fails.
                var pending = requests.LStatAsync(session, "/", nullWhenMissing: false, CancellationToken.None);
                var server = ProcessHolding();
                Assert.NotNull(server);
                // With internal-sftp the server is sshd's unprivileged session process, whose privileged parent holds the
                // socket too; an sftp-server program's parent is that session process: either way, both go.
                Run("kill", "-KILL", server!.Value.ToString(), ParentOf(server.Value).ToString());

                var lost = await Assert.ThrowsAnyAsync<SshException>(() => pending.WaitAsync(TimeSpan.FromSeconds(30)));
                Assert.False(lost is SftpPathNotFoundException, lost.ToString());
                Assert.Equal(0, requests.InFlight(session));

                // Later requests on the dead session fail at once.
                await Assert.ThrowsAnyAsync<Exception>(() => requests.LStatAsync(session, "/", nullWhenMissing: false, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            }
            finally
            {
                if (ProcessHolding(attempts: 1) is int held)
                {
                    Run("kill", "-KILL", held.ToString());
                }

                client.Dispose();
                File.Delete(fifo);
            }
        }

        /// <summary>The SFTP server process blocked in opening a named pipe (sshd's own with internal-sftp, or an
        /// sftp-server program), or null.</summary>
        private static int? ProcessHolding(int attempts = 50)
        {
            for (var attempt = 0; attempt < attempts; attempt++)
            {
                foreach (var proc in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)))
                {
                    try
                    {
                        // Blocked in open(), the pipe is not in fd/ yet: look for the sftp-server whose current system call is
                        // openat (257), asleep waiting for the pipe's other end.
                        var exe = new FileInfo($"/proc/{proc}/exe").LinkTarget;
                        if (exe is null || !(exe.Contains("sshd", StringComparison.Ordinal) || exe.EndsWith("sftp-server", StringComparison.Ordinal)))
                        {
                            continue;
                        }

                        var wchan = File.ReadAllText($"/proc/{proc}/wchan");
                        var syscall = File.ReadAllText($"/proc/{proc}/syscall").Split(' ')[0];
                        if (syscall == "257" && (wchan.Contains("partner", StringComparison.Ordinal) || wchan.Contains("fifo", StringComparison.Ordinal)))
                        {
                            return int.Parse(proc!);
                        }
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                    {
                    }
                }

                Thread.Sleep(100);
            }

            return null;
        }

        private static int ParentOf(int pid) => int.Parse(File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Trim().Split(' ')[1]);

        private static void Run(string file, params string[] arguments)
        {
            using var p = Process.Start(new ProcessStartInfo(file, arguments))!;
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
    }
}
