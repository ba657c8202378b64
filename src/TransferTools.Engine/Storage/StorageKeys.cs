using System;
using System.Collections.Generic;
using System.Text;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Storage
{
    /// <summary>Helpers for names, prefixes and metadata shared by the storage plugins and the storage endpoint.</summary>
    public static class StorageKeys
    {
        /// <summary>The longest item name accepted.</summary>
        public const int MaxNameLength = 1024;

        /// <summary>The longest id accepted anywhere (ids longer than this are refused before any lookup).</summary>
        public const int MaxIdLength = 256;

        /// <summary>Refuses a bad item id with <see cref="ErrorCode.InvalidArgument"/> (ErrorId <c>InvalidItemId</c>).</summary>
        public static string RequireId(string? id) => Validation.RequireSafeKey(id, "item id", MaxIdLength);

        /// <summary>Refuses a bad item name with <see cref="ErrorCode.InvalidArgument"/> (ErrorId <c>InvalidItemName</c>).</summary>
        public static string RequireName(string? name) => Validation.RequireSafeKey(name, "item name", MaxNameLength, allowSlash: true);

        /// <summary>Refuses a bad prefix (null and empty are fine: no prefix).</summary>
        public static string RequirePrefix(string? prefix) =>
            string.IsNullOrEmpty(prefix) ? "" : Validation.RequireSafeKey(prefix, "prefix", MaxNameLength, allowSlash: true);

        /// <summary>Refuses custom metadata with empty, over-long or control-character keys, or over-long values.</summary>
        public static void RequireCustomMetadata(IDictionary<string, string>? custom)
        {
            if (custom is null)
            {
                return;
            }

            var total = 0;
            foreach (var pair in custom)
            {
                if (string.IsNullOrEmpty(pair.Key) || pair.Key.Length > 128 || HasControl(pair.Key))
                {
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"The metadata key '{Validation.Printable(pair.Key)}' is not accepted: use 1 to 128 printable characters.",
                        errorId: "InvalidMetadataKey", target: pair.Key);
                }

                total += pair.Key.Length + (pair.Value?.Length ?? 0);
            }

            if (total > 4096)
            {
                throw new PluginException(ErrorCode.LimitExceeded,
                    $"Custom metadata is limited to 4096 characters of keys and values together (got {total}).",
                    errorId: "MetadataTooLarge", target: total);
            }
        }

        /// <summary>Refuses a MIME type that is over-long or has control characters.</summary>
        public static string RequireMimeType(string? mimeType)
        {
            if (string.IsNullOrEmpty(mimeType))
            {
                return "application/octet-stream";
            }

            if (mimeType!.Length > 255 || HasControl(mimeType) || mimeType.IndexOf('/') <= 0)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{Validation.Printable(mimeType)}' is not a MIME type (type/subtype).",
                    errorId: "InvalidMimeType", target: mimeType);
            }

            return mimeType;
        }

        /// <summary>
        /// The smallest string greater than every string that starts with <paramref name="prefix"/>, in code point order
        /// (the order of UTF-8 bytes, which SQLite's BINARY collation uses); null when there is none.
        /// </summary>
        /// <remarks>So <c>name &gt;= prefix AND name &lt; upper</c> selects exactly the names with that prefix, on an index.</remarks>
        public static string? PrefixUpperBound(string prefix)
        {
            var codePoints = new List<int>();
            for (var i = 0; i < prefix.Length; i++)
            {
                if (char.IsHighSurrogate(prefix[i]) && i + 1 < prefix.Length && char.IsLowSurrogate(prefix[i + 1]))
                {
                    codePoints.Add(char.ConvertToUtf32(prefix[i], prefix[i + 1]));
                    i++;
                }
                else
                {
                    codePoints.Add(prefix[i]);
                }
            }

            while (codePoints.Count > 0)
            {
                var last = codePoints[codePoints.Count - 1];
                codePoints.RemoveAt(codePoints.Count - 1);
                if (last >= 0x10FFFF)
                {
                    continue;
                }

                var next = last + 1;
                if (next >= 0xD800 && next <= 0xDFFF)
                {
                    next = 0xE000;
                }

                codePoints.Add(next);
                var sb = new StringBuilder();
                foreach (var cp in codePoints)
                {
                    sb.Append(char.ConvertFromUtf32(cp));
                }

                return sb.ToString();
            }

            return null;
        }

        private static bool HasControl(string value)
        {
            foreach (var c in value)
            {
                if (char.IsControl(c))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
