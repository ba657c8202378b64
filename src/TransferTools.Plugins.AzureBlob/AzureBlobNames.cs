using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.AzureBlob
{
    /// <summary>
    /// How items map to blob names, chosen so that Azure's lexicographic listing order is the (Name, Id) order the
    /// storage API promises, and a name prefix is a blob-name prefix.
    /// </summary>
    /// <remarks>
    /// <para>Content blob: <c>items/ENC(name) ID</c>, where the separator is a space (U+0020) and ENC is a per-character
    /// code: space becomes <c>!0</c>, <c>!</c> becomes <c>!1</c>, every other character stays itself. Item names hold no
    /// control characters, so every encoded character is above the space; the code keeps character order and is
    /// prefix-free, so for any two items, comparing blob names compares (name, id), and <c>items/ENC(prefix)</c> lists
    /// exactly the names starting with the prefix. Names stay readable in the portal.</para>
    /// <para>Id pointer: <c>ids/ID</c>, an empty blob whose metadata holds the content blob's name, so an item is found
    /// by id with one request. Store writes the pointer first and the content blob last (committed atomically with its
    /// metadata); Delete removes the content first. An interrupted store or delete leaves at most a pointer without
    /// content, which is never listed and reads as not found.</para>
    /// </remarks>
    public static class AzureBlobNames
    {
        /// <summary>The folder of content blobs.</summary>
        public const string ItemsPrefix = "items/";

        /// <summary>The folder of id pointers.</summary>
        public const string IdsPrefix = "ids/";

        /// <summary>Azure's limit on a blob name.</summary>
        public const int MaxBlobNameLength = 1024;

        /// <summary>The content blob's name for an item.</summary>
        public static string ItemBlob(string name, string id) => ItemsPrefix + Encode(name) + " " + id;

        /// <summary>The listing prefix for a name prefix.</summary>
        public static string ListPrefix(string? prefix) => ItemsPrefix + Encode(prefix ?? "");

        /// <summary>The pointer blob's name for an id.</summary>
        public static string IdBlob(string id) => IdsPrefix + id;

        /// <summary>Splits a content blob's name into (name, id); null when it is not one.</summary>
        public static (string Name, string Id)? Parse(string blobName)
        {
            if (!blobName.StartsWith(ItemsPrefix, StringComparison.Ordinal))
            {
                return null;
            }

            var separator = blobName.LastIndexOf(' ');
            if (separator <= ItemsPrefix.Length - 1 || separator == blobName.Length - 1)
            {
                return null;
            }

            var encoded = blobName.Substring(ItemsPrefix.Length, separator - ItemsPrefix.Length);
            var decoded = Decode(encoded);
            return decoded is null ? null : (decoded, blobName.Substring(separator + 1));
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

        /// <summary>The blob metadata key for a custom metadata key: <c>x</c> + lower-case hex of its UTF-8 bytes
        /// (Azure metadata names must be C# identifiers and are case-insensitive).</summary>
        public static string MetadataKey(string key)
        {
            return "x" + Hex.ToLowerString(Encoding.UTF8.GetBytes(key));
        }

        /// <summary>The custom key for a blob metadata key, or null when it is not one.</summary>
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

        /// <summary>Reads custom metadata back from blob metadata.</summary>
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
