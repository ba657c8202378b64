using System;

namespace TransferTools.Engine.Agent
{
    /// <summary>The transfer agent of one TransferTools home, as <c>Get-TransferAgent</c> shows it.</summary>
    public sealed class TransferAgentInfo
    {
        /// <summary>The TransferTools home it serves.</summary>
        public string Home { get; set; } = "";
        /// <summary>True when a service manager starts it at boot or logon (Register-TransferAgent).</summary>
        public bool Registered { get; set; }
        /// <summary>The registration's scope, when registered.</summary>
        public AgentScope? Scope { get; set; }
        /// <summary>The unit, property list or task file, when registered.</summary>
        public string? RegistrationPath { get; set; }
        /// <summary>True when an agent runs for the home now.</summary>
        public bool Running { get; set; }
        /// <summary>The running agent's process id (or the last one's).</summary>
        public int? ProcessId { get; set; }
        /// <summary>When the running agent started (UTC).</summary>
        public DateTimeOffset? Since { get; set; }
        /// <summary>Transfers it runs (as of its last look).</summary>
        public int Active { get; set; }
        /// <summary>Queued transfers waiting for it (as of its last look).</summary>
        public int Queued { get; set; }
        /// <summary>The error that stopped the last agent, if one did.</summary>
        public string? LastError { get; set; }

        /// <summary>Describes the agent of <paramref name="home"/>; <paramref name="registration"/> is the registration found, or null.</summary>
        public static TransferAgentInfo Describe(string home, AgentRegistration? registration)
        {
            var state = AgentLock.ReadState(home);
            var running = AgentLock.IsHeld(home);
            return new TransferAgentInfo
            {
                Home = home,
                Registered = registration != null,
                Scope = registration?.Scope,
                RegistrationPath = registration?.FilePath,
                Running = running,
                ProcessId = state?.ProcessId,
                Since = running ? state?.Since : null,
                Active = running ? state?.Active ?? 0 : 0,
                Queued = state?.Queued ?? 0,
                LastError = state?.LastError,
            };
        }
    }
}
