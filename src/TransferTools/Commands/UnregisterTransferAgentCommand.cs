using System;
using System.IO;
using System.Management.Automation;
using TransferTools.Engine.Agent;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Removes the transfer agent's service registration (Register-TransferAgent), stopping the service first.</para>
    /// <para type="description">Queued transfers stay in the journal: a running agent is stopped by its service manager (its
    /// transfers are suspended at a committed chunk), and Start-TransferAgent, run by hand or registered again, continues them.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Unregister, "TransferAgent", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
        HelpUri = HelpLinks.Root + "Unregister-TransferAgent.md")]
    [OutputType(typeof(TransferAgentInfo))]
    public sealed class UnregisterTransferAgentCommand : TransferCmdlet
    {
        /// <summary>Which registration to remove (default: the one there is, user first).</summary>
        [Parameter(Position = 0)]
        public AgentScope? Scope { get; set; }

        /// <summary>Remove the file only; do not ask the service manager to stop and disable the service.</summary>
        [Parameter]
        public SwitchParameter NoServiceManager { get; set; }

        /// <summary>Write the agent's state afterwards.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var home = Session.HomeDirectory;
            var registration = AgentServiceManager.Find(this, home, Scope);
            if (registration is null)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"No transfer agent is registered for the TransferTools home '{home}'" +
                        (Scope is null ? "." : $" with scope {Scope}.")), "AgentNotRegistered", ErrorCategory.ObjectNotFound, home));
                return;
            }

            if (!ShouldProcess(registration.FilePath, "Unregister the transfer agent and remove"))
            {
                return;
            }

            if (!NoServiceManager.IsPresent)
            {
                foreach (var command in AgentServiceManager.UnloadCommands(registration))
                {
                    if (AgentServiceManager.Run(command) is string problem)
                    {
                        WriteWarning(problem);
                    }
                }
            }

            try
            {
                File.Delete(registration.FilePath);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                ThrowTerminatingError(new ErrorRecord(e, "AgentRegistrationNotRemoved",
                    e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.WriteError, registration.FilePath));
            }

            if (PassThru.IsPresent)
            {
                WriteObject(TransferAgentInfo.Describe(home, AgentServiceManager.Find(this, home, null)));
            }
        }
    }
}
