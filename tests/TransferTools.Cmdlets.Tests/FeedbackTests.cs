using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using System.Security;
using System.Threading;

namespace TransferTools.Cmdlets.Tests
{
    /// <summary>
    /// Issue 28 item 9, feedback where a user waits: Ctrl+C says which transfer was suspended and how to continue it, a
    /// session closing with asynchronous transfers says which it suspended, and Wait-Transfer shows progress. The lines
    /// go to the host (a stopped pipeline takes no more records), so these tests run in a host that keeps them.
    /// </summary>
    public sealed class FeedbackTests : IClassFixture<ModuleHost>
    {
        private readonly ModuleHost _host;

        public FeedbackTests(ModuleHost host) => _host = host;

        [Fact]
        public void Ctrl_C_during_a_send_says_where_it_was_suspended_and_how_to_continue()
        {
            var file = _host.NewFile("ctrlc/big.bin", 1_000_000, seed: 21);
            var to = _host.NewFolder("ctrlc-to");
            var ui = new RecordingHost();
            var runspace = NewRunspace(ui);
            using (var shell = PowerShell.Create(runspace))
            {
                shell.AddCommand("Send-Transfer").AddParameter("Path", file).AddParameter("Destination", to).AddParameter("MaxBytesPerSecond", 100_000L)
                    .AddParameter("ChunkSize", 16384);
                var running = shell.BeginInvoke();
                WaitUntilMoving(runspace);
                shell.Stop();
                Assert.Throws<PipelineStoppedException>(() => shell.EndInvoke(running));
            }

            var transfer = ModuleHost.Run(runspace, "Get-TransferStatus -First 1").Succeeded().Output.Single();
            Assert.Equal("Suspended", transfer.Properties["Status"].Value.ToString());
            var id = ((string)transfer.Properties["Id"].Value).Substring(0, 8);
            var line = Assert.Single(ui.Warnings, w => w.Contains(id, StringComparison.Ordinal));
            Assert.Matches(@"^Transfer \S+ suspended at \d+ % — Resume-Transfer \S+ continues it\.$", line);
            Assert.Contains("Resume-Transfer " + id, line, StringComparison.Ordinal);
            ModuleHost.Run(runspace, "Stop-Transfer -Confirm:$false -Id " + id).Succeeded();
            runspace.Dispose();
        }

        [Fact]
        public void A_session_closing_with_asynchronous_transfers_running_says_which_it_suspended()
        {
            var file = _host.NewFile("close/big.bin", 1_000_000, seed: 22);
            var to = _host.NewFolder("close-to");
            var ui = new RecordingHost();
            var runspace = NewRunspace(ui);
            var started = ModuleHost.Run(runspace, "param($f, $t) Send-Transfer -Path $f -Destination $t -MaxBytesPerSecond 100000 -ChunkSize 16384 -Asynchronous",
                new Dictionary<string, object?> { ["f"] = file, ["t"] = to }).Succeeded().Output.Single();
            var id = ((string)started.Properties["Id"].Value).Substring(0, 8);
            WaitUntilMoving(runspace);

            runspace.Close();
            // (Closing raises the runspace's state events, which close the session; wait for its line, bounded.)
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!ui.Warnings.Any(w => w.Contains(id, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }

            var line = Assert.Single(ui.Warnings, w => w.Contains(id, StringComparison.Ordinal));
            Assert.Contains("suspended", line, StringComparison.Ordinal);
            Assert.Contains("Resume-Transfer " + id, line, StringComparison.Ordinal);
            var other = _host.NewRunspace();
            var after = ModuleHost.Run(other, "Get-TransferStatus -Id " + id).Succeeded().Output.Single();
            Assert.Equal("Suspended", after.Properties["Status"].Value.ToString());
            ModuleHost.Run(other, "Stop-Transfer -Confirm:$false -Id " + id).Succeeded();
            runspace.Dispose();
        }

        [Fact]
        public void Wait_Transfer_shows_progress_while_it_waits()
        {
            var file = _host.NewFile("wait/big.bin", 600_000, seed: 23);
            var to = _host.NewFolder("wait-to");
            var ui = new RecordingHost();
            var runspace = NewRunspace(ui);
            var started = ModuleHost.Run(runspace, "param($f, $t) Send-Transfer -Path $f -Destination $t -MaxBytesPerSecond 200000 -ChunkSize 16384 -Asynchronous",
                new Dictionary<string, object?> { ["f"] = file, ["t"] = to }).Succeeded().Output.Single();
            var id = (string)started.Properties["Id"].Value;
            using var shell = PowerShell.Create(runspace);
            shell.AddCommand("Wait-Transfer").AddParameter("Id", id);
            var output = shell.Invoke();

            Assert.Equal("Completed", output.Single().Properties["Status"].Value.ToString());
            var records = shell.Streams.Progress.ToList();
            Assert.Contains(records, r => r.RecordType == ProgressRecordType.Processing && r.PercentComplete >= 0
                                          && r.StatusDescription.Contains(" of ", StringComparison.Ordinal));
            Assert.Equal(ProgressRecordType.Completed, records.Last().RecordType);
            runspace.Dispose();
        }

        private Runspace NewRunspace(RecordingHost host)
        {
            var state = InitialSessionState.CreateDefault2();
            state.ImportPSModule(_host.ModuleManifest);
            var runspace = RunspaceFactory.CreateRunspace(host, state);
            runspace.Open();
            return runspace;
        }

        private void WaitUntilMoving(Runspace runspace)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                var status = ModuleHost.Run(_host.Shared, "Get-TransferStatus -Status Active").Output;
                if (status.Any(t => (long)t.Properties["BytesTransferred"].Value > 0))
                {
                    return;
                }

                Thread.Sleep(100);
            }

            Assert.Fail("The transfer never started moving bytes.");
        }

        /// <summary>A host that keeps the warning lines written to it and has a UI, as a console has.</summary>
        private sealed class RecordingHost : PSHost
        {
            private readonly RecordingUI _ui = new RecordingUI();

            public IReadOnlyList<string> Warnings => _ui.Warnings.ToList();

            public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
            public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
            public override Guid InstanceId { get; } = Guid.NewGuid();
            public override string Name => "FeedbackTestHost";
            public override PSHostUserInterface UI => _ui;
            public override Version Version => new Version(1, 0);
            public override void EnterNestedPrompt() => throw new NotSupportedException();
            public override void ExitNestedPrompt() => throw new NotSupportedException();
            public override void NotifyBeginApplication() { }
            public override void NotifyEndApplication() { }
            public override void SetShouldExit(int exitCode) { }
        }

        private sealed class RecordingUI : PSHostUserInterface
        {
            public ConcurrentQueue<string> Warnings { get; } = new ConcurrentQueue<string>();
            public override PSHostRawUserInterface RawUI { get; } = new RawUI();
            public override void WriteWarningLine(string message) => Warnings.Enqueue(message);
            public override string ReadLine() => "";
            public override SecureString ReadLineAsSecureString() => new SecureString();
            public override void Write(string value) { }
            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { }
            public override void WriteLine(string value) { }
            public override void WriteErrorLine(string value) { }
            public override void WriteDebugLine(string message) { }
            public override void WriteProgress(long sourceId, ProgressRecord record) { }
            public override void WriteVerboseLine(string message) { }
            public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => new Dictionary<string, PSObject>();
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
                PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
            public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => defaultChoice;
        }

        private sealed class RawUI : PSHostRawUserInterface
        {
            public override ConsoleColor BackgroundColor { get; set; }
            public override Size BufferSize { get; set; } = new Size(120, 50);
            public override Coordinates CursorPosition { get; set; }
            public override int CursorSize { get; set; }
            public override ConsoleColor ForegroundColor { get; set; }
            public override bool KeyAvailable => false;
            public override Size MaxPhysicalWindowSize => new Size(120, 50);
            public override Size MaxWindowSize => new Size(120, 50);
            public override Coordinates WindowPosition { get; set; }
            public override Size WindowSize { get; set; } = new Size(120, 50);
            public override string WindowTitle { get; set; } = "";
            public override void FlushInputBuffer() { }
            public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
            public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
            public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
            public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
            public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
        }
    }
}
