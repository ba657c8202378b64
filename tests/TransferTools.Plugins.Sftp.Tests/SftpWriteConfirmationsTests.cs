namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>How far an upload's answers confirm the file, in whatever order the server answers.</summary>
    public class SftpWriteConfirmationsTests
    {
        [Fact]
        public void Answers_in_order_confirm_each_request_as_it_comes()
        {
            var confirmations = new SftpWriteConfirmations(start: 1000);
            Assert.Equal(1000, confirmations.Confirmed);
            confirmations.Sent(1100);
            confirmations.Sent(1200);
            confirmations.Answered(1100);
            Assert.Equal(1100, confirmations.Confirmed);
            confirmations.Answered(1200);
            Assert.Equal(1200, confirmations.Confirmed);
        }

        [Fact]
        public void An_answer_ahead_of_an_earlier_request_confirms_nothing_until_the_gap_is_answered()
        {
            var confirmations = new SftpWriteConfirmations(start: 0);
            foreach (var end in new long[] { 10, 20, 30, 40, 50 })
            {
                confirmations.Sent(end);
            }

            confirmations.Answered(30);
            confirmations.Answered(20);
            Assert.Equal(0, confirmations.Confirmed);
            confirmations.Answered(10);
            Assert.Equal(30, confirmations.Confirmed);
            confirmations.Answered(50);
            Assert.Equal(30, confirmations.Confirmed);
            confirmations.Sent(60);
            confirmations.Answered(40);
            Assert.Equal(50, confirmations.Confirmed);
            confirmations.Answered(60);
            Assert.Equal(60, confirmations.Confirmed);
        }

        [Fact]
        public void A_request_never_answered_holds_back_everything_after_it()
        {
            // A failed request is never answered successfully: the upload fails, and nothing past it counts.
            var confirmations = new SftpWriteConfirmations(start: 0);
            confirmations.Sent(10);
            confirmations.Sent(20);
            confirmations.Sent(30);
            confirmations.Answered(10);
            confirmations.Answered(30);
            Assert.Equal(10, confirmations.Confirmed);
        }
    }
}
