# Everyday correctness, as a new user meets the module: what a name pattern, a -WhatIf and a tab completion say.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $ProgressPreference = 'SilentlyContinue'
    $files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $files | Out-Null
    $script:file = New-TestFile -Path (Join-Path $files 'ledger.csv') -Size 300
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'A -Name that is not a valid wildcard pattern' {
    It 'is InvalidWildcardPattern for Get-TransferPlugin, naming the value, and other names still match' {
        $found = Get-TransferPlugin -Name 'http://[::1', 'LocalStore' -ErrorVariable errors -ErrorAction SilentlyContinue
        $found.Name | Should -Be 'LocalStore'
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidWildcardPattern,*'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].TargetObject | Should -Be 'http://[::1'
        $errors[0].Exception.Message | Should -Match 'backtick'
    }

    It 'is InvalidWildcardPattern for Get-TransferPlugin -Load too' {
        { Get-TransferPlugin -Name 'a[' -Load -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidWildcardPattern,*'
    }

    It 'is InvalidWildcardPattern for Get-TransferUser' {
        $homeBefore = $env:TRANSFERTOOLS_HOME
        $userHome = Initialize-TransferToolsTest
        try {
            Register-TransferPlugin -Type LocalUsers | Out-Null
            $cred = [pscredential]::new('admin', (ConvertTo-SecureString 'Adm1n-Sekr1t-Pa55' -AsPlainText -Force))
            New-TransferUser -Credential $cred -Role Admin | Out-Null
            Connect-TransferService -Credential $cred | Out-Null
            { Get-TransferUser -Name 'http://[::1' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidWildcardPattern,*'
            (Get-TransferUser -Name 'adm*').Name | Should -Be 'admin'
        } finally {
            Remove-TransferToolsTest $userHome
            $env:TRANSFERTOOLS_HOME = $homeBefore
            Import-Module (Get-TestModulePath) -Force -Global
        }
    }
}

Describe 'Remove-StorageItem -WhatIf' {
    It 'names the item it would remove, not only its id, and removes nothing' {
        $item = Save-StorageItem -Path $script:file -Name 'finance/ledger-2026.csv'
        # -WhatIf writes to the host, not to a stream: a child process's standard output is where a user sees it.
        $output = & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command "Import-Module '$(Get-TestModulePath)'; Remove-StorageItem -Id $($item.Id) -WhatIf"
        $LASTEXITCODE | Should -Be 0
        ($output -join ' ') | Should -Match ([regex]::Escape("LocalStore:$($item.Id) (finance/ledger-2026.csv)"))
        (Get-StorageItem -Id $item.Id).Name | Should -Be 'finance/ledger-2026.csv'
    }
}

Describe 'Tab completion of ids' {
    BeforeAll {
        function Complete([string] $Line) { (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches }
    }

    It 'lists a transfer id with its file name and status, and completes the whole id' {
        $t = Send-Transfer -Path $script:file -Destination (Join-Path $script:home_ 'inbox/')
        $match = Complete "Get-TransferStatus -Id $($t.Id.Substring(0, 6))" | Select-Object -First 1
        $match.CompletionText | Should -Be $t.Id
        $match.ListItemText | Should -Be "$($t.Id.Substring(0, 8))  ledger.csv (completed)"
    }

    It 'lists a stored item id with its name' {
        $item = Save-StorageItem -Path $script:file -Name 'tab/ledger.csv'
        $match = Complete "Export-StorageItem -Id $($item.Id)" | Select-Object -First 1
        $match.CompletionText | Should -Be $item.Id
        $match.ListItemText | Should -Be "$($item.Id)  tab/ledger.csv"
    }
}

Describe 'Get-Help -Online' {
    It 'has a page for every cmdlet: HelpUri names its help file under docs/' {
        $docs = Join-Path (Split-Path $PSScriptRoot) 'docs'
        foreach ($command in Get-Command -Module TransferTools -CommandType Cmdlet) {
            $command.HelpUri | Should -Be "https://github.com/transfertools/TransferTools/blob/main/docs/$($command.Name).md"
            Join-Path $docs "$($command.Name).md" | Should -Exist
            (Get-Content -LiteralPath (Join-Path $docs "$($command.Name).md") -TotalCount 6) -join "`n" |
                Should -Match ([regex]::Escape("online version: $($command.HelpUri)"))
        }
    }
}

Describe 'Export-StorageItem onto something that is not a file' -Skip:(-not $IsLinux) {
    It 'refuses a named pipe even with -Force, and leaves the pipe as it was' {
        $item = Save-StorageItem -Path $script:file -Name 'pipe/ledger.csv'
        $fifo = Join-Path $script:home_ 'export.fifo'
        & mkfifo $fifo
        { Export-StorageItem -Id $item.Id -Destination $fifo -Force -ErrorAction Stop } | Should -Throw -ErrorId 'NotARegularFile,*'
        & test -p $fifo
        $LASTEXITCODE | Should -Be 0 -Because 'the named pipe is still a named pipe'
        @(Get-ChildItem -LiteralPath $script:home_ -Filter '*.ttpart' -Force).Count | Should -Be 0
    }
}

Describe 'Names with wildcard characters, spaces and unicode' {
    BeforeAll {
        $script:odd = Join-Path $script:home_ 'odd'
        New-Item -ItemType Directory -Path $script:odd | Out-Null
        $script:names = 'report[2026].txt', 'br[1].txt', 'star*.txt', 'what?.txt', 'tick`s.txt', 'two words.txt', 'Grüße ✓.txt'
        $i = 0
        foreach ($n in $script:names) { New-TestFile -Path (Join-Path $script:odd $n) -Size (100 + $i++) | Out-Null }
    }

    It 'sends every piped file, none skipped, by Get-ChildItem' {
        $into = Join-Path $script:home_ 'odd-out/'
        $sent = @(Get-ChildItem -LiteralPath $script:odd -File | Send-Transfer -Destination $into)
        $sent.Count | Should -Be $script:names.Count
        @($sent | Where-Object Status -ne 'Completed').Count | Should -Be 0
        # Should -Exist takes a wildcard path, so each name is checked literally.
        foreach ($n in $script:names) { Test-Path -LiteralPath (Join-Path $into $n) | Should -BeTrue -Because "'$n' was piped" }
    }

    It 'sends a file piped by Get-Item -LiteralPath, and one given by -LiteralPath' {
        $into = Join-Path $script:home_ 'odd-one/'
        (Get-Item -LiteralPath (Join-Path $script:odd 'br[1].txt') | Send-Transfer -Destination $into).Status | Should -Be 'Completed'
        (Send-Transfer -LiteralPath (Join-Path $script:odd 'report[2026].txt') -Destination $into).Status | Should -Be 'Completed'
        (Get-ChildItem -LiteralPath $into).Name | Sort-Object | Should -Be @('br[1].txt', 'report[2026].txt')
    }

    It 'resolves -Path against the current location and ~' {
        Push-Location $script:odd
        try {
            (Send-Transfer -Path 'two*' -Destination (Join-Path $script:home_ 'odd-rel/')).Name | Should -Be 'two words.txt'
        } finally { Pop-Location }
        $homeFile = Join-Path $HOME ("tt-tilde-" + [guid]::NewGuid().ToString('n').Substring(0, 8) + '.txt')
        try {
            New-TestFile -Path $homeFile -Size 10 | Out-Null
            (Send-Transfer -Path ('~/' + (Split-Path $homeFile -Leaf)) -Destination (Join-Path $script:home_ 'odd-tilde/')).Status | Should -Be 'Completed'
        } finally { Remove-Item -LiteralPath $homeFile -ErrorAction SilentlyContinue }
    }

    It 'makes a -Path wildcard that matches nothing an error, for Send-Transfer and Save-StorageItem' {
        { Send-Transfer -Path (Join-Path $script:odd 'nothing-*.zip') -Destination (Join-Path $script:home_ 'odd-none/') -ErrorAction Stop } |
            Should -Throw -ErrorId 'PathNotFound,*'
        # A name with brackets given to -Path is a pattern: it matches nothing here, and the hint names -LiteralPath.
        $e = { Save-StorageItem -Path (Join-Path $script:odd 'report[2026].txt') -ErrorAction Stop } | Should -Throw -ErrorId 'PathNotFound,*' -PassThru
        $e.Exception.Message | Should -Match 'LiteralPath'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'saves every piped file into the store' {
        $items = @(Get-ChildItem -LiteralPath $script:odd -File | Save-StorageItem -Prefix 'odd/')
        ($items.Name | Sort-Object) | Should -Be ($script:names | ForEach-Object { "odd/$_" } | Sort-Object)
    }
}

Describe 'Paths in a plugin configuration' {
    It 'resolves ./ and ~ against the caller''s location and home at registration, and stores them absolute' {
        $here = Join-Path $script:home_ 'registered-from'
        New-Item -ItemType Directory -Path $here | Out-Null
        Push-Location $here
        try {
            $audit = Register-TransferPlugin -Name AuditHere -Type EventLog -Configuration @{ Path = './audit.jsonl' }
            $tilde = Register-TransferPlugin -Name AuditTilde -Type EventLog -Configuration @{ Path = '~/tt-audit-test.jsonl' }
        } finally { Pop-Location }
        try {
            $audit.Configuration['Path'] | Should -Be (Join-Path $here 'audit.jsonl')
            $tilde.Configuration['Path'] | Should -Be (Join-Path $HOME 'tt-audit-test.jsonl')
            Test-Path -LiteralPath (Join-Path $here '~') | Should -BeFalse -Because 'no folder named ~ is made'
            # The registration means the same file from anywhere: a transfer started elsewhere logs there.
            Send-Transfer -Path $script:file -Destination (Join-Path $script:home_ 'audit-out/') | Out-Null
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (Test-Path -LiteralPath (Join-Path $here 'audit.jsonl')) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
            Join-Path $here 'audit.jsonl' | Should -Exist
        } finally {
            Unregister-TransferPlugin -Name AuditHere, AuditTilde -Confirm:$false
            Remove-Item -LiteralPath (Join-Path $HOME 'tt-audit-test.jsonl') -ErrorAction SilentlyContinue
            Remove-Item -LiteralPath (Join-Path $HOME 'tt-audit-test.jsonl.lock') -ErrorAction SilentlyContinue
        }
    }
}

Describe 'Hints name only a command that can succeed' {
    It 'says the cause must be fixed before Resume-Transfer, for a destination folder that does not exist' {
        $missing = Join-Path $script:home_ 'no/such/dir/ledger.csv'
        Send-Transfer -Path $script:file -Destination $missing -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err | Should -Not -BeNullOrEmpty
        "$($err[0])" | Should -Match 'Once that is fixed, Resume-Transfer [0-9a-f]{8} continues it\.'
    }
}

Describe 'Refusing what cannot be right' {
    It 'refuses to send a file onto itself, even with -Force, and leaves it intact' {
        $self = New-TestFile -Path (Join-Path $script:home_ 'self.bin') -Size 5000 -Seed 9
        $before = (Get-FileHash -LiteralPath $self).Hash
        { Send-Transfer -LiteralPath $self -Destination $self -Force -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationIsSource,*'
        (Get-FileHash -LiteralPath $self).Hash | Should -Be $before
        Test-Path -LiteralPath (Join-Path $script:home_ '.transfertools') | Should -BeFalse -Because 'nothing was delivered, so no manifest'
    }

    It 'refuses a second source into one destination file name with -Force' {
        $many = Join-Path $script:home_ 'many'
        New-Item -ItemType Directory -Path $many | Out-Null
        $a = New-TestFile -Path (Join-Path $many 'a.bin') -Size 1000 -Seed 1
        $b = New-TestFile -Path (Join-Path $many 'b.bin') -Size 2000 -Seed 2
        $target = Join-Path $script:home_ 'one-name.bin'
        $results = @($a, $b | Send-Transfer -Destination $target -Force -ErrorVariable err -ErrorAction SilentlyContinue)
        @($results | Where-Object Status -eq 'Completed').Count | Should -Be 1
        @($err | Where-Object { $_.FullyQualifiedErrorId -like 'DestinationTakenBySource*' }).Count | Should -Be 1
        $winner = $results | Where-Object Status -eq 'Completed'
        (Get-FileHash -LiteralPath $target).Hash | Should -Be (Get-FileHash -LiteralPath $winner.Source).Hash
    }
}

Describe 'A password typed into a URI' {
    It 'is refused before anything is journaled, shown or logged, for Send-Transfer and Receive-Transfer' {
        $secret = 'Pw-' + [guid]::NewGuid().ToString('n').Substring(0, 12)
        # The destination is one for the whole command: refusing it ends the command.
        $output = @(try {
                Send-Transfer -LiteralPath $script:file -Destination "sftp://root:$secret@127.0.0.1:1/tmp/" -RetryCount 0 -Verbose *>&1
            } catch { $_ })
        $output += @(Receive-Transfer -Source "http://user:$secret@127.0.0.1:1/x.bin" -OutputDir (Join-Path $script:home_ 'pw-out') -RetryCount 0 -Verbose -ErrorAction Continue *>&1)
        $errors = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors.Count | Should -Be 2
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'PasswordInUri,*' }
        $errors[0].TargetObject | Should -Be 'sftp://root@127.0.0.1:1/tmp/'
        ($output | ForEach-Object { "$_" }) -join "`n" | Should -Not -Match $secret
        # Regular files only: reading the named pipes other tests leave under the home would wait for a writer.
        $files = Get-ChildItem -LiteralPath $script:home_ -Recurse -File -Force | Where-Object { $_.Extension -ne '.fifo' }
        @($files | Select-String -SimpleMatch $secret).Count | Should -Be 0 -Because 'no file under the home holds the password'
        Test-Path -LiteralPath (Join-Path $script:home_ 'pw-out') | Should -BeFalse
    }
}

Describe 'A UNC path where there are none' -Skip:$IsWindows {
    It 'is UncPathNotSupported for Send-Transfer, Receive-Transfer and Export-StorageItem, and nothing is written anywhere' {
        $processDir = [Environment]::CurrentDirectory
        $here = Join-Path $script:home_ 'unc-here'
        New-Item -ItemType Directory -Path $here | Out-Null
        $item = Save-StorageItem -Path $script:file -Name 'unc/ledger.csv'
        Push-Location $here
        try {
            { Send-Transfer -LiteralPath $script:file -Destination '\\server\share\' -ErrorAction Stop } | Should -Throw -ErrorId 'UncPathNotSupported,*'
            { Receive-Transfer -Source $script:file -OutputDir '\\server\share' -ErrorAction Stop } | Should -Throw -ErrorId 'UncPathNotSupported,*'
            $e = { Export-StorageItem -Id $item.Id -Destination '\\server\share' -ErrorAction Stop } | Should -Throw -ErrorId 'UncPathNotSupported,*' -PassThru
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.TargetObject | Should -Be '\\server\share'
        } finally { Pop-Location }
        @(Get-ChildItem -LiteralPath $here -Force).Count | Should -Be 0
        Test-Path -LiteralPath (Join-Path $processDir 'server') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $processDir '\\server\share') | Should -BeFalse
    }
}

Describe 'Register-TransferPlugin -Path of something that is not a file' -Skip:(-not $IsLinux) {
    It 'refuses a named pipe as NotARegularFile instead of waiting for a writer' {
        $fifo = Join-Path $script:home_ 'plugin.fifo'
        & mkfifo $fifo
        # In a runspace of its own, so that a hang fails this test instead of the whole run.
        $ps = [PowerShell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$(Get-TestModulePath)'; Register-TransferPlugin -Name z -Path '$fifo' -ErrorAction SilentlyContinue -ErrorVariable e; `$e")
            $run = $ps.BeginInvoke()
            $ended = $run.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(60))
            if (-not $ended) { [IO.File]::WriteAllBytes($fifo, [byte[]]@()) }
            $ended | Should -BeTrue -Because 'registering a pipe must not wait for a writer'
            $errors = @($ps.EndInvoke($run))
            $errors[0].FullyQualifiedErrorId | Should -BeLike 'NotARegularFile,*'
            "$($errors[0])" | Should -Match 'named pipe'
        } finally { $ps.Dispose() }
        (Get-TransferPlugin -Name z -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }
}

Describe 'A damaged journal record' {
    It 'is shown as a failed transfer that says it is damaged, and Stop-Transfer removes it with the partial it names' {
        $id = 'abcdef01' + [guid]::NewGuid().ToString('n').Substring(8)
        $folder = Join-Path $script:home_ 'damaged'
        New-Item -ItemType Directory -Path $folder | Out-Null
        $partial = [IO.FileInfo] (Join-Path $folder ".big.bin.$($id.Substring(0, 8)).ttpart")
        [IO.File]::WriteAllBytes($partial.FullName, [byte[]]::new(1000))
        $other = New-TestFile -Path (Join-Path $folder 'keep.bin') -Size 10
        $uri = [uri]::new([uri]::new("file://"), $partial.FullName).AbsoluteUri
        # A record cut short by a crash: it still names its temporary, but is no JSON record any more.
        New-Item -ItemType Directory -Path (Join-Path $script:home_ 'journal') -Force | Out-Null
        Set-Content -LiteralPath (Join-Path $script:home_ "journal/$id.json") -Value "{`n  `"Id`": `"$id`",`n  `"TemporaryUri`": `"$uri`",`n  `"Sta"
        $listed = Get-TransferStatus | Where-Object Id -eq $id
        $listed.Status | Should -Be 'Failed'
        $listed.Error | Should -Match "damaged.*Stop-Transfer $($id.Substring(0, 8))"
        (Get-TransferStatus -Status Failed).Id | Should -Contain $id
        (Get-TransferStatus -Id $id.Substring(0, 8)).Error | Should -Match 'damaged'
        (Stop-Transfer -Id $id -PassThru).Status | Should -Be 'Cancelled'
        Test-Path -LiteralPath $partial.FullName | Should -BeFalse
        Test-Path -LiteralPath $other.FullName | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $script:home_ "journal/$id.json") | Should -BeFalse
        { Get-TransferStatus -Id $id -ErrorAction Stop } | Should -Throw -ErrorId 'TransferNotFound,*'
    }
}

Describe 'Get-TransferStatus | Resume-Transfer' {
    It 'passes over completed transfers quietly, and still says so for a completed id typed by hand' {
        $done = Send-Transfer -LiteralPath $script:file -Destination (Join-Path $script:home_ 'resume-quiet/')
        $done.Status | Should -Be 'Completed'
        $out = @(Get-TransferStatus -Id $done.Id | Resume-Transfer -ErrorVariable err -ErrorAction SilentlyContinue -Verbose 4>&1)
        $err.Count | Should -Be 0
        @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and "$_" -match 'nothing to resume' }).Count | Should -Be 1
        { Resume-Transfer -Id $done.Id -ErrorAction Stop } | Should -Throw -ErrorId 'TransferCompleted,*'
    }
}

Describe 'Help for -Asynchronous' {
    It 'says the returned object is a snapshot and names Get-TransferStatus, for <_>' -ForEach 'Send-Transfer', 'Receive-Transfer', 'Resume-Transfer' {
        $text = (Get-Help $_ -Parameter Asynchronous).Description.Text -join ' '
        $text | Should -Match 'snapshot'
        $text | Should -Match 'Get-TransferStatus'
    }
}

Describe 'Receive-Transfer -OutputDir with a trailing separator' {
    It 'reports the file under the folder with one separator' {
        Push-Location $script:home_
        try {
            $r = Receive-Transfer -Source $script:file -OutputDir './other/'
        } finally { Pop-Location }
        $r.Status | Should -Be 'Completed'
        $r.Destination | Should -Be (Join-Path $script:home_ 'other/ledger.csv')
        $r.Destination | Should -Not -Match '//'
    }
}

Describe 'An unknown storage name' {
    It 'is named as typed, not lower-cased' {
        Send-Transfer -LiteralPath $script:file -Destination 'storage://NopeStore/' -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err.Count | Should -Be 1
        "$($err[0])" | Should -Match "'NopeStore'"
    }
}
