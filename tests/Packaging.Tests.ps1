# Packaging: the manifest is Gallery-ready, build/Publish-Package.ps1 publishes the module (and the plugin-author
# packages) to a PSResourceGet file repository, and a fresh process installs it from there into an empty module path
# and imports it by name.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:repo = Split-Path $PSScriptRoot
    $script:module = Get-TestModulePath
    $script:manifestPath = Join-Path $script:module 'TransferTools.psd1'
    $script:work = Join-Path ([IO.Path]::GetTempPath()) ('tt-packaging-' + [guid]::NewGuid().ToString('n'))
    New-Item -ItemType Directory -Path $script:work | Out-Null

    function Invoke-FreshPwsh {
        # Runs a script in a new pwsh (no profile) and returns its last output line parsed as JSON.
        param([string] $Script, [hashtable] $Environment = @{})
        $file = Join-Path $script:work ('run-' + [guid]::NewGuid().ToString('n') + '.ps1')
        Set-Content -Path $file -Value ('$ErrorActionPreference = "Stop"; $ProgressPreference = "SilentlyContinue"' + "`n" + $Script)
        $saved = @{}
        foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
        try {
            $out = & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -File $file 2>&1
        } finally {
            foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        }
        if ($LASTEXITCODE -ne 0) { throw "pwsh failed ($LASTEXITCODE): $($out -join "`n")" }
        ($out | Select-Object -Last 1) | ConvertFrom-Json
    }
}
AfterAll {
    Remove-Item $script:work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Module manifest' {
    BeforeAll {
        $script:data = Import-PowerShellDataFile $script:manifestPath
    }

    It 'passes Test-ModuleManifest' {
        $m = Test-ModuleManifest -Path $script:manifestPath -ErrorAction Stop
        $m.Name | Should -Be 'TransferTools'
        $m.Version | Should -BeGreaterThan ([version]'0.0.0')
    }

    It 'has the fields the Gallery shows' {
        $data.GUID | Should -Match '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
        $data.Author | Should -Not -BeNullOrEmpty
        $data.Description.Length | Should -BeGreaterThan 40
        $data.CompatiblePSEditions | Should -Be @('Core', 'Desktop')
        [version]$data.PowerShellVersion | Should -Be ([version]'5.1')
        $data.PrivateData.PSData.Tags | Should -Contain 'PSEdition_Core'
        $data.PrivateData.PSData.ProjectUri | Should -Match '^https://'
        $data.PrivateData.PSData.LicenseUri | Should -Match '^https://.*LICENSE'
        $data.PrivateData.PSData.ReleaseNotes | Should -Not -BeNullOrEmpty
    }

    It 'exports an explicit list with no wildcards' {
        foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'AliasesToExport', 'VariablesToExport') {
            $data.ContainsKey($key) | Should -BeTrue -Because "$key must be explicit (an absent key exports everything)"
            @($data[$key]) -join ',' | Should -Not -Match '\*'
        }
    }

    It 'exports exactly the cmdlets the module defines' {
        $assembly = (Import-Module $script:module -PassThru -Force).ImplementingAssembly
        $defined = @($assembly.GetExportedTypes() |
            ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
            ForEach-Object { "$($_.VerbName)-$($_.NounName)" } | Sort-Object)
        $listed = @($data.CmdletsToExport | Sort-Object)
        Compare-Object $listed $defined | ForEach-Object { "$($_.InputObject) ($(if ($_.SideIndicator -eq '<=') { 'listed, not defined' } else { 'defined, not listed' }))" } |
            Should -BeNullOrEmpty
    }

    It 'lays out the engine''s plugin loading (net8.0) beside the engine, and no assembly named like a plugin that is none' {
        Test-Path (Join-Path $script:module 'TransferTools.Engine.PluginLoading.dll') | Should -BeTrue
        Get-ChildItem $script:module -Recurse -Filter 'TransferTools.Plugins.Isolation*' | Should -BeNullOrEmpty
    }

    It 'the repository has a LICENSE (MIT) and a CHANGELOG with this version' {
        Get-Content (Join-Path $script:repo 'LICENSE') -Raw | Should -Match 'MIT License'
        Get-Content (Join-Path $script:repo 'CHANGELOG.md') -Raw | Should -Match ([regex]::Escape("## [$($data.ModuleVersion)]"))
    }
}

Describe 'Publish and install from a local PSResourceGet repository' {
    BeforeAll {
        $script:repository = Join-Path $script:work 'repository'
        $script:installRoot = Join-Path $script:work 'modules'
        New-Item -ItemType Directory -Path $script:installRoot | Out-Null
        $script:version = (Import-PowerShellDataFile $script:manifestPath).ModuleVersion
        $publishOutput = & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -File (Join-Path $script:repo 'build/Publish-Package.ps1') `
            -ModulePath $script:module -RepositoryPath $script:repository 2>&1
        if ($LASTEXITCODE -ne 0) { throw "Publish-Package failed: $($publishOutput -join "`n")" }
    }

    It 'writes the module package and the plugin-author packages to the repository' {
        Test-Path (Join-Path $repository "TransferTools.$version.nupkg") | Should -BeTrue
        # The plugin API packages carry their own version (the csproj's), which moves when the API changes.
        $apiVersion = (Select-Xml -Path (Join-Path $script:repo 'src/TransferTools.Abstractions/TransferTools.Abstractions.csproj') -XPath '//Version').Node.InnerText
        Test-Path (Join-Path $repository "TransferTools.Abstractions.$apiVersion.nupkg") | Should -BeTrue
        if (Test-Path (Join-Path $script:repo 'src/TransferTools.Conformance')) {
            Test-Path (Join-Path $repository "TransferTools.Conformance.$apiVersion.nupkg") | Should -BeTrue
        }
    }

    It 'leaves the user''s repository list as it was' {
        (Get-PSResourceRepository).Name | Where-Object { $_ -like 'TTLocal-*' } | Should -BeNullOrEmpty
    }

    It 'installs into an empty module path in a fresh process and imports by name' {
        $install = @"
`$name = 'TTTest-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
Register-PSResourceRepository -Name `$name -Uri '$repository' -Trusted
try {
    Save-PSResource -Name TransferTools -Repository `$name -Path '$installRoot' -TrustRepository -SkipDependencyCheck -Quiet
} finally { Unregister-PSResourceRepository -Name `$name }
@{ Installed = @(Get-ChildItem '$installRoot' -Directory).Name } | ConvertTo-Json -Compress
"@
        $result = Invoke-FreshPwsh $install
        $result.Installed | Should -Be 'TransferTools'
        Test-Path (Join-Path $installRoot "TransferTools/$version/TransferTools.psd1") | Should -BeTrue

        $use = @"
`$env:PSModulePath = '$installRoot' + [IO.Path]::PathSeparator + `$env:PSModulePath
Import-Module TransferTools
`$m = Get-Module TransferTools
@{
    ModuleBase = `$m.ModuleBase
    Version    = `$m.Version.ToString()
    Cmdlets    = @(Get-Command -Module TransferTools).Count
    Exported   = @(`$m.ExportedCmdlets.Keys).Count
    Help       = (Get-Help Get-TransferPlugin -Full | Out-String)
    About      = (Get-Help about_TransferTools | Out-String).Length
    Plugins    = @(Get-TransferPlugin).Name
    License    = Test-Path (Join-Path `$m.ModuleBase 'LICENSE')
} | ConvertTo-Json -Compress -Depth 3
"@
        $home_ = Join-Path $script:work 'home'
        $r = Invoke-FreshPwsh $use -Environment @{ TRANSFERTOOLS_HOME = $home_ }
        $r.ModuleBase | Should -BeLike "$installRoot*"
        $r.Version | Should -Be $version
        $r.Cmdlets | Should -Be $r.Exported
        $r.Cmdlets | Should -BeGreaterThan 0
        $r.Help | Should -Match 'EXAMPLES|Example 1'
        $r.About | Should -BeGreaterThan 1000
        $r.Plugins | Should -Contain 'LocalStore'
        $r.License | Should -BeTrue
    }
}

Describe 'Scripts in the repository' {
    # A script that fails to parse only shows when it runs, and some run rarely (the benchmark cases run for half
    # an hour, once in a while): the parser catches a stray quote in any of them here, in every CI run.
    BeforeDiscovery {
        $root = Split-Path $PSScriptRoot
        $script:scripts = foreach ($dir in 'build', 'tests', 'samples', '.ci') {
            $path = Join-Path $root $dir
            if (Test-Path $path) {
                Get-ChildItem -Path $path -Recurse -File -Include '*.ps1', '*.psm1' |
                    Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } |
                    ForEach-Object { @{ Name = [IO.Path]::GetRelativePath($root, $_.FullName); Path = $_.FullName } }
            }
        }
        $script:scripts += @{ Name = 'build.ps1'; Path = (Join-Path $root 'build.ps1') }
    }

    It '<Name> parses' -ForEach $script:scripts {
        $errors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref] $null, [ref] $errors)
        ($errors | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Message)" }) -join '; ' | Should -BeNullOrEmpty
    }
}
