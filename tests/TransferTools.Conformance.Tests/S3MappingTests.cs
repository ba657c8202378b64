using System;
using System.Collections.Generic;
using System.Net;
using System.Threading;
using Amazon.S3;
using TransferTools.Abstractions;
using TransferTools.Plugins.S3;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    /// <summary>
    /// Issue 30 items 2 and 7 without a server: how the S3 plugin maps the service's error codes (radosgw cannot be made
    /// to answer SlowDown or AccessDenied on demand), and how it sizes the parts of big uploads.
    /// </summary>
    public class S3MappingTests
    {
        private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

        private static S3Settings Settings() => S3Settings.Read(new Dictionary<string, string>
        {
            ["ServiceUrl"] = "http://127.0.0.1:7480", ["AccessKeyId"] = "AKIDEXAMPLE", ["SecretAccessKey"] = Secret,
        });

        private static PluginException Map(string code, HttpStatusCode status) =>
            S3Errors.Map(new AmazonS3Exception($"{code} from the service") { ErrorCode = code, StatusCode = status }, Settings(), "upload", "s3://bkt/key",
                CancellationToken.None);

        [Theory]
        [InlineData("NoSuchBucket", HttpStatusCode.NotFound, ErrorCode.NotFound, "S3BucketNotFound", false)]
        [InlineData("NoSuchKey", HttpStatusCode.NotFound, ErrorCode.NotFound, "S3ObjectNotFound", false)]
        [InlineData("AccessDenied", HttpStatusCode.Forbidden, ErrorCode.PermissionDenied, "S3AccessDenied", false)]
        [InlineData("InvalidAccessKeyId", HttpStatusCode.Forbidden, ErrorCode.AuthenticationFailed, "S3AuthenticationFailed", false)]
        [InlineData("SignatureDoesNotMatch", HttpStatusCode.Forbidden, ErrorCode.AuthenticationFailed, "S3AuthenticationFailed", false)]
        [InlineData("ExpiredToken", HttpStatusCode.BadRequest, ErrorCode.AuthenticationFailed, "S3AuthenticationFailed", false)]
        [InlineData("SlowDown", HttpStatusCode.ServiceUnavailable, ErrorCode.ConnectionError, "S3ServerBusy", true)]
        [InlineData("InternalError", HttpStatusCode.InternalServerError, ErrorCode.ConnectionError, "S3ServerBusy", true)]
        [InlineData("ServiceUnavailable", HttpStatusCode.ServiceUnavailable, ErrorCode.ConnectionError, "S3ServerBusy", true)]
        public void Service_errors_map_to_their_category_and_retry_only_when_transient(string code, HttpStatusCode status, ErrorCode expected, string errorId, bool transient)
        {
            var e = Map(code, status);
            Assert.Equal(expected, e.Code);
            Assert.Equal(errorId, e.ErrorId);
            Assert.Equal(transient, e.IsTransient);
            Assert.Contains("127.0.0.1:7480", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("InvalidAccessKeyId")]
        [InlineData("SignatureDoesNotMatch")]
        [InlineData("AccessDenied")]
        public void Refusals_name_the_key_id_never_the_secret(string code)
        {
            var e = Map(code, HttpStatusCode.Forbidden);
            Assert.Contains("AKIDEXAMPLE", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, e.ToString(), StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(40L << 20, 4 << 20, 8L << 20)]            // whole chunks, at least 5 MiB
        [InlineData(10L << 30, 4 << 20, 8L << 20)]            // 1,280 parts
        [InlineData(100L << 30, 4 << 20, 12L << 20)]          // 8,534 parts: grown past 10 MiB
        [InlineData(5L << 40, 4 << 20, 528L << 20)]           // 5 TiB, the largest object: 9,930 parts
        [InlineData(1L << 30, 16 << 20, 16L << 20)]
        public void Parts_are_whole_chunks_of_at_least_5_MiB_and_never_more_than_10000(long length, int chunk, long expected)
        {
            var part = S3PartUploads.PartSize(length, chunk);
            Assert.Equal(expected, part);
            Assert.Equal(0, part % chunk);
            Assert.True(part >= S3PartUploads.MinPartSize);
            Assert.True((length + part - 1) / part <= S3PartUploads.MaxParts);
        }

        /// <summary>Issue 28 item 2: an upload keeps the source's time and mode as rclone does (x-amz-meta-mtime, -mode).</summary>
        [Fact]
        public void Uploads_keep_the_source_time_and_mode_in_rclone_format_metadata()
        {
            var metadata = new Amazon.S3.Model.MetadataCollection();
            var time = new DateTimeOffset(2021, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234567);
            S3ProtocolPlugin.AddContentMetadata(metadata, "AB12", time, 0x180);
            Assert.Equal("ab12", metadata["sha256"]);
            Assert.Equal("1614834367.123456700", metadata[FileAttributeMetadata.TimeKey]);
            Assert.Equal("100600", metadata[FileAttributeMetadata.ModeKey]);
            Assert.Equal(time, FileAttributeMetadata.ParseTime(metadata[FileAttributeMetadata.TimeKey]));
            Assert.Equal(0x180, FileAttributeMetadata.ParseMode(metadata[FileAttributeMetadata.ModeKey]));

            var none = new Amazon.S3.Model.MetadataCollection();
            S3ProtocolPlugin.AddContentMetadata(none, null, null, null);
            Assert.Equal(0, none.Count);
        }

        [Theory]
        [InlineData("1614834367", 1614834367L, 0L)]
        [InlineData("1614834367.5", 1614834367L, 5_000_000L)]
        [InlineData("-1.250000000", -1L, 2_500_000L)]
        public void Kept_times_read_back_as_written_by_either_tool(string text, long seconds, long ticks)
        {
            var expected = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(ticks);
            Assert.Equal(expected, FileAttributeMetadata.ParseTime(text));
            Assert.Equal(expected, FileAttributeMetadata.ParseTime(FileAttributeMetadata.FormatTime(expected)));
        }

        [Theory]
        [InlineData("100644", 0x1A4)]
        [InlineData("755", 0x1ED)]
        [InlineData("104755", 0x9ED)]
        [InlineData("9", null)]
        [InlineData("rw-r--r--", null)]
        [InlineData("", null)]
        public void Kept_modes_are_octal_permission_bits(string text, int? expected) => Assert.Equal(expected, FileAttributeMetadata.ParseMode(text));

        [Theory]
        [InlineData("soon")]
        [InlineData("1.2.3")]
        [InlineData("99999999999999")]
        public void Unreadable_times_are_ignored(string text) => Assert.Null(FileAttributeMetadata.ParseTime(text));
    }
}
