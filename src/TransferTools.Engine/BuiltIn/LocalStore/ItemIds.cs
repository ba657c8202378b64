using System;
using System.Security.Cryptography;

namespace TransferTools.Engine.BuiltIn.LocalStore
{
    /// <summary>
    /// Item ids: 26-character ULIDs (48-bit millisecond time + 80 random bits, Crockford base32). They sort roughly by
    /// creation time, carry no content information (two items may share content), and are safe in paths and URIs.
    /// </summary>
    public static class ItemIds
    {
        private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

        /// <summary>A new id.</summary>
        public static string NewId() => NewId(DateTimeOffset.UtcNow);

        /// <summary>A new id for the time <paramref name="time"/>.</summary>
        public static string NewId(DateTimeOffset time)
        {
            var bytes = new byte[16];
            var ms = (ulong)Math.Max(0, time.ToUnixTimeMilliseconds());
            for (var i = 5; i >= 0; i--)
            {
                bytes[i] = (byte)(ms & 0xFF);
                ms >>= 8;
            }

            using (var rng = RandomNumberGenerator.Create())
            {
                var random = new byte[10];
                rng.GetBytes(random);
                Buffer.BlockCopy(random, 0, bytes, 6, 10);
            }

            // 128 bits as 26 base32 digits, most significant first (the first digit carries 3 bits).
            var chars = new char[26];
            var hi = ToUInt64(bytes, 0);
            var lo = ToUInt64(bytes, 8);
            for (var i = 25; i >= 0; i--)
            {
                chars[i] = Alphabet[(int)(lo & 31)];
                lo = (lo >> 5) | (hi << 59);
                hi >>= 5;
            }

            return new string(chars);
        }

        /// <summary>True when <paramref name="id"/> has the shape of an id this engine generates.</summary>
        public static bool IsWellFormed(string? id)
        {
            if (id is null || id.Length != 26 || id[0] > '7')
            {
                return false;
            }

            foreach (var c in id)
            {
                if (Alphabet.IndexOf(c) < 0)
                {
                    return false;
                }
            }

            return true;
        }

        private static ulong ToUInt64(byte[] b, int offset)
        {
            ulong v = 0;
            for (var i = 0; i < 8; i++)
            {
                v = (v << 8) | b[offset + i];
            }

            return v;
        }
    }
}
