using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;

namespace TransferTools.Cmdlets.Tests
{
    /// <summary>
    /// Failures reach the caller as ErrorRecords with a stable ErrorId, the right category and the offending object as
    /// target: what a script's <c>catch</c> or <c>-ErrorVariable</c> sees.
    /// </summary>
    public sealed class ErrorRecordTests : IClassFixture<ModuleHost>
    {
        private readonly ModuleHost _host;

        public ErrorRecordTests(ModuleHost host) => _host = host;

        [Fact]
        public void A_missing_source_is_SourceNotFound_ObjectNotFound_with_the_path_as_target()
        {
            var missing = Path.Combine(_host.Work, "no-such-file.bin");
            var result = _host.Run("param($f, $d) Send-Transfer -LiteralPath $f -Destination $d",
                new Dictionary<string, object?> { ["f"] = missing, ["d"] = _host.NewFolder("missing-to") });

            var error = Assert.Single(result.Errors);
            Assert.Equal("SourceNotFound,TransferTools.Commands.SendTransferCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
            Assert.Equal(missing, error.TargetObject);
            Assert.Empty(result.Output);
        }

        [Fact]
        public void A_folder_without_Recurse_is_SourceIsFolder_InvalidArgument()
        {
            var folder = _host.NewFolder("a-folder");
            var result = _host.Run("param($f, $d) Send-Transfer -LiteralPath $f -Destination $d",
                new Dictionary<string, object?> { ["f"] = folder, ["d"] = _host.NewFolder("folder-to") });

            var error = Assert.Single(result.Errors);
            Assert.Equal("SourceIsFolder,TransferTools.Commands.SendTransferCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Equal(folder, error.TargetObject);
        }

        [Fact]
        public void An_existing_destination_is_DestinationExists_ResourceExists_and_stays_untouched()
        {
            var file = _host.NewFile("conflict/c.bin", 5000, seed: 9);
            var destination = _host.NewFolder("conflict-to");
            var existing = Path.Combine(destination, "c.bin");
            File.WriteAllText(existing, "keep me");
            var result = _host.Run("param($f, $d) Send-Transfer $f $d",
                new Dictionary<string, object?> { ["f"] = file, ["d"] = destination });

            var error = Assert.Single(result.Errors);
            Assert.Equal("DestinationExists,TransferTools.Commands.SendTransferCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ResourceExists, error.CategoryInfo.Category);
            Assert.Equal(existing, error.TargetObject);
            Assert.Equal("keep me", File.ReadAllText(existing));
        }

        [Fact]
        public void An_unknown_transfer_id_is_TransferNotFound_with_the_id_as_target()
        {
            const string id = "ffffffffffffffffffffffffffffffff";
            var result = _host.Run($"Get-TransferStatus -Id {id}");

            var error = Assert.Single(result.Errors);
            Assert.Equal("TransferNotFound,TransferTools.Commands.GetTransferStatusCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
            Assert.Equal(id, error.TargetObject);
        }

        [Fact]
        public void A_failure_for_one_piped_input_does_not_stop_the_next()
        {
            var good = _host.NewFile("mixed/good.bin", 2000, seed: 3);
            var missing = Path.Combine(_host.Work, "mixed", "gone.bin");
            var result = _host.Run("param($f, $d) $f | Send-Transfer -Destination $d",
                new Dictionary<string, object?> { ["f"] = new[] { missing, good }, ["d"] = _host.NewFolder("mixed-to") });

            Assert.Equal("SourceNotFound,TransferTools.Commands.SendTransferCommand", Assert.Single(result.Errors).FullyQualifiedErrorId);
            Assert.Equal("Completed", Assert.Single(result.Output).Properties["Status"].Value.ToString());
        }

        [Fact]
        public void ErrorAction_Stop_turns_the_record_into_an_exception_that_carries_it()
        {
            var result = _host.Run(
                "try { Get-TransferStatus -Id ffffffffffffffffffffffffffffffff -ErrorAction Stop; 'not thrown' } " +
                "catch { $_.FullyQualifiedErrorId; $_.Exception.GetType().FullName }");

            Assert.Equal(new object[] { "TransferNotFound,TransferTools.Commands.GetTransferStatusCommand", "TransferTools.Abstractions.PluginException" },
                result.Objects.ToArray());
        }
    }
}
