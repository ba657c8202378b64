using System.Management.Automation;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Shuts a registered plugin down and removes its registration.</para>
    /// </summary>
    [Cmdlet(VerbsLifecycle.Unregister, "TransferPlugin", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, HelpUri = HelpLinks.Root + "Unregister-TransferPlugin.md")]
    [OutputType(typeof(void))]
    public sealed class UnregisterTransferPluginCommand : TransferCmdlet
    {
        /// <summary>The registration name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Internal.Completers.PluginNameCompleter))]
        public string[] Name { get; set; } = new string[0];

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var name in Name)
            {
                if (ShouldProcess(name, "Unregister transfer plugin"))
                {
                    TryRun(c => Session.UnregisterPluginAsync(c, name), name);
                }
            }
        }
    }
}
