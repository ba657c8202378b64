using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Security;

namespace TransferTools.Engine.Tests.Hosting
{
    public class PluginRegistryTests
    {
        [Fact]
        public async Task Registration_persists_and_a_new_session_finds_it()
        {
            using var home = new TestHome();
            using (var first = home.NewSession())
            {
                var context = first.CreateContext(CancellationToken.None);
                var info = await first.RegisterPluginAsync(context, "Events", "EventLog", null,
                    new Dictionary<string, string> { ["Path"] = Path.Combine(home.Path, "events.jsonl") });
                Assert.Equal("Events", info.Name);
                Assert.Equal(PluginType.Monitor, info.Kind);
            }

            using var second = home.NewSession();
            var registration = second.Plugins.FindRegistration("events");
            Assert.NotNull(registration);
            Assert.Equal("EventLog", registration!.TypeName);
        }

        [Fact]
        public async Task Duplicate_name_is_refused_and_the_registry_is_unchanged()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var config = new Dictionary<string, string> { ["Path"] = Path.Combine(home.Path, "e.jsonl") };
            await session.RegisterPluginAsync(context, "Events", "EventLog", null, config);
            var before = File.ReadAllText(session.Registry.FilePath);

            var e = await Assert.ThrowsAsync<PluginException>(() => session.RegisterPluginAsync(context, "events", "EventLog", null, config));
            Assert.Equal(ErrorCode.AlreadyExists, e.Code);
            Assert.Equal("PluginNameInUse", e.ErrorId);
            Assert.Equal(before, File.ReadAllText(session.Registry.FilePath));
        }

        [Fact]
        public async Task Unknown_type_is_refused_and_nothing_is_written()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var e = await Assert.ThrowsAsync<PluginException>(() =>
                session.RegisterPluginAsync(session.CreateContext(CancellationToken.None), "X", "NoSuchType", null, null));
            Assert.Equal(ErrorCode.PluginNotFound, e.Code);
            Assert.Equal("UnknownPluginType", e.ErrorId);
            Assert.False(File.Exists(session.Registry.FilePath));
        }

        [Fact]
        public void Defaults_exist_without_registration()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var names = session.Plugins.GetRegistrations().Select(r => r.Name).ToList();
            Assert.Contains("FileSystem", names);
            Assert.Contains("LocalStore", names);
            Assert.Contains("Progress", names);
        }

        [Fact]
        public void Secrets_are_protected_and_round_trip()
        {
            using var home = new TestHome();
            var protector = new SecretProtector(home.Path);
            var cipher = protector.Protect("s3cr3t-value");
            Assert.DoesNotContain("s3cr3t", cipher);
            Assert.Equal("s3cr3t-value", new SecretProtector(home.Path).Unprotect(cipher));

            var tampered = cipher.Substring(0, cipher.Length - 4) + (cipher.EndsWith("AAAA") ? "BBBB" : "AAAA");
            var e = Assert.Throws<PluginException>(() => protector.Unprotect(tampered));
            Assert.Equal(ErrorCode.SecurityError, e.Code);
        }

        [Theory]
        [InlineData("../../etc/passwd")]
        [InlineData("a\u0000b")]
        [InlineData("")]
        [InlineData("..")]
        public void Bad_keys_are_refused(string value)
        {
            var e = Assert.Throws<PluginException>(() => Validation.RequireSafeKey(value, "item id", 256));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        }
    }
}
