# S3 upload and download against Ceph radosgw on loopback: TransferTools vs rclone copy (Debian rclone, provider Ceph),
# alternating. Target: at most 1.0x rclone each way. (The resume after a kill at 60 %: Case.S3Resume.ps1.)
$script:CaseIssue = '30'
# Every round leaves a 1 GiB object per contender that radosgw frees only at its next garbage collection (hours):
# the OSD's sparse block file is made large enough for all rounds (8 GiB, the tests' size, ran out in round 4).
$env:RGW_BLOCK_BYTES = [string](64GB)
$rgw = Start-TestRadosgw -Root (Join-Path $WorkRoot 'radosgw')
try {
    $admin = Join-Path $PSScriptRoot '../../tests/services/s3-admin.py'
    & python3 $admin $rgw.ServiceUrl $rgw.AccessKeyId $rgw.SecretAccessKey mkbucket tt-bench | Out-Null
    & python3 $admin $rgw.ServiceUrl $rgw.AccessKeyId $rgw.SecretAccessKey put tt-bench warm.bin $warmFile | Out-Null
    # The AWS CLI's environment, as a runbook would have it: no registration.
    $awsEnv = "`$env:AWS_ACCESS_KEY_ID='$($rgw.AccessKeyId)'; `$env:AWS_SECRET_ACCESS_KEY='$($rgw.SecretAccessKey)'; `$env:AWS_ENDPOINT_URL='$($rgw.ServiceUrl)';"
    $rcloneEnv = @{
        RCLONE_CONFIG_TTS3_TYPE = 's3'; RCLONE_CONFIG_TTS3_PROVIDER = 'Ceph'; RCLONE_CONFIG_TTS3_ENDPOINT = $rgw.ServiceUrl
        RCLONE_CONFIG_TTS3_ACCESS_KEY_ID = $rgw.AccessKeyId; RCLONE_CONFIG_TTS3_SECRET_ACCESS_KEY = $rgw.SecretAccessKey
        # rclone 1.60 fails with LoadCustomCABundleError when the machine sets AWS_CA_BUNDLE.
        AWS_CA_BUNDLE = ''
    }
    # --ignore-times: rclone skips an object whose size and time match, so every round after the first measured nothing.
    $upload = Invoke-Case "S3 upload, $SizeMB MiB" ([ordered]@{
            'rclone copy (s3)'         = @{ Run = { Measure-Process 'rclone' @('copyto', '--ignore-times', $source, 'tts3:tt-bench/rclone/payload.bin') -Environment $rcloneEnv } }
            'Send-Transfer (s3, verified)' = @{ Run = { Measure-TransferTools "$awsEnv Send-Transfer -Path '$source' -Destination 's3://tt-bench/tt/' -Conflict Overwrite" } }
        }) -Count $ParityRounds
    Add-Table "S3 upload to Ceph radosgw over loopback, $SizeMB MiB" $upload 'rclone copy (s3)' $Bytes 'Send-Transfer: multipart in 8 MiB parts (4 in flight), SHA-256 while sending, stored as x-amz-meta-sha256 at completion.'

    $download = Invoke-Case "S3 download, $SizeMB MiB" ([ordered]@{
            'rclone copy (s3)'             = @{ Before = { Reset-Dir $dest }; Run = { Measure-Process 'rclone' @('copyto', 'tts3:tt-bench/rclone/payload.bin', (Join-Path $dest 'payload.bin')) -Environment $rcloneEnv } }
            'Receive-Transfer (s3, verified)' = @{ Before = { Reset-Dir $dest }; Run = { Measure-TransferTools "$awsEnv Receive-Transfer -Source 's3://tt-bench/tt/payload.bin' -OutputDir '$dest'" } }
        }) -Count $ParityRounds
    Add-Table "S3 download from Ceph radosgw over loopback, $SizeMB MiB" $download 'rclone copy (s3)' $Bytes 'Receive-Transfer: 8 MiB ranged GETs, 4 in flight, each If-Match on one ETag; checked against x-amz-meta-sha256.'

    foreach ($pair in @(@('upload', $upload, 'Send-Transfer (s3, verified)'), @('download', $download, 'Receive-Transfer (s3, verified)'))) {
        $tt = Get-Row $pair[1] $pair[2]; $rc = Get-Row $pair[1] 'rclone copy (s3)'
        $met = (Test-Rows @($tt, $rc)) -and $tt.Median -le $rc.Median
        Add-Target "S3 $($pair[0]) at most 1.0x rclone" $met ('{0} vs rclone {1}' -f (Format-Seconds $tt), (Format-Seconds $rc))
    }
}
finally { Stop-TestRadosgw $rgw }
