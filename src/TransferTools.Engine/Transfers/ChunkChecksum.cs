using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The journal's per-chunk checksum: XXH64 with seed 0, fed incrementally; the same values as
    /// <c>System.IO.Hashing.XxHash64</c>, so chunk logs written by earlier versions stay valid.
    /// </summary>
    /// <remarks>
    /// Its own implementation because the byte loop is the engine's only managed per-byte work. The package's
    /// netstandard2.0 build (the one this module loads everywhere) starts in the runtime's unoptimized tier and is
    /// promoted only after a delay, so the first chunks of every new session were hashed at a fraction of the speed;
    /// <see cref="HashStripes"/> is compiled fully optimized on first use (AggressiveOptimization) and reads eight
    /// bytes at a time with no per-stripe call.
    /// </remarks>
    internal sealed class ChunkChecksum
    {
        private const ulong Prime1 = 0x9E3779B185EBCA87UL;
        private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
        private const ulong Prime3 = 0x165667B19E3779F9UL;
        private const ulong Prime4 = 0x85EBCA77C2B2AE63UL;
        private const ulong Prime5 = 0x27D4EB2F165667C5UL;
        private const int StripeSize = 32;

        // MethodImplOptions.AggressiveOptimization, which netstandard2.0's enum does not name; runtimes that do not
        // know the flag ignore it.
        private const MethodImplOptions AggressiveOptimization = (MethodImplOptions)512;

        private readonly byte[] _pending = new byte[StripeSize];
        private ulong _acc1;
        private ulong _acc2;
        private ulong _acc3;
        private ulong _acc4;
        private int _pendingCount;
        private long _length;

        /// <summary>Starts an empty checksum.</summary>
        public ChunkChecksum() => Reset();

        /// <summary>Starts over, as if nothing had been appended.</summary>
        public void Reset()
        {
            _acc1 = unchecked(Prime1 + Prime2);
            _acc2 = Prime2;
            _acc3 = 0;
            _acc4 = unchecked(0 - Prime1);
            _pendingCount = 0;
            _length = 0;
        }

        /// <summary>Adds <paramref name="data"/> to the checksum.</summary>
        public void Append(ReadOnlySpan<byte> data)
        {
            _length += data.Length;
            if (_pendingCount > 0)
            {
                var take = Math.Min(StripeSize - _pendingCount, data.Length);
                data.Slice(0, take).CopyTo(_pending.AsSpan(_pendingCount));
                _pendingCount += take;
                data = data.Slice(take);
                if (_pendingCount < StripeSize)
                {
                    return;
                }

                HashStripes(_pending);
                _pendingCount = 0;
            }

            var whole = data.Length - (data.Length % StripeSize);
            if (whole > 0)
            {
                HashStripes(data.Slice(0, whole));
            }

            data.Slice(whole).CopyTo(_pending);
            _pendingCount = data.Length - whole;
        }

        /// <summary>The checksum of everything appended since the start or the last <see cref="Reset"/>.</summary>
        public ulong GetCurrentHashAsUInt64()
        {
            ulong hash;
            if (_length >= StripeSize)
            {
                hash = RotateLeft(_acc1, 1) + RotateLeft(_acc2, 7) + RotateLeft(_acc3, 12) + RotateLeft(_acc4, 18);
                hash = MergeRound(hash, _acc1);
                hash = MergeRound(hash, _acc2);
                hash = MergeRound(hash, _acc3);
                hash = MergeRound(hash, _acc4);
            }
            else
            {
                hash = Prime5;
            }

            unchecked
            {
                hash += (ulong)_length;
                var tail = new ReadOnlySpan<byte>(_pending, 0, _pendingCount);
                while (tail.Length >= 8)
                {
                    hash ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(tail));
                    hash = (RotateLeft(hash, 27) * Prime1) + Prime4;
                    tail = tail.Slice(8);
                }

                if (tail.Length >= 4)
                {
                    hash ^= BinaryPrimitives.ReadUInt32LittleEndian(tail) * Prime1;
                    hash = (RotateLeft(hash, 23) * Prime2) + Prime3;
                    tail = tail.Slice(4);
                }

                foreach (var b in tail)
                {
                    hash ^= b * Prime5;
                    hash = RotateLeft(hash, 11) * Prime1;
                }

                hash ^= hash >> 33;
                hash *= Prime2;
                hash ^= hash >> 29;
                hash *= Prime3;
                hash ^= hash >> 32;
                return hash;
            }
        }

        /// <summary>The checksum of one buffer.</summary>
        public static ulong Compute(ReadOnlySpan<byte> data)
        {
            var checksum = new ChunkChecksum();
            checksum.Append(data);
            return checksum.GetCurrentHashAsUInt64();
        }

        [MethodImpl(AggressiveOptimization)]
        private void HashStripes(ReadOnlySpan<byte> stripes)
        {
            // Locals, not fields, so the four lanes stay in registers for the whole loop.
            var acc1 = _acc1;
            var acc2 = _acc2;
            var acc3 = _acc3;
            var acc4 = _acc4;
            while (stripes.Length >= StripeSize)
            {
                acc1 = Round(acc1, BinaryPrimitives.ReadUInt64LittleEndian(stripes));
                acc2 = Round(acc2, BinaryPrimitives.ReadUInt64LittleEndian(stripes.Slice(8)));
                acc3 = Round(acc3, BinaryPrimitives.ReadUInt64LittleEndian(stripes.Slice(16)));
                acc4 = Round(acc4, BinaryPrimitives.ReadUInt64LittleEndian(stripes.Slice(24)));
                stripes = stripes.Slice(StripeSize);
            }

            _acc1 = acc1;
            _acc2 = acc2;
            _acc3 = acc3;
            _acc4 = acc4;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong Round(ulong accumulator, ulong input) => unchecked(RotateLeft(accumulator + (input * Prime2), 31) * Prime1);

        private static ulong MergeRound(ulong accumulator, ulong value) => unchecked(((accumulator ^ Round(0, value)) * Prime1) + Prime4);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong RotateLeft(ulong value, int offset) => (value << offset) | (value >> (64 - offset));
    }
}
