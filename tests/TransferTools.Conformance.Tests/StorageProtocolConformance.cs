using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine;
using TransferTools.Engine.Protocols;

using Xunit;
using TransferTools.Engine.BuiltIn.StorageProtocol;

namespace TransferTools.Conformance.Tests
{
    /// <summary>
    /// The built-in Storage protocol (<c>storage://NAME/...</c>): it reaches its store through the session's storage
    /// service, so the suite runs inside a real <see cref="TransferSession"/> (the engine's host) rather than the kit's.
    /// </summary>
    public abstract class StorageProtocolConformanceBase : ProtocolPluginConformance
    {
        private readonly string _folder = "conformance-" + Guid.NewGuid().ToString("n");

        /// <summary>The storage registration the locations point at.</summary>
        protected abstract string StorageName { get; }

        protected TransferSession Session => (TransferSession)Host;

        protected override IPluginHost CreateHost(string homeDirectory) => new TransferSession(homeDirectory);

        public override async Task DisposeAsync()
        {
            await base.DisposeAsync();
            await Session.CloseAsync();
        }

        // Folders are name prefixes: one exists once an item is stored under it.
        protected override bool KeepsEmptyDirectories => false;

        protected override IProtocolPlugin CreatePlugin() => new StorageProtocolPlugin();

        protected override Uri CreateLocation(string name) => new Uri($"storage://{StorageName}/{_folder}/{name}");
    }

    /// <summary>storage:// over the embedded LocalStore.</summary>
    public class StorageProtocolConformance : StorageProtocolConformanceBase
    {
        protected override string StorageName => "LocalStore";
    }

    /// <summary>storage:// over AzureBlob against azurite, registered in the session as a user would.</summary>
    [Collection(AzuriteCollection.Name)]
    public class StorageProtocolOverAzureBlobConformance : StorageProtocolConformanceBase
    {
        private readonly AzuriteFixture _azurite;

        public StorageProtocolOverAzureBlobConformance(AzuriteFixture azurite) => _azurite = azurite;

        protected override string StorageName => "Blobs";

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            await WithTimeout(Session.RegisterPluginAsync(NewContext(), StorageName, "AzureBlob", null, new Dictionary<string, string>
            {
                ["ConnectionString"] = _azurite.Get("ConnectionString"),
                ["Container"] = "conformance-" + Guid.NewGuid().ToString("n"),
            }));
        }
    }
}
