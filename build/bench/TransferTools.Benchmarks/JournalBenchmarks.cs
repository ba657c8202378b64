using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Benchmarks
{
    /// <summary>
    /// Journal commit latency: one chunk-log line (the per-chunk commit), and the record rewrite (temp file + rename),
    /// with and without flushing to disk (state changes are durable; progress updates are not).
    /// </summary>
    public class JournalBenchmarks
    {
        private string _home = "";
        private TransferJournal _journal = null!;
        private TransferRecord _record = null!;
        private ChunkLog _log = null!;
        private ulong _hash;

        [GlobalSetup]
        public void Setup()
        {
            _home = Path.Combine(Path.GetTempPath(), "tt-microbench-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(_home);
            _journal = new TransferJournal(_home);
            _record = new TransferRecord
            {
                Id = Guid.NewGuid().ToString("n"),
                Name = "payload.bin",
                Source = "/tmp/payload.bin",
                Destination = "/tmp/dest/payload.bin",
                Protocol = "FileSystem",
                TotalBytes = 1L << 30,
                Status = TransferStatus.Active,
            };
            _log = _journal.OpenChunkLog(_record.Id, Array.Empty<ulong>(), 0);
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            _log.Dispose();
            Directory.Delete(_home, recursive: true);
        }

        [Benchmark(Baseline = true, Description = "Chunk-log append (one chunk commit)")]
        public void ChunkCommit() => _log.Append(_hash++);

        [Benchmark(Description = "Record save, not flushed to disk")]
        public void RecordSave() => _journal.Save(_record, durable: false);

        [Benchmark(Description = "Record save, flushed to disk (fsync)")]
        public void RecordSaveDurable() => _journal.Save(_record, durable: true);
    }
}
