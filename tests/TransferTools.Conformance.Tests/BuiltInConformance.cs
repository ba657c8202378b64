using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Conformance;
using TransferTools.Engine.Auth;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.Storage;
using Action = TransferTools.Abstractions.Action;
using TransferTools.Engine.BuiltIn.EventLog;
using TransferTools.Engine.BuiltIn.FileSystem;
using TransferTools.Engine.BuiltIn.LocalStore;
using TransferTools.Engine.BuiltIn.LocalUsers;
using TransferTools.Engine.BuiltIn.Progress;

namespace TransferTools.Conformance.Tests
{
    // The built-in plugins without external services, held to the same suites as third-party plugins.

    public class LocalStoreConformance : StoragePluginConformance
    {
        protected override IStoragePlugin CreatePlugin() => new LocalStorePlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { ["Path"] = dataDirectory };

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["Path"] = dataDirectory, ["Durability"] = "Sometimes" },
            new Dictionary<string, string> { ["Path"] = dataDirectory, ["SweepIntervalHours"] = "never" },
        };
    }

    public class FileSystemProtocolConformance : ProtocolPluginConformance
    {
        private string Remote => Path.Combine(WorkDirectory, "remote");

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            Directory.CreateDirectory(Remote);
        }

        protected override IProtocolPlugin CreatePlugin() => new FileSystemProtocolPlugin();

        protected override Uri CreateLocation(string name) => new Uri(Path.Combine(Remote, name));
    }

    public class LocalUsersConformance : AuthPluginConformance
    {
        private const string Password = "Conformance-Pa55-word";

        protected override IAuthPlugin CreatePlugin() => new LocalUsersAuthPlugin();

        protected override async Task<AuthRequest> CreateValidRequestAsync()
        {
            var directory = (IUserDirectory)Plugin;
            var users = await directory.ListUsersAsync(NewContext());
            if (!users.Any(u => u.Name == "admin"))
            {
                await directory.CreateUserAsync(NewContext(), "admin", "Admin-" + Password, new[] { "Admin" }, Array.Empty<string>());
            }

            if (!users.Any(u => u.Name == "reader"))
            {
                await directory.CreateUserAsync(NewContext(), "reader", Password, new[] { "Reader" }, Array.Empty<string>());
            }

            return new AuthRequest { Type = AuthType.Password, Username = "reader", Password = Password };
        }

        protected override (string Resource, Action Action)? DeniedAccess => ("storage/LocalStore/x", Action.Delete);
    }

    public class EventLogConformance : MonitorPluginConformance
    {
        protected override IMonitorPlugin CreatePlugin() => new EventLogMonitorPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { ["Path"] = Path.Combine(dataDirectory, "events.jsonl") };

        protected override Task<string?> ReadRecordedAsync() =>
            Task.FromResult<string?>(File.ReadAllText(Path.Combine(DataDirectory, "events.jsonl")));

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string>(),
        };
    }

    public class ProgressMonitorConformance : MonitorPluginConformance
    {
        protected override IMonitorPlugin CreatePlugin() => new ProgressMonitorPlugin();
    }
}
