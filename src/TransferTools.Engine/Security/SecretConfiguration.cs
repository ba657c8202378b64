using System;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Security
{
    /// <summary>Which configuration values of a registration are stored protected (<see cref="SecretProtector"/>).</summary>
    public static class SecretConfiguration
    {
        /// <summary>
        /// True when the value under <paramref name="configurationKey"/> must be stored protected: the plugin declares the
        /// key secret (<see cref="PluginDeclaration.SecretKeys"/>), or, as a safety net, its name reads like a secret.
        /// </summary>
        /// <remarks>
        /// The declaration is what makes a key secret; the name rule can only add protection, never remove it, so a key
        /// a plugin forgot to declare, or a plugin built before declarations existed, still never reaches the disk in
        /// plain text. Values protected once stay readable whatever either says later: the registry keeps them apart
        /// (<see cref="PluginRegistration.ProtectedConfiguration"/>) and they are unprotected by where they are stored.
        /// </remarks>
        public static bool IsSecret(PluginDeclaration? declaration, string configurationKey) =>
            declaration?.IsSecret(configurationKey) == true || LooksSecret(configurationKey);

        /// <summary>True when a key's name reads like a secret (secret, password, key, token, connection string, SAS,
        /// passphrase, credential, headers).</summary>
        public static bool LooksSecret(string configurationKey)
        {
            var k = configurationKey.ToLowerInvariant();
            return k.Contains("secret") || k.Contains("password") || k.Contains("passphrase") || k.Contains("token")
                || k.Contains("connectionstring") || k == "sas" || k.EndsWith("key", StringComparison.Ordinal)
                || k.Contains("apikey") || k.Contains("credential") || k.Contains("headers");
        }
    }
}
