using System;
using System.IO.Hashing;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>The engine's XXH64 must give System.IO.Hashing's values: chunk logs written before it stay valid.</summary>
    public class ChunkChecksumTests
    {
        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(3)]
        [InlineData(4)]
        [InlineData(7)]
        [InlineData(8)]
        [InlineData(31)]
        [InlineData(32)]
        [InlineData(33)]
        [InlineData(63)]
        [InlineData(64)]
        [InlineData(100)]
        [InlineData(4096)]
        [InlineData(131_072 + 29)]
        public void One_buffer_matches_the_reference(int length)
        {
            var data = Payload(length, seed: length);
            Assert.Equal(XxHash64.HashToUInt64(data), ChunkChecksum.Compute(data));
        }

        [Fact]
        public void Appends_of_any_split_match_one_buffer()
        {
            var data = Payload(10_000, seed: 3);
            var expected = XxHash64.HashToUInt64(data);
            var random = new Random(5);
            for (var round = 0; round < 200; round++)
            {
                var checksum = new ChunkChecksum();
                var offset = 0;
                while (offset < data.Length)
                {
                    // Pieces from empty to a few stripes, so every partial-stripe path is crossed.
                    var piece = Math.Min(random.Next(0, 100), data.Length - offset);
                    checksum.Append(new ReadOnlySpan<byte>(data, offset, piece));
                    offset += piece;
                }

                Assert.Equal(expected, checksum.GetCurrentHashAsUInt64());
            }
        }

        [Fact]
        public void Reset_starts_over_and_reading_the_value_changes_nothing()
        {
            var first = Payload(1000, seed: 1);
            var second = Payload(777, seed: 2);
            var checksum = new ChunkChecksum();
            checksum.Append(first);
            Assert.Equal(XxHash64.HashToUInt64(first), checksum.GetCurrentHashAsUInt64());
            Assert.Equal(XxHash64.HashToUInt64(first), checksum.GetCurrentHashAsUInt64());
            checksum.Reset();
            checksum.Append(second);
            Assert.Equal(XxHash64.HashToUInt64(second), checksum.GetCurrentHashAsUInt64());
        }

        private static byte[] Payload(int length, int seed)
        {
            var data = new byte[length];
            new Random(seed).NextBytes(data);
            return data;
        }
    }
}
