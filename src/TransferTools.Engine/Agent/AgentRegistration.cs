using System;
using System.IO;
using System.Security;
using System.Security.Cryptography;
using System.Text;

namespace TransferTools.Engine.Agent
{
    /// <summary>Who the registered agent starts for: the user at logon (and, with linger, at boot), or the system at boot.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum AgentScope
    {
        /// <summary>A systemd user unit, a launchd agent, a scheduled task at logon: no administrator rights needed.</summary>
        User,
        /// <summary>A systemd system unit, a launchd daemon, a scheduled task at startup: needs root or an administrator.</summary>
        System,
    }

    /// <summary>The service manager a registration is written for.</summary>
    [Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
    public enum AgentPlatform
    {
        /// <summary>systemd.</summary>
        Linux,
        /// <summary>launchd.</summary>
        MacOS,
        /// <summary>The Task Scheduler.</summary>
        Windows,
    }

    /// <summary>
    /// The file that makes a service manager start <c>Start-TransferAgent</c> at boot or logon, for one TransferTools home:
    /// a systemd unit, a launchd property list or a Task Scheduler task. Only text: the cmdlet writes it and asks the
    /// service manager to load it.
    /// </summary>
    public sealed class AgentRegistration
    {
        /// <summary>A registration for the agent of <paramref name="home"/>.</summary>
        /// <param name="platform">The service manager.</param>
        /// <param name="scope">User or system.</param>
        /// <param name="pwsh">The PowerShell executable to run (the installed module's).</param>
        /// <param name="module">The module manifest to import.</param>
        /// <param name="home">The TransferTools home the agent serves.</param>
        /// <param name="userName">The account it runs as (a system unit's <c>User=</c>, a task's principal).</param>
        /// <param name="userHome">The user's home folder (where user units and launch agents live).</param>
        public AgentRegistration(AgentPlatform platform, AgentScope scope, string pwsh, string module, string home, string userName, string userHome)
        {
            Platform = platform;
            Scope = scope;
            Pwsh = pwsh;
            Module = module;
            Home = home;
            UserName = userName;
            UserHome = userHome;
        }

        /// <summary>The service manager.</summary>
        public AgentPlatform Platform { get; }
        /// <summary>User or system.</summary>
        public AgentScope Scope { get; }
        /// <summary>The PowerShell executable.</summary>
        public string Pwsh { get; }
        /// <summary>The module manifest.</summary>
        public string Module { get; }
        /// <summary>The TransferTools home.</summary>
        public string Home { get; }
        /// <summary>The account.</summary>
        public string UserName { get; }
        /// <summary>The user's home folder.</summary>
        public string UserHome { get; }

        /// <summary>The service's name: one per home, so two homes can each have an agent.</summary>
        public string Name => Platform == AgentPlatform.MacOS ? "com.transfertools.agent." + HomeTag : "transfertools-agent-" + HomeTag;

        /// <summary>Eight hex digits of the home's SHA-256: stable for a home, different between homes.</summary>
        public string HomeTag
        {
            get
            {
                using var sha = SHA256.Create();
                var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(Home));
                return BitConverter.ToString(hash, 0, 4).Replace("-", "").ToLowerInvariant();
            }
        }

        /// <summary>Where the file goes.</summary>
        public string FilePath => Platform switch
        {
            AgentPlatform.Linux => Scope == AgentScope.System
                ? "/etc/systemd/system/" + Name + ".service"
                : Path.Combine(UserHome, ".config", "systemd", "user", Name + ".service"),
            AgentPlatform.MacOS => Scope == AgentScope.System
                ? "/Library/LaunchDaemons/" + Name + ".plist"
                : Path.Combine(UserHome, "Library", "LaunchAgents", Name + ".plist"),
            _ => Path.Combine(AgentLock.Folder(Home), Name + ".task.xml"),
        };

        /// <summary>The command PowerShell runs (one string for -Command).</summary>
        public string Command => $"Import-Module '{Module.Replace("'", "''")}'; Start-TransferAgent";

        /// <summary>The file's text.</summary>
        public string Render() => Platform switch
        {
            AgentPlatform.Linux => RenderSystemdUnit(),
            AgentPlatform.MacOS => RenderLaunchdPlist(),
            _ => RenderScheduledTask(),
        };

        private string RenderSystemdUnit()
        {
            var text = new StringBuilder();
            text.Append("# Written by Register-TransferAgent; Unregister-TransferAgent removes it.\n");
            text.Append("[Unit]\n");
            text.Append("Description=TransferTools transfer agent for ").Append(SystemdEscape(Home)).Append('\n');
            text.Append("Wants=network-online.target\nAfter=network-online.target\n\n");
            text.Append("[Service]\nType=simple\n");
            if (Scope == AgentScope.System)
            {
                text.Append("User=").Append(UserName).Append('\n');
            }

            text.Append("Environment=\"TRANSFERTOOLS_HOME=").Append(SystemdQuote(Home)).Append("\"\n");
            text.Append("ExecStart=\"").Append(SystemdQuote(Pwsh)).Append("\" -NoProfile -NonInteractive -Command \"")
                .Append(SystemdQuote(Command)).Append("\"\n");
            // SIGTERM makes the agent suspend its transfers at a committed chunk; give it the time to.
            text.Append("KillSignal=SIGTERM\nKillMode=mixed\nTimeoutStopSec=60\nRestart=on-failure\nRestartSec=30\n\n");
            text.Append("[Install]\nWantedBy=").Append(Scope == AgentScope.System ? "multi-user.target" : "default.target").Append('\n');
            return text.ToString();
        }

        private static string SystemdEscape(string value) => value.Replace("%", "%%").Replace("\n", " ");

        private static string SystemdQuote(string value) => SystemdEscape(value).Replace("\\", "\\\\").Replace("\"", "\\\"");

        private string RenderLaunchdPlist()
        {
            string X(string value) => SecurityElement.Escape(value) ?? "";
            var log = Path.Combine(AgentLock.Folder(Home), "agent.log");
            return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   + "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                   + "<plist version=\"1.0\">\n<dict>\n"
                   + $"  <key>Label</key>\n  <string>{X(Name)}</string>\n"
                   + "  <key>ProgramArguments</key>\n  <array>\n"
                   + $"    <string>{X(Pwsh)}</string>\n    <string>-NoProfile</string>\n    <string>-NonInteractive</string>\n"
                   + $"    <string>-Command</string>\n    <string>{X(Command)}</string>\n  </array>\n"
                   + $"  <key>EnvironmentVariables</key>\n  <dict>\n    <key>TRANSFERTOOLS_HOME</key>\n    <string>{X(Home)}</string>\n  </dict>\n"
                   + (Scope == AgentScope.System ? $"  <key>UserName</key>\n  <string>{X(UserName)}</string>\n" : "")
                   + "  <key>RunAtLoad</key>\n  <true/>\n"
                   + "  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n"
                   + "  <key>ExitTimeOut</key>\n  <integer>60</integer>\n"
                   + $"  <key>StandardOutPath</key>\n  <string>{X(log)}</string>\n"
                   + $"  <key>StandardErrorPath</key>\n  <string>{X(log)}</string>\n"
                   + "</dict>\n</plist>\n";
        }

        private string RenderScheduledTask()
        {
            string X(string value) => SecurityElement.Escape(value) ?? "";
            // The task has no environment of its own: the home is set in the command.
            var command = $"$env:TRANSFERTOOLS_HOME = '{Home.Replace("'", "''")}'; {Command}";
            var trigger = Scope == AgentScope.System
                ? "    <BootTrigger>\n      <Enabled>true</Enabled>\n    </BootTrigger>\n"
                : $"    <LogonTrigger>\n      <Enabled>true</Enabled>\n      <UserId>{X(UserName)}</UserId>\n    </LogonTrigger>\n";
            var principal = Scope == AgentScope.System
                ? $"      <UserId>{X(UserName)}</UserId>\n      <LogonType>S4U</LogonType>\n      <RunLevel>LeastPrivilege</RunLevel>\n"
                : $"      <UserId>{X(UserName)}</UserId>\n      <LogonType>InteractiveToken</LogonType>\n      <RunLevel>LeastPrivilege</RunLevel>\n";
            return "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n"
                   + "<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n"
                   + $"  <RegistrationInfo>\n    <Description>TransferTools transfer agent for {X(Home)}</Description>\n    <URI>\\{X(Name)}</URI>\n  </RegistrationInfo>\n"
                   + "  <Triggers>\n" + trigger + "  </Triggers>\n"
                   + "  <Principals>\n    <Principal id=\"Author\">\n" + principal + "    </Principal>\n  </Principals>\n"
                   + "  <Settings>\n    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
                   + "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
                   + "    <StartWhenAvailable>true</StartWhenAvailable>\n    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>\n"
                   + "    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>\n"
                   + "    <RestartOnFailure>\n      <Interval>PT1M</Interval>\n      <Count>999</Count>\n    </RestartOnFailure>\n"
                   + "    <Enabled>true</Enabled>\n  </Settings>\n"
                   + "  <Actions Context=\"Author\">\n    <Exec>\n"
                   + $"      <Command>{X(Pwsh)}</Command>\n"
                   + $"      <Arguments>-NoProfile -NonInteractive -WindowStyle Hidden -Command \"{X(command.Replace("\"", "\\\""))}\"</Arguments>\n"
                   + "    </Exec>\n  </Actions>\n</Task>\n";
        }
    }
}
