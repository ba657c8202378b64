# Help quality: every exported cmdlet and parameter is documented in docs/ (platyPS markdown), the built module's
# MAML gives Get-Help real text and examples offline, and the about topics are there.
# Data-driven: whatever cmdlets the built module exports are checked, so a new cmdlet without help fails here.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $module = Import-Module (Get-TestModulePath) -PassThru -Force
    $script:cmdlets = @(Get-Command -Module TransferTools -CommandType Cmdlet | Sort-Object Name | ForEach-Object {
        @{ Name = $_.Name }
    })
    $common = @([System.Management.Automation.PSCmdlet]::CommonParameters) + @([System.Management.Automation.PSCmdlet]::OptionalCommonParameters)
    $script:parameters = @(Get-Command -Module TransferTools -CommandType Cmdlet | Sort-Object Name | ForEach-Object {
        $c = $_
        $c.Parameters.Keys | Where-Object { $common -notcontains $_ } | ForEach-Object { @{ Command = $c.Name; Parameter = $_ } }
    })
    $script:aboutTopics = @('about_TransferTools', 'about_TransferTools_Plugins', 'about_TransferTools_Agent' | ForEach-Object { @{ Topic = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:repo = Split-Path $PSScriptRoot
    $script:docs = Join-Path $script:repo 'docs'
    Import-Module (Join-Path $script:repo 'build/HelpMarkdown.psm1') -Force
    $script:xmlDocs = Get-XmlDocSummary -XmlDocPath (Join-Path (Get-TestModulePath) 'TransferTools.xml')
    $script:parsed = @{}
    function Get-Doc([string] $Name) {
        if (-not $script:parsed.ContainsKey($Name)) {
            $path = Join-Path $script:docs "$Name.md"
            $script:parsed[$Name] = if (Test-Path $path) { Read-HelpMarkdown -Path $path } else { $null }
        }
        $script:parsed[$Name]
    }
}
AfterAll {
    Remove-Module HelpMarkdown -ErrorAction SilentlyContinue
    Remove-TransferToolsTest $script:home_
}

Describe 'Cmdlet help: <Name>' -ForEach $script:cmdlets {
    BeforeAll {
        $script:doc = Get-Doc $Name
        $script:help = Get-Help $Name -Full
    }

    It 'has docs/<Name>.md in platyPS format' {
        $doc | Should -Not -BeNullOrEmpty -Because "every cmdlet needs docs/$Name.md (build/Update-HelpMarkdown.ps1 creates a skeleton)"
        $doc.Header['schema'] | Should -Be '2.0.0'
        $doc.Header['external help file'] | Should -Be 'TransferTools.dll-Help.xml'
        foreach ($section in 'SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS') {
            $doc.Sections.ContainsKey($section) | Should -BeTrue -Because "docs/$Name.md needs a '## $section' section"
        }
        (Get-Content (Join-Path $docs "$Name.md") -Raw) | Should -Not -Match '\{\{|TODO|Fill in' -Because 'placeholders are not help'
    }

    It 'is in step with the cmdlet (syntax, parameter sets, types, positions, pipeline input)' {
        $command = Get-Command $Name
        $expected = New-HelpMarkdown -Command $command -XmlDocs $xmlDocs -Existing $doc
        $actual = (Get-Content (Join-Path $docs "$Name.md") -Raw) -replace "`r`n", "`n"
        $actual | Should -BeExactly $expected -Because 'the markdown must match the cmdlet; run build/Update-HelpMarkdown.ps1 and review the diff'
    }

    It 'has a synopsis and a description of its own' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s*(\[|$)" -Because 'an auto-generated synopsis means the MAML was not found'
        $description = ($help.description | ForEach-Object Text) -join ' '
        $description.Length | Should -BeGreaterThan $help.Synopsis.Length -Because 'the description says more than the synopsis'
    }

    It 'has at least two examples, each with a command, and real output in at least one' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $examples) {
            $e.code | Should -Match '(?m)^PS> \S' -Because "example '$($e.title)' shows the command at a PS> prompt"
            $e.title | Should -Match 'Example \d+: \w' -Because 'each example has a title that says what it shows'
        }
        $withOutput = $examples | Where-Object { @($_.code -split "`n" | Where-Object { $_.Trim() -and $_ -notmatch '^(PS>|>>) ' }).Count -gt 0 }
        $withOutput | Should -Not -BeNullOrEmpty -Because 'at least one example shows what the command prints'
    }

    It 'documents its inputs, outputs and related links' {
        $doc.Inputs.Count + $doc.Outputs.Count | Should -BeGreaterThan 0
        $outputTypes = @((Get-Command $Name).OutputType | Where-Object { $_.Name -ne 'System.Void' } | ForEach-Object Name)
        foreach ($t in $outputTypes) { $doc.Outputs.Type | Should -Contain $t -Because "[OutputType] says $Name returns $t" }
        $doc.Links.Count | Should -BeGreaterThan 0
        foreach ($link in $doc.Links | Where-Object { -not $_.Uri -and $_.Text -match '^[A-Z][a-z]+-\w+$' }) {
            Test-Path (Join-Path $docs "$($link.Text).md") | Should -BeTrue -Because "the related link $($link.Text) names a documented cmdlet"
        }
    }
}

Describe 'Parameter help: <Command> -<Parameter>' -ForEach $script:parameters {
    It 'is documented with a description in Get-Help' {
        $p = Get-Help $Command -Parameter $Parameter -ErrorAction SilentlyContinue
        $p | Should -Not -BeNullOrEmpty -Because "Get-Help $Command -Parameter $Parameter must find it"
        $text = (@($p.description) | ForEach-Object Text) -join ' '
        $text.Trim().Length | Should -BeGreaterThan 10 -Because "-$Parameter of $Command needs a real description"
    }
}

Describe 'Help works offline in a fresh process' {
    It 'shows the MAML help, examples and a parameter of a cmdlet without downloading anything' {
        $out = Invoke-InNewProcess {
            $ProgressPreference = 'SilentlyContinue'
            [pscustomobject]@{
                Full      = Get-Help Register-TransferPlugin -Full | Out-String -Width 120
                Examples  = Get-Help Register-TransferPlugin -Examples | Out-String -Width 120
                Parameter = Get-Help Register-TransferPlugin -Parameter Path | Out-String -Width 120
                HelpFile  = (Get-Command Register-TransferPlugin).HelpFile
            }
        }
        $out.HelpFile | Should -Match 'en-US[\\/]TransferTools\.dll-Help\.xml$'
        $out.Full | Should -Match 'DESCRIPTION'
        $out.Full | Should -Not -Match 'Get-Help cannot find the Help files'
        $out.Examples | Should -Match 'Example 1'
        $out.Parameter | Should -Match 'Required\?\s+true'
    }
}

Describe 'About topic <Topic>' -ForEach $script:aboutTopics {
    It 'is built from docs/<Topic>.md and shown by Get-Help' {
        Test-Path (Join-Path $docs "$Topic.md") | Should -BeTrue
        Test-Path (Join-Path (Get-TestModulePath) "en-US/$Topic.help.txt") | Should -BeTrue
        $text = Get-Help $Topic | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'LONG DESCRIPTION'
        $text.Length | Should -BeGreaterThan 1500
    }
}

Describe 'Default values in Get-Help -Full' {
    It 'are the ones the parameter text gives, not None' {
        (Get-Help Send-Transfer -Parameter ThrottleLimit).defaultValue | Should -Be '4'
        (Get-Help Send-Transfer -Parameter ChunkSize).defaultValue | Should -Be '4 MiB'
        (Get-Help Send-Transfer -Parameter Recurse).defaultValue | Should -Be 'False'
    }
}
