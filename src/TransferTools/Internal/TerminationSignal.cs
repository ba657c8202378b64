using System;
using System.Linq;
using System.Linq.Expressions;
using System.Reflection;

namespace TransferTools.Internal
{
    /// <summary>
    /// SIGTERM (what systemd, launchd and <c>kill</c> send to stop a service) as a cancellation instead of the runtime's
    /// immediate exit, so the transfer agent can suspend its transfers at a committed chunk first. Through
    /// <c>PosixSignalRegistration</c> (.NET 6 and later), found by reflection because the module also builds for
    /// netstandard2.0 (Windows PowerShell, where there is no SIGTERM to handle).
    /// </summary>
    internal static class TerminationSignal
    {
        private const int SigTerm = -4; // PosixSignal.SIGTERM

        /// <summary>Calls <paramref name="handler"/> on SIGTERM and keeps the process alive; null where the runtime cannot.</summary>
        public static IDisposable? Register(System.Action handler)
        {
            try
            {
                var registration = FindType("System.Runtime.InteropServices.PosixSignalRegistration");
                var signalType = FindType("System.Runtime.InteropServices.PosixSignal");
                var contextType = FindType("System.Runtime.InteropServices.PosixSignalContext");
                if (registration is null || signalType is null || contextType is null)
                {
                    return null;
                }

                var parameter = Expression.Parameter(contextType, "context");
                var body = Expression.Block(
                    Expression.Assign(Expression.Property(parameter, "Cancel"), Expression.Constant(true)),
                    Expression.Invoke(Expression.Constant(handler)));
                var delegateType = typeof(Action<>).MakeGenericType(contextType);
                var callback = Expression.Lambda(delegateType, body, parameter).Compile();
                var create = registration.GetMethod("Create", new[] { signalType, delegateType });
                return create?.Invoke(null, new object[] { Enum.ToObject(signalType, SigTerm), callback }) as IDisposable;
            }
            catch (Exception e) when (e is TargetInvocationException || e is PlatformNotSupportedException || e is ArgumentException || e is InvalidOperationException)
            {
                return null;
            }
        }

        private static Type? FindType(string name) =>
            Type.GetType(name + ", System.Runtime.InteropServices")
            ?? Type.GetType(name + ", System.Runtime")
            ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(name)).FirstOrDefault(t => t != null);
    }
}
