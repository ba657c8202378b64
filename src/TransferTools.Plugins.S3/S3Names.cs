using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// How items map to S3 keys (under the registration's prefix), chosen so that S3's UTF-8 binary listing order is the (Name, Id) order the
    /// storage API promises, and a name prefix is a key prefix.
    /// </summary>
    /// <remarks>
    /// <para>Content object: <c>items/ENC(name) ID</c>, where the separator is a space (U+0020) and ENC is a per-character
    /// code: space becomes <c>!0</c>, <c>!</c> becomes <c>!1</c>, every other character stays itself. Item names hold no
    /// control characters, so every encoded character is above the space; the code keeps character order and is
    /// prefix-free, so for any two items, comparing keys compares (name, id), and <c>items/ENC(prefix)</c> lists
    /// exactly the names starting with the prefix. Names stay readable in any S3 browser.</para>
    /// <para>Id pointer: <c>ids/ID</c>, an empty object whose x-amz-meta-ttkey holds the content key, so an item is found
    /// by id with one request. Store writes the pointer first and the content object last (one PUT or a completed multipart upload, with its
    /// metadata); Delete removes the content first. An interrupted store or delete leaves at most a pointer without
    /// content, which is never listed and reads as not found.</para>
    /// </remarks>
    internal static class S3Names
    {
        /// <summary>The folder of content objects.</summary>
        public const string ItemsPrefix = "items/";

        /// <summary>The folder of id pointers.</summary>
        public const string IdsPrefix = "ids/";

        /// <summary>S3's limit on a key (UTF-8 bytes).</summary>
        public const int MaxKeyLength = 1024;

        /// <summary>The content key for an item.</summary>
        public static string ItemKey(string name, string id) => ItemsPrefix + Encode(name) + " " + id;

        /// <summary>The listing prefix for a name prefix.</summary>
        public static string ListPrefix(string? prefix) => ItemsPrefix + Encode(prefix ?? "");

        /// <summary>The pointer key for an id.</summary>
        public static string IdKey(string id) => IdsPrefix + id;

        /// <summary>Splits a content key into (name, id); null when it is not one.</summary>
        public static (string Name, string Id)? Parse(string key)
        {
            if (!key.StartsWith(ItemsPrefix, StringComparison.Ordinal))
            {
                return null;
            }

            var separator = key.LastIndexOf(' ');
            if (separator <= ItemsPrefix.Length - 1 || separator == key.Length - 1)
            {
                return null;
            }

            var encoded = key.Substring(ItemsPrefix.Length, separator - ItemsPrefix.Length);
            var decoded = Decode(encoded);
            return decoded is null ? null : (decoded, key.Substring(separator + 1));
        }

        /// <summary>Encodes a name (see the class remarks).</summary>
        public static string Encode(string name)
        {
            var sb = new StringBuilder(name.Length + 8);
            foreach (var c in name)
            {
                switch (c)
                {
                    case ' ':
                        sb.Append("!0");
                        break;
                    case '!':
                        sb.Append("!1");
                        break;
                    default:
                        sb.Append(c);
                        break;
                }
            }

            return sb.ToString();
        }

        /// <summary>Decodes a name; null when the text is not an encoded name.</summary>
        public static string? Decode(string encoded)
        {
            var sb = new StringBuilder(encoded.Length);
            for (var i = 0; i < encoded.Length; i++)
            {
                var c = encoded[i];
                if (c != '!')
                {
                    sb.Append(c);
                    continue;
                }

                if (i + 1 >= encoded.Length)
                {
                    return null;
                }

                var next = encoded[++i];
                if (next == '0')
                {
                    sb.Append(' ');
                }
                else if (next == '1')
                {
                    sb.Append('!');
                }
                else
                {
                    return null;
                }
            }

            return sb.ToString();
        }

        /// <summary>The S3 metadata key for a custom metadata key: <c>x</c> + lower-case hex of its UTF-8 bytes
        /// (S3 servers lower-case metadata names and allow only header characters).</summary>
        public static string MetadataKey(string key)
        {
            var bytes = Encoding.UTF8.GetBytes(key);
            var sb = new StringBuilder(1 + bytes.Length * 2).Append('x');
            foreach (var b in bytes)
            {
                sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            }

            return sb.ToString();
        }

        /// <summary>The custom key for an S3 metadata key, or null when it is not one.</summary>
        public static string? CustomKey(string metadataKey)
        {
            if (metadataKey.Length < 3 || (metadataKey[0] != 'x' && metadataKey[0] != 'X') || metadataKey.Length % 2 == 0)
            {
                return null;
            }

            var bytes = new byte[(metadataKey.Length - 1) / 2];
            for (var i = 0; i < bytes.Length; i++)
            {
                if (!byte.TryParse(metadataKey.Substring(1 + 2 * i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out bytes[i]))
                {
                    return null;
                }
            }

            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>A metadata value as ASCII (HTTP header safe): percent-encoded UTF-8.</summary>
        public static string EncodeValue(string value) => Uri.EscapeDataString(value ?? "");

        /// <summary>Reverses <see cref="EncodeValue"/>.</summary>
        public static string DecodeValue(string value) => Uri.UnescapeDataString(value ?? "");

        /// <summary>Reads custom metadata back from S3 metadata.</summary>
        public static IDictionary<string, string> ReadCustom(IDictionary<string, string>? metadata)
        {
            var custom = new Dictionary<string, string>(StringComparer.Ordinal);
            if (metadata is null)
            {
                return custom;
            }

            foreach (var pair in metadata)
            {
                var key = CustomKey(pair.Key);
                if (key != null)
                {
                    custom[key] = DecodeValue(pair.Value);
                }
            }

            return custom;
        }
    }
}
