using System.Management.Automation;
using TransferTools.Internal;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Answers whether the session may do an action on a resource (the auth plugin's Authorize).</para>
    /// <para type="description">Resources are named <c>storage/NAME/KEY</c>, <c>transfer/DESTINATION-OR-SOURCE</c>,
    /// <c>plugins/NAME</c>, <c>users/NAME</c> and <c>metrics/NAME</c>. Writes $true or $false for each resource; an
    /// invalid, expired or missing session is an AuthenticationError.</para>
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "TransferAccess", HelpUri = HelpLinks.Root + "Test-TransferAccess.md")]
    [OutputType(typeof(bool))]
    public sealed class TestTransferAccessCommand : TransferCmdlet
    {
        /// <summary>The resource, e.g. <c>storage/LocalStore/reports/</c> or <c>transfer/sftp://host/in/</c>.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[] Resource { get; set; } = new string[0];

        /// <summary>The action: Read, Write, Delete or Admin.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        public Action Action { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            foreach (var resource in Resource)
            {
                if (TryRun(c => Session.Auth.TestAsync(c, resource, Action), resource, out bool allowed))
                {
                    WriteVerbose($"{(allowed ? "Allowed" : "Refused")}: {Action} on '{resource}'.");
                    WriteObject(allowed);
                }
            }
        }
    }
}
