using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;

namespace TransferTools.Cmdlets.Tests
{
    /// <summary>
    /// -WhatIf on every cmdlet that supports ShouldProcess: no file in the home or the work folder is created, changed or
    /// removed, and nothing is written on the output. Each case first makes what its cmdlet acts on (a file, a storage
    /// item, a registration, a suspended transfer, a user), then compares the whole tree before and after.
    /// </summary>
    public sealed class ShouldProcessTests : IClassFixture<ModuleHost>
    {
        /// <summary>Cmdlet, what to make first, the -WhatIf call. Open mode: no user exists, so no sign-in is needed.</summary>
        public static readonly TheoryData<string, string, string> OpenCases = new TheoryData<string, string, string>
        {
            { "Send-Transfer", Files, "Send-Transfer $global:file $global:to -WhatIf" },
            { "Receive-Transfer", Files, "Receive-Transfer -Source $global:file -OutputDir $global:to -WhatIf" },
            { "Save-StorageItem", Files, "Save-StorageItem -Path $global:file -Name whatif/saved.bin -WhatIf" },
            { "Export-StorageItem", Files + Item, "Export-StorageItem -Id $global:item.Id -Destination $global:to -WhatIf" },
            { "Remove-StorageItem", Files + Item, "Remove-StorageItem -Id $global:item.Id -WhatIf" },
            { "Register-TransferPlugin", "", "Register-TransferPlugin -Name WhatIfEvents -Type EventLog -Configuration @{ Path = 'w.jsonl' } -WhatIf" },
            { "Unregister-TransferPlugin", Registered, "Unregister-TransferPlugin -Name KeptEvents -WhatIf" },
            { "Suspend-Transfer", Files + Suspended, "Suspend-Transfer -Id $global:t.Id -WhatIf" },
            { "Stop-Transfer", Files + Suspended, "Stop-Transfer -Id $global:t.Id -WhatIf" },
            { "Resume-Transfer", Files + Suspended, "Resume-Transfer -Id $global:t.Id -WhatIf" },
            { "Remove-TransferStatus", Files + Suspended, "Remove-TransferStatus -Id $global:t.Id -WhatIf" },
            { "Register-TransferAgent", "", InAgentHome("Register-TransferAgent -WhatIf") },
            { "Unregister-TransferAgent", InAgentHome("$null = Register-TransferAgent -NoServiceManager"), InAgentHome("Unregister-TransferAgent -WhatIf") },
            { "Sync-TransferFolder", Files, "Sync-TransferFolder -Path $global:to -Destination (Join-Path $Work 'whatif-sync') -Mirror -WhatIf" },
            { "New-TransferUser", "", "New-TransferUser -Credential (New-Object PSCredential 'admin', (ConvertTo-SecureString 'Long-Enough-Pass1' -AsPlainText -Force)) -Role Admin -WhatIf" },
        };

        private const string Files =
            "$global:file = Join-Path $Work 'whatif.bin'; [IO.File]::WriteAllBytes($global:file, [byte[]]::new(300000)); " +
            "$global:to = Join-Path $Work 'whatif-to'; $null = New-Item -ItemType Directory -Force $global:to; ";

        /// <summary>Runs <paramref name="command"/> with HOME in the work folder, so a user unit goes there, not to the real home.</summary>
        private static string InAgentHome(string command) =>
            "$saved = $env:HOME; $env:HOME = Join-Path $Work 'agent-user-home'; try { " + command + " } finally { $env:HOME = $saved }";

        private const string Item = "$global:item = Save-StorageItem -Path $global:file -Name ('whatif/' + [guid]::NewGuid() + '.bin'); ";

        private const string Registered =
            "if (-not (Get-TransferPlugin -Name KeptEvents -ErrorAction SilentlyContinue)) { " +
            "$null = Register-TransferPlugin -Name KeptEvents -Type EventLog -Configuration @{ Path = 'kept.jsonl' } }";

        // Suspended, so nothing moves while the trees are compared.
        private const string Suspended =
            "$global:t = Send-Transfer $global:file (Join-Path $global:to ([guid]::NewGuid().ToString() + '.bin')) -MaxBytesPerSecond 20KB -Asynchronous; " +
            "$null = Suspend-Transfer -Id $global:t.Id";

        private readonly ModuleHost _host;

        public ShouldProcessTests(ModuleHost host) => _host = host;

        [Theory]
        [MemberData(nameof(OpenCases))]
        public void WhatIf_changes_nothing(string cmdlet, string setup, string whatIf)
        {
            if (setup.Length > 0)
            {
                _host.Run(setup).Succeeded();
            }

            var before = _host.Snapshot();
            var result = _host.Run(whatIf).Succeeded();

            Assert.Empty(result.Output);
            Assert.Equal(before, _host.Snapshot());
            Assert.Contains(cmdlet, whatIf, StringComparison.Ordinal);
        }

        [Fact]
        public void Every_cmdlet_that_supports_ShouldProcess_has_a_WhatIf_case()
        {
            var supporting = _host.Run("Get-Command -Module TransferTools | Where-Object { $_.Parameters.ContainsKey('WhatIf') } | ForEach-Object Name")
                .Succeeded().Objects.Cast<string>().OrderBy(n => n, StringComparer.Ordinal);
            var covered = OpenCases.Select(c => (string)c[0]).Concat(SignedInShouldProcessTests.Cases.Select(c => (string)c[0]))
                .Distinct().OrderBy(n => n, StringComparer.Ordinal);

            Assert.Equal(supporting, covered);
        }
    }

    /// <summary>-WhatIf on the cmdlets that act on users and on the signed-in session: a user exists and is signed in.</summary>
    public sealed class SignedInShouldProcessTests : IClassFixture<ModuleHost>
    {
        public static readonly TheoryData<string, string> Cases = new TheoryData<string, string>
        {
            { "New-TransferUser", "New-TransferUser -Credential (New-Object PSCredential 'reader', (ConvertTo-SecureString 'Long-Enough-Pass2' -AsPlainText -Force)) -Role Reader -WhatIf" },
            { "Set-TransferUser", "Set-TransferUser -Name admin -Role Reader -Enabled $false -WhatIf" },
            { "Remove-TransferUser", "Remove-TransferUser -Name admin -WhatIf" },
            { "Update-TransferSession", "Update-TransferSession -WhatIf" },
            { "Disconnect-TransferService", "Disconnect-TransferService -WhatIf" },
        };

        private readonly ModuleHost _host;

        public SignedInShouldProcessTests(ModuleHost host)
        {
            _host = host;
            _host.Run(
                "$c = New-Object PSCredential 'admin', (ConvertTo-SecureString 'Long-Enough-Pass1' -AsPlainText -Force); " +
                "if (-not (Get-TransferSession).IsAuthenticated) { " +
                "  if (-not (Get-TransferUser -ErrorAction SilentlyContinue)) { $null = New-TransferUser -Credential $c -Role Admin }; " +
                "  $null = Connect-TransferService -Credential $c }").Succeeded();
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void WhatIf_changes_nothing(string cmdlet, string whatIf)
        {
            var before = _host.Snapshot();
            var result = _host.Run(whatIf).Succeeded();

            Assert.Empty(result.Output);
            Assert.Equal(before, _host.Snapshot());
            Assert.True((bool)_host.Run("(Get-TransferSession).IsAuthenticated").Succeeded().Objects.Single(), cmdlet + " -WhatIf signed out");
        }
    }
}
