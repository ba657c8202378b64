using System.Globalization;

namespace TransferTools.Formatting
{
    /// <summary>Sizes and rates in binary units for the default views, so every table shows them alike.</summary>
    public static class ByteSize
    {
        private static readonly string[] Units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };

        /// <summary><c>512 B</c>, <c>1.5 KiB</c>, <c>256 MiB</c>, <c>1.02 GiB</c>; <c>?</c> for a negative (unknown) size.</summary>
        public static string Format(double bytes)
        {
            if (bytes < 0 || double.IsNaN(bytes))
            {
                return "?";
            }

            var unit = 0;
            while (bytes >= 1024 && unit < Units.Length - 1)
            {
                bytes /= 1024;
                unit++;
            }

            var pattern = unit == 0 ? "0" : unit >= 3 ? "0.##" : "0.#";
            return bytes.ToString(pattern, CultureInfo.CurrentCulture) + " " + Units[unit];
        }

        /// <summary>A rate such as <c>75.2 MiB/s</c>; empty when there is none.</summary>
        public static string FormatRate(double bytesPerSecond) =>
            bytesPerSecond > 0 && !double.IsInfinity(bytesPerSecond) ? Format(bytesPerSecond) + "/s" : "";
    }
}
