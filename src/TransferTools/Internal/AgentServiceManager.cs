using System;
using System.Diagnostics;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;
using TransferTools.Engine.Agent;

namespace TransferTools.Internal
{
    /// <summary>
    /// What the agent registration cmdlets share: the registration for the session's home (this PowerShell, this module,
    /// this user) and the service manager commands that load and unload it.
    /// </summary>
    internal static class AgentServiceManager
    {
        /// <summary>The platform this process runs on.</summary>
        public static AgentPlatform CurrentPlatform =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? AgentPlatform.Windows
            : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? AgentPlatform.MacOS
            : AgentPlatform.Linux;

        /// <summary>The registration of the agent for <paramref name="home"/>, run by this PowerShell with this module.</summary>
        public static AgentRegistration For(PSCmdlet cmdlet, AgentPlatform platform, AgentScope scope, string home)
        {
            var psHome = cmdlet.SessionState.PSVariable.GetValue("PSHOME") as string ?? AppContext.BaseDirectory;
            var pwsh = Path.Combine(psHome, platform == AgentPlatform.Windows ? "pwsh.exe" : "pwsh");
            var moduleBase = cmdlet.MyInvocation.MyCommand.Module?.ModuleBase ?? Path.GetDirectoryName(typeof(AgentServiceManager).Assembly.Location) ?? "";
            var manifest = Path.Combine(moduleBase, "TransferTools.psd1");
            var userHome = Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return new AgentRegistration(platform, scope, pwsh, File.Exists(manifest) ? manifest : moduleBase, home, Environment.UserName, userHome);
        }

        /// <summary>The commands that make the service manager start a written registration now and at every boot or logon.</summary>
        public static IEnumerable<string[]> LoadCommands(AgentRegistration registration)
        {
            var user = registration.Scope == AgentScope.User;
            switch (registration.Platform)
            {
                case AgentPlatform.Linux:
                    yield return Systemctl(user, "daemon-reload");
                    yield return Systemctl(user, "enable", "--now", registration.Name + ".service");
                    if (user)
                    {
                        // Without linger a user's units stop at logout and start only at logon, not at boot.
                        yield return new[] { "loginctl", "enable-linger", registration.UserName };
                    }

                    break;
                case AgentPlatform.MacOS:
                    yield return new[] { "launchctl", "load", "-w", registration.FilePath };
                    break;
                default:
                    yield return new[] { "schtasks", "/Create", "/TN", registration.Name, "/XML", registration.FilePath, "/F" };
                    yield return new[] { "schtasks", "/Run", "/TN", registration.Name };
                    break;
            }
        }

        /// <summary>The commands that stop and unload a registration before its file is removed.</summary>
        public static IEnumerable<string[]> UnloadCommands(AgentRegistration registration)
        {
            var user = registration.Scope == AgentScope.User;
            switch (registration.Platform)
            {
                case AgentPlatform.Linux:
                    yield return Systemctl(user, "disable", "--now", registration.Name + ".service");
                    break;
                case AgentPlatform.MacOS:
                    yield return new[] { "launchctl", "unload", "-w", registration.FilePath };
                    break;
                default:
                    yield return new[] { "schtasks", "/End", "/TN", registration.Name };
                    yield return new[] { "schtasks", "/Delete", "/TN", registration.Name, "/F" };
                    break;
            }
        }

        private static string[] Systemctl(bool user, params string[] arguments)
        {
            var all = new List<string> { "systemctl" };
            if (user)
            {
                all.Add("--user");
            }

            all.AddRange(arguments);
            return all.ToArray();
        }

        /// <summary>Runs a service manager command; null when it succeeded, else what went wrong (for a warning).</summary>
        public static string? Run(string[] command)
        {
            var start = new ProcessStartInfo(command[0])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Arguments = string.Join(" ", Array.ConvertAll(command, QuoteArgument), 1, command.Length - 1);
            try
            {
                using var process = Process.Start(start);
                if (process is null)
                {
                    return $"'{string.Join(" ", command)}' did not start.";
                }

                var error = process.StandardError.ReadToEndAsync();
                var output = process.StandardOutput.ReadToEndAsync();
                if (!process.WaitForExit(30000))
                {
                    process.Kill();
                    return $"'{string.Join(" ", command)}' did not finish in 30 s.";
                }

                return process.ExitCode == 0 ? null : $"'{string.Join(" ", command)}' failed ({process.ExitCode}): {(error.Result + output.Result).Trim()}";
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"'{command[0]}' could not be run: {e.Message}";
            }
        }

        private static string QuoteArgument(string argument) =>
            argument.Length > 0 && argument.IndexOfAny(new[] { ' ', '"', '\t' }) < 0 ? argument : "\"" + argument.Replace("\"", "\\\"") + "\"";

        /// <summary>The registration of <paramref name="home"/> found on disk (user scope first), or null.</summary>
        public static AgentRegistration? Find(PSCmdlet cmdlet, string home, AgentScope? scope)
        {
            foreach (var candidate in new[] { AgentScope.User, AgentScope.System })
            {
                if (scope != null && scope != candidate)
                {
                    continue;
                }

                var registration = For(cmdlet, CurrentPlatform, candidate, home);
                if (File.Exists(registration.FilePath))
                {
                    return registration;
                }
            }

            return null;
        }
    }
}
