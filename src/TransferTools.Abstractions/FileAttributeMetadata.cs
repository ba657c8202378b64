using System;
using System.Collections.Generic;
using System.Globalization;

namespace TransferTools.Abstractions
{
    /// <summary>
    /// How an object store keeps a file's modification time and POSIX permission bits in an item's metadata, so that a
    /// file sent to a store and received back gets both again (as <c>cp -p</c> would), and a folder sync can compare
    /// by the file's own time instead of the upload's. The format is rclone's (<c>mtime</c>: Unix seconds with a
    /// nine-digit fraction; <c>mode</c>: octal with the regular-file bits, e.g. <c>100600</c>), so either tool reads
    /// the other's.
    /// </summary>
    public static class FileAttributeMetadata
    {
        /// <summary>The metadata key of the modification time.</summary>
        public const string TimeKey = "mtime";

        /// <summary>The metadata key of the permission bits.</summary>
        public const string ModeKey = "mode";

        private const int RegularFile = 0x8000; // S_IFREG, 0100000

        /// <summary>A time as <see cref="TimeKey"/> holds it.</summary>
        public static string FormatTime(DateTimeOffset time)
        {
            var ticks = time.UtcTicks - DateTimeOffset.FromUnixTimeSeconds(0).UtcTicks;
            var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
            if (rest < 0)
            {
                // Before 1970: a negative whole second and a positive fraction, as rclone writes them.
                seconds--;
                rest += TimeSpan.TicksPerSecond;
            }

            return seconds.ToString(CultureInfo.InvariantCulture) + "." + (rest * 100).ToString("D9", CultureInfo.InvariantCulture);
        }

        /// <summary>Reads <see cref="TimeKey"/>'s value (Unix seconds, an optional fraction); null when it is not one.</summary>
        public static DateTimeOffset? ParseTime(string? value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return null;
            }

            var text = value!.Trim();
            var dot = text.IndexOf('.');
            var whole = dot < 0 ? text : text.Substring(0, dot);
            var fraction = dot < 0 ? "" : text.Substring(dot + 1);
            if (!long.TryParse(whole, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
                || seconds < -62135596800L || seconds > 253402300799L || fraction.Length > 9 || !IsDigits(fraction))
            {
                return null;
            }

            var ticks = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0'), CultureInfo.InvariantCulture) / 100;
            return DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(ticks);
        }

        /// <summary>Permission bits (<c>mode &amp; 0o7777</c>) as <see cref="ModeKey"/> holds them.</summary>
        public static string FormatMode(int mode) => Convert.ToString(RegularFile | (mode & 0xFFF), 8);

        /// <summary>Reads <see cref="ModeKey"/>'s value (octal) as permission bits; null when it is not one.</summary>
        public static int? ParseMode(string? value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return null;
            }

            var text = value!.Trim();
            if (text.Length > 7 || !IsDigits(text) || text.IndexOf('8') >= 0 || text.IndexOf('9') >= 0)
            {
                return null;
            }

            return Convert.ToInt32(text, 8) & 0xFFF;
        }

        /// <summary>
        /// Adds the time and mode to <paramref name="metadata"/> (a null value is left out), as a store's upload does with
        /// <see cref="TransferOptions.SourceModified"/> and <see cref="TransferOptions.SourceMode"/>.
        /// </summary>
        public static void Add(IDictionary<string, string> metadata, DateTimeOffset? modified, int? mode)
        {
            if (modified.HasValue)
            {
                metadata[TimeKey] = FormatTime(modified.Value);
            }

            if (mode.HasValue)
            {
                metadata[ModeKey] = FormatMode(mode.Value);
            }
        }

        /// <summary>The time and mode <paramref name="metadata"/> holds, each null when absent or unreadable.</summary>
        public static (DateTimeOffset? Modified, int? Mode) Read(IDictionary<string, string>? metadata)
        {
            if (metadata is null)
            {
                return (null, null);
            }

            metadata.TryGetValue(TimeKey, out var time);
            metadata.TryGetValue(ModeKey, out var mode);
            return (ParseTime(time), ParseMode(mode));
        }

        private static bool IsDigits(string text)
        {
            foreach (var c in text)
            {
                if (c < '0' || c > '9')
                {
                    return false;
                }
            }

            return true;
        }
    }
}
