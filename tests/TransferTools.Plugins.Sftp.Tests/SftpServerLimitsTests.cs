namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>The server's stated limits (limits@openssh.com) and the in-flight budget, without a server.</summary>
    public class SftpServerLimitsTests
    {
        [Fact]
        public void OpenSSH_limits_are_taken_as_stated()
        {
            var limits = SftpServerLimits.From(262_144, 261_120, 261_120, 19_995);
            Assert.Equal(261_120, limits.MaxReadLength);
            Assert.Equal(261_120, limits.MaxWriteLength);
            Assert.Equal(19_995, limits.MaxOpenHandles);
        }

        [Fact]
        public void Zero_means_no_limit_and_the_packet_length_still_bounds_reads_and_writes()
        {
            var none = SftpServerLimits.From(0, 0, 0, 0);
            Assert.Null(none.MaxReadLength);
            Assert.Null(none.MaxWriteLength);
            Assert.Null(none.MaxOpenHandles);

            // Only the packet length stated: the data must leave room for the header around it.
            var packetOnly = SftpServerLimits.From(65_536, 0, 0, 0);
            Assert.Equal(65_536 - SftpServerLimits.HeaderAllowance, packetOnly.MaxReadLength);
            Assert.Equal(65_536 - SftpServerLimits.HeaderAllowance, packetOnly.MaxWriteLength);

            // A read or write length above the packet length is held to the packet length.
            var tooLong = SftpServerLimits.From(32_768, 1_000_000, 8_192, 0);
            Assert.Equal(32_768 - SftpServerLimits.HeaderAllowance, tooLong.MaxReadLength);
            Assert.Equal(8_192, tooLong.MaxWriteLength);
        }

        [Fact]
        public void Huge_values_do_not_overflow()
        {
            var limits = SftpServerLimits.From(ulong.MaxValue, ulong.MaxValue, 0, ulong.MaxValue);
            Assert.Equal(long.MaxValue - SftpServerLimits.HeaderAllowance, limits.MaxReadLength);
            Assert.Equal(long.MaxValue, limits.MaxOpenHandles);
        }

        [Theory]
        [InlineData(64, 32_739, 64)]     // SSH.NET's one-packet writes: the count caps them (2 MiB)
        [InlineData(32, 65_523, 32)]     // SSH.NET's one-packet reads
        [InlineData(64, 261_120, 9)]     // OpenSSH's 255 KiB: the 2 MiB budget caps them
        [InlineData(64, 4 * 1024 * 1024, 1)]
        [InlineData(3, 1024, 3)]
        public void Requests_in_flight_fill_the_budget_within_the_count(int maxRequests, int requestSize, int expected)
        {
            Assert.Equal(expected, new SftpConnectionSettings().RequestsInFlight(maxRequests, requestSize));
        }
    }
}
