using System;
using Renci.SshNet.Common;
using TransferTools.Abstractions;
using Xunit;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>Issue 27 items 2 and 5: a server's own words in a status answer reach the message; bare status names do not repeat.</summary>
    public class SftpErrorsTests
    {
        private static readonly SftpLocation Location = SftpLocation.Parse(new Uri("sftp://tt@127.0.0.1:2222/up/.resume-up.bin.ttpart"));

        [Fact]
        public void A_failure_keeps_what_the_server_said()
        {
            // rclone serve sftp: why a positioned write into a file opened without its write cache was refused.
            var e = SftpErrors.Map(new SshException("Failure: can't write at offset 16777216: file was opened without truncation and is not seekable"),
                Location, "Write");
            Assert.Equal("SftpServerFailure", e.ErrorId);
            Assert.Contains("the server said: can't write at offset 16777216", e.Message, StringComparison.Ordinal);
            Assert.Contains("/up/.resume-up.bin.ttpart", e.Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("Failure")]
        [InlineData("Failure: Failure")]
        [InlineData("Permission denied")]
        public void A_bare_status_name_is_not_repeated_as_the_server_s_words(string said)
        {
            Assert.Equal("", SftpErrors.ServerSaid(new SshException(said)));
        }

        [Fact]
        public void A_long_answer_is_cut()
        {
            var said = SftpErrors.ServerSaid(new SshException("Failure: " + new string('x', 1000)));
            Assert.True(said.Length < 340);
            Assert.EndsWith("…)", said, StringComparison.Ordinal);
        }
    }
}
