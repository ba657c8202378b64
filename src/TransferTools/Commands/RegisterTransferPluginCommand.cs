using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Registers a plugin: a built-in type with a configuration, or a plugin assembly.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Register, "TransferPlugin", SupportsShouldProcess = true, DefaultParameterSetName = BuiltInSet, HelpUri = HelpLinks.Root + "Register-TransferPlugin.md")]
    [OutputType(typeof(PluginInfo))]
    public sealed class RegisterTransferPluginCommand : TransferCmdlet
    {
        private const string BuiltInSet = "BuiltIn";
        private const string PathSet = "Path";

        /// <summary>The registration name users type (default: the type name).</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>The plugin type: a built-in type name (FileSystem, Sftp, Http, LocalStore, AzureBlob, LocalUsers, Oidc, Progress, EventLog, OpenTelemetry), or with -Path the class to load.</summary>
        [Parameter(Mandatory = true, ParameterSetName = BuiltInSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.PluginTypeCompleter))]
        public string? Type { get; set; }

        /// <summary>The path of a plugin assembly built against TransferTools.Abstractions.</summary>
        [Parameter(Mandatory = true, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>The plugin's configuration. Secret values (keys naming a secret, password, key, token, connection string, SAS) are stored protected.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public Hashtable? Configuration { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var label = Name ?? Type ?? Path ?? "";
            if (!ShouldProcess(label, "Register transfer plugin"))
            {
                return;
            }

            var configuration = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (Configuration != null)
            {
                foreach (DictionaryEntry entry in Configuration)
                {
                    var value = entry.Value is PSObject ps ? ps.BaseObject : entry.Value;
                    configuration[entry.Key.ToString()!] = value switch
                    {
                        null => "",
                        System.Security.SecureString secure => new System.Net.NetworkCredential("", secure).Password,
                        PSCredential credential => credential.GetNetworkCredential().Password,
                        bool b => b ? "true" : "false",
                        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
                    };
                }
            }

            string? assemblyPath = null;
            try
            {
                assemblyPath = Path is null ? null : LocalPaths.Resolve(SessionState, Path);
            }
            catch (PluginException e)
            {
                WriteError(ErrorMapping.ToErrorRecord(e, Path));
                return;
            }

            // Paths in the configuration (those the plugin declares as paths) are relative to where the user is now.
            var here = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
            if (TryRun(c => Session.RegisterPluginAsync(c, Name, Type, assemblyPath, configuration, here), label, out PluginInfo info))
            {
                WriteObject(info);
            }
        }
    }
}
