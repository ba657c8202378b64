using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;

using Xunit;
using TransferTools.Engine.BuiltIn.Http;

namespace TransferTools.Conformance.Tests
{
    /// <summary>The built-in Http protocol against a real nginx: writes go to its WebDAV location (/dav/), in a
    /// collection of this test's own; reads use the same files.</summary>
    [Collection(NginxCollection.Name)]
    public class HttpConformance : ProtocolPluginConformance
    {
        private readonly NginxFixture _nginx;
        private readonly string _folder = "conformance-" + Guid.NewGuid().ToString("n");

        public HttpConformance(NginxFixture nginx) => _nginx = nginx;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), CreateLocation(""), CreateOptions()));
        }

        protected override IProtocolPlugin CreatePlugin() => new HttpProtocolPlugin();

        protected override TransferOptions CreateOptions() => new TransferOptions { StallTimeout = TimeSpan.FromSeconds(20) };

        protected override Uri CreateLocation(string name) => new Uri($"{_nginx.Get("BaseUri")}/dav/{_folder}/{name}");

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { [HttpProtocolPlugin.MaxRedirectsKey] = "many" },
            new Dictionary<string, string> { [HttpProtocolPlugin.MaxRedirectsKey] = "51" },
        };
    }
}
