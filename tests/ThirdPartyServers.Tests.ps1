#Requires -Modules Pester
# The third-party server matrix (issue 27): SFTP and HTTP/WebDAV servers written by other people, each run by
# tests/services as an unprivileged user on 127.0.0.1, through the same Send-Transfer / Receive-Transfer cases. A
# Completed transfer must mean the server (or this machine) holds the bytes: every refusal is an error, never Completed.

BeforeDiscovery {
    $script:servers = @(
        @{ Name = 'rclone-sftp'; Kind = 'sftp' }
        @{ Name = 'proftpd-sftp'; Kind = 'sftp' }
        @{ Name = 'apache-dav'; Kind = 'http' }
        @{ Name = 'rclone-webdav'; Kind = 'http' }
        # nginx runs its workers as root here: no login and no permission cases.
        @{ Name = 'nginx-put-only'; Kind = 'http'; Anonymous = $true }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest

    function Get-Hash([string] $Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }

    # Suspends a running (throttled) transfer once 2 MiB of it are through.
    function Suspend-Halfway([string] $Id) {
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-TransferStatus -Id $Id).BytesTransferred -lt 2MB -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Suspend-Transfer -Id $Id | Out-Null
        (Get-TransferStatus -Id $Id).Status | Should -Be 'Suspended'
    }

    # Runs a transfer expected to fail: no Completed transfer comes out, and an error says why (returned).
    function Invoke-Refused([scriptblock] $Transfer) {
        $ErrorActionPreference = 'Continue'
        $errs = [System.Collections.Generic.List[object]]::new()
        $out = @()
        try {
            $out = @(& $Transfer 2>&1 3>$null)
        }
        catch {
            $errs.Add($_)
        }
        foreach ($o in $out) { if ($o -is [System.Management.Automation.ErrorRecord]) { $errs.Add($o) } }
        @($out | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] -and $_.Status -eq 'Completed' }) | Should -BeNullOrEmpty
        $errs.Count | Should -BeGreaterThan 0
        return $errs[$errs.Count - 1]
    }
}

AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Third-party server <Name>' -ForEach $servers {
    BeforeAll {
        $script:srv = switch ($Name) {
            'rclone-sftp' { Start-TestRcloneSftp }
            'proftpd-sftp' { Start-TestProftpdSftp }
            'apache-dav' { Start-TestApacheDav }
            'rclone-webdav' { Start-TestRcloneWebDav }
            'nginx-put-only' { Start-TestNginx }
        }
        $script:work = New-Item -ItemType Directory -Force -Path (Join-Path $home_ "work-$Name")
        if ($Name -eq 'nginx-put-only') {
            $script:remote = $srv.PutRoot
            $script:base = "$($srv.BaseUri)/put"
            $script:auth = @{}
            $script:wrong = @{}
        }
        else {
            $script:remote = $srv.DataRoot
            $password = ConvertTo-SecureString $srv.Password -AsPlainText -Force
            $script:auth = @{ Credential = [pscredential]::new($srv.User, $password) }
            $script:wrong = @{ Credential = [pscredential]::new($srv.User, (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force)) }
            if ($Kind -eq 'sftp') {
                $script:base = "sftp://$($srv.User)@127.0.0.1:$($srv.Port)$($srv.PathPrefix)"
                $auth.HostKeyFingerprint = $srv.HostKeyFingerprint
                $wrong.HostKeyFingerprint = $srv.HostKeyFingerprint
            }
            else {
                $script:base = $srv.BaseUri
            }
        }
        # Refusals are not retried for long: the cases below must fail at once, or within one short retry.
        $script:quick = @{ RetryCount = 1; StallTimeoutSeconds = 10 }
    }

    AfterAll {
        Stop-AllTestServices
    }

    It 'round-trips a 0-byte file, 1 KiB and a unicode name, byte-identical, leaving nothing behind' {
        $files = @(
            (New-TestFile -Path (Join-Path $work 'empty.bin') -Size 0 -Seed 1)
            (New-TestFile -Path (Join-Path $work 'one.bin') -Size 1KB -Seed 2)
            (New-TestFile -Path (Join-Path $work 'ünïcødé naïve ✓.bin') -Size 1KB -Seed 3)
        )
        foreach ($file in $files) {
            $name = Split-Path -Leaf $file
            $sent = Send-Transfer -Path $file -Destination "$base/rt/" @auth
            $sent.Status | Should -Be 'Completed' -Because $name
            Get-Hash (Join-Path $remote "rt/$name") | Should -Be (Get-Hash $file) -Because $name

            $out = Join-Path $work "back-$([Array]::IndexOf($files, $file))"
            $got = Receive-Transfer -Source "$base/rt/$([Uri]::EscapeDataString($name))" -OutputDir $out @auth
            $got.Status | Should -Be 'Completed' -Because $name
            $got.Sha256 | Should -Be (Get-Hash $file) -Because $name
            Get-Hash (Join-Path $out $name) | Should -Be (Get-Hash $file) -Because $name
        }
        Get-ChildItem -Recurse -Force $remote -Filter '*.ttpart' | Should -BeNullOrEmpty
        if ($Name -eq 'nginx-put-only') {
            # No MOVE there: the PUT went straight to the final name, and no manifest folder was made.
            Test-Path (Join-Path $remote 'rt/.transfertools') | Should -BeFalse
        }
    }

    It 'sends and receives a folder with -Recurse' {
        $src = New-Item -ItemType Directory -Force -Path (Join-Path $work 'tree')
        $relative = New-TestTree -Path $src
        $up = @(Send-Transfer -Path $src -Recurse -Destination "$base/trees/" @auth -WarningVariable warned -WarningAction SilentlyContinue)
        $up.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($r in $relative) {
            Get-Hash (Join-Path $remote "trees/tree/$r") | Should -Be (Get-Hash (Join-Path $src $r)) -Because $r
        }
        # The tree's manifests are at the destination root only (issue 28, item 3); a server that takes none is said once.
        Get-ChildItem -Recurse -Force -Directory (Join-Path $remote 'trees/tree') | Where-Object Name -eq '.transfertools' | Should -BeNullOrEmpty
        if ($Name -eq 'nginx-put-only') {
            @($warned | Where-Object { "$_" -match 'manifest could not be written' }).Count | Should -Be 1
        }
        else {
            $warned | Should -BeNullOrEmpty
            $deep = $up | Where-Object Source -eq (Join-Path $src 'a/b/y.bin')
            $byId = Receive-Transfer -TransferId $deep.Id -Source "$base/trees/tree/a/b/" -OutputDir (Join-Path $work 'tree-by-id') @auth
            $byId.Status | Should -Be 'Completed'
            Get-Hash (Join-Path $work 'tree-by-id/y.bin') | Should -Be (Get-Hash (Join-Path $src 'a/b/y.bin'))
        }

        $out = Join-Path $work 'tree-back'
        $down = @(Receive-Transfer -Source "$base/trees/tree/" -Recurse -OutputDir $out @auth)
        $down.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($r in $relative) {
            Get-Hash (Join-Path $out "tree/$r") | Should -Be (Get-Hash (Join-Path $src $r)) -Because $r
        }
    }

    It 'suspends and resumes an upload and a download, byte-identical' {
        $file = New-TestFile -Path (Join-Path $work 'resume.bin') -Size 6MB -Seed 6
        $up = Send-Transfer -Path $file -Destination "$base/resume/" @auth -ChunkSize 1MB -MaxBytesPerSecond 3MB -Asynchronous
        Suspend-Halfway $up.Id
        # Nothing under the final name yet (nginx PUT-only: the PUT to the final name was abandoned, not ended short).
        Test-Path (Join-Path $remote 'resume/resume.bin') | Should -BeFalse
        $done = Resume-Transfer -Id $up.Id -MaxBytesPerSecond 0 @auth
        $done.Status | Should -Be 'Completed'
        $done.Sha256 | Should -Be (Get-Hash $file)
        Get-Hash (Join-Path $remote 'resume/resume.bin') | Should -Be (Get-Hash $file)

        $out = Join-Path $work 'resume-back'
        $down = Receive-Transfer -Source "$base/resume/resume.bin" -OutputDir $out @auth -ChunkSize 1MB -MaxBytesPerSecond 3MB -Asynchronous
        Suspend-Halfway $down.Id
        $back = Resume-Transfer -Id $down.Id -MaxBytesPerSecond 0 @auth
        $back.Status | Should -Be 'Completed'
        $back.ResumedFrom | Should -BeGreaterThan 0
        Get-Hash (Join-Path $out 'resume.bin') | Should -Be (Get-Hash $file)
    }

    It 'starts a download again from 0 when its source was rewritten with its old time restored' -Skip:($Kind -ne 'sftp') {
        # Size and time say "the same file", the bytes do not (cp -p, rsync -t, a restore): the kept chunks are re-read
        # from the server before they are trusted, and a spliced file is never Completed.
        # Put there through the server, which then knows it (rclone caches what a folder holds).
        $original = New-TestFile -Path (Join-Path $work 'pulled.bin') -Size 6MB -Seed 11
        (Send-Transfer -Path $original -Destination "$base/rewritten/" @auth).Status | Should -Be 'Completed'
        $source = Join-Path $remote 'rewritten/pulled.bin'
        $out = Join-Path $work 'rewritten-back'
        $down = Receive-Transfer -Source "$base/rewritten/pulled.bin" -OutputDir $out @auth -ChunkSize 1MB -MaxBytesPerSecond 3MB -Asynchronous
        Suspend-Halfway $down.Id
        $mtime = (Get-Item -LiteralPath $source).LastWriteTimeUtc
        New-TestFile -Path $source -Size 6MB -Seed 12 | Out-Null
        (Get-Item -LiteralPath $source).LastWriteTimeUtc = $mtime
        $back = Resume-Transfer -Id $down.Id -MaxBytesPerSecond 0 @auth -WarningAction SilentlyContinue
        $back.Status | Should -Be 'Completed'
        $back.ResumedFrom | Should -Be 0
        $back.Sha256 | Should -Be (Get-Hash $source)
        Get-Hash (Join-Path $out 'pulled.bin') | Should -Be (Get-Hash $source)
    }

    It 'refuses to resume an upload whose source changed meanwhile' {
        $file = New-TestFile -Path (Join-Path $work 'changing.bin') -Size 6MB -Seed 7
        $up = Send-Transfer -Path $file -Destination "$base/changing/" @auth -ChunkSize 1MB -MaxBytesPerSecond 3MB -Asynchronous
        Suspend-Halfway $up.Id
        New-TestFile -Path $file -Size 6MB -Seed 8 | Out-Null
        $e = Invoke-Refused { Resume-Transfer -Id $up.Id -MaxBytesPerSecond 0 @auth @quick }
        "$e" | Should -Match 'changed'
        Test-Path (Join-Path $remote 'changing/changing.bin') | Should -BeFalse
    }

    It 'reports a missing file as missing' {
        $e = Invoke-Refused { Receive-Transfer -Source "$base/no-such-file.bin" -OutputDir (Join-Path $work 'missing') @auth @quick }
        "$e" | Should -Match 'does not exist|nothing is there|not found'
    }

    It 'refuses a wrong password' -Skip:([bool] $Anonymous) {
        $file = New-TestFile -Path (Join-Path $work 'pw.bin') -Size 1KB -Seed 4
        $e = Invoke-Refused { Send-Transfer -Path $file -Destination "$base/pw/" @wrong @quick }
        "$e" | Should -Match 'rejected|refused|credential|password|authenticat'
    }

    It 'fails a download it has no permission for, never Completed' -Skip:([bool] $Anonymous) {
        $out = Join-Path $work 'noread'
        $e = Invoke-Refused { Receive-Transfer -Source "$base/$($srv.UnreadableFile)" -OutputDir $out @auth @quick }
        "$e" | Should -Not -BeNullOrEmpty
        Test-Path (Join-Path $out $srv.UnreadableFile) | Should -BeFalse
    }

    It 'fails an upload it has no permission for, never Completed, and nothing lands there' -Skip:([bool] $Anonymous) {
        $file = New-TestFile -Path (Join-Path $work 'denied.bin') -Size 1KB -Seed 5
        $e = Invoke-Refused { Send-Transfer -Path $file -Destination "$base/$($srv.ReadOnlyFolder)/" @auth @quick }
        "$e" | Should -Not -BeNullOrEmpty
        @(Get-ChildItem -Force (Join-Path $remote $srv.ReadOnlyFolder)).Name | Should -Be @('readme.txt')
    }
}
