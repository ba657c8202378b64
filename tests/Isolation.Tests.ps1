# Third-party plugin isolation: on PowerShell 7 each plugin assembly registered with -Path loads into its own
# AssemblyLoadContext, so two plugins that depend on different versions of one library both work in one session,
# while the plugin API (TransferTools.Abstractions) is the module's own copy.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $fixtures = Join-Path $PSScriptRoot 'Fixtures/Isolation'
    $script:out = Join-Path $script:home_ 'fixtures'
    foreach ($name in 'DepPluginA', 'DepPluginB') {
        $log = & dotnet build (Join-Path $fixtures "$name/$name.csproj") -c Release -o (Join-Path $script:out $name) --nologo -v quiet -clp:ErrorsOnly 2>&1
        if ($LASTEXITCODE -ne 0) { throw "dotnet build $name failed: $($log -join "`n")" }
    }
    $script:pluginA = Join-Path $script:out 'DepPluginA/DepPluginA.dll'
    $script:pluginB = Join-Path $script:out 'DepPluginB/DepPluginB.dll'
}
AfterAll { Remove-TransferToolsTest $script:home_ }

Describe 'Third-party plugin isolation' {
    It 'the fixtures ship different versions of SampleDep and their own copy of the plugin API' {
        [Reflection.AssemblyName]::GetAssemblyName((Join-Path $out 'DepPluginA/SampleDep.dll')).Version | Should -Be ([version]'1.0.0.0')
        [Reflection.AssemblyName]::GetAssemblyName((Join-Path $out 'DepPluginB/SampleDep.dll')).Version | Should -Be ([version]'2.0.0.0')
        Test-Path (Join-Path $out 'DepPluginA/TransferTools.Abstractions.dll') | Should -BeTrue
    }

    It 'registers two plugins that need different versions of one library, and both work in one session' {
        $a = Register-TransferPlugin -Name DepA -Path $pluginA
        $b = Register-TransferPlugin -Name DepB -Path $pluginB
        $a.State | Should -Be 'Active'
        $b.State | Should -Be 'Active'
        $a.Description | Should -Be 'DepPluginA uses SampleDep 1.0.0.0'
        $b.Description | Should -Be 'DepPluginB uses SampleDep 2.0.0.0'
    }

    It 'gives each plugin its own load context and shares the module''s TransferTools.Abstractions' {
        $contexts = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'SampleDep' } |
            ForEach-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }
        $contexts | Sort-Object | Should -Be @('TransferTools plugin DepPluginA.dll', 'TransferTools plugin DepPluginB.dll')
        $abstractions = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'TransferTools.Abstractions' })
        $abstractions.Count | Should -Be 1 -Because 'the plugins'' own copies of the plugin API must not be loaded'
        $pluginAssembly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'DepPluginA' }
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($pluginAssembly).Name | Should -Be 'TransferTools plugin DepPluginA.dll'
    }

    It 'loads both again in a new session from the persisted registrations' {
        $r = Invoke-InNewProcess { Get-TransferPlugin -Name DepA, DepB -Load | ForEach-Object { "$($_.State): $($_.Description)" } }
        $r | Should -Be @('Active: DepPluginA uses SampleDep 1.0.0.0', 'Active: DepPluginB uses SampleDep 2.0.0.0')
    }
}
