using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Engine.Auth
{
    /// <summary>The built-in roles and what each allows.</summary>
    public static class Roles
    {
        /// <summary>List and fetch.</summary>
        public const string Reader = "Reader";
        /// <summary>List, fetch, store and send.</summary>
        public const string Contributor = "Contributor";
        /// <summary>List, fetch, store, send and delete.</summary>
        public const string Owner = "Owner";
        /// <summary>Everything, including plugin and user administration.</summary>
        public const string Admin = "Admin";

        /// <summary>Every role name, weakest first.</summary>
        public static IReadOnlyList<string> All { get; } = new[] { Reader, Contributor, Owner, Admin };

        /// <summary>The actions a role allows (empty for an unknown role).</summary>
        public static IReadOnlyList<Action> ActionsOf(string role)
        {
            switch (Normalize(role))
            {
                case Reader: return new[] { Action.Read };
                case Contributor: return new[] { Action.Read, Action.Write };
                case Owner: return new[] { Action.Read, Action.Write, Action.Delete };
                case Admin: return new[] { Action.Read, Action.Write, Action.Delete, Action.Admin };
                default: return Array.Empty<Action>();
            }
        }

        /// <summary>The canonical spelling of a role name, or null when it is not a role.</summary>
        public static string? Normalize(string? role) =>
            All.FirstOrDefault(r => string.Equals(r, role?.Trim(), StringComparison.OrdinalIgnoreCase));

        /// <summary>True when any of <paramref name="roles"/> allows <paramref name="action"/>.</summary>
        public static bool Allow(IEnumerable<string> roles, Action action) => roles.Any(r => ActionsOf(r).Contains(action));
    }

    /// <summary>
    /// Resource scopes: patterns that limit a user to part of the resource space (<c>storage/LocalStore/reports/</c>,
    /// <c>transfer/sftp://backup.example.com/*</c>). <c>*</c> matches any run of characters (including '/'), <c>?</c> one
    /// character; a pattern ending in '/' matches everything under it; otherwise the whole resource must match.
    /// </summary>
    public static class ResourceScopes
    {
        /// <summary>The resource kinds the engine authorizes (first segment of a resource name).</summary>
        public static IReadOnlyList<string> Kinds { get; } = new[] { "storage", "transfer", "plugins", "users", "metrics" };

        /// <summary>Checks a scope pattern and returns it trimmed.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidArgument"/> for an unknown kind, control characters or traversal.</exception>
        public static string Validate(string scope)
        {
            var s = (scope ?? "").Trim();
            var kind = s.Split('/')[0];
            if (!Kinds.Contains(kind, StringComparer.OrdinalIgnoreCase) || s.Length <= kind.Length + 1 && !s.EndsWith("/", StringComparison.Ordinal))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"The scope '{Validation.Printable(scope)}' must start with one of {string.Join(", ", Kinds.Select(k => k + "/"))} (e.g. 'storage/LocalStore/reports/' or 'transfer/sftp://host/in/*').",
                    errorId: "InvalidScope", target: scope);
            }

            if (HasTraversal(s) || s.Any(char.IsControl) || s.Length > 1024)
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"The scope '{Validation.Printable(scope)}' contains control characters, '..' or '.' segments, or is too long.",
                    errorId: "InvalidScope", target: scope);
            }

            return s;
        }

        /// <summary>True when <paramref name="resource"/> lies within at least one scope (always true with no scopes).</summary>
        /// <remarks>A resource with '.' or '..' segments, a backslash or a control character never matches a scope, so a
        /// scoped user cannot climb out of a prefix.</remarks>
        public static bool Permits(IReadOnlyCollection<string> scopes, string resource)
        {
            if (scopes.Count == 0)
            {
                return true;
            }

            if (string.IsNullOrEmpty(resource) || HasTraversal(resource) || resource.Any(char.IsControl))
            {
                return false;
            }

            var canonical = Canonical(resource);
            return scopes.Any(s => Matches(Canonical(s), canonical));
        }

        /// <summary>True when a resource name has '.', '..' segments (separated by '/' or '\') or a backslash.</summary>
        public static bool HasTraversal(string resource)
        {
            if (resource.IndexOf('\\') >= 0)
            {
                return true;
            }

            // Decoded forms too: a destination URI may carry %2e%2e.
            var decoded = resource;
            try
            {
                decoded = Uri.UnescapeDataString(resource);
            }
            catch (UriFormatException)
            {
            }

            foreach (var candidate in new[] { resource, decoded })
            {
                if (candidate.IndexOf('\\') >= 0)
                {
                    return true;
                }

                foreach (var segment in candidate.Split('/'))
                {
                    if (segment == "." || segment == "..")
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        private static bool Matches(string pattern, string resource)
        {
            if (pattern.IndexOf('*') < 0 && pattern.IndexOf('?') < 0)
            {
                return pattern.EndsWith("/", StringComparison.Ordinal)
                    ? resource.StartsWith(pattern, StringComparison.Ordinal) || resource + "/" == pattern
                    : string.Equals(pattern, resource, StringComparison.Ordinal);
            }

            var regex = new StringBuilder("^");
            foreach (var c in pattern)
            {
                regex.Append(c == '*' ? ".*" : c == '?' ? "." : Regex.Escape(c.ToString()));
            }

            if (pattern.EndsWith("/", StringComparison.Ordinal))
            {
                regex.Append(".*");
            }

            return Regex.IsMatch(resource, regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
        }

        /// <summary>Kind and, for named kinds, the registration or user name compare case-insensitively; the rest exactly.</summary>
        private static string Canonical(string value)
        {
            var parts = value.Split(new[] { '/' }, 3);
            parts[0] = parts[0].ToLowerInvariant();
            if (parts.Length > 1 && parts[0] != "transfer")
            {
                parts[1] = parts[1].ToLowerInvariant();
            }

            return string.Join("/", parts);
        }
    }
}
