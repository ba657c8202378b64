using System;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using TransferTools.Abstractions;
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
        // The host each session's cmdlets ran in: where it says, on closing, which transfers it suspended.
        private static readonly ConditionalWeakTable<TransferSession, HostHolder> Hosts = new ConditionalWeakTable<TransferSession, HostHolder>();
        private static readonly object Gate = new object();

        /// <summary>The session of the runspace running on this thread, created on first use.</summary>
        public static TransferSession Current => For(null);

        /// <summary>
        /// The session of the runspace running on this thread, created on first use; <paramref name="host"/> (the calling
        /// cmdlet's) is where the session says, when it closes, which transfers it suspended.
        /// </summary>
        public static TransferSession For(PSHost? host)
        {
            var runspace = Runspace.DefaultRunspace
                           ?? throw new InvalidOperationException("TransferTools cmdlets must run in a PowerShell runspace.");
            lock (Gate)
            {
                if (Sessions.TryGetValue(runspace, out var existing) && !existing.IsClosed)
                {
                    Remember(existing, host);
                    return existing;
                }

                if (existing != null)
                {
                    Sessions.Remove(runspace);
                }

                var session = new TransferSession();
                Sessions.Add(runspace, session);
                Remember(session, host);
                runspace.StateChanged += (sender, args) =>
                {
                    if (args.RunspaceStateInfo.State == RunspaceState.Closing || args.RunspaceStateInfo.State == RunspaceState.Closed)
                    {
                        Close(session);
                    }
                };
                return session;
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

            TransferSession? session;
            lock (Gate)
            {
                if (!Sessions.TryGetValue(runspace, out session))
                {
                    return;
                }

                Sessions.Remove(runspace);
            }

            Close(session);
        }

        private static void Remember(TransferSession session, PSHost? host)
        {
            if (host != null)
            {
                Hosts.GetOrCreateValue(session).Host = host;
            }
        }

        /// <summary>
        /// Closes a session (suspending the transfers it still runs: -Asynchronous ones) and tells its host which it
        /// suspended and how to continue each, so that closing a window does not leave them stopped without a word.
        /// </summary>
        private static void Close(TransferSession session)
        {
            if (session.IsClosed)
            {
                return;
            }

            session.Dispose();
            if (!Hosts.TryGetValue(session, out var holder) || holder.Host is null)
            {
                return;
            }

            foreach (var transfer in session.SuspendedAtClose)
            {
                if (transfer.Status != TransferStatus.Suspended)
                {
                    continue;
                }

                try
                {
                    holder.Host.UI?.WriteWarningLine(TransferCmdlet.SuspendedLine(transfer, "as the session closed"));
                }
                catch (Exception e) when (e is HostException || e is NotImplementedException || e is PSNotImplementedException || e is InvalidOperationException)
                {
                    return; // the host is gone with its runspace
                }
            }
        }

        private sealed class HostHolder
        {
            public PSHost? Host;
        }
    }

    /// <summary>Closes the session when <c>Remove-Module TransferTools</c> runs.</summary>
    public sealed class ModuleCleanup : IModuleAssemblyCleanup
    {
        /// <inheritdoc/>
        public void OnRemove(PSModuleInfo psModuleInfo) => SessionManager.CloseCurrent();
    }
}
