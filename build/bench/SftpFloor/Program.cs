// The SFTP small-file floor: every file of a local folder to a new remote folder over one SSH.NET connection, as many
// at once as Send-Transfer's -ThrottleLimit, each by SSH.NET's public API only: open (create), write, close, then
// setstat of the source's time and mode; the folder made once. No hashing, journal, temporary name or check: what
// the library itself costs per file. Prints "CPU <s>" and "ELAPSED <s>" of the copy (connection made before), as the
// bench's pwsh runs print theirs, and "REQUESTS-PER-FILE" is left to the server's log.
// Usage: SftpFloor <host> <port> <user> <keyfile> <host-key-sha256> <local folder> <remote folder> <parallel>
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length != 8)
        {
            Console.Error.WriteLine("usage: SftpFloor host port user keyfile host-key-sha256 local-folder remote-folder parallel");
            return 2;
        }

        var fingerprint = args[4].StartsWith("SHA256:", StringComparison.Ordinal) ? args[4].Substring(7) : args[4];
        var connection = new ConnectionInfo(args[0], int.Parse(args[1]), args[2], new PrivateKeyAuthenticationMethod(args[2], new PrivateKeyFile(args[3])));
        using var client = new SftpClient(connection);
        client.HostKeyReceived += (_, e) => e.CanTrust = string.Equals(e.FingerPrintSHA256.TrimEnd('='), fingerprint.TrimEnd('='), StringComparison.Ordinal);
        client.Connect();
        var files = Directory.GetFiles(args[5]).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        var remote = args[6].TrimEnd('/');
        var parallel = int.Parse(args[7]);

        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        if (!client.Exists(remote))
        {
            await client.CreateDirectoryAsync(remote);
        }

        var next = -1;
        var workers = Enumerable.Range(0, parallel).Select(_ => Task.Run(async () =>
        {
            var attributes = client.GetAttributes(remote);
            int i;
            while ((i = Interlocked.Increment(ref next)) < files.Length)
            {
                var source = new FileInfo(files[i]);
                var bytes = await File.ReadAllBytesAsync(source.FullName);
                var path = remote + "/" + source.Name;
                using (var stream = await client.OpenAsync(path, FileMode.Create, FileAccess.Write, CancellationToken.None))
                {
                    await stream.WriteAsync(bytes);
                }

                // Time and mode in one setstat (what cp -p and rclone keep). SSH.NET makes attributes only by reading them,
                // so each worker reuses the folder's, changing the time (mode stays the server's default).
                attributes.LastWriteTimeUtc = source.LastWriteTimeUtc;
                attributes.LastAccessTimeUtc = source.LastWriteTimeUtc;
                client.SetAttributes(path, attributes);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        Console.WriteLine(FormattableString.Invariant($"FILES {files.Length}"));
        Console.WriteLine(FormattableString.Invariant($"CPU {cpu.TotalSeconds:0.000}"));
        Console.WriteLine(FormattableString.Invariant($"ELAPSED {clock.Elapsed.TotalSeconds:0.000}"));
        return 0;
    }
}
