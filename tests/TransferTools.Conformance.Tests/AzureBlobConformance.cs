using System;
using System.Collections.Generic;
using TransferTools.Abstractions;
using TransferTools.Plugins.AzureBlob;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    /// <summary>The built-in AzureBlob store against azurite, in a container of this test's own.</summary>
    [Collection(AzuriteCollection.Name)]
    public class AzureBlobConformance : StoragePluginConformance
    {
        private readonly AzuriteFixture _azurite;
        private readonly string _container = "conformance-" + Guid.NewGuid().ToString("n");

        public AzureBlobConformance(AzuriteFixture azurite) => _azurite = azurite;

        protected override IStoragePlugin CreatePlugin() => new AzureBlobStoragePlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) => new Dictionary<string, string>
        {
            ["AccountUrl"] = _azurite.Get("BlobEndpoint"),
            ["AccountKey"] = _azurite.Get("AccountKey"),
            ["Container"] = _container,
            ["BlockSizeMB"] = "1", // several blocks for the large item
        };

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["ConnectionString"] = _azurite.Get("ConnectionString") },
            new Dictionary<string, string> { ["ConnectionString"] = _azurite.Get("ConnectionString"), ["Container"] = "Not_A_Container" },
            new Dictionary<string, string> { ["Container"] = _container },
            new Dictionary<string, string> { ["AccountUrl"] = _azurite.Get("BlobEndpoint"), ["AccountKey"] = "not base64!", ["Container"] = _container },
        };
    }
}
