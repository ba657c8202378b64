using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace TransferTools.Abstractions
{
    /// <summary>
    /// A key layout for storage plugins over object stores (Azure Blob, S3 and the like) whose listing order is the
    /// binary order of the keys: with it, the store's own listing is the (Name, Id) order the storage API promises
    /// (<see cref="ListOrder"/>), and a name prefix is a key prefix.
    /// <para>Content object: <c>items/ENC(name) ID</c>, where the separator is a space (U+0020) and ENC is a per-character
    /// escape that keeps the order of names and makes the escaped names prefix-free, so for any two items, comparing keys
    /// compares (name, id), and <c>items/ENC(prefix)</c> lists exactly the names starting with the prefix. Names stay
    /// readable in the store's browser.</para>
    /// <para>Id pointer: <c>ids/ID</c>, an empty object whose metadata holds the content object's key, so an item is
    /// found by id with one request. A plugin writes the pointer first and the content object last, so a listing never
    /// shows an item that cannot be found by id.</para>
    /// <para>Custom metadata keys become <c>x</c> + the lower-case hex of their UTF-8 bytes (object stores restrict and
    /// lower-case metadata names); values are percent-encoded.</para>
    /// </summary>
    public static class ObjectStoreNames
    {
        /// <summary>The folder of content objects.</summary>
        public const string ItemsPrefix = "items/";

        /// <summary>The folder of id pointers.</summary>
        public const string IdsPrefix = "ids/";

        /// <summary>The content object's key for an item.</summary>
        public static string ItemKey(string name, string id) => ItemsPrefix + Encode(name) + " " + id;

        /// <summary>The listing prefix for a name prefix.</summary>
        public static string ListPrefix(string? prefix) => ItemsPrefix + Encode(prefix ?? "");

        /// <summary>The pointer object's key for an id.</summary>
        public static string IdKey(string id) => IdsPrefix + id;

        /// <summary>Splits a content object's key into (name, id); null when it is not one.</summary>
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

        /// <summary>The store's metadata key for a custom metadata key: <c>x</c> + lower-case hex of its UTF-8 bytes
        /// (Azure metadata names must be C# identifiers; S3 servers lower-case names and allow only header characters).</summary>
        public static string MetadataKey(string key)
        {
            return "x" + Hex.ToLowerString(Encoding.UTF8.GetBytes(key));
        }

        /// <summary>The custom key for a store metadata key, or null when it is not one.</summary>
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

        /// <summary>
        /// The store's metadata for an item's custom metadata (each key checked as the storage API requires, then
        /// <see cref="MetadataKey"/> and <see cref="EncodeValue"/>), and the encoded size of it all, which each store
        /// compares with its own limit. Reversed by <see cref="ReadCustom"/>.
        /// </summary>
        public static Dictionary<string, string> WriteCustom(IDictionary<string, string>? custom, out int encodedSize)
        {
            var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            encodedSize = 0;
            foreach (var pair in custom ?? new Dictionary<string, string>())
            {
                KeyValidation.RequireSafe(pair.Key, "metadata key", 128, allowSlash: true);
                var key = MetadataKey(pair.Key);
                var value = EncodeValue(pair.Value);
                encodedSize += key.Length + value.Length;
                metadata[key] = value;
            }

            return metadata;
        }

        /// <summary>Reads custom metadata back from the store's metadata.</summary>
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
