using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using Xunit;

namespace TransferTools.Engine.Tests.Hosting
{
    public class PluginDeclarationTests
    {
        /// <summary>A third-party monitor whose secret has a name no rule would guess.</summary>
        [TransferPlugin("DeclaredSecrets", PluginType.Monitor, Description = "Test monitor with a declared secret.", SecretKeys = new[] { "Endpoint" })]
        public sealed class DeclaredSecretsMonitor : IMonitorPlugin
        {
            public static readonly ConcurrentDictionary<string, string> Received = new ConcurrentDictionary<string, string>();

            public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(DeclaredSecretsMonitor));

            public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config)
            {
                foreach (var pair in config)
                {
                    Received[pair.Key] = pair.Value;
                }

                return Task.CompletedTask;
            }

            public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;
            public void TransferStarted(OperationContext context, Transfer transfer) { }
            public void TransferProgress(OperationContext context, Transfer transfer, double progress) { }
            public void TransferCompleted(OperationContext context, Transfer transfer) { }
            public void TransferFailed(OperationContext context, Transfer transfer, Exception error) { }
            public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) { }
        }

        [Fact]
        public async Task A_declared_secret_key_is_protected_on_disk_and_arrives_in_plain_text()
        {
            using var home = new TestHome();
            var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var info = await session.RegisterPluginAsync(context, "Declared", typeof(DeclaredSecretsMonitor).FullName,
                typeof(DeclaredSecretsMonitor).Assembly.Location,
                new Dictionary<string, string> { ["Endpoint"] = "https://collector.example/ingest?sig=q7Zx93", ["Label"] = "night-run" });

            Assert.Equal("********", info.Configuration["Endpoint"]);
            Assert.Equal("night-run", info.Configuration["Label"]);
            var registry = File.ReadAllText(session.Registry.FilePath);
            Assert.DoesNotContain("q7Zx93", registry);
            Assert.Contains("\"Endpoint\": \"tt1:", registry);
            Assert.Contains("night-run", registry);
            Assert.Equal("https://collector.example/ingest?sig=q7Zx93", DeclaredSecretsMonitor.Received["Endpoint"]);
            await session.CloseAsync();
        }

        [Fact]
        public async Task A_value_protected_before_stays_readable_whatever_the_declaration_says()
        {
            using var home = new TestHome();
            var session = home.NewSession();
            // As a registration written under the old name rule looks: a key the plugin does not declare, protected.
            session.Registry.Add(new PluginRegistration
            {
                Name = "Older",
                Kind = PluginType.Monitor,
                TypeName = typeof(DeclaredSecretsMonitor).FullName!,
                AssemblyPath = typeof(DeclaredSecretsMonitor).Assembly.Location,
                ProtectedConfiguration = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["LegacyToken"] = session.Secrets.Protect("old-s3cret") },
            });

            await session.Plugins.GetAsync(session.CreateContext(CancellationToken.None), "Older");
            Assert.Equal("old-s3cret", DeclaredSecretsMonitor.Received["LegacyToken"]);
            Assert.Equal("********", session.Plugins.Describe().Single(p => p.Name == "Older").Configuration["LegacyToken"]);
            await session.CloseAsync();
        }

        [Fact]
        public void The_reader_finds_declarations_in_an_assembly_file_without_loading_it()
        {
            var found = PluginDeclarationReader.Read(typeof(DeclaredSecretsMonitor).Assembly.Location)
                .Single(d => d.ClassName == typeof(DeclaredSecretsMonitor).FullName);
            Assert.Equal("DeclaredSecrets", found.Name);
            Assert.Equal(PluginType.Monitor, found.Kind);
            Assert.Equal("Test monitor with a declared secret.", found.Description);
            Assert.Equal(new[] { "Endpoint" }, found.SecretKeys);
            Assert.Empty(found.Schemes);
            Assert.True(found.IsSecret("endpoint"));
        }

        [Fact]
        public void The_engine_s_own_plugins_come_from_their_declarations()
        {
            // This test project references the engine only: the catalog holds what the engine assembly declares.
            Assert.Equal(new[] { "FileSystem", "Http", "Storage", "LocalStore", "LocalUsers", "Progress", "EventLog" },
                PluginCatalog.BuiltIns.Select(b => b.Name));
            Assert.All(PluginCatalog.BuiltIns, b => Assert.Equal("TransferTools.Engine", b.AssemblyName));
            Assert.Equal(new[] { "file" }, PluginCatalog.Find("FileSystem")!.Schemes);
            Assert.Equal(new[] { "storage" }, PluginCatalog.Find("Storage")!.Schemes);
        }
    }
}
