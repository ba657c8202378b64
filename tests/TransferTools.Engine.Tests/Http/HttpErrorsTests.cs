using System;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Xunit;
using TransferTools.Engine.BuiltIn.Http;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>What a refused server certificate is said to be wrong with (the untrusted CA and the other name are
    /// covered end to end against nginx in Http.Tests.ps1).</summary>
    public sealed class HttpErrorsTests
    {
        private static readonly Uri Server = new Uri("https://files.example.org/a.bin");

        [Fact]
        public void An_expired_self_signed_certificate_is_called_expired_and_untrusted_and_identified()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=files.example.org", key, HashAlgorithmName.SHA256);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
            using var chain = new X509Chain();
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            Assert.False(chain.Build(certificate));

            var text = HttpErrors.DescribeRefusal(Server, certificate, chain, SslPolicyErrors.RemoteCertificateChainErrors);

            Assert.Contains("expired or is not valid yet", text);
            Assert.Contains("not signed by a certificate authority this machine trusts", text);
            Assert.Contains("'CN=files.example.org'", text);
            Assert.Contains(Convert.ToHexString(SHA256.HashData(certificate.RawData)), text);
            Assert.DoesNotContain("not issued for", text);
        }

        [Fact]
        public void A_missing_certificate_and_another_name_are_said_as_such()
        {
            Assert.Equal("the server sent no certificate",
                HttpErrors.DescribeRefusal(Server, null, null, SslPolicyErrors.RemoteCertificateNotAvailable));
            Assert.StartsWith("it is not issued for 'files.example.org'",
                HttpErrors.DescribeRefusal(Server, null, null, SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.Equal("its chain does not validate (no detail)",
                HttpErrors.DescribeRefusal(Server, null, null, SslPolicyErrors.RemoteCertificateChainErrors));
        }
    }
}
