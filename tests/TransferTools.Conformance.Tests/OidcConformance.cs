using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Plugins.Oidc;
using Action = TransferTools.Abstractions.Action;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    /// <summary>The built-in Oidc auth against a real OpenID Provider (oidc-provider): a client-credentials sign-in
    /// limited to transfer.read, tokens validated against the provider's JWKS.</summary>
    [Collection(OidcProviderCollection.Name)]
    public class OidcConformance : AuthPluginConformance
    {
        private readonly OidcProviderFixture _provider;

        public OidcConformance(OidcProviderFixture provider) => _provider = provider;

        protected override IAuthPlugin CreatePlugin() => new OidcAuthPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) => new Dictionary<string, string>
        {
            ["Authority"] = _provider.Get("Issuer"),
            ["Audience"] = _provider.Get("Audience"),
        };

        protected override Task<AuthRequest> CreateValidRequestAsync() => Task.FromResult(new AuthRequest
        {
            Type = AuthType.ClientCredentials,
            Oidc = new OidcCredentials { ClientId = _provider.Get("ClientId"), ClientSecret = _provider.Get("ClientSecret"), Scope = "transfer.read" },
        });

        protected override (string Resource, Action Action)? DeniedAccess => ("storage/LocalStore/x", Action.Delete);

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["Audience"] = "transfertools" },
            new Dictionary<string, string> { ["Authority"] = _provider.Get("Issuer") },
            new Dictionary<string, string> { ["Authority"] = "http://idp.example.com", ["Audience"] = "transfertools" },
            new Dictionary<string, string> { ["Authority"] = _provider.Get("Issuer"), ["Audience"] = "transfertools", ["ActionMap"] = "transfer.read=fly" },
        };
    }
}
