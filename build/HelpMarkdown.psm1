# platyPS-format markdown help, without platyPS: read it, write MAML and about_*.help.txt from it, and generate or
# refresh the markdown of a cmdlet from its metadata (keeping the text people wrote).
#
# The markdown layout is platyPS schema 2.0.0: a YAML header, "# Verb-Noun", then "## SYNOPSIS", "## SYNTAX" (one
# "### SetName" with a code block per parameter set), "## DESCRIPTION", "## EXAMPLES" ("### Example N: title", code
# blocks and remarks), "## PARAMETERS" ("### -Name", description, one ```yaml block per group of parameter sets),
# "## INPUTS" / "## OUTPUTS" ("### TypeName" and a description), "## NOTES", "## RELATED LINKS".

Set-StrictMode -Version 3.0

$script:CommonParametersText = 'This cmdlet supports the common parameters: -Debug, -ErrorAction, -ErrorVariable, -InformationAction, -InformationVariable, -OutVariable, -OutBuffer, -PipelineVariable, -ProgressAction, -Verbose, -WarningAction, and -WarningVariable. For more information, see [about_CommonParameters](http://go.microsoft.com/fwlink/?LinkID=113216).'
$script:CommonParameterNames = @([System.Management.Automation.PSCmdlet]::CommonParameters) + @([System.Management.Automation.PSCmdlet]::OptionalCommonParameters)

#region Reading markdown

function Split-MarkdownSection {
    # Splits lines into sections at headings of the given level ("## " or "### "), ignoring headings inside code fences.
    param([string[]] $Lines, [string] $Prefix)
    $sections = [System.Collections.Generic.List[object]]::new()
    $current = [pscustomobject]@{ Title = $null; Lines = [System.Collections.Generic.List[string]]::new() }
    $inFence = $false
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') { $inFence = -not $inFence }
        if (-not $inFence -and $line.StartsWith($Prefix) -and -not $line.StartsWith($Prefix + '#')) {
            $sections.Add($current)
            $current = [pscustomobject]@{ Title = $line.Substring($Prefix.Length).Trim(); Lines = [System.Collections.Generic.List[string]]::new() }
        } else {
            $current.Lines.Add($line)
        }
    }
    $sections.Add($current)
    $sections
}

function Split-MarkdownBlock {
    # Splits lines into paragraphs and code blocks: @{ Kind = 'text'|'code'; Language; Text }.
    param([string[]] $Lines)
    $blocks = [System.Collections.Generic.List[object]]::new()
    $buffer = [System.Collections.Generic.List[string]]::new()
    $fence = $null
    $flush = {
        if ($buffer.Count -gt 0) {
            $blocks.Add([pscustomobject]@{ Kind = 'text'; Language = ''; Text = ($buffer -join "`n") })
            $buffer.Clear()
        }
    }
    foreach ($line in $Lines) {
        if ($null -eq $fence) {
            if ($line -match '^\s*```\s*([\w-]*)') {
                & $flush
                $fence = [pscustomobject]@{ Kind = 'code'; Language = $Matches[1]; Lines = [System.Collections.Generic.List[string]]::new() }
            } elseif ($line.Trim() -eq '') {
                & $flush
            } else {
                $buffer.Add($line.TrimEnd())
            }
        } elseif ($line -match '^\s*```\s*$') {
            $blocks.Add([pscustomobject]@{ Kind = 'code'; Language = $fence.Language; Text = ($fence.Lines -join "`n") })
            $fence = $null
        } else {
            $fence.Lines.Add($line.TrimEnd())
        }
    }
    & $flush
    if ($null -ne $fence) { throw "A code block is not closed." }
    $blocks
}

function ConvertFrom-MarkdownInline {
    # Plain text for help output: links become their text, emphasis and code marks go.
    param([string] $Text)
    $t = [regex]::Replace($Text, '\[([^\]]+)\]\(([^)]*)\)', '$1')
    $t = [regex]::Replace($t, '(\*\*|__)([^*_\s][^*]*?)\1', '$2')
    $t = [regex]::Replace($t, '`([^`]+)`', '$1')
    $t -replace '\\([\\`*_{}\[\]()#+\-.!<>])', '$1'
}

function ConvertTo-HelpParagraph {
    # A text block as help paragraphs: prose lines are joined; list items stay one per line.
    param([string] $Text)
    $lines = $Text -split "`n"
    $isList = @($lines | Where-Object { $_ -match '^\s*([-*+]|\d+\.)\s' }).Count -gt 0
    $isTable = $lines[0] -match '^\s*\|'
    if ($isList -or $isTable) {
        $items = [System.Collections.Generic.List[string]]::new()
        foreach ($l in $lines) {
            if ($isTable -and $l -match '^\s*\|[\s:|-]+\|\s*$') { continue }
            if (-not $isTable -and $items.Count -gt 0 -and $l -notmatch '^\s*([-*+]|\d+\.)\s') {
                $items[$items.Count - 1] += ' ' + $l.Trim()
            } else {
                $items.Add($l.Trim())
            }
        }
        return ($items | ForEach-Object { ConvertFrom-MarkdownInline ($_ -replace '^[-*+]\s', '- ') }) -join "`n"
    }
    ConvertFrom-MarkdownInline (($lines | ForEach-Object { $_.Trim() }) -join ' ')
}

function Get-SectionText {
    param($Section)
    if ($null -eq $Section) { return @() }
    @(Split-MarkdownBlock $Section.Lines | Where-Object Kind -eq 'text' | ForEach-Object { ConvertTo-HelpParagraph $_.Text })
}

function Read-YamlBlock {
    param([string] $Text)
    $map = [ordered]@{}
    foreach ($line in $Text -split "`n") {
        if ($line -match '^\s*([^:]+):\s*(.*)$') { $map[$Matches[1].Trim()] = $Matches[2].Trim() }
    }
    $map
}

function Read-HelpMarkdown {
    <#
    .SYNOPSIS
        Reads one platyPS cmdlet help file into an object (Name, Synopsis, Syntax, Description, Examples, Parameters,
        Inputs, Outputs, Notes, Links).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    $lines = @((Get-Content -LiteralPath $Path -Encoding utf8) -replace "`r$", '')
    $header = [ordered]@{}
    $start = 0
    if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
        $end = [Array]::IndexOf($lines, '---', 1)
        if ($end -lt 0) { throw "${Path}: the YAML header is not closed." }
        $header = Read-YamlBlock (($lines[1..($end - 1)]) -join "`n")
        $start = $end + 1
    }
    $body = if ($start -lt $lines.Count) { $lines[$start..($lines.Count - 1)] } else { @() }
    $name = ($body | Where-Object { $_ -match '^# ' } | Select-Object -First 1)
    if (-not $name) { throw "${Path}: no '# Verb-Noun' title." }
    $name = $name.Substring(2).Trim()

    $sections = @{}
    foreach ($s in Split-MarkdownSection $body '## ') { if ($s.Title) { $sections[$s.Title.ToUpperInvariant()] = $s } }

    $syntax = @()
    if ($sections['SYNTAX']) {
        $syntax = @(foreach ($sub in Split-MarkdownSection $sections['SYNTAX'].Lines '### ') {
            if (-not $sub.Title) { continue }
            $code = Split-MarkdownBlock $sub.Lines | Where-Object Kind -eq 'code' | Select-Object -First 1
            $setName = $sub.Title -replace '\s*\(Default\)\s*$', ''
            [pscustomobject]@{
                Name      = $setName
                IsDefault = $sub.Title -match '\(Default\)\s*$'
                Line      = if ($code) { ($code.Text -split "`n" | ForEach-Object Trim) -join ' ' } else { '' }
                Order     = @(if ($code) { [regex]::Matches($code.Text, '(?<![\w-])-(\w+)') | ForEach-Object { $_.Groups[1].Value } })
            }
        })
    }

    $examples = @()
    if ($sections['EXAMPLES']) {
        $examples = @(foreach ($sub in Split-MarkdownSection $sections['EXAMPLES'].Lines '### ') {
            if (-not $sub.Title) { continue }
            $blocks = @(Split-MarkdownBlock $sub.Lines)
            [pscustomobject]@{
                Title   = $sub.Title
                Code    = @($blocks | Where-Object Kind -eq 'code' | ForEach-Object Text) -join "`n`n"
                Remarks = @($blocks | Where-Object Kind -eq 'text' | ForEach-Object { ConvertTo-HelpParagraph $_.Text })
                Blocks  = $blocks
            }
        })
    }

    $parameters = @()
    if ($sections['PARAMETERS']) {
        $parameters = @(foreach ($sub in Split-MarkdownSection $sections['PARAMETERS'].Lines '### ') {
            if (-not $sub.Title -or $sub.Title -eq 'CommonParameters') { continue }
            $blocks = @(Split-MarkdownBlock $sub.Lines)
            $yaml = @($blocks | Where-Object { $_.Kind -eq 'code' -and $_.Language -eq 'yaml' } | ForEach-Object {
                $y = Read-YamlBlock $_.Text
                [pscustomobject]@{
                    Type         = [string]$y['Type']
                    Sets         = @(([string]$y['Parameter Sets']) -split ',' | ForEach-Object Trim | Where-Object { $_ })
                    Aliases      = @(([string]$y['Aliases']) -split ',' | ForEach-Object Trim | Where-Object { $_ })
                    Required     = [string]$y['Required'] -eq 'True'
                    Position     = if ($y['Position']) { [string]$y['Position'] } else { 'Named' }
                    DefaultValue = if ($y['Default value']) { [string]$y['Default value'] } else { 'None' }
                    Pipeline     = if ($y['Accept pipeline input']) { [string]$y['Accept pipeline input'] } else { 'False' }
                    Wildcard     = [string]$y['Accept wildcard characters'] -eq 'True'
                    AcceptedValues = @(([string]$y['Accepted values']) -split ',' | ForEach-Object Trim | Where-Object { $_ })
                }
            })
            # 'Default value: None' where the description gives one ('(default 4)', '(default: LocalStore)'): Get-Help -Full
            # shows that value instead of contradicting the text.
            $given = [regex]::Match((@($blocks | Where-Object Kind -eq 'text' | ForEach-Object Text) -join ' '), '\(default:? (?<value>[^)]+)\)')
            if ($given.Success) { $yaml | Where-Object DefaultValue -eq 'None' | ForEach-Object { $_.DefaultValue = $given.Groups['value'].Value.Trim() } }
            [pscustomobject]@{
                Name        = $sub.Title.TrimStart('-')
                Description = @($blocks | Where-Object Kind -eq 'text' | ForEach-Object { ConvertTo-HelpParagraph $_.Text })
                RawDescription = @($blocks | Where-Object Kind -eq 'text' | ForEach-Object Text)
                Blocks      = $yaml
            }
        })
    }

    $typed = {
        param($Section)
        if ($null -eq $Section) { return @() }
        @(foreach ($sub in Split-MarkdownSection $Section.Lines '### ') {
            if (-not $sub.Title) { continue }
            [pscustomobject]@{ Type = $sub.Title; Description = @(Get-SectionText $sub) }
        })
    }

    $links = @()
    if ($sections['RELATED LINKS']) {
        $links = @(foreach ($m in [regex]::Matches(($sections['RELATED LINKS'].Lines -join "`n"), '\[([^\]]+)\]\(([^)]*)\)')) {
            $uri = $m.Groups[2].Value
            [pscustomobject]@{ Text = $m.Groups[1].Value; Uri = if ($uri -match '^https?://') { $uri } else { '' } }
        })
    }

    [pscustomobject]@{
        Path        = $Path
        Header      = $header
        Name        = $name
        Synopsis    = (Get-SectionText $sections['SYNOPSIS']) -join ' '
        Syntax      = $syntax
        Description = @(Get-SectionText $sections['DESCRIPTION'])
        Examples    = $examples
        Parameters  = $parameters
        Inputs      = @(& $typed $sections['INPUTS'])
        Outputs     = @(& $typed $sections['OUTPUTS'])
        Notes       = @(Get-SectionText $sections['NOTES'])
        Links       = $links
        Sections    = $sections
    }
}

#endregion

#region MAML

function Write-MamlPara {
    param([System.Xml.XmlWriter] $Writer, [string[]] $Paragraphs)
    foreach ($p in $Paragraphs) {
        $Writer.WriteStartElement('maml', 'para', $script:NsMaml)
        $Writer.WriteString($p)
        $Writer.WriteEndElement()
    }
}

$script:NsMsh = 'http://msh'
$script:NsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$script:NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$script:NsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-MamlParameter {
    param([System.Xml.XmlWriter] $Writer, $Parameter, $Block)
    $isSwitch = $Block.Type -eq 'SwitchParameter'
    $Writer.WriteStartElement('command', 'parameter', $script:NsCommand)
    $Writer.WriteAttributeString('required', $Block.Required.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', 'true')
    $Writer.WriteAttributeString('globbing', $Block.Wildcard.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('pipelineInput', $Block.Pipeline)
    $Writer.WriteAttributeString('position', $(if ($Block.Position -eq 'Named') { 'named' } else { $Block.Position }))
    $Writer.WriteAttributeString('aliases', $(if ($Block.Aliases.Count) { $Block.Aliases -join ', ' } else { 'none' }))
    $Writer.WriteElementString('name', $script:NsMaml, $Parameter.Name)
    $Writer.WriteStartElement('maml', 'description', $script:NsMaml)
    Write-MamlPara $Writer $Parameter.Description
    $Writer.WriteEndElement()
    if ($Block.AcceptedValues.Count) {
        $Writer.WriteStartElement('command', 'parameterValueGroup', $script:NsCommand)
        foreach ($v in $Block.AcceptedValues) {
            $Writer.WriteStartElement('command', 'parameterValue', $script:NsCommand)
            $Writer.WriteAttributeString('required', 'false')
            $Writer.WriteAttributeString('command', 'variableLength', $script:NsCommand, 'false')
            $Writer.WriteString($v)
            $Writer.WriteEndElement()
        }
        $Writer.WriteEndElement()
    }
    if (-not $isSwitch) {
        $Writer.WriteStartElement('command', 'parameterValue', $script:NsCommand)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteAttributeString('variableLength', 'false')
        $Writer.WriteString($Block.Type)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $script:NsDev)
    $Writer.WriteElementString('name', $script:NsMaml, $Block.Type)
    $Writer.WriteElementString('uri', $script:NsMaml, '')
    $Writer.WriteEndElement()
    $Writer.WriteElementString('defaultValue', $script:NsDev, $(if ($isSwitch -and $Block.DefaultValue -eq 'None') { 'False' } else { $Block.DefaultValue }))
    $Writer.WriteEndElement()
}

function Get-ParameterBlock {
    # The yaml block of a parameter that covers a parameter set (or every set).
    param($Parameter, [string] $SetName)
    $Parameter.Blocks | Where-Object { $_.Sets -contains $SetName -or $_.Sets -contains '(All)' } | Select-Object -First 1
}

function ConvertTo-MamlHelp {
    <#
    .SYNOPSIS
        Writes parsed cmdlet help (Read-HelpMarkdown objects) as one MAML file, in the layout platyPS emits.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [object[]] $Command, [Parameter(Mandatory)] [string] $Path)
    $settings = [System.Xml.XmlWriterSettings]::new()
    $settings.Indent = $true
    $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
    $writer = [System.Xml.XmlWriter]::Create($Path, $settings)
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('helpItems', $script:NsMsh)
        $writer.WriteAttributeString('schema', 'maml')
        foreach ($c in $Command) {
            $verb, $noun = $c.Name -split '-', 2
            $writer.WriteStartElement('command', 'command', $script:NsCommand)
            $writer.WriteAttributeString('xmlns', 'maml', $null, $script:NsMaml)
            $writer.WriteAttributeString('xmlns', 'command', $null, $script:NsCommand)
            $writer.WriteAttributeString('xmlns', 'dev', $null, $script:NsDev)

            $writer.WriteStartElement('command', 'details', $script:NsCommand)
            $writer.WriteElementString('name', $script:NsCommand, $c.Name)
            $writer.WriteElementString('verb', $script:NsCommand, $verb)
            $writer.WriteElementString('noun', $script:NsCommand, $noun)
            $writer.WriteStartElement('maml', 'description', $script:NsMaml)
            Write-MamlPara $writer @($c.Synopsis)
            $writer.WriteEndElement()
            $writer.WriteEndElement()

            $writer.WriteStartElement('maml', 'description', $script:NsMaml)
            Write-MamlPara $writer $c.Description
            $writer.WriteEndElement()

            $writer.WriteStartElement('command', 'syntax', $script:NsCommand)
            foreach ($set in $c.Syntax) {
                $writer.WriteStartElement('command', 'syntaxItem', $script:NsCommand)
                $writer.WriteElementString('name', $script:NsMaml, $c.Name)
                # The order of the syntax line; parameters that line leaves out follow.
                $inSet = @($c.Parameters | Where-Object { Get-ParameterBlock $_ $set.Name })
                $names = @($set.Order | Select-Object -Unique) + @($inSet | ForEach-Object Name | Where-Object { $set.Order -notcontains $_ })
                $ordered = foreach ($n in $names) { $inSet | Where-Object Name -eq $n | Select-Object -First 1 }
                foreach ($p in $ordered) { Write-MamlParameter $writer $p (Get-ParameterBlock $p $set.Name) }
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()

            $writer.WriteStartElement('command', 'parameters', $script:NsCommand)
            foreach ($p in $c.Parameters) {
                # One entry per parameter; a parameter that is mandatory in any set reads as required.
                $block = $p.Blocks | Sort-Object { -not $_.Required } | Select-Object -First 1
                if ($block) { Write-MamlParameter $writer $p $block }
            }
            $writer.WriteEndElement()

            foreach ($kind in @(@{ List = $c.Inputs; Outer = 'inputTypes'; Inner = 'inputType' }, @{ List = $c.Outputs; Outer = 'returnValues'; Inner = 'returnValue' })) {
                $writer.WriteStartElement('command', $kind.Outer, $script:NsCommand)
                foreach ($t in $kind.List) {
                    $writer.WriteStartElement('command', $kind.Inner, $script:NsCommand)
                    $writer.WriteStartElement('dev', 'type', $script:NsDev)
                    $writer.WriteElementString('name', $script:NsMaml, $t.Type)
                    $writer.WriteEndElement()
                    $writer.WriteStartElement('maml', 'description', $script:NsMaml)
                    Write-MamlPara $writer $t.Description
                    $writer.WriteEndElement()
                    $writer.WriteEndElement()
                }
                $writer.WriteEndElement()
            }

            $writer.WriteStartElement('maml', 'alertSet', $script:NsMaml)
            $writer.WriteStartElement('maml', 'alert', $script:NsMaml)
            Write-MamlPara $writer $c.Notes
            $writer.WriteEndElement()
            $writer.WriteEndElement()

            $writer.WriteStartElement('command', 'examples', $script:NsCommand)
            foreach ($e in $c.Examples) {
                $writer.WriteStartElement('command', 'example', $script:NsCommand)
                $writer.WriteElementString('title', $script:NsMaml, "--------- $($e.Title) ---------")
                $writer.WriteElementString('code', $script:NsDev, $e.Code)
                $writer.WriteStartElement('dev', 'remarks', $script:NsDev)
                Write-MamlPara $writer $e.Remarks
                $writer.WriteEndElement()
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()

            $writer.WriteStartElement('command', 'relatedLinks', $script:NsCommand)
            foreach ($l in $c.Links) {
                $writer.WriteStartElement('maml', 'navigationLink', $script:NsMaml)
                $writer.WriteElementString('linkText', $script:NsMaml, $l.Text)
                $writer.WriteElementString('uri', $script:NsMaml, $l.Uri)
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()

            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    } finally {
        $writer.Dispose()
    }
}

#endregion

#region About topics

function Format-WrappedText {
    param([string] $Text, [int] $Width, [string] $Indent)
    $out = [System.Collections.Generic.List[string]]::new()
    foreach ($para in $Text -split "`n") {
        $line = ''
        $hang = if ($para -match '^(- |\d+\. )') { ' ' * $Matches[1].Length } else { '' }
        foreach ($word in $para -split ' ' | Where-Object { $_ -ne '' }) {
            if ($line.Length -gt 0 -and ($Indent.Length + $line.Length + 1 + $word.Length) -gt $Width) {
                $out.Add($Indent + $line)
                $line = $hang + $word
            } else {
                $line = if ($line) { "$line $word" } else { $word }
            }
        }
        $out.Add($Indent + $line)
    }
    $out
}

function ConvertTo-AboutHelpText {
    <#
    .SYNOPSIS
        Turns an about_ topic in platyPS markdown ("# about_X", "## SHORT DESCRIPTION", "## LONG DESCRIPTION", ...) into
        the plain text Get-Help shows: section titles in capitals, text indented and wrapped at 80 columns, code kept.
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Path)
    $lines = @((Get-Content -LiteralPath $Path -Encoding utf8) -replace "`r$", '')
    if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
        $end = [Array]::IndexOf($lines, '---', 1)
        $lines = if ($end + 1 -lt $lines.Count) { $lines[($end + 1)..($lines.Count - 1)] } else { @() }
    }
    $title = ($lines | Where-Object { $_ -match '^# ' } | Select-Object -First 1).Substring(2).Trim()
    $out = [System.Collections.Generic.List[string]]::new()
    $out.Add('TOPIC')
    $out.Add("    $title")
    foreach ($section in Split-MarkdownSection $lines '## ') {
        if (-not $section.Title) { continue }
        $out.Add('')
        $out.Add($section.Title.ToUpperInvariant())
        foreach ($sub in Split-MarkdownSection $section.Lines '### ') {
            if ($sub.Title) {
                if ($out[$out.Count - 1] -ne '') { $out.Add('') }
                $out.Add('  ' + $sub.Title)
            }
            foreach ($block in Split-MarkdownBlock $sub.Lines) {
                if ($block.Kind -eq 'code') {
                    foreach ($l in $block.Text -split "`n") { $out.Add('        ' + $l) }
                } else {
                    foreach ($l in Format-WrappedText (ConvertTo-HelpParagraph $block.Text) 80 '    ') { $out.Add($l) }
                }
                $out.Add('')
            }
        }
        while ($out.Count -and $out[$out.Count - 1] -eq '') { $out.RemoveAt($out.Count - 1) }
    }
    ($out -join [Environment]::NewLine) + [Environment]::NewLine
}

#endregion

#region Generating markdown from a command

function Get-XmlDocSummary {
    # Parameter and synopsis text from the cmdlet assembly's XML docs (the comments on the C# properties).
    param([string] $XmlDocPath)
    $map = @{}
    if (-not $XmlDocPath -or -not (Test-Path $XmlDocPath)) { return $map }
    foreach ($member in ([xml](Get-Content -LiteralPath $XmlDocPath -Raw)).doc.members.member) {
        $summary = $member.SelectSingleNode('summary')
        if ($null -eq $summary) { continue }
        $synopsis = $summary.SelectSingleNode("para[@type='synopsis']")
        $node = if ($synopsis) { $synopsis } else { $summary }
        $text = ($node.InnerXml -replace '<c>([^<]*)</c>', '`$1`' -replace '<see (?:cref|langword)="(?:[A-Z]:)?([^"]*?)"\s*/>', '$1' -replace '<[^>]+>', '' -replace '\s+', ' ').Trim()
        $text = [System.Net.WebUtility]::HtmlDecode($text)
        $map[$member.name] = $text
    }
    $map
}

function Get-TypeDisplayName {
    param([type] $Type)
    if ($Type.IsArray) { return (Get-TypeDisplayName $Type.GetElementType()) + '[]' }
    if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [Nullable`1]) { return Get-TypeDisplayName $Type.GetGenericArguments()[0] }
    $Type.Name
}

function Get-ParameterYaml {
    # The platyPS yaml blocks of one parameter: one per group of parameter sets with identical attributes.
    param([System.Management.Automation.CommandInfo] $Command, [string] $Name)
    $meta = $Command.Parameters[$Name]
    $allSets = @($Command.ParameterSets | ForEach-Object Name)
    $entries = foreach ($set in $Command.ParameterSets) {
        $p = $set.Parameters | Where-Object Name -eq $Name
        if (-not $p) { continue }
        $pipeline = @()
        if ($p.ValueFromPipeline) { $pipeline += 'ByValue' }
        if ($p.ValueFromPipelineByPropertyName) { $pipeline += 'ByPropertyName' }
        [pscustomobject]@{
            Set      = $set.Name
            Required = [bool]$p.IsMandatory
            Position = if ($p.Position -ge 0) { [string]$p.Position } else { 'Named' }
            Pipeline = if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }
            Key      = "$($p.IsMandatory)|$($p.Position)|$($pipeline -join ',')"
        }
    }
    $groups = @($entries | Group-Object Key)
    $accepted = $meta.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | Select-Object -First 1
    $values = if ($accepted) { $accepted.ValidValues -join ', ' }
    elseif ($meta.ParameterType.IsEnum) { [enum]::GetNames($meta.ParameterType) -join ', ' }
    elseif ($meta.ParameterType.IsGenericType -and $meta.ParameterType.GetGenericArguments()[0].IsEnum) { [enum]::GetNames($meta.ParameterType.GetGenericArguments()[0]) -join ', ' }
    elseif ($meta.ParameterType.IsArray -and $meta.ParameterType.GetElementType().IsEnum) { [enum]::GetNames($meta.ParameterType.GetElementType()) -join ', ' }
    $wildcard = [bool]($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    foreach ($g in $groups) {
        $first = $g.Group[0]
        $sets = if ($groups.Count -eq 1 -and $g.Count -eq $allSets.Count) { '(All)' } else { ($g.Group.Set) -join ', ' }
        $yaml = [System.Collections.Generic.List[string]]::new()
        $yaml.Add("Type: $(Get-TypeDisplayName $meta.ParameterType)")
        $yaml.Add("Parameter Sets: $sets")
        $yaml.Add("Aliases: $($meta.Aliases -join ', ')".TrimEnd())
        if ($values) { $yaml.Add("Accepted values: $values") }
        $yaml.Add('')
        $yaml.Add("Required: $($first.Required)")
        $yaml.Add("Position: $($first.Position)")
        $yaml.Add('Default value: None')
        $yaml.Add("Accept pipeline input: $($first.Pipeline)")
        $yaml.Add("Accept wildcard characters: $wildcard")
        $yaml -join "`n"
    }
}

function New-HelpMarkdown {
    <#
    .SYNOPSIS
        The platyPS markdown of a cmdlet. With -Existing (a Read-HelpMarkdown object), the text people wrote
        (synopsis, description, examples, parameter descriptions, inputs, outputs, notes, links) is kept and only the
        metadata (syntax, yaml blocks, the parameter list) is refreshed from the command; new parameters get the
        description from the XML docs.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Management.Automation.CommandInfo] $Command,
        [hashtable] $XmlDocs = @{},
        $Existing
    )
    $type = $Command.ImplementingType
    $section = {
        param([string] $Title)
        if ($Existing -and $Existing.Sections[$Title]) {
            $text = ($Existing.Sections[$Title].Lines -join "`n").Trim("`n")
            return $text
        }
        $null
    }
    $sb = [System.Text.StringBuilder]::new()
    $nl = "`n"
    # Get-Help -Online opens the cmdlet's HelpUri; the header names the same page.
    $online = if ($Command.HelpUri) { "online version: $($Command.HelpUri)" } else { 'online version:' }
    [void]$sb.Append("---$nl" + "external help file: TransferTools.dll-Help.xml$nl" + "Module Name: TransferTools$nl" + "$online$nl" + "schema: 2.0.0$nl---$nl$nl")
    [void]$sb.Append("# $($Command.Name)$nl$nl")
    $synopsis = & $section 'SYNOPSIS'
    if (-not $synopsis) { $synopsis = $XmlDocs["T:$($type.FullName)"] }
    [void]$sb.Append("## SYNOPSIS$nl$synopsis$nl$nl## SYNTAX$nl")
    foreach ($set in $Command.ParameterSets) {
        $title = if ($Command.ParameterSets.Count -eq 1 -and $set.Name -eq '__AllParameterSets') { '__AllParameterSets' } else { $set.Name }
        if ($set.IsDefault -and $Command.ParameterSets.Count -gt 1) { $title += ' (Default)' }
        $line = [regex]::Replace("$($Command.Name) $set", '<(\w)', { '<' + $args[0].Groups[1].Value.ToUpperInvariant() })
        [void]$sb.Append("$nl### $title$nl``````$nl$line$nl``````$nl")
    }
    $description = & $section 'DESCRIPTION'
    if (-not $description) { $description = $XmlDocs["T:$($type.FullName)"] }
    [void]$sb.Append("$nl## DESCRIPTION$nl$description$nl$nl## EXAMPLES$nl$nl")
    $examples = & $section 'EXAMPLES'
    if ($examples) { [void]$sb.Append("$examples$nl$nl") }
    [void]$sb.Append("## PARAMETERS$nl")
    $names = @($Command.Parameters.Keys | Where-Object { $script:CommonParameterNames -notcontains $_ -and $_ -notin 'WhatIf', 'Confirm' })
    $ordered = @($Command.ParameterSets | ForEach-Object { $_.Parameters } | Where-Object { $names -contains $_.Name } | ForEach-Object Name | Select-Object -Unique)
    $ordered += @($Command.Parameters.Keys | Where-Object { $_ -in 'WhatIf', 'Confirm' })
    foreach ($name in $ordered) {
        $old = if ($Existing) { $Existing.Parameters | Where-Object Name -eq $name | Select-Object -First 1 }
        $text = if ($old -and $old.RawDescription) { $old.RawDescription -join "$nl$nl" }
        elseif ($name -eq 'WhatIf') { 'Shows what would happen if the cmdlet runs. The cmdlet is not run.' }
        elseif ($name -eq 'Confirm') { 'Prompts you for confirmation before running the cmdlet.' }
        else {
            # Inherited parameters (a shared options base class) are documented on the class that declares them.
            $property = $type.GetProperty($name)
            $declaring = if ($property) { $property.DeclaringType.FullName } else { $type.FullName }
            $XmlDocs["P:$declaring.$name"]
        }
        [void]$sb.Append("$nl### -$name$nl$text$nl")
        foreach ($yaml in Get-ParameterYaml $Command $name) {
            [void]$sb.Append("$nl``````yaml$nl$yaml$nl``````$nl")
        }
    }
    [void]$sb.Append("$nl### CommonParameters$nl$script:CommonParametersText$nl$nl")
    foreach ($title in 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS') {
        $text = & $section $title
        if (-not $text -and $title -eq 'OUTPUTS') {
            $text = (@($Command.OutputType | Where-Object { $_.Name -ne 'System.Void' } | ForEach-Object { "### $($_.Name)$nl" }) -join $nl).Trim()
        }
        [void]$sb.Append("## $title$nl")
        if ($text) { [void]$sb.Append("$text$nl") }
        [void]$sb.Append($nl)
    }
    $sb.ToString().TrimEnd("`n") + $nl
}

#endregion

Export-ModuleMember -Function Read-HelpMarkdown, ConvertTo-MamlHelp, ConvertTo-AboutHelpText, New-HelpMarkdown, Get-XmlDocSummary
