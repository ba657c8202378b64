using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Security
{
    /// <summary>Protects secrets (client secrets, connection strings, passphrases) that must be stored on disk.</summary>
    /// <remarks>
    /// A per-user 256-bit key in <c>HOME/keys/secret.key</c>, readable only by its owner (0600 on Unix; on Windows the
    /// profile folder's ACL), encrypts each value with AES-256-CBC and authenticates it with HMAC-SHA256
    /// (encrypt-then-MAC). Protected values look like <c>tt1:BASE64</c>. Someone who can read the user's files can
    /// read the key: this keeps secrets out of plain text, backups of the registry and screen shares, as
    /// SecretManagement's local vault does; it is not a defence against the user's own account.
    /// </remarks>
    public sealed class SecretProtector
    {
        private const string Prefix = "tt1:";
        private readonly string _keyPath;
        private byte[]? _key;

        /// <summary>Creates a protector whose key lives under <paramref name="homeDirectory"/>.</summary>
        public SecretProtector(string homeDirectory)
        {
            _keyPath = Path.Combine(homeDirectory, "keys", "secret.key");
        }

        /// <summary>True when <paramref name="value"/> is in protected form.</summary>
        public static bool IsProtected(string? value) => value != null && value.StartsWith(Prefix, StringComparison.Ordinal);

        /// <summary>Encrypts <paramref name="plainText"/>.</summary>
        public string Protect(string plainText)
        {
            var key = Key();
            using var aes = Aes.Create();
            aes.Key = Slice(key, 0);
            aes.GenerateIV();
            byte[] cipher;
            using (var encryptor = aes.CreateEncryptor())
            {
                var plain = Encoding.UTF8.GetBytes(plainText);
                cipher = encryptor.TransformFinalBlock(plain, 0, plain.Length);
            }

            var body = new byte[16 + cipher.Length];
            Buffer.BlockCopy(aes.IV, 0, body, 0, 16);
            Buffer.BlockCopy(cipher, 0, body, 16, cipher.Length);
            using var hmac = new HMACSHA256(Slice(key, 32));
            var mac = hmac.ComputeHash(body);
            var all = new byte[body.Length + mac.Length];
            Buffer.BlockCopy(body, 0, all, 0, body.Length);
            Buffer.BlockCopy(mac, 0, all, body.Length, mac.Length);
            return Prefix + Convert.ToBase64String(all);
        }

        /// <summary>Decrypts a value made by <see cref="Protect"/>.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.SecurityError"/> when the value was altered or the key changed.</exception>
        public string Unprotect(string protectedValue)
        {
            if (!IsProtected(protectedValue))
            {
                throw new PluginException(ErrorCode.InvalidArgument, "The value is not a protected secret.", errorId: "SecretNotProtected");
            }

            byte[] all;
            try
            {
                all = Convert.FromBase64String(protectedValue.Substring(Prefix.Length));
            }
            catch (FormatException e)
            {
                throw Tampered(e);
            }

            if (all.Length < 16 + 16 + 32)
            {
                throw Tampered(null);
            }

            var key = Key();
            var bodyLength = all.Length - 32;
            using (var hmac = new HMACSHA256(Slice(key, 32)))
            {
                var mac = hmac.ComputeHash(all, 0, bodyLength);
                var diff = 0;
                for (var i = 0; i < 32; i++)
                {
                    diff |= mac[i] ^ all[bodyLength + i];
                }

                if (diff != 0)
                {
                    throw Tampered(null);
                }
            }

            using var aes = Aes.Create();
            aes.Key = Slice(key, 0);
            var iv = new byte[16];
            Buffer.BlockCopy(all, 0, iv, 0, 16);
            aes.IV = iv;
            using var decryptor = aes.CreateDecryptor();
            var plain = decryptor.TransformFinalBlock(all, 16, bodyLength - 16);
            return Encoding.UTF8.GetString(plain);
        }

        private static PluginException Tampered(Exception? cause) => new PluginException(ErrorCode.SecurityError,
            "A protected secret could not be decrypted: it was altered, or the key file under the TransferTools home changed. Register the plugin again.",
            cause, "SecretUnreadable");

        private static byte[] Slice(byte[] key, int offset)
        {
            var part = new byte[32];
            Buffer.BlockCopy(key, offset, part, 0, 32);
            return part;
        }

        private byte[] Key()
        {
            if (_key != null)
            {
                return _key;
            }

            var directory = Path.GetDirectoryName(_keyPath)!;
            TransferToolsHome.EnsurePrivateDirectory(directory);
            using (AtomicFile.Lock(_keyPath + ".lock", TimeSpan.FromSeconds(10)))
            {
                if (!File.Exists(_keyPath))
                {
                    var fresh = new byte[64];
                    using (var rng = RandomNumberGenerator.Create())
                    {
                        rng.GetBytes(fresh);
                    }

                    AtomicFile.WriteAllText(_keyPath, Convert.ToBase64String(fresh), ownerOnly: true);
                }

                _key = Convert.FromBase64String(File.ReadAllText(_keyPath).Trim());
            }

            if (_key.Length != 64)
            {
                throw new PluginException(ErrorCode.SecurityError, $"The key file '{_keyPath}' is damaged.", errorId: "SecretKeyDamaged");
            }

            return _key;
        }
    }
}
