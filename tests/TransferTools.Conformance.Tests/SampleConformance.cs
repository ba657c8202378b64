using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using Samples.ApiKeyAuth;
using Samples.CsvMonitor;
using Samples.FolderStore;
using Samples.MemoryProtocol;
using TransferTools.Abstractions;
using TransferTools.Conformance;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Conformance.Tests
{
    // Each sample plugin, held to the same suite as the built-ins: a few lines per plugin.

    public class FolderStoreConformance : StoragePluginConformance
    {
        protected override IStoragePlugin CreatePlugin() => new FolderStoragePlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { ["Root"] = dataDirectory, ["MaxItemSize"] = (8 * 1024 * 1024).ToString() };

        protected override long? MaxItemSize => 8 * 1024 * 1024;

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string>(),
            new Dictionary<string, string> { ["Root"] = dataDirectory, ["MaxItemSize"] = "lots" },
        };
    }

    public class MemoryProtocolConformance : ProtocolPluginConformance
    {
        private readonly string _bucket = "conformance-" + Guid.NewGuid().ToString("n");

        protected override IProtocolPlugin CreatePlugin() => new MemoryProtocolPlugin();

        protected override Uri CreateLocation(string name) => new Uri($"mem://{_bucket}/{name}");

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["MaxFileSize"] = "big" },
        };
    }

    public class CsvMonitorConformance : MonitorPluginConformance
    {
        protected override IMonitorPlugin CreatePlugin() => new CsvMonitorPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { ["Path"] = Path.Combine(dataDirectory, "events.csv") };

        protected override Task<string?> ReadRecordedAsync() =>
            Task.FromResult<string?>(File.ReadAllText(Path.Combine(DataDirectory, "events.csv")));

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string>(),
        };
    }

    public class ApiKeyAuthConformance : AuthPluginConformance
    {
        protected override IAuthPlugin CreatePlugin() => new ApiKeyAuthPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { ["ApiKeys"] = "alice:Reader:alice-key-0001;ops:Admin:ops-key-0002" };

        protected override Task<AuthRequest> CreateValidRequestAsync() =>
            Task.FromResult(new AuthRequest { Type = AuthType.Password, Username = "alice", Password = "alice-key-0001" });

        protected override (string Resource, Action Action)? DeniedAccess => ("storage/LocalStore/x", Action.Delete);

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string>(),
            new Dictionary<string, string> { ["ApiKeys"] = "alice-without-role-or-key" },
            new Dictionary<string, string> { ["ApiKeys"] = "alice:Reader:short" },
        };
    }
}
