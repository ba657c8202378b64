using System;
using System.IO;
using System.Management.Automation;
using TransferTools.Engine.Agent;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Installs the transfer agent to start at boot or logon: a systemd unit, a launchd agent or daemon, or a scheduled task.</para>
    /// <para type="description">The service runs this PowerShell with this module and the session's TransferTools home
    /// (Start-TransferAgent). -Scope User (default) needs no administrator: a systemd user unit (with linger, so it also starts at
    /// boot), a launchd agent, a task at logon. -Scope System: a system unit running as the current user, a launchd daemon, a task
    /// at startup. -WhatIf shows the file it would write, without writing it. The service manager is asked to enable and start it
    /// (systemctl, launchctl, schtasks); when that fails the file stays written and a warning says what to run.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Register, "TransferAgent", SupportsShouldProcess = true, HelpUri = HelpLinks.Root + "Register-TransferAgent.md")]
    [OutputType(typeof(TransferAgentInfo))]
    public sealed class RegisterTransferAgentCommand : TransferCmdlet
    {
        /// <summary>User (default: starts at logon, and at boot with linger on Linux) or System (at boot; needs root or an administrator).</summary>
        [Parameter(Position = 0)]
        public AgentScope Scope { get; set; } = AgentScope.User;

        /// <summary>The service manager to write for (default: this system's); another platform's file can be shown with -WhatIf or written to copy.</summary>
        [Parameter]
        public AgentPlatform Platform { get; set; } = AgentServiceManager.CurrentPlatform;

        /// <summary>Write the file only; do not ask the service manager to enable or start it.</summary>
        [Parameter]
        public SwitchParameter NoServiceManager { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var registration = AgentServiceManager.For(this, Platform, Scope, Session.HomeDirectory);
            var content = registration.Render();
            var path = registration.FilePath;
            if (!ShouldProcess($"Write the transfer agent's {Describe(Platform)} '{path}':{Environment.NewLine}{content}",
                    $"Write the transfer agent's {Describe(Platform)} '{path}'?", "Register-TransferAgent"))
            {
                return;
            }

            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, content);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                ThrowTerminatingError(new ErrorRecord(e, "AgentRegistrationNotWritten",
                    e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.WriteError, path));
                return;
            }

            if (!NoServiceManager.IsPresent && Platform == AgentServiceManager.CurrentPlatform)
            {
                foreach (var command in AgentServiceManager.LoadCommands(registration))
                {
                    if (AgentServiceManager.Run(command) is string problem)
                    {
                        WriteWarning($"{problem} The file is written; run '{string.Join(" ", command)}' once the service manager is available.");
                    }
                }
            }

            WriteObject(TransferAgentInfo.Describe(Session.HomeDirectory, registration));
        }

        internal static string Describe(AgentPlatform platform) => platform switch
        {
            AgentPlatform.Linux => "systemd unit",
            AgentPlatform.MacOS => "launchd property list",
            _ => "scheduled task",
        };
    }
}
