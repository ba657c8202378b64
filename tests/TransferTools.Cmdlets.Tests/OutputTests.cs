using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;

namespace TransferTools.Cmdlets.Tests
{
    /// <summary>
    /// What the cmdlets write: typed objects that match their [OutputType], written on the pipeline thread (PowerShell
    /// refuses <c>Write*</c> from any other), even while the engine works on its own threads.
    /// </summary>
    public sealed class OutputTests : IClassFixture<ModuleHost>
    {
        private readonly ModuleHost _host;

        public OutputTests(ModuleHost host) => _host = host;

        /// <summary>Representative calls of each kind of cmdlet; every object each writes must be one of its [OutputType]s.</summary>
        public static readonly TheoryData<string, string> Calls = new TheoryData<string, string>
        {
            { "Send-Transfer", "Send-Transfer $file $to" },
            { "Receive-Transfer", "Receive-Transfer -Source $file -OutputDir $to" },
            { "Get-TransferStatus", "Get-TransferStatus -First 3" },
            { "Wait-Transfer", "Send-Transfer $file $to -Asynchronous | Wait-Transfer" },
            { "Suspend-Transfer", "Send-Transfer $file $to -MaxBytesPerSecond 20KB -Asynchronous | Suspend-Transfer -PassThru" },
            { "Resume-Transfer", "Send-Transfer $file $to -MaxBytesPerSecond 20KB -Asynchronous | Suspend-Transfer -PassThru | Resume-Transfer -MaxBytesPerSecond 0" },
            { "Stop-Transfer", "Send-Transfer $file $to -MaxBytesPerSecond 20KB -Asynchronous | Stop-Transfer -PassThru -Confirm:$false" },
            { "Save-StorageItem", "Save-StorageItem -Path $file -Name ('out/' + [guid]::NewGuid() + '.bin')" },
            { "Get-StorageItem", "Get-StorageItem -Prefix out/" },
            { "Measure-StorageItem", "Measure-StorageItem" },
            { "Export-StorageItem", "Get-StorageItem -Prefix out/ -First 1 | Export-StorageItem -Destination (Join-Path $to ([guid]::NewGuid().ToString() + '.bin'))" },
            { "Get-TransferPlugin", "Get-TransferPlugin" },
            { "Register-TransferPlugin", "Register-TransferPlugin -Name ('Events' + [guid]::NewGuid().ToString('n')) -Type EventLog -Configuration @{ Path = 'e.jsonl' }" },
            { "Get-TransferSession", "Get-TransferSession" },
            { "Test-TransferAccess", "Test-TransferAccess -Resource 'storage/LocalStore/out/' -Action Read" },
            { "Sync-TransferFolder", "Sync-TransferFolder (Split-Path $file) (Join-Path $to 'synced') -PassThru" },
            { "Compare-TransferFolder", "Compare-TransferFolder (Split-Path $file) $to; Compare-TransferFolder (Split-Path $file) $to -Quiet" },
        };

        [Theory]
        [MemberData(nameof(Calls))]
        public void Output_objects_match_OutputType(string cmdlet, string call)
        {
            var file = _host.NewFile("out/" + cmdlet + ".bin", 200_000, seed: 2);
            var to = _host.NewFolder("out-" + cmdlet + "-" + Guid.NewGuid().ToString("n"));
            var declared = _host.Run($"(Get-Command {cmdlet}).OutputType.Type").Succeeded().Objects.Cast<Type>().ToList();
            Assert.NotEmpty(declared);

            var result = _host.Run("param($file, $to) " + call, new Dictionary<string, object?> { ["file"] = file, ["to"] = to }).Succeeded();

            Assert.NotEmpty(result.Output);
            foreach (var written in result.Objects)
            {
                Assert.True(declared.Any(t => t.IsInstanceOfType(written)),
                    $"{cmdlet} wrote a {written.GetType().FullName}; its [OutputType] says {string.Join(", ", declared.Select(t => t.FullName))}.");
            }
        }

        [Fact]
        public void Output_errors_verbose_and_progress_arrive_on_the_pipeline_thread()
        {
            var files = Enumerable.Range(0, 6).Select(i => _host.NewFile($"threads/f{i}.bin", 300_000, seed: i)).ToArray();
            var to = _host.NewFolder("threads-to");
            var threads = new ConcurrentBag<(string Stream, int Thread)>();
            using var shell = PowerShell.Create(_host.Shared);
            shell.AddScript("param($files, $to, $missing) [Threading.Thread]::CurrentThread.ManagedThreadId; " +
                            "@($files) + $missing | Send-Transfer -Destination $to -Verbose -ThrottleLimit 3")
                .AddParameter("files", files).AddParameter("to", to).AddParameter("missing", Path.Combine(_host.Work, "threads", "gone.bin"));
            var output = new PSDataCollection<PSObject>();
            output.DataAdded += (_, _) => threads.Add(("output", Environment.CurrentManagedThreadId));
            shell.Streams.Error.DataAdded += (_, _) => threads.Add(("error", Environment.CurrentManagedThreadId));
            shell.Streams.Verbose.DataAdded += (_, _) => threads.Add(("verbose", Environment.CurrentManagedThreadId));

            shell.Invoke(null, output);

            var pipelineThread = (int)output[0].BaseObject;
            Assert.Equal(1 + files.Length, output.Count);
            Assert.All(output.Skip(1), o => Assert.Equal("TransferTools.Abstractions.Transfer", o.BaseObject.GetType().FullName));
            Assert.Single(shell.Streams.Error);
            Assert.Contains(threads, t => t.Stream == "verbose");
            Assert.All(threads, t => Assert.True(t.Thread == pipelineThread, $"{t.Stream} written on thread {t.Thread}, not the pipeline's {pipelineThread}"));
        }
    }

    /// <summary>Ctrl+C: <see cref="PowerShell.Stop"/> while a transfer moves bytes suspends it, resumable later.</summary>
    public sealed class StopTests : IClassFixture<ModuleHost>
    {
        private readonly ModuleHost _host;

        public StopTests(ModuleHost host) => _host = host;

        [Fact]
        public void Stop_mid_transfer_suspends_it_and_leaves_no_file_under_its_final_name()
        {
            var file = _host.NewFile("stop/big.bin", 1_000_000, seed: 11);
            var to = _host.NewFolder("stop-to");
            var runspace = _host.NewRunspace();
            using (var shell = PowerShell.Create(runspace))
            {
                shell.AddCommand("Send-Transfer").AddParameter("Path", file).AddParameter("Destination", to).AddParameter("MaxBytesPerSecond", 100_000L)
                    .AddParameter("ChunkSize", 16384);
                var running = shell.BeginInvoke();
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (!Moving() && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100);
                }

                Assert.True(Moving(), "The transfer never started moving bytes.");
                shell.Stop();
                Assert.Throws<PipelineStoppedException>(() => shell.EndInvoke(running));
                Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
            }

            var transfer = ModuleHost.Run(runspace, "Get-TransferStatus -First 1").Succeeded().Output.Single();
            Assert.Equal("Suspended", transfer.Properties["Status"].Value.ToString());
            Assert.InRange((long)transfer.Properties["BytesTransferred"].Value, 1, 999_999);
            Assert.False(File.Exists(Path.Combine(to, "big.bin")));

            // Resumable: the journal kept where it stopped.
            var resumed = ModuleHost.Run(runspace, "Get-TransferStatus -Status Suspended | Resume-Transfer -MaxBytesPerSecond 0").Succeeded().Output.Single();
            Assert.Equal("Completed", resumed.Properties["Status"].Value.ToString());
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(to, "big.bin")));

            bool Moving()
            {
                var status = ModuleHost.Run(_host.Shared, "Get-TransferStatus -Status Active").Output;
                return status.Any(t => (long)t.Properties["BytesTransferred"].Value > 0);
            }
        }
    }
}
