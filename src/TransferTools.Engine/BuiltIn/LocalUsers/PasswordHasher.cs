using System;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace TransferTools.Engine.BuiltIn.LocalUsers
{
    /// <summary>
    /// Salted, slow password hashes: PBKDF2 with HMAC-SHA256 (RFC 8018), stored as
    /// <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (base64 parts).
    /// </summary>
    /// <remarks>
    /// netstandard2.0 has no SHA-256 PBKDF2, so the runtime's <c>Rfc2898DeriveBytes.Pbkdf2</c> (.NET 6+, native and fast)
    /// is found by reflection; on older runtimes (Windows PowerShell 5.1) a managed implementation over
    /// <see cref="HMACSHA256"/> computes the same bytes (both are checked against RFC 7914's vectors in the tests).
    /// </remarks>
    public static class PasswordHasher
    {
        /// <summary>The fewest iterations accepted (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).</summary>
        public const int MinimumIterations = 600_000;

        private const string Scheme = "pbkdf2-sha256";
        private const int SaltBytes = 16;
        private const int HashBytes = 32;

        private static readonly Func<byte[], byte[], int, int, byte[]>? NativePbkdf2 = FindNative();

        /// <summary>True when the runtime's native PBKDF2 is used (false: the managed fallback).</summary>
        public static bool UsesNativeImplementation => NativePbkdf2 != null;

        /// <summary>Hashes <paramref name="password"/> with a new random salt.</summary>
        public static string Hash(string password, int iterations = MinimumIterations)
        {
            if (iterations < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(iterations));
            }

            var salt = new byte[SaltBytes];
            using (var rng = RandomNumberGenerator.Create())
            {
                rng.GetBytes(salt);
            }

            var hash = Derive(Encoding.UTF8.GetBytes(password), salt, iterations, HashBytes);
            return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
        }

        /// <summary>Checks <paramref name="password"/> against a stored hash, comparing in constant time.</summary>
        /// <returns>False for a wrong password or a malformed stored hash.</returns>
        public static bool Verify(string password, string stored)
        {
            if (!TryParse(stored, out var iterations, out var salt, out var expected))
            {
                return false;
            }

            var actual = Derive(Encoding.UTF8.GetBytes(password), salt, iterations, expected.Length);
            return FixedTimeEquals(actual, expected);
        }

        /// <summary>The iteration count of a stored hash, or 0 when it is malformed.</summary>
        public static int IterationsOf(string stored) => TryParse(stored, out var iterations, out _, out _) ? iterations : 0;

        /// <summary>PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2).</summary>
        public static byte[] Derive(byte[] password, byte[] salt, int iterations, int length) =>
            NativePbkdf2 != null ? NativePbkdf2(password, salt, iterations, length) : DeriveManaged(password, salt, iterations, length);

        /// <summary>The managed PBKDF2-HMAC-SHA256, used where the runtime has no native one.</summary>
        public static byte[] DeriveManaged(byte[] password, byte[] salt, int iterations, int length)
        {
            var result = new byte[length];
            using var hmac = new HMACSHA256(password);
            var block = new byte[salt.Length + 4];
            Buffer.BlockCopy(salt, 0, block, 0, salt.Length);
            var offset = 0;
            for (uint index = 1; offset < length; index++)
            {
                block[salt.Length] = (byte)(index >> 24);
                block[salt.Length + 1] = (byte)(index >> 16);
                block[salt.Length + 2] = (byte)(index >> 8);
                block[salt.Length + 3] = (byte)index;
                var u = hmac.ComputeHash(block);
                var t = (byte[])u.Clone();
                for (var i = 1; i < iterations; i++)
                {
                    u = hmac.ComputeHash(u);
                    for (var j = 0; j < t.Length; j++)
                    {
                        t[j] ^= u[j];
                    }
                }

                var take = Math.Min(t.Length, length - offset);
                Buffer.BlockCopy(t, 0, result, offset, take);
                offset += take;
            }

            return result;
        }

        /// <summary>Compares two byte arrays in time that depends only on their length.</summary>
        public static bool FixedTimeEquals(byte[] a, byte[] b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }

            var diff = 0;
            for (var i = 0; i < a.Length; i++)
            {
                diff |= a[i] ^ b[i];
            }

            return diff == 0;
        }

        private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
        {
            iterations = 0;
            salt = hash = Array.Empty<byte>();
            var parts = (stored ?? "").Split('$');
            if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], out iterations) || iterations < 1)
            {
                return false;
            }

            try
            {
                salt = Convert.FromBase64String(parts[2]);
                hash = Convert.FromBase64String(parts[3]);
            }
            catch (FormatException)
            {
                return false;
            }

            return salt.Length > 0 && hash.Length > 0;
        }

        private static Func<byte[], byte[], int, int, byte[]>? FindNative()
        {
            // static byte[] Rfc2898DeriveBytes.Pbkdf2(byte[] password, byte[] salt, int iterations, HashAlgorithmName, int outputLength)
            var method = typeof(Rfc2898DeriveBytes).GetMethod("Pbkdf2", BindingFlags.Public | BindingFlags.Static, null,
                new[] { typeof(byte[]), typeof(byte[]), typeof(int), typeof(HashAlgorithmName), typeof(int) }, null);
            if (method is null || method.ReturnType != typeof(byte[]))
            {
                return null;
            }

            return (password, salt, iterations, length) =>
            {
                try
                {
                    return (byte[])method.Invoke(null, new object[] { password, salt, iterations, HashAlgorithmName.SHA256, length })!;
                }
                catch (TargetInvocationException e) when (e.InnerException != null)
                {
                    throw e.InnerException;
                }
            };
        }
    }
}
