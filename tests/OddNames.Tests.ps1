#Requires -Modules Pester
# Issue 28 item 1: every cmdlet that takes a path takes names with wildcard characters, a backtick, spaces and unicode
# literally (none skipped, none mangled), and paths through a PSDrive. Send-Transfer and Save-StorageItem are in
# Everyday.Tests.ps1; this file has the others.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $ProgressPreference = 'SilentlyContinue'
    $script:names = 'report[2026].txt', 'br[1].txt', 'star*.txt', 'what?.txt', 'tick`s.txt', 'two words.txt', 'Grüße ✓.txt'
    # A folder whose own name is odd too, so a path is never only odd in its last part.
    $script:odd = Join-Path $script:home_ 'src [x] `y` ü'
    [IO.Directory]::CreateDirectory($script:odd) | Out-Null
    $i = 0
    foreach ($n in $script:names) { New-TestFile -Path (Join-Path $script:odd $n) -Size (100 + $i++) -Seed $i | Out-Null }

    function HashOf([string] $Path) { (Get-FileHash -LiteralPath $Path).Hash }
    # Each segment escaped as a URI needs it ('?' would start a query, '#' a fragment); [uri] alone leaves '?' as is.
    function EscapedPath([string] $Path) { ($Path.Split('/') | ForEach-Object { [uri]::EscapeDataString($_) }) -join '/' }
    function FileUri([string] $Path) { 'file://' + (EscapedPath $Path) }
}
AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest $script:home_
}

Describe 'Receive-Transfer with odd names' {
    It 'receives every file by its plain path into an -OutputDir with an odd name, all byte-identical' {
        $out = Join-Path $script:home_ 'in [1] `a` ü'
        foreach ($n in $script:names) {
            $r = Receive-Transfer -Source (Join-Path $script:odd $n) -OutputDir $out
            $r.Status | Should -Be 'Completed' -Because "'$n' was named"
            HashOf (Join-Path $out $n) | Should -Be (HashOf (Join-Path $script:odd $n))
        }
        @(Get-ChildItem -LiteralPath $out -File).Count | Should -Be $script:names.Count
    }

    It 'receives every file by a file:// URI (escaped as a URI is)' {
        $out = Join-Path $script:home_ 'in-uri [2]'
        foreach ($n in $script:names) {
            $r = Receive-Transfer -Source (FileUri (Join-Path $script:odd $n)) -OutputDir $out
            $r.Status | Should -Be 'Completed' -Because "'$n' was named"
            HashOf (Join-Path $out $n) | Should -Be (HashOf (Join-Path $script:odd $n))
        }
    }

    It 'receives every file over sftp into an odd -OutputDir, and a folder of them with -Recurse' {
        $sshd = Start-TestSshd
        $remote = Join-Path $sshd.KeyUserData 'odd [r] ü'
        [IO.Directory]::CreateDirectory($remote) | Out-Null
        foreach ($n in $script:names) { Copy-Item -LiteralPath (Join-Path $script:odd $n) -Destination (Join-Path $remote $n) }
        $base = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)"
        $auth = @{ KeyFile = $sshd.KeyFile; HostKeyFingerprint = $sshd.HostKeyFingerprint }
        $out = Join-Path $script:home_ 'sftp-in [3] ✓'
        foreach ($n in $script:names) {
            $uri = $base + (EscapedPath (Join-Path $remote $n))
            $r = Receive-Transfer -Source $uri -OutputDir $out @auth
            $r.Status | Should -Be 'Completed' -Because "'$n' was named"
            HashOf (Join-Path $out $n) | Should -Be (HashOf (Join-Path $script:odd $n))
        }
        $folderUri = $base + (EscapedPath $remote)
        $tree = @(Receive-Transfer -Source $folderUri -Recurse -OutputDir (Join-Path $script:home_ 'sftp-tree') @auth)
        @($tree | Where-Object Status -eq 'Completed').Count | Should -Be $script:names.Count
        foreach ($n in $script:names) {
            HashOf (Join-Path $script:home_ "sftp-tree/odd [r] ü/$n") | Should -Be (HashOf (Join-Path $script:odd $n))
        }
    }
}

Describe 'Export-StorageItem -Destination with odd names' {
    It 'exports to each odd name, literally, in a folder with an odd name' {
        $into = Join-Path $script:home_ 'export [e] `x` ü'
        [IO.Directory]::CreateDirectory($into) | Out-Null
        foreach ($n in $script:names) {
            $item = Save-StorageItem -LiteralPath (Join-Path $script:odd $n) -Name "odd-export/$n"
            $file = Export-StorageItem -Id $item.Id -Destination (Join-Path $into $n)
            $file.Name | Should -Be $n
            HashOf (Join-Path $into $n) | Should -Be (HashOf (Join-Path $script:odd $n))
        }
        @(Get-ChildItem -LiteralPath $into -File).Count | Should -Be $script:names.Count
    }
}

Describe 'Register-TransferPlugin -Path with an odd name' {
    It 'loads a plugin from a folder and file whose names have wildcard characters, a backtick and unicode' {
        $dir = Join-Path $script:home_ 'plugins [p] `q` ü'
        [IO.Directory]::CreateDirectory($dir) | Out-Null
        $dll = Join-Path $dir 'Quiet[1] ✓.dll'
        # Add-Type takes -OutputAssembly as a pattern: compile under a plain name, then give it the odd one.
        $plain = Join-Path $script:home_ 'QuietMonitor.dll'
        $abstractions = Join-Path (Get-TestModulePath) 'TransferTools.Abstractions.dll'
        Add-Type -OutputAssembly $plain -OutputType Library -ReferencedAssemblies $abstractions, 'netstandard', 'System.Collections', 'System.Runtime' -TypeDefinition @'
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace OddNameTests
{
    public sealed class QuietMonitor : IMonitorPlugin
    {
        public PluginMetadata Metadata { get; } = new PluginMetadata { Name = "Quiet", Version = "1.0.0", Type = PluginType.Monitor };
        public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) { return Task.CompletedTask; }
        public Task ShutdownAsync(OperationContext context) { return Task.CompletedTask; }
        public void TransferStarted(OperationContext context, Transfer transfer) { }
        public void TransferProgress(OperationContext context, Transfer transfer, double progress) { }
        public void TransferCompleted(OperationContext context, Transfer transfer) { }
        public void TransferFailed(OperationContext context, Transfer transfer, System.Exception error) { }
        public void RecordMetric(OperationContext context, string name, double value, IReadOnlyDictionary<string, string> tags) { }
    }
}
'@
        Move-Item -LiteralPath $plain -Destination $dll
        try {
            $info = Register-TransferPlugin -Name QuietOdd -Path $dll
            $info.Name | Should -Be 'QuietOdd'
            (Get-TransferPlugin -Name QuietOdd).Name | Should -Be 'QuietOdd'
        } finally {
            Unregister-TransferPlugin -Name QuietOdd -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Sync-TransferFolder and Compare-TransferFolder with odd names' {
    It 'syncs a folder with an odd name by -LiteralPath into an odd destination, every file' {
        $dst = Join-Path $script:home_ 'mirror [m] `n` ü'
        $r = Sync-TransferFolder -LiteralPath $script:odd -Destination $dst
        $r.Failed | Should -Be 0
        $r.Copied | Should -Be $script:names.Count
        foreach ($n in $script:names) { HashOf (Join-Path $dst $n) | Should -Be (HashOf (Join-Path $script:odd $n)) }
        Compare-TransferFolder -LiteralPath $script:odd -Destination $dst -Quiet | Should -BeTrue
    }

    It 'takes the odd folder piped from Get-Item, and by -Path escaped as a pattern' {
        $dst = Join-Path $script:home_ 'mirror-piped [m]'
        (Get-Item -LiteralPath $script:odd | Sync-TransferFolder -Destination $dst).Copied | Should -Be $script:names.Count
        Get-Item -LiteralPath $script:odd | Compare-TransferFolder -Destination $dst -Quiet | Should -BeTrue
        # -Path is a pattern: the odd name escaped names the one folder.
        Compare-TransferFolder -Path ([WildcardPattern]::Escape($script:odd)) -Destination $dst -Quiet | Should -BeTrue
        Set-Content -LiteralPath (Join-Path $dst 'what?.txt') -Value 'changed'
        $diff = @(Compare-TransferFolder -LiteralPath $script:odd -Destination $dst)
        $diff.RelativePath | Should -Be 'what?.txt'
    }
}

Describe 'Paths through a PSDrive' {
    BeforeAll {
        $script:driveRoot = Join-Path $script:home_ 'drive'
        New-Item -ItemType Directory -Path (Join-Path $script:driveRoot 'src') -Force | Out-Null
        foreach ($n in 'a.txt', 'b [1].txt') { New-TestFile -Path (Join-Path $script:driveRoot "src/$n") -Size 500 | Out-Null }
        New-PSDrive -Name TTOdd -PSProvider FileSystem -Root $script:driveRoot -Scope Global | Out-Null
    }
    AfterAll { Remove-PSDrive -Name TTOdd -Scope Global -ErrorAction SilentlyContinue }

    It 'sends, receives and syncs through TTOdd:/ paths, landing under the drive''s root' {
        (Send-Transfer -Path 'TTOdd:/src/a.txt' -Destination 'TTOdd:/sent/').Status | Should -Be 'Completed'
        (Send-Transfer -LiteralPath 'TTOdd:/src/b [1].txt' -Destination 'TTOdd:/sent/').Status | Should -Be 'Completed'
        HashOf (Join-Path $script:driveRoot 'sent/b [1].txt') | Should -Be (HashOf (Join-Path $script:driveRoot 'src/b [1].txt'))
        (Receive-Transfer -Source 'TTOdd:/src/a.txt' -OutputDir 'TTOdd:/received').Status | Should -Be 'Completed'
        HashOf (Join-Path $script:driveRoot 'received/a.txt') | Should -Be (HashOf (Join-Path $script:driveRoot 'src/a.txt'))
        (Sync-TransferFolder -Path 'TTOdd:/src' -Destination 'TTOdd:/mirror').Copied | Should -Be 2
        Compare-TransferFolder -Path 'TTOdd:/src' -Destination 'TTOdd:/mirror' -Quiet | Should -BeTrue
        $item = Save-StorageItem -Path 'TTOdd:/src/a.txt' -Name 'drive/a.txt'
        (Export-StorageItem -Id $item.Id -Destination 'TTOdd:/exported.txt').Name | Should -Be 'exported.txt'
        Test-Path -LiteralPath (Join-Path $script:driveRoot 'exported.txt') | Should -BeTrue
    }

    It 'sends a whole folder by -Recurse from a drive path' {
        $sent = @(Send-Transfer -Path 'TTOdd:/src' -Recurse -Destination 'TTOdd:/tree/')
        @($sent | Where-Object Status -eq 'Completed').Count | Should -Be 2
        Test-Path -LiteralPath (Join-Path $script:driveRoot 'tree/src/b [1].txt') | Should -BeTrue
    }
}
