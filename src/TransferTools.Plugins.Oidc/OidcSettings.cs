using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Plugins.Oidc
{
    /// <summary>The Oidc registration's configuration, parsed and checked.</summary>
    public sealed class OidcSettings
    {
        /// <summary>The default <see cref="ActionMap"/>: the <c>transfer.*</c> scopes and roles, and the LocalUsers role names.</summary>
        public const string DefaultActionMap =
            "transfer.read=read;transfer.write=write;transfer.delete=delete;transfer.admin=read,write,delete,admin;" +
            "transfer.reader=read;transfer.contributor=read,write;transfer.owner=read,write,delete;" +
            "Reader=read;Contributor=read,write;Owner=read,write,delete;Admin=read,write,delete,admin";

        /// <summary>The provider's issuer URL (discovery at <c>/.well-known/openid-configuration</c>).</summary>
        public Uri Authority { get; private set; } = new Uri("https://localhost");
        /// <summary>The default client id (device code flow, refresh, revocation).</summary>
        public string? ClientId { get; private set; }
        /// <summary>A secret for <see cref="ClientId"/> when it is a confidential client (stored protected).</summary>
        public string? ClientSecret { get; private set; }
        /// <summary>Scopes requested by default.</summary>
        public string Scope { get; private set; } = "openid offline_access transfer.read";
        /// <summary>The audience access tokens must carry.</summary>
        public string Audience { get; private set; } = "";
        /// <summary>An RFC 8707 resource indicator sent with token requests, or null.</summary>
        public string? Resource { get; private set; }
        /// <summary>The claim holding role names (default <c>roles</c>).</summary>
        public string RoleClaim { get; private set; } = "roles";
        /// <summary>Scope or role value → allowed actions.</summary>
        public IReadOnlyDictionary<string, Action[]> ActionMap { get; private set; } = new Dictionary<string, Action[]>();
        /// <summary>False permits http:// for a non-loopback authority (never do this outside a lab).</summary>
        public bool RequireHttps { get; private set; } = true;
        /// <summary>Client authentication at the token endpoint: <c>basic</c> (default) or <c>post</c>.</summary>
        public bool ClientSecretInBody { get; private set; }
        /// <summary>Allowed clock difference when checking expiry.</summary>
        public TimeSpan ClockSkew { get; private set; } = TimeSpan.FromSeconds(60);
        /// <summary>Limit on HTTP calls to the provider.</summary>
        public TimeSpan HttpTimeout { get; private set; } = TimeSpan.FromSeconds(30);

        /// <summary>Parses a registration's configuration.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.InvalidConfiguration"/>.</exception>
        public static OidcSettings Parse(IReadOnlyDictionary<string, string> config)
        {
            string? Get(string key) => config.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
            var s = new OidcSettings();
            var authority = Get("Authority") ?? throw Bad("Authority", "is required: the provider's issuer URL, e.g. https://login.example.com/realms/ops");
            if (!Uri.TryCreate(authority, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                throw Bad("Authority", $"must be an absolute http(s) URL, not '{authority}'");
            }

            s.RequireHttps = !string.Equals(Get("RequireHttps"), "false", StringComparison.OrdinalIgnoreCase);
            if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback && s.RequireHttps)
            {
                throw Bad("Authority", $"must use https ('{authority}' is http and not a loopback address); set RequireHttps = $false only in a lab");
            }

            s.Authority = uri;
            s.ClientId = Get("ClientId");
            s.ClientSecret = Get("ClientSecret");
            s.Scope = Get("Scope") ?? s.Scope;
            s.Audience = Get("Audience") ?? throw Bad("Audience", "is required: the audience ('aud') the provider puts in access tokens for TransferTools");
            s.Resource = Get("Resource");
            s.RoleClaim = Get("RoleClaim") ?? "roles";
            s.ClientSecretInBody = string.Equals(Get("ClientAuthentication"), "post", StringComparison.OrdinalIgnoreCase);
            if (Get("ClockSkewSeconds") is string skew)
            {
                s.ClockSkew = TimeSpan.FromSeconds(ParseInt("ClockSkewSeconds", skew, 0, 600));
            }

            if (Get("HttpTimeoutSeconds") is string timeout)
            {
                s.HttpTimeout = TimeSpan.FromSeconds(ParseInt("HttpTimeoutSeconds", timeout, 1, 600));
            }

            s.ActionMap = ParseActionMap(Get("ActionMap") ?? DefaultActionMap);
            return s;
        }

        /// <summary>Parses <c>name=action[,action];name=...</c>.</summary>
        public static IReadOnlyDictionary<string, Action[]> ParseActionMap(string text)
        {
            var map = new Dictionary<string, Action[]>(StringComparer.Ordinal);
            foreach (var entry in text.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var pair = entry.Split(new[] { '=' }, 2);
                if (pair.Length != 2 || pair[0].Trim().Length == 0)
                {
                    throw Bad("ActionMap", $"entry '{entry}' is not NAME=ACTION[,ACTION]");
                }

                var actions = new List<Action>();
                foreach (var word in pair[1].Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(w => w.Trim()))
                {
                    if (!Enum.TryParse<Action>(word, ignoreCase: true, out var action) || !Enum.IsDefined(typeof(Action), action))
                    {
                        throw Bad("ActionMap", $"'{word}' in entry '{entry}' is not an action (read, write, delete, admin)");
                    }

                    actions.Add(action);
                }

                map[pair[0].Trim()] = actions.Distinct().ToArray();
            }

            return map;
        }

        private static int ParseInt(string key, string text, int min, int max) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                ? v
                : throw Bad(key, $"must be a whole number from {min} to {max}");

        private static PluginException Bad(string key, string problem) => new PluginException(ErrorCode.InvalidConfiguration,
            $"The Oidc setting '{key}' {problem}.", errorId: "InvalidOidcSetting", target: key);
    }
}
