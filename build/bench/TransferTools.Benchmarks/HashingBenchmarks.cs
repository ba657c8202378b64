using System;
using System.IO.Hashing;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace TransferTools.Benchmarks
{
    /// <summary>
    /// The hashes a transfer computes over 64 MiB: one-shot SHA-256, incremental SHA-256 over 1 MiB segments (what the
    /// pipeline does), and the per-chunk XXH64 of the journal: the engine's own (<c>ChunkChecksum</c>) beside
    /// System.IO.Hashing's, which it replaced and must agree with.
    /// </summary>
    public class HashingBenchmarks
    {
        private const int PayloadBytes = 64 * 1024 * 1024;
        private const int Segment = 1024 * 1024;
        private byte[] _payload = Array.Empty<byte>();

        [GlobalSetup]
        public void Setup()
        {
            _payload = new byte[PayloadBytes];
            new Random(7).NextBytes(_payload);
        }

        [Benchmark(Baseline = true, Description = "SHA-256 one-shot 64 MiB")]
        public byte[] Sha256OneShot() => SHA256.HashData(_payload);

        [Benchmark(Description = "SHA-256 incremental, 1 MiB appends")]
        public byte[] Sha256Incremental()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (var offset = 0; offset < _payload.Length; offset += Segment)
            {
                hash.AppendData(_payload, offset, Segment);
            }

            return hash.GetHashAndReset();
        }

        [Benchmark(Description = "ChunkChecksum (engine XXH64) 64 MiB")]
        public ulong ChunkChecksumChunks()
        {
            var hash = new TransferTools.Engine.Transfers.ChunkChecksum();
            for (var offset = 0; offset < _payload.Length; offset += Segment)
            {
                hash.Append(new ReadOnlySpan<byte>(_payload, offset, Segment));
            }

            return hash.GetCurrentHashAsUInt64();
        }

        [Benchmark(Description = "System.IO.Hashing XxHash64 64 MiB")]
        public ulong XxHash64Chunks()
        {
            var hash = new XxHash64();
            for (var offset = 0; offset < _payload.Length; offset += Segment)
            {
                hash.Append(new ReadOnlySpan<byte>(_payload, offset, Segment));
            }

            return hash.GetCurrentHashAsUInt64();
        }
    }
}
