#Requires -Modules Pester
# End-to-end HTTP(S) through Receive-Transfer / Send-Transfer / Resume-Transfer against a real nginx on 127.0.0.1.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:nginx = Start-TestNginx
    $script:work = New-Item -ItemType Directory -Path (Join-Path $script:home_ 'work')

    # Starts Receive-Transfer in another pwsh and kills that process once the journal shows $AtLeast bytes committed;
    # returns the transfer as the journal has it then.
    function Stop-DownloadMidway([string] $Source, [string] $OutputDir, [string] $Options, [long] $AtLeast) {
        $script = Join-Path $work ('download-' + [guid]::NewGuid().ToString('n') + '.ps1')
        Set-Content $script @"
Import-Module '$(Get-TestModulePath)'
Receive-Transfer -Source '$Source' -OutputDir '$OutputDir' $Options | Out-Null
"@
        $child = Start-Process -FilePath (Join-Path $PSHOME 'pwsh') -ArgumentList '-NoProfile', '-NonInteractive', '-File', $script -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        $t = $null
        while ([DateTime]::UtcNow -lt $deadline) {
            $t = Get-TransferStatus | Where-Object Source -EQ $Source | Select-Object -First 1
            if ($t -and $t.BytesTransferred -ge $AtLeast) { break }
            Start-Sleep -Milliseconds 200
        }
        $child.Kill($true); $child.WaitForExit()
        $t
    }
}

AfterAll {
    Stop-AllTestServices
    Remove-TransferToolsTest -HomePath $script:home_
}

Describe 'Http transfers' {
    It 'pulls a plain file and verifies it' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'plain.bin') -Size 2MB -Seed 5
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'plain')
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/files/plain.bin" -OutputDir $out
        $t.Status | Should -Be 'Completed'
        $t.Sha256 | Should -Be (Get-FileHash $file).Hash.ToLowerInvariant()
        (Get-FileHash (Join-Path $out 'plain.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'pushes into a new WebDAV folder' {
        $file = New-TestFile -Path (Join-Path $work 'push.bin') -Size 1MB -Seed 6
        (Send-Transfer -Path $file -Destination "$($nginx.BaseUri)/dav/a/b/").Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $nginx.DavRoot 'a/b/push.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'sends a folder with -Recurse into WebDAV, creating its collections' {
        $src = New-Item -ItemType Directory -Path (Join-Path $work 'davtree')
        $files = New-TestTree -Path $src
        $t = @(Send-Transfer -Path $src -Recurse -Destination "$($nginx.BaseUri)/dav/trees/")
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        foreach ($relative in $files) {
            (Get-FileHash (Join-Path $nginx.DavRoot "trees/davtree/$relative")).Hash | Should -Be (Get-FileHash (Join-Path $src $relative)).Hash
        }
    }

    It 'receives a folder tree from the server''s listing, HTML (/dav/) and JSON (/index/), byte-identical' {
        $html = Join-Path $nginx.DavRoot 'mirror'
        $json = Join-Path $nginx.FilesRoot 'jsonmirror'
        $files = New-TestTree -Path $html
        $null = New-TestTree -Path $json
        foreach ($root in $html, $json) {
            # A name that needs escaping both ways: percent-encoded UTF-8 in the listing's links.
            New-TestFile -Path (Join-Path $root 'c d/résumé & co.bin') -Size 3KB -Seed 44 | Out-Null
        }
        $files += 'c d/résumé & co.bin'

        $cases = @(
            @{ Source = "$($nginx.BaseUri)/dav/mirror/"; Root = $html; Out = (Join-Path $work 'mirror-html') }
            # Without the trailing slash: nginx redirects the folder to its listing.
            @{ Source = "$($nginx.BaseUri)/index/jsonmirror"; Root = $json; Out = (Join-Path $work 'mirror-json') }
        )
        foreach ($case in $cases) {
            $t = @(Receive-Transfer -Source $case.Source -Recurse -OutputDir $case.Out)
            $t.Count | Should -Be $files.Count
            $t.Status | Sort-Object -Unique | Should -Be 'Completed'
            $folder = Split-Path $case.Root -Leaf
            foreach ($relative in $files) {
                (Get-FileHash -LiteralPath (Join-Path $case.Out "$folder/$relative")).Hash |
                    Should -Be (Get-FileHash -LiteralPath (Join-Path $case.Root $relative)).Hash -Because $relative
            }
        }
    }

    It 'stops a walk that a listing leads round in a loop, and keeps what it received' {
        # /endless/back/ is /endless/ again (a rewrite, as a link to a parent folder would be): the depth limit ends it.
        $endless = Join-Path $nginx.FilesRoot 'endless'
        New-Item -ItemType Directory -Force -Path (Join-Path $endless 'back') | Out-Null
        $file = New-TestFile -Path (Join-Path $endless 'f.bin') -Size 1KB -Seed 45
        $out = Join-Path $work 'recurse-loop'
        $t = @(Receive-Transfer -Source "$($nginx.BaseUri)/endless/" -Recurse -OutputDir $out -ErrorVariable err -ErrorAction SilentlyContinue)

        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'SourceTreeTooDeep,TransferTools.Commands.ReceiveTransferCommand'
        $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err[0].Exception.Message | Should -BeLike '*more than 64 folders below*'
        $t.Count | Should -Be 65
        $t.Status | Sort-Object -Unique | Should -Be 'Completed'
        (Get-FileHash (Join-Path $out ('endless/' + ('back/' * 64) + 'f.bin'))).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'takes a file URL given with -Recurse as one file, and reports a folder that is not there' {
        $folder = Join-Path $nginx.DavRoot 'recurse'
        New-Item -ItemType Directory -Force -Path $folder | Out-Null
        $file = New-TestFile -Path (Join-Path $folder 'one.bin') -Size 4KB -Seed 41
        $out = Join-Path $work 'recurse-http'
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/dav/recurse/one.bin" -Recurse -OutputDir $out
        (Get-FileHash $t.Destination).Hash | Should -Be (Get-FileHash $file).Hash

        $err = { Receive-Transfer -Source "$($nginx.BaseUri)/dav/no-such-folder/" -Recurse -OutputDir $out -ErrorAction Stop } |
            Should -Throw -ErrorId 'SourceNotFound,TransferTools.Commands.ReceiveTransferCommand' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'refuses a listing larger than 32 MiB and receives nothing' {
        # nginx answers /dav/huge/ with its index.html: a 33 MiB page is read up to the limit, then refused.
        $folder = New-Item -ItemType Directory -Force -Path (Join-Path $nginx.DavRoot 'huge')
        $page = [byte[]]::new(33MB)
        [Array]::Fill($page, [byte][char]' ')
        [Text.Encoding]::ASCII.GetBytes('<html><body><a href="one.bin">one.bin</a>').CopyTo($page, 0)
        [IO.File]::WriteAllBytes((Join-Path $folder 'index.html'), $page)
        New-TestFile -Path (Join-Path $folder 'one.bin') -Size 1KB -Seed 46 | Out-Null
        $out = Join-Path $work 'recurse-huge'
        $err = { Receive-Transfer -Source "$($nginx.BaseUri)/dav/huge/" -Recurse -OutputDir $out -ErrorAction Stop } |
            Should -Throw -ErrorId 'HttpListingTooLarge,TransferTools.Commands.ReceiveTransferCommand' -PassThru
        $err.CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $err.Exception.Message | Should -BeLike '*larger than 32 MiB*'
        Test-Path (Join-Path $out 'huge') | Should -BeFalse
    }

    It 'says so when a folder URL answers with something other than a listing' {
        # /files/ has no autoindex: nginx answers the folder with 403, which is what the user gets to see.
        $out = Join-Path $work 'recurse-denied'
        $err = { Receive-Transfer -Source "$($nginx.BaseUri)/files/" -Recurse -OutputDir $out -ErrorAction Stop } | Should -Throw -PassThru
        $err.CategoryInfo.Category | Should -Be 'PermissionDenied'
        Test-Path (Join-Path $out 'files') | Should -BeFalse
    }

    It 'finishes with Range after the client is killed mid-download' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'slow.bin') -Size 192KB -Seed 7
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'killed')
        $t = Stop-DownloadMidway -Source "$($nginx.BaseUri)/slow/slow.bin" -OutputDir $out -Options '-ChunkSize 16KB' -AtLeast 48KB
        $t | Should -Not -BeNullOrEmpty

        Resume-Transfer -Id $t.Id | Out-Null
        $done = Wait-Transfer -Id $t.Id
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -BeGreaterThan 0
        (Get-FileHash (Join-Path $out 'slow.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        # nginx saw the resumed request as a Range request (206).
        (Get-Content $nginx.AccessLogPath | Where-Object { $_ -like '*/slow/slow.bin*" 206 *' }) | Should -Not -BeNullOrEmpty
    }

    It 'pulls a file streamed without a size, and reports its size and SHA-256 once it is read' {
        # nginx's /streamed/ sends files chunked, as a generated page is: no Content-Length, ETag or Last-Modified.
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'streamed.bin') -Size 3MB -Seed 8
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'streamed')
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/streamed/streamed.bin" -OutputDir $out -ChunkSize 1MB
        $t.Status | Should -Be 'Completed'
        $t.TotalBytes | Should -Be 3MB
        $t.BytesTransferred | Should -Be 3MB
        $t.Sha256 | Should -Be (Get-FileHash $file).Hash.ToLowerInvariant()
        (Get-FileHash (Join-Path $out 'streamed.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'pulls a body that ends when the server closes the connection (no Content-Length, not chunked)' {
        # nginx never answers an HTTP/1.1 client this way; older servers and small embedded ones do. A minimal server
        # on a thread: headers with Connection: close, then the bytes, then the close that ends them.
        $file = New-TestFile -Path (Join-Path $work 'close-delimited.bin') -Size 2MB -Seed 14
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $server = Start-ThreadJob -ArgumentList $listener, $file.FullName -ScriptBlock {
            param($listener, $path)
            # (Stop: a failed .NET call must end the loop, not be written as an error and go round again.)
            $ErrorActionPreference = 'Stop'
            $body = [IO.File]::ReadAllBytes($path)
            try {
                while ($true) {
                    $client = $listener.AcceptTcpClient()
                    try {
                        $stream = $client.GetStream()
                        $reader = [IO.StreamReader]::new($stream, [Text.Encoding]::ASCII, $false, 1024, $true)
                        $requestLine = $reader.ReadLine()
                        while ($reader.ReadLine()) { }
                        $head = [Text.Encoding]::ASCII.GetBytes("HTTP/1.1 200 OK`r`nContent-Type: application/octet-stream`r`nConnection: close`r`n`r`n")
                        $stream.Write($head, 0, $head.Length)
                        if ($requestLine -and -not $requestLine.StartsWith('HEAD ')) { $stream.Write($body, 0, $body.Length) }
                    } catch [System.IO.IOException] {
                        # The client went away mid-answer; serve the next one.
                    } finally {
                        $client.Close()
                    }
                }
            } catch {
                # The listener was stopped: the test is over.
            }
        }
        try {
            $out = New-Item -ItemType Directory -Path (Join-Path $work 'close-delimited')
            $t = Receive-Transfer -Source "http://127.0.0.1:$($listener.LocalEndpoint.Port)/files/close-delimited.bin" -OutputDir $out -ChunkSize 512KB
            $t.Status | Should -Be 'Completed'
            $t.TotalBytes | Should -Be 2MB
            $t.Sha256 | Should -Be (Get-FileHash $file).Hash.ToLowerInvariant()
            (Get-FileHash (Join-Path $out 'close-delimited.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        } finally {
            $listener.Stop()
            $server | Wait-Job -Timeout 10 | Out-Null
            $server | Remove-Job -Force
        }
    }

    It 'starts a killed download of a streamed file without a version over, saying so, and finishes it byte-identical' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'unversioned.bin') -Size 192KB -Seed 9
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'unversioned')
        $source = "$($nginx.BaseUri)/streamed/unversioned.bin"
        $t = Stop-DownloadMidway -Source $source -OutputDir $out -Options '-ChunkSize 16KB -MaxBytesPerSecond 48KB' -AtLeast 32KB
        $t.TotalBytes | Should -Be -1
        $t.BytesTransferred | Should -BeGreaterOrEqual 32KB

        $w = $null
        Resume-Transfer -Id $t.Id -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $done = Wait-Transfer -Id $t.Id
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -Be 0
        $done.TotalBytes | Should -Be 192KB
        "$w" | Should -BeLike '*gives neither its size nor a version*from the start*'
        (Get-FileHash (Join-Path $out 'unversioned.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'continues a killed download of a streamed file that has a version, keeping its whole chunks' {
        # /streamed-slow/ keeps Last-Modified (and a weak ETag) and ignores Range: the resume skips what it already has.
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'versioned.bin') -Size 640KB -Seed 10
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'versioned')
        $t = Stop-DownloadMidway -Source "$($nginx.BaseUri)/streamed-slow/versioned.bin" -OutputDir $out -Options '-ChunkSize 16KB' -AtLeast 96KB
        $t.TotalBytes | Should -Be -1

        Resume-Transfer -Id $t.Id | Out-Null
        $done = Wait-Transfer -Id $t.Id
        $done.Status | Should -Be 'Completed'
        $done.ResumedFrom | Should -BeGreaterOrEqual 96KB
        $done.TotalBytes | Should -Be 640KB
        (Get-FileHash (Join-Path $out 'versioned.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'maps 404 to ObjectNotFound' {
        $err = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/files/none.bin" -OutputDir $work -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'

        # A pre-signed URL's signature stays out of the message, the target and the transfer's recorded error.
        $err = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/files/none.bin?X-Amz-Signature=secret-signature" -OutputDir $work -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceNotFound,*'
        "$($err[0]) $($err[0].TargetObject)" | Should -Not -BeLike '*secret-signature*'
        "$($err[0])" | Should -BeLike "*$($nginx.BaseUri)/files/none.bin?…*"
        (Get-TransferStatus | Where-Object { $_.Error -like '*none.bin*' }).Error | Should -Not -BeLike '*secret-signature*'
    }

    It 'says an upload needs a location that accepts PUT when the server refuses the method' {
        $file = New-TestFile -Path (Join-Path $work 'nodav.bin') -Size 1KB
        $err = $null
        Send-Transfer -Path $file -Destination "$($nginx.BaseUri)/files/nodav/" -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HttpMethodNotAllowed*'
        $err[0].CategoryInfo.Category | Should -Be 'NotImplemented'
        "$($err[0])" | Should -BeLike '*accepts PUT*WebDAV*'
        Test-Path (Join-Path $nginx.FilesRoot 'nodav') | Should -BeFalse
    }

    It 'downloads from a URL that refuses HEAD, as one pre-signed for GET does, byte-identical' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'signed.bin') -Size 1MB -Seed 11
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'signed')
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/get-only/signed.bin" -OutputDir $out -ChunkSize 256KB
        $t.Status | Should -Be 'Completed'
        $t.TotalBytes | Should -Be 1MB
        (Get-FileHash (Join-Path $out 'signed.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        # HEAD was refused, and the size and version came from a GET of the first byte.
        $log = Get-Content $nginx.AccessLogPath | Where-Object { $_ -like '*/get-only/signed.bin*' }
        $log | Where-Object { $_ -like '*"HEAD *" 403 *' } | Should -Not -BeNullOrEmpty
        $log | Where-Object { $_ -like '*"GET *" 206 *' } | Should -Not -BeNullOrEmpty
    }

    It 'names a download as its server asks (Content-Disposition) or as the redirect found it, but never after a path' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'export.bin') -Size 64KB -Seed 12
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'named')
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/named/export.bin" -OutputDir $out
        $t.Name | Should -Be 'report 2026.csv'
        $t.Destination | Should -Be (Join-Path $out 'report 2026.csv')
        (Get-FileHash (Join-Path $out 'report 2026.csv')).Hash | Should -Be (Get-FileHash $file).Hash

        # filename* (RFC 5987) is preferred over filename.
        (Receive-Transfer -Source "$($nginx.BaseUri)/named-utf8/export.bin" -OutputDir $out).Name | Should -Be 'résumé.csv'
        Test-Path -LiteralPath (Join-Path $out 'résumé.csv') | Should -BeTrue

        # A suggested path is ignored: the file keeps the URL's name, inside the folder asked for.
        (Receive-Transfer -Source "$($nginx.BaseUri)/named-path/export.bin" -OutputDir $out).Name | Should -Be 'export.bin'
        Test-Path (Join-Path $work 'escape.csv') | Should -BeFalse
        @(Get-ChildItem $out -Force).Name | Sort-Object | Should -Be @('export.bin', 'report 2026.csv', 'résumé.csv')

        # Without Content-Disposition, a redirected download takes the name it was found under, as in a browser.
        $moved = New-Item -ItemType Directory -Path (Join-Path $work 'moved')
        (Receive-Transfer -Source "$($nginx.BaseUri)/latest-export" -OutputDir $moved).Name | Should -Be 'export.bin'
        (Get-FileHash (Join-Path $moved 'export.bin')).Hash | Should -Be (Get-FileHash $file).Hash
    }

    It 'downloads a URL ending in / when its server names the file, and refuses a folder or a missing one clearly' {
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'export.bin') -Size 64KB -Seed 13
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'download-page')
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/download/" -OutputDir $out
        $t.Status | Should -Be 'Completed'
        $t.Name | Should -Be 'export 2026.bin'
        (Get-FileHash (Join-Path $out 'export 2026.bin')).Hash | Should -Be (Get-FileHash $file).Hash

        # A listing is a folder, not a file to download; a missing URL says so; neither leaves anything behind.
        $err = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/index/?token=secret-signature" -OutputDir $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceIsFolder,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($err[0]) $($err[0].TargetObject)" | Should -Not -BeLike '*secret-signature*'
        $err = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/files/no-such-folder/" -OutputDir $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SourceNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        @(Get-ChildItem $out -Force).Name | Should -Be @('export 2026.bin')
    }

    It 'maps 403 to PermissionDenied' {
        $err = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/denied/x.bin" -OutputDir $work -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
    }

    It 'needs -Credential for Basic auth, and says when the one sent is refused' {
        New-TestFile -Path (Join-Path $nginx.FilesRoot 'secret.bin') -Size 10KB | Out-Null
        $err = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/basic/secret.bin" -OutputDir $work -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        "$($err[0])" | Should -BeLike '*Pass -Credential*'
        $wrong = [pscredential]::new($nginx.BasicUser, (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        Receive-Transfer -Source "$($nginx.BaseUri)/basic/secret.bin" -OutputDir $work -Credential $wrong -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HttpUnauthorized*'
        "$($err[0])" | Should -BeLike '*refused the Basic credentials sent*'
        "$($err[0])" | Should -Not -BeLike '*not-the-password*'
        $cred = [pscredential]::new($nginx.BasicUser, (ConvertTo-SecureString $nginx.BasicPassword -AsPlainText -Force))
        $out = New-Item -ItemType Directory -Path (Join-Path $work 'basic')
        (Receive-Transfer -Source "$($nginx.BaseUri)/basic/secret.bin" -OutputDir $out -Credential $cred).Status | Should -Be 'Completed'
    }

    It 'retries 503 and then reports a connection error' {
        $err = $null
        $t = Receive-Transfer -Source "$($nginx.BaseUri)/flaky/x.bin" -OutputDir $work -RetryCount 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        "$($err[0])" | Should -BeLike '*503*'

        # A URL without a file name is looked at before its transfer starts, with the same retries.
        $err = $null
        $warnings = $null
        Receive-Transfer -Source "$($nginx.BaseUri)/flaky/" -OutputDir $work -RetryCount 1 -ErrorVariable err -ErrorAction SilentlyContinue -WarningVariable warnings -WarningAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        "$($err[0])" | Should -BeLike '*503*'
        @($warnings | Where-Object { "$_" -like '*Retry 1 of 1*' }) | Should -HaveCount 1
    }

    It 'refuses a download that does not fit before its first byte, and Resume-Transfer finishes it once there is room' -Skip:(-not $IsLinux -or (& id -u) -ne '0') {
        # A file system of 8 MiB (tmpfs: mounting needs root, as CI has) with 5 MiB taken; the download needs 6 MiB.
        $file = New-TestFile -Path (Join-Path $nginx.FilesRoot 'roomy.bin') -Size 6MB -Seed 31
        $mount = New-Item -ItemType Directory -Path (Join-Path $work 'small-fs')
        & mount -t tmpfs -o size=8m tmpfs $mount
        $LASTEXITCODE | Should -Be 0
        try {
            $filler = New-TestFile -Path (Join-Path $mount 'filler.bin') -Size 5MB -Seed 32
            $out = New-Item -ItemType Directory -Path (Join-Path $mount 'out')
            $source = "$($nginx.BaseUri)/files/roomy.bin"
            $err = $null
            Receive-Transfer -Source $source -OutputDir $out -ChunkSize 1MB -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
            $err[0].FullyQualifiedErrorId | Should -BeLike 'DestinationFull,*'
            $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
            "$($err[0])" | Should -BeLike "*not enough space in '$out'*more bytes are needed*free there*Resume-Transfer*"
            $err[0].TargetObject | Should -Be "$out"
            $t = Get-TransferStatus | Where-Object Source -EQ $source | Select-Object -First 1
            $t.Status | Should -Be 'Failed'
            $t.BytesTransferred | Should -Be 0
            Test-Path (Join-Path $out 'roomy.bin') | Should -BeFalse

            Remove-Item $filler
            Resume-Transfer -Id $t.Id | Out-Null
            (Wait-Transfer -Id $t.Id).Status | Should -Be 'Completed'
            (Get-FileHash (Join-Path $out 'roomy.bin')).Hash | Should -Be (Get-FileHash $file).Hash
        }
        finally {
            & umount $mount
        }
    }
}

Describe 'Https' {
    BeforeAll {
        $script:tlsFile = New-TestFile -Path (Join-Path $nginx.FilesRoot 'tls.bin') -Size 1MB -Seed 11
        $script:tlsUri = "$($nginx.HttpsBaseUri)/files/tls.bin"
    }

    It 'refuses a certificate from a CA this machine does not trust, saying why and which certificate' {
        $out = Join-Path $work 'tls-refused'
        $err = $null
        Receive-Transfer -Source $tlsUri -OutputDir $out -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HttpTlsError*'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        "$($err[0])" | Should -BeLike '*not signed by a certificate authority this machine trusts*'
        "$($err[0])" | Should -BeLike "*issued by 'CN=TransferTools test CA'*"
        Test-Path (Join-Path $out 'tls.bin') | Should -BeFalse
    }

    It 'downloads from that server with SkipCertificateCheck, byte-identical' {
        $out = Join-Path $work 'tls-skipped'
        $t = Receive-Transfer -Source $tlsUri -OutputDir $out -ProtocolOption @{ SkipCertificateCheck = 'true' }
        $t.Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $out 'tls.bin')).Hash | Should -Be (Get-FileHash $tlsFile).Hash
    }

    It 'validates against the trusted CAs: accepts the certificate for its address, refuses it for another name' {
        # A new process whose whole trust store is the test CA (SSL_CERT_FILE), as a public server's CA is trusted.
        $out = Join-Path $work 'tls-trusted'
        $env:SSL_CERT_FILE = $nginx.CaCertificate
        try {
            $result = Invoke-InNewProcess -ArgumentList $tlsUri, $out -ScriptBlock {
                param($uri, $out)
                $ok = Receive-Transfer -Source $uri -OutputDir $out
                $err = $null
                Receive-Transfer -Source ($uri -replace '127\.0\.0\.1', 'localhost') -OutputDir "$out-byname" -RetryCount 0 -ErrorVariable err -ErrorAction SilentlyContinue
                [pscustomobject]@{ Status = "$($ok.Status)"; ErrorId = $err[0].FullyQualifiedErrorId; Message = "$($err[0])" }
            }
        }
        finally {
            Remove-Item Env:SSL_CERT_FILE
        }

        $result.Status | Should -Be 'Completed'
        (Get-FileHash (Join-Path $out 'tls.bin')).Hash | Should -Be (Get-FileHash $tlsFile).Hash
        $result.ErrorId | Should -BeLike 'HttpTlsError*'
        $result.Message | Should -BeLike "*not issued for 'localhost'*"
        $result.Message | Should -Not -BeLike '*not signed by*'
    }

    It 'says the handshake failed, not that a certificate was refused, when the port does not speak TLS' {
        $err = $null
        Receive-Transfer -Source (($nginx.BaseUri -replace '^http:', 'https:') + '/files/tls.bin') -OutputDir (Join-Path $work 'tls-plain') -RetryCount 0 `
            -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'HttpTlsHandshakeFailed*'
        "$($err[0])" | Should -BeLike '*Is the server speaking TLS on this port*'
    }
}
