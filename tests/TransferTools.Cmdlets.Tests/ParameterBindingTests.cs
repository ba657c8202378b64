using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;

namespace TransferTools.Cmdlets.Tests
{
    /// <summary>Parameter sets and pipeline input, as PowerShell binds them before any engine code runs.</summary>
    public sealed class ParameterBindingTests : IClassFixture<ModuleHost>
    {
        private readonly ModuleHost _host;

        public ParameterBindingTests(ModuleHost host) => _host = host;

        [Fact]
        public void Send_Transfer_has_Path_and_LiteralPath_sets_and_LiteralPath_takes_PSPath()
        {
            var command = (CmdletInfo)_host.Run("Get-Command Send-Transfer").Succeeded().Objects.Single();
            Assert.Equal(new[] { "LiteralPath", "Path" }, command.ParameterSets.Select(s => s.Name).OrderBy(n => n));
            Assert.Equal("Path", command.DefaultParameterSet);
            var literal = command.Parameters["LiteralPath"];
            Assert.Contains("PSPath", literal.Aliases);
            Assert.True(literal.ParameterSets["LiteralPath"].ValueFromPipelineByPropertyName);
            Assert.True(command.Parameters["Path"].ParameterSets["Path"].ValueFromPipeline);
        }

        [Fact]
        public void A_piped_file_binds_by_PSPath_so_wildcard_characters_in_its_name_are_literal()
        {
            var file = _host.NewFile("piped/a[1].bin", 3000, seed: 7);
            var destination = _host.NewFolder("piped-to");
            var result = _host.Run("param($f, $d) Get-Item -LiteralPath $f | Send-Transfer -Destination $d",
                new Dictionary<string, object?> { ["f"] = file, ["d"] = destination }).Succeeded();

            var transfer = Assert.Single(result.Output);
            Assert.Equal("Completed", transfer.Properties["Status"].Value.ToString());
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(destination, "a[1].bin")));
        }

        [Fact]
        public void Piped_path_strings_bind_to_Path_and_expand_wildcards()
        {
            _host.NewFile("globbed/one.bin", 100, seed: 1);
            _host.NewFile("globbed/two.bin", 200, seed: 2);
            _host.NewFile("globbed/skip.txt", 10, seed: 3);
            var destination = _host.NewFolder("globbed-to");
            var result = _host.Run("param($p, $d) $p | Send-Transfer -Destination $d",
                new Dictionary<string, object?> { ["p"] = Path.Combine(_host.Work, "globbed", "*.bin"), ["d"] = destination }).Succeeded();

            Assert.Equal(2, result.Output.Count);
            Assert.Equal(new[] { "one.bin", "two.bin" }, Directory.GetFiles(destination).Select(Path.GetFileName).OrderBy(n => n));
        }

        [Fact]
        public void Path_and_LiteralPath_together_resolve_no_parameter_set()
        {
            var result = _host.Run("param($f) Send-Transfer -Path $f -LiteralPath $f -Destination $f",
                new Dictionary<string, object?> { ["f"] = _host.Work });

            var error = Assert.Single(result.Errors);
            Assert.Equal("AmbiguousParameterSet,TransferTools.Commands.SendTransferCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        }

        [Fact]
        public void Get_TransferStatus_piped_to_Stop_Transfer_binds_each_Id_by_property_name()
        {
            var runspace = _host.NewRunspace();
            var file = _host.NewFile("stop/slow.bin", 400_000, seed: 4);
            var destination = _host.NewFolder("stop-to");
            var parameters = new Dictionary<string, object?> { ["f"] = file, ["d"] = destination };
            var started = ModuleHost.Run(runspace, "param($f, $d) Send-Transfer $f $d -MaxBytesPerSecond 50KB -Asynchronous", parameters).Succeeded();
            var id = (string)Assert.Single(started.Output).Properties["Id"].Value;

            var stopped = ModuleHost.Run(runspace,
                "Get-TransferStatus -Status Pending, Active, Suspended | Stop-Transfer -PassThru -Confirm:$false").Succeeded();

            var transfer = Assert.Single(stopped.Output);
            Assert.Equal(id, transfer.Properties["Id"].Value);
            Assert.Equal("Cancelled", transfer.Properties["Status"].Value.ToString());
            Assert.False(File.Exists(Path.Combine(destination, "slow.bin")));
        }

        [Fact]
        public void A_Transfer_object_binds_to_Get_TransferStatus_by_Id()
        {
            var file = _host.NewFile("status/s.bin", 1000, seed: 5);
            var destination = _host.NewFolder("status-to");
            var result = _host.Run("param($f, $d) Send-Transfer $f $d | Get-TransferStatus",
                new Dictionary<string, object?> { ["f"] = file, ["d"] = destination }).Succeeded();

            Assert.Equal("Completed", Assert.Single(result.Output).Properties["Status"].Value.ToString());
        }

        [Fact]
        public void Get_TransferStatus_takes_Id_or_Status_never_both()
        {
            var result = _host.Run("Get-TransferStatus -Id abc -Status Active");

            Assert.Equal("AmbiguousParameterSet,TransferTools.Commands.GetTransferStatusCommand", Assert.Single(result.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Validation_refuses_out_of_range_values_before_the_engine_runs()
        {
            var before = _host.Snapshot();
            var result = _host.Run("param($w) Send-Transfer -Path $w -Destination $w -ThrottleLimit 0",
                new Dictionary<string, object?> { ["w"] = _host.Work });

            var error = Assert.Single(result.Errors);
            Assert.Equal("ParameterArgumentValidationError,TransferTools.Commands.SendTransferCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
            Assert.Equal(before, _host.Snapshot());
        }
    }
}
