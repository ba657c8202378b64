using System;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.Http;
using Xunit;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>The plain-PUT fallback's naming and probe, and the upload errors that keep the server's words (issue 27;
    /// end to end against nginx PUT-only, Apache and rclone in ThirdPartyServers.Tests.ps1).</summary>
    public sealed class HttpPlainPutTests
    {
        [Theory]
        [InlineData("http://h/put/.a.bin.0123abcd.ttpart", "http://h/put/a.bin")]
        [InlineData("http://h/put/sub/.r%C3%A9sum%C3%A9%20v2.txt.89ABcdef.ttpart", "http://h/put/sub/r%C3%A9sum%C3%A9%20v2.txt")]
        [InlineData("http://h/put/.c:d.bin.0123abcd.ttpart", "http://h/put/c:d.bin")]
        [InlineData("https://h/b/.x.0123abcd.ttpart?sig=1", "https://h/b/x?sig=1")]
        public void A_temporary_name_maps_to_its_final_name(string temporary, string final)
        {
            Assert.Equal(final, HttpPlainPut.FinalNameOf(new Uri(temporary))!.AbsoluteUri);
        }

        [Theory]
        [InlineData("http://h/put/a.bin")]
        [InlineData("http://h/put/.a.bin.ttpart")]
        [InlineData("http://h/put/.transfertools/.0123abcd0123.tmp")]
        public void Other_names_are_not_temporaries(string location)
        {
            Assert.Null(HttpPlainPut.FinalNameOf(new Uri(location)));
        }

        [Theory]
        [InlineData(HttpStatusCode.NotFound, true)]
        [InlineData(HttpStatusCode.Conflict, true)]
        [InlineData(HttpStatusCode.Forbidden, true)]
        [InlineData(HttpStatusCode.MethodNotAllowed, false)]
        [InlineData(HttpStatusCode.NotImplemented, false)]
        [InlineData(HttpStatusCode.BadRequest, false)]
        public async Task The_answer_to_a_MOVE_of_nothing_tells_whether_MOVE_is_there(HttpStatusCode answer, bool supported)
        {
            var plainPut = new HttpPlainPut();
            var folder = new Uri("http://h/put/");
            var asked = 0;
            Assert.Equal(supported, await plainPut.SupportsMoveAsync(folder, _ => { asked++; return Task.FromResult(answer); }));
            Assert.Equal(supported, await plainPut.SupportsMoveAsync(folder, _ => { asked++; return Task.FromResult(answer); }));
            Assert.Equal(1, asked);
            Assert.Equal(!supported, plainPut.KnownWithoutMove(folder));
        }

        private static HttpResponseMessage Answer(HttpStatusCode status, string body, string type = "text/html") => new HttpResponseMessage(status)
        {
            Content = new StringContent(body, Encoding.UTF8, type),
        };

        [Theory]
        [InlineData(HttpStatusCode.NotFound)]
        [InlineData(HttpStatusCode.MethodNotAllowed)]
        public async Task A_PUT_refused_with_404_or_405_says_the_server_does_not_accept_uploads_here(HttpStatusCode status)
        {
            using var answer = Answer(status, "<html><body><h1>Not here</h1></body></html>");
            var e = await HttpErrors.FromStatusAsync(answer, new Uri("http://h/x/a.bin"), "Upload");
            Assert.Equal(ErrorCode.NotSupported, e.Code);
            Assert.Contains("does not accept uploads here", e.Message);
            Assert.Contains("\"Not here\"", e.Message);
        }

        [Fact]
        public async Task A_500_answering_a_PUT_is_the_server_refusing_not_a_transient_fault_and_quotes_it()
        {
            using var answer = Answer(HttpStatusCode.InternalServerError,
                "<!DOCTYPE html><html><head><title>500</title></head><body><p>Could not open /srv/ro/a.bin for writing: Permission denied</p></body></html>");
            var e = await HttpErrors.FromStatusAsync(answer, new Uri("http://h/ro/a.bin"), "Upload");
            Assert.False(e.IsTransient);
            Assert.Contains("Could not open /srv/ro/a.bin for writing: Permission denied", e.Message);

            using var reading = Answer(HttpStatusCode.InternalServerError, "oops");
            Assert.True((await HttpErrors.FromStatusAsync(reading, new Uri("http://h/ro/a.bin"), "Read")).IsTransient);
        }

        [Theory]
        [InlineData("W/\"5-abc\"", "\"5-abc\"", true)]
        [InlineData("\"5-abc\"", "W/\"5-abc\"", true)]
        [InlineData("W/\"5-abc\"", "\"5-abd\"", false)]
        [InlineData("\"5-abc\"", "\"5-abd\"", false)]
        [InlineData("lm:Mon, 07 Dec 2026 03:00:00 GMT", "lm:Mon, 07 Dec 2026 03:00:00 GMT", true)]
        public void A_weak_ETag_is_the_version_of_the_strong_one_with_its_value(string a, string b, bool same)
        {
            // Apache marks a file's ETag weak while it is less than a second old: a resume then sees it strong.
            Assert.Equal(same, Engine.Transfers.SourceVersion.Same(a, b));
        }

        [Fact]
        public void A_resumed_download_begun_on_a_weak_ETag_does_not_find_its_source_changed()
        {
            // The engine's own check on resume (once failed a third-party test against Apache): the same value, strong now.
            var record = new Engine.Transfers.TransferRecord { SourceLength = 6, SourceVersion = "W/\"6-abc\"" };
            Assert.False(Engine.Transfers.TransferAttempt.HasChanged(record, new RemoteFileInfo { Exists = true, Length = 6, Version = "\"6-abc\"" }));
            Assert.True(Engine.Transfers.TransferAttempt.HasChanged(record, new RemoteFileInfo { Exists = true, Length = 6, Version = "\"6-abd\"" }));
            Assert.True(Engine.Transfers.TransferAttempt.HasChanged(record, new RemoteFileInfo { Exists = true, Length = 7, Version = "\"6-abc\"" }));
        }

        [Fact]
        public async Task A_body_that_only_repeats_the_status_line_is_not_quoted()
        {
            using var answer = Answer(HttpStatusCode.MethodNotAllowed, "<html><head><title>405 Not Allowed</title></head><body><center><h1>405 Not Allowed</h1></center><hr><center>nginx</center></body></html>");
            Assert.Null(await HttpErrors.ExcerptAsync(answer));
        }
    }
}
