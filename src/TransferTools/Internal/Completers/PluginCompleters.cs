using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Internal.Completers
{
    /// <summary>Completes registration names (built-in defaults and registered plugins), optionally of one kind.</summary>
    public class PluginNameCompleter : IArgumentCompleter
    {
        /// <summary>Only registrations of this kind; null for all.</summary>
        protected virtual PluginType? Kind => null;

        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            // Registrations come from plugins.json: nothing is loaded or initialized to complete a name.
            var registrations = CompletionSupport.Session()?.Plugins.GetRegistrations() ?? new List<PluginRegistration>();
            var kind = Kind;
            return CompletionSupport.Matching(
                registrations.Where(r => kind is null || r.Kind == kind).OrderBy(r => r.Name, System.StringComparer.OrdinalIgnoreCase),
                wordToComplete, r => r.Name, r => $"{r.Name}: {r.TypeName} ({r.Kind.ToSeedValue()}{(r.IsDefault ? ", default" : "")})");
        }
    }

    /// <summary>Completes the names of storage plugins (<c>-Storage</c>).</summary>
    public sealed class StoragePluginNameCompleter : PluginNameCompleter
    {
        /// <inheritdoc/>
        protected override PluginType? Kind => PluginType.Storage;
    }

    /// <summary>Completes the names of auth plugins (<c>-Plugin</c> of the sign-in and user cmdlets).</summary>
    public sealed class AuthPluginNameCompleter : PluginNameCompleter
    {
        /// <inheritdoc/>
        protected override PluginType? Kind => PluginType.Auth;
    }

    /// <summary>Completes built-in plugin type names (<c>Register-TransferPlugin -Type</c>) with their descriptions.</summary>
    public sealed class PluginTypeCompleter : IArgumentCompleter
    {
        /// <inheritdoc/>
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            // With -Path, -Type names a class inside that assembly; loading it to list classes is not worth a Tab.
            if (CompletionSupport.Bound(fakeBoundParameters, "Path") != null)
            {
                return Enumerable.Empty<CompletionResult>();
            }

            return CompletionSupport.Matching(PluginCatalog.BuiltIns.OrderBy(b => b.Name, System.StringComparer.OrdinalIgnoreCase), wordToComplete,
                b => b.Name, b => $"{b.Name} ({b.Kind.ToSeedValue()}): {b.Description}");
        }
    }
}
