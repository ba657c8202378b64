namespace TransferTools.Abstractions
{
    /// <summary>Bytes as hexadecimal text, the way TransferTools writes digests (SHA-256) and keys.</summary>
    public static class Hex
    {
        private const string Digits = "0123456789abcdef";

        /// <summary>Two lower-case hex digits per byte, no separators: <c>{ 0x0A, 0xFF }</c> is <c>0aff</c>.</summary>
        public static string ToLowerString(byte[] bytes)
        {
            var chars = new char[bytes.Length * 2];
            for (var i = 0; i < bytes.Length; i++)
            {
                chars[2 * i] = Digits[bytes[i] >> 4];
                chars[2 * i + 1] = Digits[bytes[i] & 15];
            }

            return new string(chars);
        }
    }
}
