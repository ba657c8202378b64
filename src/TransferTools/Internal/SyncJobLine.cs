using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net;
using System.Reflection;
using System.Threading;
using TransferTools.Abstractions;
using TransferTools.Commands;
using TransferTools.Engine.Sync;

namespace TransferTools.Internal
{
    /// <summary>
    /// A <c>Sync-TransferFolder</c> line kept as a <see cref="SyncJob"/> and run again later: by the transfer agent (a
    /// queued sync) or by <c>Resume-Transfer</c> (an interrupted one). Running it again is running the same cmdlet with
    /// the same parameters, as a nested pipeline of the caller's runspace, so a job gets exactly the plan, the copies and
    /// the delete phase's safety rules of the line it was made from: there is one sync, not a second copy of it.
    /// </summary>
    internal static class SyncJobLine
    {
        private const string TimeSpanTag = "TimeSpan:";
        private const string DateTimeTag = "DateTime:";

        /// <summary>Parameters that are not part of the job: the roots (kept apart), queueing, output, secrets, common ones.</summary>
        private static readonly HashSet<string> NotKept = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            nameof(FolderSyncCommand.Path), nameof(FolderSyncCommand.LiteralPath), nameof(FolderSyncCommand.Destination),
            nameof(FolderSyncCommand.Credential), nameof(SyncTransferFolderCommand.Queue), nameof(SyncTransferFolderCommand.RetryTimeout),
            nameof(SyncTransferFolderCommand.PassThru),
        };

        /// <summary>The job of a sync line: its resolved roots and the other parameters it was given (local paths made full).</summary>
        public static SyncJob Capture(SyncTransferFolderCommand command, string source, string destination)
        {
            var job = new SyncJob { Source = source, Destination = destination };
            foreach (var bound in command.MyInvocation.BoundParameters)
            {
                var property = ParameterProperty(bound.Key);
                if (property is null || NotKept.Contains(property.Name))
                {
                    continue;
                }

                var value = bound.Value is PSObject wrapped ? wrapped.BaseObject : bound.Value;
                if (value is string path && !Engine.Transfers.TransferLocationText.LooksLikeUri(path)
                    && (property.Name == nameof(SyncTransferFolderCommand.BackupPath) || property.Name == nameof(FolderSyncCommand.KeyFile)))
                {
                    // Kept full: the agent and a later Resume-Transfer run in another folder. (A remote -BackupPath, on the
                    // destination's server or store, is kept as given.)
                    value = LocalPaths.Resolve(command.SessionState, path);
                }

                job.Parameters[property.Name] = ToText(value);
            }

            return job;
        }

        /// <summary>
        /// Runs <paramref name="job"/> as a nested pipeline of the calling cmdlet's runspace (call on its pipeline thread),
        /// passing each error to <paramref name="error"/>, and returns the SyncResult it wrote (null when it wrote none).
        /// Cancelling <paramref name="stop"/> stops it as Ctrl+C would: copies in flight stop at a committed chunk.
        /// </summary>
        public static SyncResult? Run(SyncJob job, NetworkCredential? credential, CancellationToken stop, Action<ErrorRecord> error,
            Action<Transfer>? transfer = null)
        {
            using var shell = PowerShell.Create(RunspaceMode.CurrentRunspace);
            shell.AddCommand(new CmdletInfo("Sync-TransferFolder", typeof(SyncTransferFolderCommand)));
            shell.AddParameter(nameof(FolderSyncCommand.LiteralPath), job.Source);
            shell.AddParameter(nameof(FolderSyncCommand.Destination), job.Destination);
            foreach (var parameter in job.Parameters)
            {
                var property = ParameterProperty(parameter.Key);
                if (property != null && !NotKept.Contains(property.Name))
                {
                    shell.AddParameter(property.Name, FromText(parameter.Value, property.PropertyType));
                }
            }

            if (credential != null)
            {
                shell.AddParameter(nameof(FolderSyncCommand.Credential), new PSCredential(credential.UserName.Length > 0 ? credential.UserName : "-", credential.SecurePassword));
            }

            if (transfer != null)
            {
                shell.AddParameter(nameof(SyncTransferFolderCommand.PassThru), true);
            }

            SyncResult? result = null;
            using (stop.Register(() => shell.BeginStop(null, null)))
            {
                Collection<PSObject> output;
                try
                {
                    output = shell.Invoke();
                }
                catch (Exception e) when (e is RuntimeException)
                {
                    error(e is IContainsErrorRecord { ErrorRecord: { } record } ? record : new ErrorRecord(e, "SyncFailed", ErrorCategory.NotSpecified, job.Destination));
                    output = new Collection<PSObject>();
                }

                foreach (var item in output)
                {
                    switch (item?.BaseObject)
                    {
                        case SyncResult r:
                            result = r;
                            break;
                        case Transfer t:
                            transfer?.Invoke(t);
                            break;
                    }
                }
            }

            foreach (var record in shell.Streams.Error)
            {
                error(record);
            }

            return result;
        }

        /// <summary>
        /// The error that decides how a sync job ended: the first engine error whose code may pass by itself (the agent then
        /// tries again later), else the first engine error, else the first error of any kind; null when there was none.
        /// </summary>
        public static PluginException? FirstError(IEnumerable<ErrorRecord> errors)
        {
            PluginException? first = null;
            PluginException? any = null;
            foreach (var record in errors)
            {
                for (var e = record.Exception; e != null; e = e.InnerException)
                {
                    if (e is PluginException plugin)
                    {
                        if (Engine.Agent.TransferAgent.IsTransient(plugin.Code))
                        {
                            return plugin;
                        }

                        first ??= plugin;
                    }
                }

                any ??= new PluginException(ErrorCode.Unknown, record.Exception?.Message ?? record.ToString(), errorId: "SyncFailed");
            }

            return first ?? any;
        }

        private static PropertyInfo? ParameterProperty(string name)
        {
            var property = typeof(SyncTransferFolderCommand).GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            return property != null && property.GetCustomAttributes(typeof(ParameterAttribute), true).Length > 0 ? property : null;
        }

        private static string[] ToText(object? value)
        {
            switch (value)
            {
                case null:
                    return Array.Empty<string>();
                case SwitchParameter s:
                    return new[] { s.IsPresent ? "true" : "false" };
                case bool b:
                    return new[] { b ? "true" : "false" };
                case string text:
                    return new[] { text };
                case Hashtable table:
                    return table.Keys.Cast<object>().Select(k => Convert.ToString(k, CultureInfo.InvariantCulture) + "=" + Convert.ToString(table[k], CultureInfo.InvariantCulture)).ToArray();
                case IEnumerable many:
                    return many.Cast<object>().Select(v => Convert.ToString(v is PSObject p ? p.BaseObject : v, CultureInfo.InvariantCulture) ?? "").ToArray();
                case TimeSpan span:
                    return new[] { TimeSpanTag + span.ToString("c", CultureInfo.InvariantCulture) };
                case DateTime time:
                    return new[] { DateTimeTag + new DateTimeOffset(time.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(time, DateTimeKind.Local) : time).ToString("o", CultureInfo.InvariantCulture) };
                case DateTimeOffset offset:
                    return new[] { DateTimeTag + offset.ToString("o", CultureInfo.InvariantCulture) };
                default:
                    return new[] { Convert.ToString(value, CultureInfo.InvariantCulture) ?? "" };
            }
        }

        private static object? FromText(string[] values, Type type)
        {
            if (type == typeof(SwitchParameter))
            {
                return new SwitchParameter(values.Length > 0 && bool.Parse(values[0]));
            }

            if (type == typeof(string[]))
            {
                return values;
            }

            if (type == typeof(Hashtable))
            {
                var table = new Hashtable(StringComparer.OrdinalIgnoreCase);
                foreach (var pair in values)
                {
                    var equals = pair.IndexOf('=');
                    table[equals < 0 ? pair : pair.Substring(0, equals)] = equals < 0 ? "" : pair.Substring(equals + 1);
                }

                return table;
            }

            var one = values.Length > 0 ? values[0] : "";
            if (type == typeof(object))
            {
                // -MaxAge / -MinAge: a TimeSpan stays relative to when the job runs, a DateTime is a fixed time.
                return one.StartsWith(TimeSpanTag, StringComparison.Ordinal) ? TimeSpan.ParseExact(one.Substring(TimeSpanTag.Length), "c", CultureInfo.InvariantCulture)
                    : one.StartsWith(DateTimeTag, StringComparison.Ordinal) ? DateTimeOffset.Parse(one.Substring(DateTimeTag.Length), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)
                    : (object)one;
            }

            return LanguagePrimitives.ConvertTo(one, type, CultureInfo.InvariantCulture);
        }
    }
}
