using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>
    /// A tiny stand-in for the engine's copy loop: what the TransferManager does with an endpoint (temporary name,
    /// write from an offset, commit; read from an offset), without journal or retries.
    /// </summary>
    public static class EndpointDriver
    {
        public static async Task UploadAsync(ITransferEndpoint endpoint, string localFile, Uri temporary, Uri final, TransferOptions options,
            long offset = 0, long stopAfter = -1, bool overwrite = false)
        {
            using (var source = File.OpenRead(localFile))
            {
                source.Seek(offset, SeekOrigin.Begin);
                using var target = await endpoint.OpenWriteAsync(OperationContext.None, temporary, offset, options);
                await CopyAsync(source, target, stopAfter);
                await target.FlushAsync();
            }

            if (stopAfter < 0)
            {
                await endpoint.CommitAsync(OperationContext.None, temporary, final, overwrite, options);
            }
        }

        public static async Task<long> DownloadAsync(ITransferEndpoint endpoint, Uri source, string localFile, TransferOptions options,
            long offset = 0, string? expectedVersion = null, long stopAfter = -1)
        {
            using var input = await endpoint.OpenReadAsync(OperationContext.None, source, offset, expectedVersion, options);
            using var output = new FileStream(localFile, offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write);
            output.SetLength(offset);
            output.Seek(offset, SeekOrigin.Begin);
            return await CopyAsync(input, output, stopAfter);
        }

        public static async Task<long> CopyAsync(Stream input, Stream output, long stopAfter = -1)
        {
            var buffer = new byte[256 * 1024];
            long total = 0;
            while (stopAfter < 0 || total < stopAfter)
            {
                var want = stopAfter < 0 ? buffer.Length : (int)Math.Min(buffer.Length, stopAfter - total);
                var n = await input.ReadAsync(buffer, 0, want);
                if (n == 0)
                {
                    break;
                }

                await output.WriteAsync(buffer, 0, n);
                total += n;
            }

            return total;
        }

        public static string NewRandomFile(string directory, int size, int seed = 1)
        {
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, $"data-{Guid.NewGuid():n}.bin");
            var bytes = new byte[size];
            new Random(seed).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        public static string Sha256(string path)
        {
            using var sha = SHA256.Create();
            using var f = File.OpenRead(path);
            return Convert.ToHexString(sha.ComputeHash(f));
        }
    }
}
