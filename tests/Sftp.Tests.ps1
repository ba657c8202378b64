#Requires -Modules Pester
# End-to-end SFTP through Send-Transfer / Receive-Transfer against a real OpenSSH sshd on 127.0.0.1.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:sshd = Start-TestSshd
    $script:work = New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')
    $script:pass = [pscredential]::new($sshd.PasswordUser, (ConvertTo-SecureString $sshd.Password -AsPlainText -Force))
    $script:base = "sftp://$($sshd.PasswordUser)@127.0.0.1:$($sshd.Port)"
    $script:keyBase = "sftp://$($sshd.KeyUser)@127.0.0.1:$($sshd.Port)"
}

AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Sftp transfers' {
    It 'pushes with a password and pulls back with a key, pinned host key, byte-identical' {
        $file = New-TestFile -Path (Join-Path $work 'push.bin') -Size 3MB -Seed 1
        $sent = Send-Transfer -Path $file -Destination "$base/~/inbox/" -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint -ChunkSize 1MB
        $sent.Status | Should -Be 'Completed'
        $remote = Join-Path $sshd.PasswordUserData 'inbox/push.bin'
        (Get-FileHash $remote).Hash | Should -Be (Get-FileHash $file).Hash

        $out = New-Item -ItemType Directory -Path (Join-Path $work 'pulled')
        $got = Receive-Transfer -Source "$keyBase$remote" -OutputDir $out -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint
        $got.Status | Should -Be 'Completed'
        $got.Sha256 | Should -Be $sent.Sha256
        (Get-FileHash (Join-Path $out 'push.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'has sshd hash an upload with sha256sum over exec before delivery (DestinationDigest); a small file keeps to the size' {
        $big = New-TestFile -Path (Join-Path $work 'hashed.bin') -Size 2MB -Seed 41
        $small = New-TestFile -Path (Join-Path $work 'unhashed.bin') -Size 4KB -Seed 42
        $auth = @{ Credential = $pass; HostKeyFingerprint = $sshd.HostKeyFingerprint }
        $sent = Send-Transfer -Path $big -Destination "$base/~/hashed/" @auth
        $sent.Status | Should -Be 'Completed'
        $sent.Verification | Should -Be 'DestinationDigest'
        $tiny = Send-Transfer -Path $small -Destination "$base/~/hashed/" @auth
        $tiny.Verification | Should -Be 'SizeOnly' -Because 'an exec costs round trips a small file need not pay'
        $forced = Send-Transfer -Path $small -Destination "$base/~/hashed/forced/" @auth -ProtocolOption @{ ServerDigest = 'Always' }
        $forced.Verification | Should -Be 'DestinationDigest'
        $off = Send-Transfer -Path $big -Destination "$base/~/hashed/off/" @auth -ProtocolOption @{ ServerDigest = 'Off' }
        $off.Verification | Should -Be 'SizeOnly'
        (Get-FileHash (Join-Path $sshd.PasswordUserData 'hashed/hashed.bin')).Hash | Should -Be (Get-FileHash $big).Hash
    }

    It 'sends a folder with -Recurse, creating its subfolders on the server' {
        $src = New-Item -ItemType Directory -Path (Join-Path $work 'tree')
        $files = New-TestTree -Path $src
        $t = @(Send-Transfer -Path $src -Recurse -Destination "$keyBase/~/trees/" -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint)
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($relative in $files) {
            (Get-FileHash (Join-Path $sshd.KeyUserData "trees/tree/$relative")).Hash | Should -Be (Get-FileHash (Join-Path $src $relative)).Hash
        }
        Get-ChildItem -Recurse -Force (Join-Path $sshd.KeyUserData 'trees') -Filter '*.ttpart' | Should -BeNullOrEmpty
    }

    It 'receives a folder with -Recurse: every file under its own name, subfolders made, byte-identical' {
        $remoteTree = Join-Path $sshd.KeyUserData 'pull/tree'
        $files = New-TestTree -Path $remoteTree
        $out = Join-Path $work 'pulled-tree'
        $t = @(Receive-Transfer -Source "$keyBase$remoteTree" -Recurse -OutputDir $out -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint)
        $t.Count | Should -Be $files.Count
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($relative in $files) {
            (Get-FileHash (Join-Path $out "tree/$relative")).Hash | Should -Be (Get-FileHash (Join-Path $remoteTree $relative)).Hash
        }
        # Empty folders are not made, as with Send-Transfer -Recurse; nothing is left under a temporary name.
        Test-Path (Join-Path $out 'tree/a/empty') | Should -BeFalse
        Get-ChildItem -Recurse -Force $out -Filter '*.ttpart' | Should -BeNullOrEmpty
        # Each file is a transfer of its own: resumable and listed one by one.
        (Get-TransferStatus -Id $t[0].Id).Direction | Should -Be 'Receive'
    }

    It 'receives a tree past what it cannot or must not take, reporting each, and a file given with -Recurse as one file' {
        $remoteTree = Join-Path $sshd.KeyUserData 'pull/odd'
        New-Item -ItemType Directory -Force -Path "$remoteTree/denied", "$remoteTree/real" | Out-Null
        New-TestFile -Path "$remoteTree/real/in.bin" -Size 1KB -Seed 7 | Out-Null
        New-TestFile -Path "$remoteTree/denied/secret.bin" -Size 1KB -Seed 8 | Out-Null
        New-TestFile -Path "$remoteTree/50% #1.bin" -Size 2KB -Seed 9 | Out-Null
        # A name this system cannot hold as one file name: '\' is a separator for Windows and for TransferTools' checks.
        [IO.File]::WriteAllText("$remoteTree/back\slash", 'x')
        & ln -s "$remoteTree/real/in.bin" "$remoteTree/link-to-file"
        & ln -s "$remoteTree/real" "$remoteTree/link-to-folder"
        & ln -s "$remoteTree/nowhere" "$remoteTree/broken-link"
        & mkfifo "$remoteTree/pipe"
        & chown -R "$($sshd.KeyUser):$($sshd.KeyUser)" (Join-Path $sshd.KeyUserData 'pull')
        & chmod 000 "$remoteTree/denied"
        $out = Join-Path $work 'pulled-odd'
        try {
            $t = @(Receive-Transfer -Source "$keyBase$remoteTree/" -Recurse -OutputDir $out -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint `
                    -ErrorVariable errs -ErrorAction SilentlyContinue -WarningVariable warns -WarningAction SilentlyContinue)
        } finally {
            & chmod 755 "$remoteTree/denied"
        }
        $t.Name | Sort-Object | Should -Be @('50% #1.bin', 'in.bin', 'link-to-file')
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        (Get-FileHash (Join-Path $out 'odd/link-to-file')).Hash | Should -Be (Get-FileHash "$remoteTree/real/in.bin").Hash
        (Get-FileHash (Join-Path $out 'odd/50% #1.bin')).Hash | Should -Be (Get-FileHash "$remoteTree/50% #1.bin").Hash
        Test-Path (Join-Path $out 'odd/link-to-folder') | Should -BeFalse

        $errs.Count | Should -Be 2
        $unsafe = $errs | Where-Object { $_.FullyQualifiedErrorId -like 'SourceNameUnsafe,*' }
        $unsafe.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $unsafe.TargetObject | Should -BeLike '*/odd/back\slash'
        $denied = $errs | Where-Object { $_.FullyQualifiedErrorId -like 'SourceFolderUnreadable,*' }
        $denied.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $denied.TargetObject | Should -BeLike '*/odd/denied/'
        Get-ChildItem -Recurse -Force $out | Where-Object Name -like '*back*' | Should -BeNullOrEmpty
        # The named pipe is skipped with a warning (the server's open of it would wait for a writer).
        @($warns.Message) -like "*/odd/pipe' on * is a named pipe (FIFO), not a file; skipped." | Should -HaveCount 1

        $one = Receive-Transfer -Source "$keyBase$remoteTree/real/in.bin" -Recurse -OutputDir (Join-Path $work 'pulled-one') -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint
        $one.Destination | Should -Be (Join-Path $work 'pulled-one/in.bin')

        $pipeError = $null
        Receive-Transfer -Source "$keyBase$remoteTree/pipe" -OutputDir (Join-Path $work 'pulled-pipe') -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint `
            -ErrorVariable pipeError -ErrorAction SilentlyContinue | Out-Null
        $pipeError[0].FullyQualifiedErrorId | Should -BeLike 'NotARegularFile,*'
        $pipeError[0].CategoryInfo.Category | Should -Be 'InvalidArgument'

        { Receive-Transfer -Source "$keyBase$remoteTree/absent" -Recurse -OutputDir $out -KeyFile $sshd.KeyFile -HostKeyFingerprint $sshd.HostKeyFingerprint -ErrorAction Stop } |
            Should -Throw -ErrorId 'SftpPathNotFound,TransferTools.Commands.ReceiveTransferCommand'
    }

    It 'completes by retrying when sshd restarts in the middle of the transfer' {
        $file = New-TestFile -Path (Join-Path $work 'restart.bin') -Size 6MB -Seed 2
        $t = Send-Transfer -Path $file -Destination "$base/~/restart/" -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint `
            -ChunkSize 256KB -MaxBytesPerSecond 2MB -Asynchronous
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-TransferStatus -Id $t.Id).BytesTransferred -lt 512KB -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Restart-TestSshd $sshd | Out-Null
        $done = Wait-Transfer -Id $t.Id
        $done.Status | Should -Be 'Completed'
        $done.Retries | Should -BeGreaterThan 0
        (Get-FileHash (Join-Path $sshd.PasswordUserData 'restart/restart.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'resumes an upload whose process was killed from its committed chunks, byte-identical' {
        # Chunks are committed as the server's answers confirm them, while later requests are still in flight; a kill
        # -9 must leave the journal at or behind what the server holds, never ahead of it.
        $file = New-TestFile -Path (Join-Path $work 'killed-up.bin') -Size 3MB -Seed 12
        $destination = "$keyBase/~/killed-up/"
        $pwsh = Join-Path $PSHOME 'pwsh'
        $command = "Import-Module '$(Get-TestModulePath)'; Send-Transfer -LiteralPath '$($file.FullName)' -Destination '$destination' " +
            "-KeyFile '$($sshd.KeyFile)' -HostKeyFingerprint '$($sshd.HostKeyFingerprint)' -ChunkSize 64KB -MaxBytesPerSecond 512KB | Out-Null"
        $info = [Diagnostics.ProcessStartInfo]::new($pwsh)
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($info)
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            $id = $null
            while ([DateTime]::UtcNow -lt $deadline -and -not $process.HasExited) {
                $id = (Get-TransferStatus | Where-Object { $_.Source -eq $file.FullName } | Select-Object -First 1).Id
                $log = if ($id) { Join-Path $script:home_ "journal/$id.chunks" }
                if ($log -and (Test-Path $log) -and (Get-Item $log).Length -ge 4 * 28) { break }
                Start-Sleep -Milliseconds 100
            }
        } finally { $process.Kill(); $process.WaitForExit() }
        $id | Should -Not -BeNullOrEmpty
        $committed = (Get-Item (Join-Path $script:home_ "journal/$id.chunks")).Length / 28 * 64KB
        $committed | Should -BeGreaterOrEqual 256KB
        (Get-ChildItem -Force (Join-Path $sshd.KeyUserData 'killed-up') -Filter '*.ttpart').Length | Should -BeGreaterOrEqual $committed

        $resumed = Invoke-InNewProcess ([scriptblock]::Create("Resume-Transfer -Id $id"))
        [TransferTools.Abstractions.TransferStatus]$resumed.Status | Should -Be 'Completed'
        $resumed.ResumedFrom | Should -BeGreaterOrEqual $committed
        (Get-FileHash (Join-Path $sshd.KeyUserData 'killed-up/killed-up.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        Get-ChildItem -Force (Join-Path $sshd.KeyUserData 'killed-up') -Filter '*.ttpart' | Should -BeNullOrEmpty
    }

    It 'unlocks an encrypted key with the passphrase given as -Credential' {
        $file = New-TestFile -Path (Join-Path $work 'enc.bin') -Size 100KB -Seed 3
        $cred = [pscredential]::new($sshd.KeyUser, (ConvertTo-SecureString $sshd.KeyPassphrase -AsPlainText -Force))
        (Send-Transfer -Path $file -Destination "$keyBase/~/" -KeyFile $sshd.EncryptedKeyFile -Credential $cred -HostKeyFingerprint $sshd.HostKeyFingerprint).Status |
            Should -Be 'Completed'
    }

    It 'refuses a wrong host key and shows the presented fingerprint' {
        $file = New-TestFile -Path (Join-Path $work 'wrongkey.bin') -Size 1KB
        $wrong = 'SHA256:' + [Convert]::ToBase64String([byte[]]::new(32)).TrimEnd('=')
        $err = $null
        Send-Transfer -Path $file -Destination "$base/~/" -Credential $pass -HostKeyFingerprint $wrong -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -Not -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SftpHostKeyMismatch*'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        "$($err[0])" | Should -BeLike "*$($sshd.HostKeyFingerprint)*"
    }

    It 'resumes a transfer refused for a wrong host key once the right one is given' {
        # What the refusal tells the user to do: pin the right fingerprint, and Resume-Transfer continues it.
        $file = New-TestFile -Path (Join-Path $work 'rekeyed.bin') -Size 2MB -Seed 7
        $wrong = 'SHA256:' + [Convert]::ToBase64String([byte[]]::new(32)).TrimEnd('=')
        $err = $null
        Send-Transfer -Path $file -Destination "$base/~/rekeyed/" -Credential $pass -HostKeyFingerprint $wrong -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SftpHostKeyMismatch*'
        $failed = Get-TransferStatus | Where-Object Source -eq $file
        $failed.Status | Should -Be 'Failed'

        $done = Resume-Transfer -Id $failed.Id -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint
        $done.Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $sshd.PasswordUserData 'rekeyed/rekeyed.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'refuses an unknown host key, never trusting it silently' {
        $file = New-TestFile -Path (Join-Path $work 'unknown.bin') -Size 1KB
        $empty = Join-Path $work 'empty_known_hosts'
        Set-Content $empty ''
        $err = $null
        Send-Transfer -Path $file -Destination "$base/~/" -Credential $pass -ProtocolOption @{ KnownHostsPath = $empty } -RetryCount 0 `
            -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SftpHostKeyUnknown*'
        "$($err[0])" | Should -BeLike "*$($sshd.HostKeyFingerprint)*"
        Test-Path (Join-Path $sshd.PasswordUserData 'unknown.bin') | Should -BeFalse
    }

    It 'trusts a known_hosts entry with [host]:port' {
        $file = New-TestFile -Path (Join-Path $work 'known.bin') -Size 10KB
        (Send-Transfer -Path $file -Destination "$base/~/" -Credential $pass -ProtocolOption @{ KnownHostsPath = $sshd.KnownHostsFile }).Status |
            Should -Be 'Completed'
    }

    It 'reports a wrong password as an authentication error' {
        $file = New-TestFile -Path (Join-Path $work 'badpw.bin') -Size 1KB
        $bad = [pscredential]::new($sshd.PasswordUser, (ConvertTo-SecureString 'not-it' -AsPlainText -Force))
        $err = $null
        Send-Transfer -Path $file -Destination "$base/~/" -Credential $bad -HostKeyFingerprint $sshd.HostKeyFingerprint -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        "$($err[0])" | Should -Not -BeLike '*not-it*'
    }

    It 'reports permission denied on the server side' {
        $file = New-TestFile -Path (Join-Path $work 'denied.bin') -Size 1KB
        $err = $null
        Send-Transfer -Path $file -Destination "$base/etc/" -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
    }

    It 'runs the precompiled or net8.0 build of the plugin on PowerShell 7 with AES-GCM, and the netstandard2.0 build without them' {
        $file = New-TestFile -Path (Join-Path $work 'build.bin') -Size 200KB -Seed 4
        # A fresh process per module layout: the connection log line shows the build, the cipher and where SSH.NET came from.
        $probe = {
            param($Module, $File, $Destination, $KeyFile, $Fingerprint)
            Import-Module $Module
            $log = Send-Transfer -Path $File -Destination $Destination -KeyFile $KeyFile -HostKeyFingerprint $Fingerprint -Force -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
            $ssh = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Renci.SshNet' }
            [pscustomobject]@{ Log = ($log | Where-Object { $_ -like 'Sftp: connected*' }) -join ' '; SshNet = @($ssh.Location) }
        }
        $module = (Resolve-Path (Get-TestModulePath)).Path
        $pwsh = Join-Path $PSHOME 'pwsh'
        $sep = [IO.Path]::DirectorySeparatorChar
        # Import-Module of a folder looks for <folder name>.psd1: each copy keeps the module's name.
        function Copy-ModuleWithout([string] $Name, [string[]] $Folders) {
            $copy = Join-Path $work "$Name/TransferTools"
            New-Item -ItemType Directory -Path (Split-Path $copy) | Out-Null
            Copy-Item $module $copy -Recurse
            foreach ($f in $Folders) { Remove-Item (Join-Path $copy $f) -Recurse -Force }
            $copy
        }

        # .NET 10 on linux-x64: the precompiled copy, whose dlls carry native code (a ReadyToRun header); elsewhere net8.0/.
        $precompiled = if ($PSVersionTable.PSEdition -eq 'Core' -and [Environment]::Version.Major -ge 10 -and $IsLinux -and
            [Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture -eq 'X64') { 'net10.0-linux-x64' } else { 'net8.0' }
        foreach ($dll in 'Renci.SshNet.dll', 'BouncyCastle.Cryptography.dll', 'TransferTools.Plugins.Sftp.dll') {
            $stream = [IO.File]::OpenRead((Join-Path $module "net10.0-linux-x64/$dll"))
            try { ([Reflection.PortableExecutable.PEReader]::new($stream)).PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size | Should -BeGreaterThan 0 -Because "$dll is precompiled" }
            finally { $stream.Dispose() }
        }
        Test-Path (Join-Path $module 'net10.0-linux-x64/TransferTools.Abstractions.dll') | Should -BeFalse -Because 'the plugin API is the module''s own copy'
        $modern = & $pwsh -NoProfile -NonInteractive -Command $probe -args $module, $file, "$keyBase/~/build/", $sshd.KeyFile, $sshd.HostKeyFingerprint
        $modern.Log | Should -BeLike '*SSH.NET net8.0*'
        $modern.Log | Should -BeLike '*cipher aes128-gcm@openssh.com*'
        $modern.SshNet | Should -HaveCount 1
        $modern.SshNet[0] | Should -BeLike "*$sep$precompiled${sep}Renci.SshNet.dll"

        # Without the precompiled copy (other platforms, .NET 8 and 9), the net8.0 build.
        $copy = Copy-ModuleWithout 'without-precompiled' 'net10.0-linux-x64'
        $net8 = & $pwsh -NoProfile -NonInteractive -Command $probe -args $copy, $file, "$keyBase/~/build-net8/", $sshd.KeyFile, $sshd.HostKeyFingerprint
        $net8.Log | Should -BeLike '*SSH.NET net8.0*'
        $net8.SshNet[0] | Should -Be (Join-Path $copy "net8.0${sep}Renci.SshNet.dll")

        # Without either (as Windows PowerShell 5.1 sees the module), the netstandard2.0 build beside the module works.
        $copy = Copy-ModuleWithout 'without-net8' 'net10.0-linux-x64', 'net8.0'
        $legacy = & $pwsh -NoProfile -NonInteractive -Command $probe -args $copy, $file, "$keyBase/~/build-legacy/", $sshd.KeyFile, $sshd.HostKeyFingerprint
        $legacy.Log | Should -BeLike '*SSH.NET netstandard2.0*'
        $legacy.SshNet[0] | Should -Be (Join-Path $copy 'Renci.SshNet.dll')
        foreach ($folder in 'build', 'build-net8', 'build-legacy') {
            (Get-FileHash (Join-Path $sshd.KeyUserData "$folder/build.bin")).Hash | Should -Be (Get-FileHash $file).Hash
        }
    }

    It 'reports a missing remote file as not found' {
        $err = $null
        Receive-Transfer -Source "$base/~/no-such-file.bin" -OutputDir $work -Credential $pass -HostKeyFingerprint $sshd.HostKeyFingerprint -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Sftp round trips' {
    # Over a WAN every request is a round trip (50 ms and more): what a file costs in requests is what it costs in time.
    # The requests are counted from the log of OpenSSH's own sftp-server, so nothing on the client side is trusted.
    BeforeAll {
        $script:logged = Start-TestSshd -LogSftpRequests
        $script:loggedBase = "sftp://$($logged.KeyUser)@127.0.0.1:$($logged.Port)/~/counted/"
        $script:loggedAuth = @{ KeyFile = $logged.KeyFile; HostKeyFingerprint = $logged.HostKeyFingerprint }

        # The requests the server received since the log was last emptied, in order: id and type (open, write, lstat, ...).
        function Get-SftpRequest {
            $seen = @{}
            foreach ($line in Get-Content -LiteralPath $logged.SftpRequestLog) {
                if ($line -match '^debug[13]: request (\d+): ([a-z@.-]+)' -and $Matches[2] -ne 'sent' -and -not $seen.ContainsKey($Matches[1])) {
                    $seen[$Matches[1]] = $true
                    [pscustomobject]@{ Id = [int]$Matches[1]; Type = $Matches[2] }
                }
            }
        }
    }
    AfterAll { Stop-TestSshd $logged }

    It 'sends a small file into an existing folder in 13 requests, none of them realpath or fstat' {
        $first = New-TestFile -Path (Join-Path $work 'counted-1.bin') -Size 4KB -Seed 21
        $second = New-TestFile -Path (Join-Path $work 'counted-2.bin') -Size 4KB -Seed 22
        # The first send connects and makes the folder and its manifest folder; the second is what every further file costs.
        (Send-Transfer -Path $first -Destination $loggedBase @loggedAuth).Status | Should -Be 'Completed'
        [IO.File]::WriteAllText($logged.SftpRequestLog, '')
        (Send-Transfer -Path $second -Destination $loggedBase @loggedAuth).Status | Should -Be 'Completed'

        $requests = @(Get-SftpRequest)
        $types = ($requests.Type -join ', ')
        # lstat folder, lstat name (conflict), open, write, close, rename, lstat name (the delivery confirmed: a server may
        # accept a rename and not hold the file); and the manifest: lstat folder, open, write, close, posix-rename (the
        # first of them while the file is sent); and the source's time and mode on the delivered file: one setstat (no
        # lstat first: the attributes sent are made, not read). No stat of the temporary (the write's answers prove its
        # size) and none before the rename (OpenSSH's rename never replaces a file).
        $requests.Count | Should -BeLessOrEqual 13 -Because "each request is a round trip; the server saw: $types"
        @($requests | Where-Object Type -eq 'lstat').Count | Should -BeLessOrEqual 4 -Because "no lstat before the setstat or the rename: $types"
        $requests.Type | Should -Not -Contain 'realpath' -Because "SSH.NET's canonicalizing round trip is skipped: $types"
        $requests.Type | Should -Not -Contain 'fstat' -Because "SSH.NET's stat after open is skipped: $types"
        # The manifest is put in place only after the file is.
        $rename = [array]::IndexOf([string[]]$requests.Type, 'rename')
        @($requests | Where-Object Type -eq 'open') | Should -HaveCount 2 -Because $types
        [array]::IndexOf([string[]]$requests.Type, 'posix-rename') | Should -BeGreaterThan $rename -Because $types
        (Get-FileHash (Join-Path $logged.KeyUserData 'counted/counted-2.bin')).Hash | Should -Be (Get-FileHash $second).Hash
    }

    It 'sends a tree with -Recurse into a new folder in 7 requests per file, its manifests as lines of one file' {
        # Issue 31: into a folder the batch made, nothing can hold a file's name but what the commit refuses anyway, so no
        # lstat goes before the copy; OpenSSH's rename never replaces, so none before the rename; the write's answers prove
        # the temporary's size; the manifests are lines of the batch's file, on one handle kept open for the batch.
        $tree = New-Item -ItemType Directory -Path (Join-Path $work 'counted-tree')
        $names = 1..5 | ForEach-Object { "t$_.bin" }
        $seed = 40
        foreach ($n in $names) { New-TestFile -Path (Join-Path $tree $n) -Size 4KB -Seed ($seed++) | Out-Null }
        [IO.File]::WriteAllText($logged.SftpRequestLog, '')
        $r = @(Send-Transfer -Path $tree -Recurse -Destination "$($loggedBase)tree/" -ThrottleLimit 1 @loggedAuth)
        @($r | Where-Object Status -eq 'Completed') | Should -HaveCount $names.Count
        $requests = @(Get-SftpRequest)
        $types = ($requests.Type -join ', ')
        # Once: the folders (lstat, mkdir), the manifest folder (lstat, mkdir) and its file (open, close). Per file: open,
        # write, close, rename, lstat (the delivery confirmed), setstat (time and mode), a manifest line (write).
        $requests.Count | Should -BeLessOrEqual (7 * $names.Count + 12) -Because "the server saw: $types"
        @($requests | Where-Object Type -eq 'open') | Should -HaveCount ($names.Count + 1) -Because $types
        @($requests | Where-Object Type -eq 'lstat').Count | Should -BeLessOrEqual ($names.Count + 6) -Because $types
        $requests.Type | Should -Not -Contain 'posix-rename' -Because "no manifest file per transfer: $types"
        foreach ($n in $names) {
            (Get-FileHash (Join-Path $logged.KeyUserData "counted/tree/counted-tree/$n")).Hash | Should -Be (Get-FileHash (Join-Path $tree $n)).Hash
        }
        $batchFiles = @(Get-ChildItem (Join-Path $logged.KeyUserData 'counted/tree/.transfertools') -File)
        $batchFiles | Should -HaveCount 1
        $batchFiles[0].Name | Should -BeLike '*.batch.json'
        @(Get-Content -LiteralPath $batchFiles[0].FullName) | Should -HaveCount $names.Count
        # Receive-Transfer -TransferId finds a member by its line.
        $inbox = New-Item -ItemType Directory -Path (Join-Path $work 'counted-tree-in')
        $back = Receive-Transfer -TransferId $r[2].Id -Source "$($loggedBase)tree/" -OutputDir $inbox @loggedAuth
        $back.Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $inbox $r[2].Name)).Hash | Should -Be (Get-FileHash (Join-Path $tree $r[2].Name)).Hash
    }

    It 'still refuses a file that appears mid-run in a folder the batch made (Conflict), never replacing it' {
        # The look before the copy is skipped there (see above): the commit's rename, which never replaces, is what refuses.
        $a = New-TestFile -Path (Join-Path $work 'appear-1.bin') -Size 4KB -Seed 51
        $b = New-TestFile -Path (Join-Path $work 'appear-2.bin') -Size 4KB -Seed 52
        $folder = Join-Path $logged.KeyUserData 'counted/appear'
        $planted = Join-Path $folder 'appear-2.bin'
        $feed = {
            Get-Item -LiteralPath $a
            # Once the first file is delivered (the batch made the folder), another program puts the second's name there.
            $until = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Test-Path -LiteralPath (Join-Path $folder 'appear-1.bin')) -and [DateTime]::UtcNow -lt $until) { Start-Sleep -Milliseconds 50 }
            [IO.File]::WriteAllText($planted, 'not yours')
            Get-Item -LiteralPath $b
        }
        $err = $null
        $r = @(& $feed | Send-Transfer -Destination "$($loggedBase)appear/" -ThrottleLimit 1 -RetryCount 0 @loggedAuth -ErrorVariable err -ErrorAction SilentlyContinue)
        ($r | Where-Object Name -eq 'appear-1.bin').Status | Should -Be 'Completed'
        ($r | Where-Object Name -eq 'appear-2.bin').Status | Should -Not -Be 'Completed'
        @($err | Where-Object { $_.CategoryInfo.Category -eq 'ResourceExists' -or $_.FullyQualifiedErrorId -like '*DestinationExists*' }) | Should -Not -BeNullOrEmpty -Because ($err -join '; ')
        [IO.File]::ReadAllText($planted) | Should -Be 'not yours'
        @(Get-ChildItem -LiteralPath $folder -Force -Filter '*.ttpart') | Should -BeNullOrEmpty
    }

    It 'receives a small file in 6 requests, 5 round trips' {
        [IO.File]::WriteAllText($logged.SftpRequestLog, '')
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'counted-in')
        (Receive-Transfer -Source "$($loggedBase)counted-1.bin" -OutputDir $out @loggedAuth).Status | Should -Be 'Completed'
        $requests = @(Get-SftpRequest)
        # lstat (what is there), then open and lstat (changed since?) together, read, close, lstat (unchanged after?).
        $requests.Count | Should -BeLessOrEqual 6 -Because "the server saw: $($requests.Type -join ', ')"
        $requests[1].Type | Should -Be 'open' -Because "the open goes out with the stat that checks the file, not after its answer: $($requests.Type -join ', ')"
        (Get-FileHash (Join-Path $out 'counted-1.bin')).Hash | Should -Be (Get-FileHash (Join-Path $work 'counted-1.bin')).Hash
    }

    It 'lists a folder in opendir, readdir and close, without realpath, and a link as what it points to' -Skip:$IsWindows {
        # A folder sync lists every folder of the destination: SSH.NET's listing sent a realpath first (one request in
        # five for a small folder).
        $remote = Join-Path $logged.KeyUserData 'listed'
        New-Item -ItemType Directory -Force -Path (Join-Path $remote 'a') | Out-Null
        [IO.File]::WriteAllText((Join-Path $remote 'a/one.txt'), 'one')
        [IO.File]::WriteAllText((Join-Path $remote 'a/two.txt'), 'two')
        New-Item -ItemType SymbolicLink -Path (Join-Path $remote 'link.txt') -Target 'a/one.txt' | Out-Null
        & chown -R "$($logged.KeyUser):$($logged.KeyUser)" $remote
        $local = New-Item -ItemType Directory -Path (Join-Path $work 'listed-empty')
        [IO.File]::WriteAllText($logged.SftpRequestLog, '')
        $diff = @(Compare-TransferFolder -Path $local -Destination "sftp://$($logged.KeyUser)@127.0.0.1:$($logged.Port)$remote/" @loggedAuth)
        ($diff | Sort-Object RelativePath | ForEach-Object { "$($_.Difference):$($_.RelativePath)" }) |
            Should -Be @('DestinationOnly:a/one.txt', 'DestinationOnly:a/two.txt', 'DestinationOnly:link.txt')
        ($diff | Where-Object RelativePath -eq 'link.txt').DestinationSize | Should -Be 3
        $requests = @(Get-SftpRequest)
        $types = $requests.Type -join ', '
        # Only resolving the link asks for one (SSH.NET's stat of what a link points to); the two listings ask none.
        @($requests | Where-Object Type -eq 'realpath').Count | Should -BeLessOrEqual 1 -Because "the listings send no realpath: $types"
        @($requests | Where-Object Type -eq 'opendir').Count | Should -Be 2 -Because $types
    }
}
