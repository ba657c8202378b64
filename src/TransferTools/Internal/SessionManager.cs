using System;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using TransferTools.Engine;

namespace TransferTools.Internal
{
    /// <summary>
    /// Finds the <see cref="TransferSession"/> of the calling runspace. Sessions hang off their runspace (a weak table,
    /// not a process-wide session), and close when the runspace closes or the module is removed.
    /// </summary>
    internal static class SessionManager
    {
        private static readonly ConditionalWeakTable<Runspace, TransferSession> Sessions = new ConditionalWeakTable<Runspace, TransferSession>();
        private static readonly object Gate = new object();

        /// <summary>The session of the runspace running on this thread, created on first use.</summary>
        public static TransferSession Current
        {
            get
            {
                var runspace = Runspace.DefaultRunspace
                               ?? throw new InvalidOperationException("TransferTools cmdlets must run in a PowerShell runspace.");
                lock (Gate)
                {
                    if (Sessions.TryGetValue(runspace, out var existing) && !existing.IsClosed)
                    {
                        return existing;
                    }

                    if (existing != null)
                    {
                        Sessions.Remove(runspace);
                    }

                    var session = new TransferSession();
                    Sessions.Add(runspace, session);
                    runspace.StateChanged += (sender, args) =>
                    {
                        if (args.RunspaceStateInfo.State == RunspaceState.Closing || args.RunspaceStateInfo.State == RunspaceState.Closed)
                        {
                            session.Dispose();
                        }
                    };
                    return session;
                }
            }
        }

        /// <summary>Closes the current runspace's session (module removal).</summary>
        public static void CloseCurrent()
        {
            var runspace = Runspace.DefaultRunspace;
            if (runspace is null)
            {
                return;
            }

            lock (Gate)
            {
                if (Sessions.TryGetValue(runspace, out var session))
                {
                    Sessions.Remove(runspace);
                    session.Dispose();
                }
            }
        }
    }

    /// <summary>Closes the session when <c>Remove-Module TransferTools</c> runs.</summary>
    public sealed class ModuleCleanup : IModuleAssemblyCleanup
    {
        /// <inheritdoc/>
        public void OnRemove(PSModuleInfo psModuleInfo) => SessionManager.CloseCurrent();
    }
}
