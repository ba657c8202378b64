# Shared helpers for the Pester suites: import the built module and give each test file its own home.

function Get-TestModulePath {
    if ($env:TRANSFERTOOLS_TEST_MODULE) { return $env:TRANSFERTOOLS_TEST_MODULE }
    Join-Path (Split-Path $PSScriptRoot) 'out/TransferTools'
}

function Initialize-TransferToolsTest {
    <#
    .SYNOPSIS
        Points TRANSFERTOOLS_HOME at a new temporary folder and (re)imports the built module, so the next cmdlet
        starts a new session there. Returns the home path.
    #>
    [CmdletBinding()]
    param()
    $home_ = Join-Path ([IO.Path]::GetTempPath()) ("tt-pester-" + [guid]::NewGuid().ToString('n'))
    New-Item -ItemType Directory -Path $home_ | Out-Null
    $env:TRANSFERTOOLS_HOME = $home_
    Remove-Module TransferTools -ErrorAction SilentlyContinue
    Import-Module (Get-TestModulePath) -Force -Global
    $home_
}

function Reset-TransferToolsSession {
    <# Closes the session (as Remove-Module does) and imports again: the next cmdlet starts a new session on the same home. #>
    Remove-Module TransferTools -ErrorAction SilentlyContinue
    Import-Module (Get-TestModulePath) -Force -Global
}

function Remove-TransferToolsTest {
    param([string] $HomePath)
    Remove-Module TransferTools -ErrorAction SilentlyContinue
    if ($HomePath -and (Test-Path $HomePath)) { Remove-Item $HomePath -Recurse -Force -ErrorAction SilentlyContinue }
    Remove-Item Env:TRANSFERTOOLS_HOME -ErrorAction SilentlyContinue
}

function New-TestFile {
    <# A file of $Size pseudo-random bytes (seeded, so reruns are identical). #>
    param([Parameter(Mandatory)] [string] $Path, [long] $Size = 1024, [int] $Seed = 42)
    $random = [Random]::new($Seed)
    $buffer = [byte[]]::new([Math]::Min($Size, 1MB))
    $stream = [IO.File]::Create($Path)
    try {
        $left = $Size
        while ($left -gt 0) {
            $random.NextBytes($buffer)
            $n = [int][Math]::Min($left, $buffer.Length)
            $stream.Write($buffer, 0, $n)
            $left -= $n
        }
    } finally { $stream.Dispose() }
    Get-Item -LiteralPath $Path
}

function New-TestTree {
    <#
    A folder to send with -Recurse: files at the top and two levels down, the same name in two folders, names with
    spaces, a folder holding only a folder, and an empty folder. Returns the files' paths relative to $Path
    ('/'-separated).
    #>
    param([Parameter(Mandatory)] [string] $Path)
    $files = [ordered]@{ 'x.bin' = 10KB; 'a/y.bin' = 20KB; 'a/b/y.bin' = 30KB; 'c d/e f.bin' = 5KB; 'p/q/r.bin' = 3KB }
    $seed = 100
    foreach ($relative in $files.Keys) {
        $full = Join-Path $Path $relative
        New-Item -ItemType Directory -Force -Path (Split-Path $full) | Out-Null
        New-TestFile -Path $full -Size $files[$relative] -Seed ($seed++) | Out-Null
    }
    New-Item -ItemType Directory -Force -Path (Join-Path $Path 'a/empty') | Out-Null
    @($files.Keys)
}

function Invoke-InNewProcess {
    <# Runs a script block in a fresh pwsh with the module imported and the same home; returns its output as objects (via CLIXML). #>
    param([Parameter(Mandatory)] [scriptblock] $ScriptBlock, [object[]] $ArgumentList = @())
    $pwsh = Join-Path $PSHOME 'pwsh'
    $module = Get-TestModulePath
    # A script block (not a string) makes pwsh pass -EncodedCommand and -EncodedArguments, so arguments and results
    # travel as serialized objects.
    $wrapper = [scriptblock]::Create("Import-Module '$module'; & { $ScriptBlock } @args")
    & $pwsh -NoProfile -NonInteractive -Command $wrapper -args $ArgumentList
}

function Invoke-InNewProcessWithTimeLimit {
    <#
    Runs a command (a string) in a fresh pwsh with the module imported and the same home, killed by coreutils timeout
    (exit code 124) after -Seconds: for a test whose failure would be a hang, such as a read of a named pipe, which
    waits for a writer where no cancellation reaches. The command writes one JSON document; returns the exit code and
    that document parsed.
    #>
    param([Parameter(Mandatory)] [string] $Command, [int] $Seconds = 120)
    $json = & timeout $Seconds (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command "Import-Module '$(Get-TestModulePath)'; $Command"
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Result = if ($json) { $json | ConvertFrom-Json } }
}

Export-ModuleMember -Function *
