using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists registered plugins (and the built-in defaults) with type, kind, state and configuration.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "TransferPlugin", HelpUri = HelpLinks.Root + "Get-TransferPlugin.md")]
    [OutputType(typeof(PluginInfo))]
    public sealed class GetTransferPluginCommand : TransferCmdlet
    {
        /// <summary>Registration names; wildcards allowed. Default: all.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Internal.Completers.PluginNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Only plugins of this kind.</summary>
        [Parameter]
        public PluginType? Kind { get; set; }

        /// <summary>Load each plugin (running Init) so its metadata and state are current.</summary>
        [Parameter]
        public SwitchParameter Load { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            var errors = new List<ErrorRecord>();
            var patterns = NamePatterns.Create(Name ?? new[] { "*" }, errors);
            errors.ForEach(WriteError);
            if (patterns.Count == 0)
            {
                return;
            }

            bool Matches(PluginRegistration r) => (Kind is null || r.Kind == Kind) && patterns.Any(p => p.Pattern.IsMatch(r.Name));
            if (Load)
            {
                foreach (var r in Session.Plugins.GetRegistrations().Where(Matches))
                {
                    TryRun(c => Session.Plugins.GetAsync(c, r.Name), r.Name, out IPlugin _);
                }
            }

            var infos = Session.Plugins.Describe().Where(i => Kind is null || i.Kind == Kind).ToList();
            Session.Monitors.FillHealth(infos);
            foreach (var (name, pattern) in patterns)
            {
                var matched = infos.Where(i => pattern.IsMatch(i.Name)).ToList();
                if (matched.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name) && Name != null)
                {
                    WriteError(ErrorMapping.ToErrorRecord(new PluginException(ErrorCode.PluginNotFound,
                        $"No plugin named '{name}' is registered.", errorId: "PluginNotFound", target: name)));
                }

                WriteObject(matched, enumerateCollection: true);
            }
        }
    }
}
