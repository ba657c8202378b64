using System;
using System.Linq;
using System.Reflection;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using Xunit;

namespace TransferTools.Conformance.Tests
{
    // The catalog is read from the plugin assemblies' metadata; here the same assemblies are loaded and reflected on,
    // so the two readings of one declaration must agree. This project references every plugin assembly.
    public class PluginCatalogTests
    {
        private static (Type Type, TransferPluginAttribute Declared, string Assembly)[] Declared() =>
            PluginCatalog.PluginAssemblies
                .SelectMany(name => Assembly.Load(new AssemblyName(name)).GetTypes().Select(t => (Type: t, Assembly: name)))
                .Select(p => (p.Type, Declared: TransferPluginAttribute.Of(p.Type)!, p.Assembly))
                .Where(p => p.Declared != null)
                .ToArray();

        [Fact]
        public void Catalog_lists_exactly_what_the_declarations_say()
        {
            var declared = Declared();
            Assert.Equal(declared.Select(d => d.Declared.Name).OrderBy(n => n), PluginCatalog.BuiltIns.Select(b => b.Name).OrderBy(n => n));
            foreach (var (type, d, assembly) in declared)
            {
                var entry = PluginCatalog.Find(d.Name)!;
                Assert.Equal(d.Kind, entry.Kind);
                Assert.Equal(type.FullName, entry.ClassName);
                Assert.Equal(assembly, entry.AssemblyName);
                Assert.Equal(d.Description, entry.Description);
                Assert.Equal(d.Schemes, entry.Schemes);
                Assert.Equal(d.SecretKeys, entry.SecretKeys);
                Assert.False(string.IsNullOrWhiteSpace(entry.Description), $"{d.Name} declares no description.");
            }
        }

        [Fact]
        public void Catalog_keeps_every_built_in_and_default_of_the_module()
        {
            Assert.Equal(
                new[] { "FileSystem", "Sftp", "S3", "Http", "Storage", "LocalStore", "AzureBlob", "S3Bucket", "LocalUsers", "Oidc", "Progress", "EventLog", "OpenTelemetry" },
                PluginCatalog.BuiltIns.Select(b => b.Name));
            Assert.Equal(PluginCatalog.DefaultTypeNames, PluginCatalog.Defaults.Select(b => b.Name));
            Assert.Equal(new[] { "http", "https" }, PluginCatalog.Find("Http")!.Schemes);
            Assert.Equal(new[] { "sftp" }, PluginCatalog.Find("sftp")!.Schemes);
        }

        [Fact]
        public void Built_ins_declare_the_secrets_they_take()
        {
            Assert.Equal(new[] { "ConnectionString", "AccountKey", "Sas" }, PluginCatalog.Find("AzureBlob")!.SecretKeys);
            Assert.Equal(new[] { "ClientSecret" }, PluginCatalog.Find("Oidc")!.SecretKeys);
            Assert.Equal(new[] { "OtlpHeaders" }, PluginCatalog.Find("OpenTelemetry")!.SecretKeys);
        }

        [Fact]
        public void Each_declared_class_is_the_kind_it_declares()
        {
            foreach (var (type, d, _) in Declared())
            {
                var plugin = (IPlugin)Activator.CreateInstance(type)!;
                Assert.Equal(d.Kind, PluginHost.KindOf(plugin));
                Assert.Equal(d.Name, plugin.Metadata.Name);
                (plugin as IDisposable)?.Dispose();
            }
        }
    }
}
