using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using TransferTools.Internal;

namespace TransferTools.Commands
{
    /// <summary>
    /// <para type="synopsis">Records a custom metric; every registered monitor receives it.</para>
    /// </summary>
    [Cmdlet(VerbsCommunications.Write, "TransferMetric", HelpUri = HelpLinks.Root + "Write-TransferMetric.md")]
    [OutputType(typeof(void))]
    public sealed class WriteTransferMetricCommand : TransferCmdlet
    {
        /// <summary>The metric's name, e.g. <c>backup.files</c>.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidatePattern(@"^[A-Za-z_][A-Za-z0-9_.\-/]{0,254}$")]
        public string Name { get; set; } = "";

        /// <summary>The value.</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        public double Value { get; set; }

        /// <summary>Tags (dimensions) as key/value pairs.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Tags")]
        public Hashtable? Tag { get; set; }

        /// <inheritdoc/>
        protected override void ProcessRecord()
        {
            if (double.IsNaN(Value) || double.IsInfinity(Value))
            {
                WriteError(new ErrorRecord(new ArgumentException($"The metric value must be a finite number, not {Value}."),
                    "InvalidMetricValue", ErrorCategory.InvalidArgument, Value));
                return;
            }

            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            if (Tag != null)
            {
                foreach (DictionaryEntry e in Tag)
                {
                    tags[e.Key.ToString()!] = Convert.ToString(e.Value is PSObject p ? p.BaseObject : e.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                }
            }

            TryRun(c => Session.Monitors.RecordMetricAsync(c, Name, Value, tags), Name);
        }
    }
}
