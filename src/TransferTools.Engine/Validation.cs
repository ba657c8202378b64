using System;
using System.Text.RegularExpressions;
using TransferTools.Abstractions;

namespace TransferTools.Engine
{
    /// <summary>Checks for names and ids that flow into paths, URIs or SQL parameters.</summary>
    public static class Validation
    {
        private static readonly Regex SafeName = new Regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant);

        /// <summary>True for a plugin or registration name: letters, digits, '.', '-', '_'; 1 to 64; not starting with '.'.</summary>
        public static bool IsSafeName(string? name) => name != null && SafeName.IsMatch(name) && name != "." && name != "..";

        /// <summary>Refuses an unsafe id, name or prefix; see <see cref="KeyValidation.RequireSafe"/>.</summary>
        public static string RequireSafeKey(string? value, string what, int maxLength = 1024, bool allowSlash = false) =>
            KeyValidation.RequireSafe(value, what, maxLength, allowSlash);

        /// <summary>The value with control characters escaped; see <see cref="KeyValidation.Printable"/>.</summary>
        public static string Printable(string? value) => KeyValidation.Printable(value);
    }
}
