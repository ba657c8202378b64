using System;
using System.Collections.Generic;
using System.Net;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Plugins.Sftp;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    /// <summary>The built-in Sftp protocol against a real OpenSSH sshd, in a folder of its own under the user's home.</summary>
    [Collection(SshdCollection.Name)]
    public class SftpConformance : ProtocolPluginConformance
    {
        private readonly SshdFixture _sshd;
        private readonly string _folder = "conformance-" + Guid.NewGuid().ToString("n");

        public SftpConformance(SshdFixture sshd) => _sshd = sshd;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), CreateLocation(""), CreateOptions()));
        }

        protected override IProtocolPlugin CreatePlugin() => new SftpProtocolPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { [SftpProtocolPlugin.KnownHostsPathKey] = _sshd.KnownHostsFile };

        protected override TransferOptions CreateOptions() => new TransferOptions
        {
            Credential = new NetworkCredential(_sshd.Get("PasswordUser"), _sshd.Get("Password")),
            StallTimeout = TimeSpan.FromSeconds(20),
        };

        protected override Uri CreateLocation(string name) =>
            new Uri($"sftp://{_sshd.Get("PasswordUser")}@127.0.0.1:{_sshd.Port}{_sshd.Get("PasswordUserData")}/{_folder}/{name}");

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { [SftpProtocolPlugin.BufferSizeKey] = "huge" },
            new Dictionary<string, string> { [SftpProtocolPlugin.ConnectTimeoutKey] = "-1" },
            new Dictionary<string, string> { [SftpProtocolPlugin.InFlightBytesKey] = "1" },
        };
    }
}
