# AzureBlob specifics against Azurite: credentials forms, secrets kept out of files and messages, multi-block
# uploads, and error mapping.
BeforeDiscovery { $script:Skip = -not $IsLinux -or [bool]$env:TRANSFERTOOLS_SKIP_AZURITE }

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'services/TestServices.psm1') -Force
    $script:home_ = Initialize-TransferToolsTest
    $script:files = Join-Path $script:home_ 'files'
    New-Item -ItemType Directory -Path $script:files | Out-Null
    if (-not $script:Skip) { $script:azurite = Start-TestAzurite }
}
AfterAll {
    if ($script:azurite) { Stop-TestAzurite $script:azurite }
    Remove-TransferToolsTest $script:home_
}

Describe 'AzureBlob storage plugin' -Skip:$script:Skip {
    It 'works with AccountUrl + AccountKey, uploads multi-block content in parallel and reads it back verified' {
        Register-TransferPlugin -Name Blocks -Type AzureBlob -Configuration @{
            AccountUrl = $script:azurite.BlobEndpoint; AccountKey = $script:azurite.AccountKey; Container = 'tt-blocks'; BlockSizeMB = 1; Parallelism = 3 } | Out-Null
        $big = New-TestFile -Path (Join-Path $script:files 'big.bin') -Size (3.5MB) -Seed 11
        $item = Save-StorageItem $big -Storage Blocks -Name 'big/with space!.bin'
        $item.Size | Should -Be (3.5MB)
        $item.Sha256 | Should -Be (Get-FileHash $big).Hash.ToLowerInvariant()
        (Get-StorageItem -Prefix 'big/with space' -Storage Blocks).Name | Should -Be 'big/with space!.bin'
        $out = $item | Export-StorageItem -Destination (Join-Path $script:files 'big.out')
        (Get-FileHash $out.FullName).Hash | Should -Be (Get-FileHash $big).Hash
    }

    It 'keeps (Name, Id) order for names around the escape characters' {
        $f = New-TestFile -Path (Join-Path $script:files 'o.bin') -Size 3 -Seed 3
        $names = 'ord/a', 'ord/a b', 'ord/a!', 'ord/a!b', 'ord/a"', 'ord/ab', 'ord/a/b', 'ord/a~'
        foreach ($n in $names) { Save-StorageItem $f -Storage Blocks -Name $n | Out-Null }
        $expected = [string[]]$names; [Array]::Sort($expected, [StringComparer]::Ordinal)
        (Get-StorageItem -Prefix 'ord/' -Storage Blocks).Name | Should -Be $expected
        (Get-StorageItem -Prefix 'ord/a!' -Storage Blocks).Name | Should -Be @('ord/a!', 'ord/a!b')
    }

    It 'works with AccountUrl + Sas' {
        $ctx = New-Object System.Text.StringBuilder
        $cred = [Azure.Storage.StorageSharedKeyCredential]::new($script:azurite.AccountName, $script:azurite.AccountKey)
        $builder = [Azure.Storage.Sas.AccountSasBuilder]::new()
        $builder.Services = 'Blobs'; $builder.ResourceTypes = 'All'; $builder.ExpiresOn = [DateTimeOffset]::UtcNow.AddHours(1)
        $builder.SetPermissions([Azure.Storage.Sas.AccountSasPermissions]::All)
        $script:sas = $builder.ToSasQueryParameters($cred).ToString()
        Register-TransferPlugin -Name SasStore -Type AzureBlob -Configuration @{ AccountUrl = $script:azurite.BlobEndpoint; Sas = $script:sas; Container = 'tt-sas' } | Out-Null
        $f = New-TestFile -Path (Join-Path $script:files 's.bin') -Size 100 -Seed 5
        (Save-StorageItem $f -Storage SasStore).Size | Should -Be 100
        (Measure-StorageItem -Storage SasStore).TotalItems | Should -Be 1
    }

    It 'never writes the account key, SAS or connection string to any file under the home' {
        Register-TransferPlugin -Name ConnStore -Type AzureBlob -Configuration @{ ConnectionString = $script:azurite.ConnectionString; Container = 'tt-conn' } | Out-Null
        Reset-TransferToolsSession
        (Get-TransferPlugin -Name ConnStore).Configuration['ConnectionString'] | Should -Be '********'
        Measure-StorageItem -Storage ConnStore | Should -Not -BeNullOrEmpty
        $key = $script:azurite.AccountKey
        $sig = [regex]::Match($script:sas, 'sig=([^&]+)').Groups[1].Value
        foreach ($file in Get-ChildItem $script:home_ -Recurse -File | Where-Object FullName -notlike "$($script:files)*") {
            $text = [IO.File]::ReadAllText($file.FullName)
            $text.Contains($key) | Should -BeFalse -Because $file.FullName
            $text.Contains([uri]::UnescapeDataString($sig)) | Should -BeFalse -Because $file.FullName
            $text.Contains($sig) | Should -BeFalse -Because $file.FullName
        }
    }

    It 'maps a wrong account key to AuthenticationFailed without showing the key' {
        $wrong = [Convert]::ToBase64String([byte[]](1..64))
        Register-TransferPlugin -Name WrongKey -Type AzureBlob -Configuration @{
            AccountUrl = $script:azurite.BlobEndpoint; AccountKey = $wrong; Container = 'tt-wrong'; MaxRetries = 0 } -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AzureAuthenticationFailed,*'
        ($err[0] | Out-String) + $err[0].Exception.ToString() | Should -Not -Match ([regex]::Escape($wrong))
        Get-TransferPlugin -Name WrongKey -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'maps an unreachable endpoint to ConnectionError' {
        $port = Get-FreeTcpPort
        $cs = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$($script:azurite.AccountKey);BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
        Register-TransferPlugin -Name Down -Type AzureBlob -Configuration @{ ConnectionString = $cs; Container = 'tt-down'; MaxRetries = 0 } -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $err[0].Exception.ToString() | Should -Not -Match ([regex]::Escape($script:azurite.AccountKey))
    }

    It 'refuses a configuration without credentials or container' {
        Register-TransferPlugin -Name NoCred -Type AzureBlob -Configuration @{ Container = 'tt-x' } -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AzureCredentialMissing,*'
        Register-TransferPlugin -Name NoContainer -Type AzureBlob -Configuration @{ ConnectionString = $script:azurite.ConnectionString } -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'AzureContainerInvalid,*'
    }
}
