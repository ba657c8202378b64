#Requires -Modules Pester
# Issue 28 items 7 and 10: a destination that cannot be is one honest error before anything is journaled; a folder is
# created only inside one that exists (as Copy-Item); a host that refuses or does not resolve fails after one short
# retry, and the message leads with the cause, not the plugin operation.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $ProgressPreference = 'SilentlyContinue'
    $script:work = Join-Path $script:home_ 'work'
    New-Item -ItemType Directory -Path (Join-Path $script:work 'src/sub') -Force | Out-Null
    $script:file = New-TestFile -Path (Join-Path $script:work 'src/a.bin') -Size 2000
    New-TestFile -Path (Join-Path $script:work 'src/sub/b.bin') -Size 3000 | Out-Null
    $script:aFile = New-TestFile -Path (Join-Path $script:work 'afile') -Size 10

    function ClosedPort {
        # A port that was free a moment ago and has nobody listening now: connecting is refused at once.
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $listener.Stop()
        $port
    }
    function Journaled { @(Get-ChildItem -LiteralPath (Join-Path $script:home_ 'journal') -Force -ErrorAction SilentlyContinue).Count }
}
AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest $script:home_
}

Describe 'A destination that is a file where a folder is meant' {
    It 'is one DestinationIsFile error for <Case>, and nothing is journaled' -ForEach @(
        @{ Case = 'a folder named with a trailing slash'; Destination = 'afile/'; Recurse = $false }
        @{ Case = 'a file name inside it'; Destination = 'afile/x.bin'; Recurse = $false }
        @{ Case = 'a -Recurse send with a slash'; Destination = 'afile/'; Recurse = $true }
        @{ Case = 'a -Recurse send without one'; Destination = 'afile'; Recurse = $true }
    ) {
        $before = Journaled
        $source = if ($Recurse) { Join-Path $script:work 'src' } else { $script:file.FullName }
        $to = Join-Path $script:work $Destination
        # The destination is one for the whole command: refusing it ends the command, with one error, not one per file.
        $out = @(try {
                Send-Transfer -LiteralPath $source -Destination $to -Recurse:$Recurse -RetryCount 0 -ErrorAction Continue 2>&1
            } catch { $_ })
        $err = @($out | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        @($out | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] }).Count | Should -Be 0
        $err.Count | Should -Be 1 -Because 'one error for the command, not one per file'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationIsFile,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($err[0])" | Should -Match ([regex]::Escape("'$($script:aFile.FullName)' is a file, not a folder"))
        "$($err[0])" | Should -Not -Match 'does not exist|Resume-Transfer'
        Journaled | Should -Be $before
        (Get-Item -LiteralPath $script:aFile.FullName).Length | Should -Be 10
    }

    It 'is DestinationIsFile for Receive-Transfer -OutputDir, also with -Recurse' {
        { Receive-Transfer -Source $script:file.FullName -OutputDir $script:aFile.FullName -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationIsFile,*'
        $out = @(try {
                Receive-Transfer -Source (Join-Path $script:work 'src') -Recurse -OutputDir (Join-Path $script:aFile.FullName 'in') -ErrorAction Continue 2>&1
            } catch { $_ })
        $out.Count | Should -Be 1 -Because 'one error for the command, not one per file'
        $out[0].FullyQualifiedErrorId | Should -BeLike 'DestinationIsFile,*'
    }
}

Describe 'A missing destination folder: one rule for both spellings' {
    It 'creates the folder named with a trailing slash when its parent exists, as Copy-Item -Recurse makes its target' {
        (Send-Transfer -LiteralPath $script:file.FullName -Destination (Join-Path $script:work 'new-one/')).Status | Should -Be 'Completed'
        Test-Path -LiteralPath (Join-Path $script:work 'new-one/a.bin') | Should -BeTrue
    }

    It 'never creates a chain: <Spelling> is DestinationFolderNotFound and nothing is made' -ForEach @(
        @{ Spelling = './no/such/dir/' }, @{ Spelling = './no/such/dir' }
    ) {
        Push-Location $script:work
        try {
            # With a slash the command refuses its destination (terminating); without one the transfer fails.
            $err = @(try {
                    Send-Transfer -LiteralPath $script:file.FullName -Destination $Spelling -RetryCount 0 -ErrorAction Continue 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }
                } catch { $_ })
        } finally { Pop-Location }
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationFolderNotFound,*'
        Test-Path -LiteralPath (Join-Path $script:work 'no') | Should -BeFalse
    }

    It 'sends a -Recurse tree into a new folder whose parent exists, and refuses one whose parent does not' {
        $sent = @(Send-Transfer -LiteralPath (Join-Path $script:work 'src') -Recurse -Destination (Join-Path $script:work 'tree-new'))
        @($sent | Where-Object Status -eq 'Completed').Count | Should -Be 2
        Test-Path -LiteralPath (Join-Path $script:work 'tree-new/src/sub/b.bin') | Should -BeTrue
        { Send-Transfer -LiteralPath (Join-Path $script:work 'src') -Recurse -Destination (Join-Path $script:work 'none/tree') -ErrorAction Stop } |
            Should -Throw -ErrorId 'DestinationFolderNotFound,*'
        Test-Path -LiteralPath (Join-Path $script:work 'none') | Should -BeFalse
    }
}

Describe 'A failed Receive-Transfer' {
    It 'leaves no output folder behind when it fails before any byte arrives' {
        $port = ClosedPort
        $out = Join-Path $script:work 'never-made'
        Receive-Transfer -Source "http://127.0.0.1:$port/x.bin" -OutputDir $out -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err.Count | Should -Be 1
        Test-Path -LiteralPath $out | Should -BeFalse
    }
}

Describe 'A host that refuses the connection or does not resolve' {
    It 'fails an HTTP download after one short retry of five allowed, the message leading with the cause' {
        $port = ClosedPort
        Receive-Transfer -Source "http://127.0.0.1:$port/x.bin" -OutputDir (Join-Path $script:work 'refused') -RetryCount 5 -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Out-Null
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HttpConnectionFailed,*'
        "$($err[0])" | Should -Match "^Transfer [0-9a-f]{8} \(x\.bin\): Could not connect to 127\.0\.0\.1:$($port): connection refused"
        "$($err[0])" | Should -Not -Match 'GetInfo|OpenRead'
        $t = Get-TransferStatus -Id $err[0].TargetObject -ErrorAction SilentlyContinue
        if (-not $t) { $t = Get-TransferStatus -First 1 }
        $t.Status | Should -Be 'Failed'
        $t.Retries | Should -Be 1 -Because 'a refused connection is retried once, not five times'
    }

    It 'says the host name does not resolve for an unknown host' {
        Receive-Transfer -Source 'http://no-such-host.invalid/x.bin' -OutputDir (Join-Path $script:work 'unresolved') -RetryCount 1 -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Out-Null
        $err.Count | Should -Be 1
        "$($err[0])" | Should -Match "Could not connect to no-such-host\.invalid:80: the host name 'no-such-host\.invalid' does not resolve"
    }

    It 'fails an SFTP upload after one short retry, the message leading with the cause' {
        $port = ClosedPort
        $cred = [pscredential]::new('nobody', (ConvertTo-SecureString 'x-Pass-1' -AsPlainText -Force))
        Send-Transfer -LiteralPath $script:file.FullName -Destination "sftp://nobody@127.0.0.1:$port/tmp/" -Credential $cred -RetryCount 5 -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue | Out-Null
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SftpConnectFailed,*'
        "$($err[0])" | Should -Match "^Transfer [0-9a-f]{8} \(a\.bin\): Could not connect to the SSH server 127\.0\.0\.1:$($port): connection refused"
        $t = Get-TransferStatus -First 1
        $t.Status | Should -Be 'Failed'
        $t.Retries | Should -Be 1
    }
}
