using System;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.LocalUsers
{
    /// <summary>The claims inside a LocalUsers token.</summary>
    internal sealed class LocalTokenClaims
    {
        [JsonPropertyName("typ")] public string Type { get; set; } = "";
        [JsonPropertyName("iss")] public string Issuer { get; set; } = "";
        [JsonPropertyName("sub")] public string Subject { get; set; } = "";
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("sid")] public string SessionId { get; set; } = "";
        [JsonPropertyName("jti")] public string TokenId { get; set; } = "";
        [JsonPropertyName("iat")] public long IssuedAt { get; set; }
        [JsonPropertyName("exp")] public long ExpiresAt { get; set; }

        public DateTimeOffset Expires => DateTimeOffset.FromUnixTimeSeconds(ExpiresAt);
        public DateTimeOffset Issued => DateTimeOffset.FromUnixTimeSeconds(IssuedAt);
    }

    /// <summary>
    /// Signs and checks LocalUsers tokens: <c>ttl1.BASE64URL(claims JSON).BASE64URL(HMAC-SHA256)</c>. The key is
    /// per registration (256 bits, stored protected by <see cref="Security.SecretProtector"/>).
    /// </summary>
    internal sealed class LocalTokenCodec
    {
        public const string AccessType = "access";
        public const string RefreshType = "refresh";
        private const string Prefix = "ttl1.";
        private readonly byte[] _key;

        public LocalTokenCodec(byte[] key) => _key = key;

        public string Sign(LocalTokenClaims claims)
        {
            var body = Prefix + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
            return body + "." + Base64Url(Mac(body));
        }

        /// <summary>Checks format and signature (not expiry, type or revocation).</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.AuthenticationFailed"/> (ErrorId InvalidToken).</exception>
        public LocalTokenClaims Read(string token)
        {
            if (string.IsNullOrEmpty(token) || !token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 4096)
            {
                throw Invalid();
            }

            var dot = token.LastIndexOf('.');
            if (dot <= Prefix.Length)
            {
                throw Invalid();
            }

            var body = token.Substring(0, dot);
            byte[] mac;
            byte[] payload;
            try
            {
                mac = FromBase64Url(token.Substring(dot + 1));
                payload = FromBase64Url(body.Substring(Prefix.Length));
            }
            catch (FormatException)
            {
                throw Invalid();
            }

            if (!PasswordHasher.FixedTimeEquals(Mac(body), mac))
            {
                throw Invalid();
            }

            try
            {
                return JsonSerializer.Deserialize<LocalTokenClaims>(payload) ?? throw Invalid();
            }
            catch (JsonException)
            {
                throw Invalid();
            }
        }

        public static PluginException Invalid() => new PluginException(ErrorCode.AuthenticationFailed,
            "The token is not valid (malformed, altered, or issued by another registration). Run Connect-TransferService again.",
            errorId: "InvalidToken");

        private byte[] Mac(string body)
        {
            using var hmac = new HMACSHA256(_key);
            return hmac.ComputeHash(Encoding.ASCII.GetBytes(body));
        }

        private static string Base64Url(byte[] bytes) =>
            Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        private static byte[] FromBase64Url(string text)
        {
            var s = text.Replace('-', '+').Replace('_', '/');
            switch (s.Length % 4)
            {
                case 2: s += "=="; break;
                case 3: s += "="; break;
                case 1: throw new FormatException();
            }

            return Convert.FromBase64String(s);
        }
    }
}
