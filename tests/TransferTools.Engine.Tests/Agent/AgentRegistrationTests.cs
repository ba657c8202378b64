using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using TransferTools.Engine.Agent;
using Xunit;

namespace TransferTools.Engine.Tests.Agent
{
    /// <summary>The files Register-TransferAgent writes: a systemd unit, a launchd property list, a scheduled task.</summary>
    public sealed class AgentRegistrationTests
    {
        private const string Home = "/var/lib/tt home/100%";

        private static AgentRegistration For(AgentPlatform platform, AgentScope scope, string pwsh = "/opt/pwsh/pwsh") =>
            new AgentRegistration(platform, scope, pwsh, "/opt/mods/TransferTools/TransferTools.psd1", Home, "alice", "/home/alice");

        [Fact]
        public void Names_and_places_differ_per_home_and_scope()
        {
            Assert.Equal(For(AgentPlatform.Linux, AgentScope.User).Name, For(AgentPlatform.Linux, AgentScope.System).Name);
            Assert.NotEqual(For(AgentPlatform.Linux, AgentScope.User).Name,
                new AgentRegistration(AgentPlatform.Linux, AgentScope.User, "p", "m", "/other", "alice", "/home/alice").Name);
            Assert.Equal("/home/alice/.config/systemd/user/" + For(AgentPlatform.Linux, AgentScope.User).Name + ".service", For(AgentPlatform.Linux, AgentScope.User).FilePath);
            Assert.StartsWith("/etc/systemd/system/", For(AgentPlatform.Linux, AgentScope.System).FilePath);
            Assert.StartsWith("/home/alice/Library/LaunchAgents/com.transfertools.agent.", For(AgentPlatform.MacOS, AgentScope.User).FilePath);
            Assert.StartsWith("/Library/LaunchDaemons/", For(AgentPlatform.MacOS, AgentScope.System).FilePath);
        }

        [Fact]
        public void The_systemd_unit_runs_the_agent_with_the_home_stops_it_by_SIGTERM_and_escapes_percent()
        {
            var unit = For(AgentPlatform.Linux, AgentScope.System).Render();
            Assert.Contains("ExecStart=\"/opt/pwsh/pwsh\" -NoProfile -NonInteractive -Command \"Import-Module '/opt/mods/TransferTools/TransferTools.psd1'; Start-TransferAgent\"", unit);
            Assert.Contains("Environment=\"TRANSFERTOOLS_HOME=/var/lib/tt home/100%%\"", unit);
            Assert.Contains("KillSignal=SIGTERM", unit);
            Assert.Contains("User=alice", unit);
            Assert.Contains("WantedBy=multi-user.target", unit);
            var user = For(AgentPlatform.Linux, AgentScope.User).Render();
            Assert.DoesNotContain("User=", user);
            Assert.Contains("WantedBy=default.target", user);
        }

        [Fact]
        public void Systemd_analyze_verify_accepts_the_unit_where_it_is_installed()
        {
            if (!File.Exists("/usr/bin/systemd-analyze") || !OperatingSystem.IsLinux())
            {
                return; // Nothing to verify with here.
            }

            var folder = Path.Combine(Path.GetTempPath(), "tt-unit-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(folder);
            try
            {
                // An executable that exists (verify checks ExecStart's), as root (verify checks User=).
                var registration = new AgentRegistration(AgentPlatform.Linux, AgentScope.System, "/bin/sh", "/m/TransferTools.psd1", "/var/lib/tt", "root", "/root");
                var path = Path.Combine(folder, registration.Name + ".service");
                File.WriteAllText(path, registration.Render());
                var start = new ProcessStartInfo("/usr/bin/systemd-analyze", $"verify \"{path}\"") { RedirectStandardError = true, RedirectStandardOutput = true };
                using var process = Process.Start(start)!;
                var errors = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                // Only complaints about this unit count: the host's own units (or the lack of a running systemd) are not ours.
                var ours = errors.Split('\n').Where(l => l.Contains(registration.Name, StringComparison.Ordinal)).ToList();
                Assert.True(ours.Count == 0, string.Join("\n", ours));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Fact]
        public void The_launchd_plist_parses_and_holds_the_arguments_the_home_and_the_restart_policy()
        {
            var plist = XDocument.Parse(For(AgentPlatform.MacOS, AgentScope.User).Render(), LoadOptions.None);
            var dict = plist.Root!.Element("dict")!;
            var keys = dict.Elements("key").Select(k => k.Value).ToList();
            Assert.Equal(new[] { "Label", "ProgramArguments", "EnvironmentVariables", "RunAtLoad", "KeepAlive", "ExitTimeOut", "StandardOutPath", "StandardErrorPath" }, keys);
            var arguments = ((XElement)dict.Elements("key").First(k => k.Value == "ProgramArguments").NextNode!).Elements("string").Select(s => s.Value).ToList();
            Assert.Equal("/opt/pwsh/pwsh", arguments[0]);
            Assert.Equal("Import-Module '/opt/mods/TransferTools/TransferTools.psd1'; Start-TransferAgent", arguments.Last());
            var environment = (XElement)dict.Elements("key").First(k => k.Value == "EnvironmentVariables").NextNode!;
            Assert.Equal(Home, environment.Element("string")!.Value);
            Assert.Contains("<key>UserName</key>", For(AgentPlatform.MacOS, AgentScope.System).Render());
        }

        [Fact]
        public void The_scheduled_task_is_Task_Scheduler_XML_with_a_boot_or_logon_trigger()
        {
            XNamespace ns = "http://schemas.microsoft.com/windows/2004/02/mit/task";
            var system = XDocument.Parse(For(AgentPlatform.Windows, AgentScope.System, @"C:\Program Files\PowerShell\7\pwsh.exe").Render());
            Assert.Equal(ns + "Task", system.Root!.Name);
            Assert.NotNull(system.Root.Element(ns + "Triggers")!.Element(ns + "BootTrigger"));
            var exec = system.Root.Element(ns + "Actions")!.Element(ns + "Exec")!;
            Assert.Equal(@"C:\Program Files\PowerShell\7\pwsh.exe", exec.Element(ns + "Command")!.Value);
            Assert.Contains("$env:TRANSFERTOOLS_HOME = '" + Home + "'", exec.Element(ns + "Arguments")!.Value);
            Assert.Equal("PT0S", system.Root.Element(ns + "Settings")!.Element(ns + "ExecutionTimeLimit")!.Value);
            var user = XDocument.Parse(For(AgentPlatform.Windows, AgentScope.User).Render());
            Assert.Equal("alice", user.Root!.Element(ns + "Triggers")!.Element(ns + "LogonTrigger")!.Element(ns + "UserId")!.Value);
        }
    }
}
