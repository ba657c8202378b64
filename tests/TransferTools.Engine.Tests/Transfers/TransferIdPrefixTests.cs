using System;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>What a short, ambiguous or unknown id prefix answers: never "no such transfer" when one matches.</summary>
    public sealed class TransferIdPrefixTests : IDisposable
    {
        private readonly TestHome _home = new TestHome();
        private readonly TransferJournal _journal;

        public TransferIdPrefixTests()
        {
            _journal = new TransferJournal(_home.Path);
            Save("63ab1111" + new string('0', 24), "a.txt");
            Save("63ab2222" + new string('0', 24), "b.txt");
            Save("7f001111" + new string('0', 24), "c.txt");
        }

        public void Dispose() => _home.Dispose();

        private void Save(string id, string name) => _journal.Save(new TransferRecord
        {
            Id = id, Source = "/tmp/" + name, Destination = "/tmp/out/", Name = name, Status = TransferStatus.Completed,
            StartedAt = DateTimeOffset.UtcNow, TotalBytes = 1,
        });

        [Fact]
        public void A_unique_prefix_of_the_minimum_length_names_its_transfer()
        {
            Assert.Equal(4, TransferJournal.MinimumIdPrefix);
            Assert.Equal("7f001111" + new string('0', 24), _journal.ResolveId("7F00"));
        }

        [Fact]
        public void A_prefix_shorter_than_the_minimum_that_matches_says_so_instead_of_not_found()
        {
            var e = Assert.Throws<PluginException>(() => _journal.ResolveId("7f0"));
            Assert.Equal("TransferIdTooShort", e.ErrorId);
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
            Assert.Contains("at least 4 characters", e.Message);
        }

        [Fact]
        public void An_ambiguous_prefix_says_ambiguous_and_lists_the_candidates_with_their_names()
        {
            var e = Assert.Throws<PluginException>(() => _journal.ResolveId("63ab"));
            Assert.Equal("TransferIdAmbiguous", e.ErrorId);
            Assert.Contains("ambiguous", e.Message);
            Assert.Contains("63ab11110000 a.txt", e.Message);
            Assert.Contains("63ab22220000 b.txt", e.Message);
        }

        [Theory]
        [InlineData("dead")]
        [InlineData("de")]
        [InlineData("not-an-id")]
        public void A_prefix_that_matches_nothing_is_not_found(string prefix)
        {
            var e = Assert.Throws<PluginException>(() => _journal.ResolveId(prefix));
            Assert.Equal("TransferNotFound", e.ErrorId);
        }
    }
}
