using System.Net.Http;
using System.Net.Http.Headers;
using TransferTools.Engine.Protocols.Http;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>
    /// The name a download's Content-Disposition suggests, and which suggestions a received file may take (end to end
    /// against nginx in Http.Tests.ps1).
    /// </summary>
    public sealed class SuggestedFileNameTests
    {
        private static string? Suggested(string? disposition)
        {
            using var response = new HttpResponseMessage { Content = new ByteArrayContent(new byte[0]) };
            if (disposition != null)
            {
                response.Content.Headers.ContentDisposition = ContentDispositionHeaderValue.Parse(disposition);
            }

            return HttpProtocolPlugin.SuggestedFileName(response);
        }

        [Theory]
        [InlineData(null, null)]
        [InlineData("inline", null)]
        [InlineData("attachment; filename=report.csv", "report.csv")]
        [InlineData("attachment; filename=\"report 2026.csv\"", "report 2026.csv")]
        [InlineData("attachment; filename=\"fallback.csv\"; filename*=UTF-8''r%C3%A9sum%C3%A9.csv", "résumé.csv")]
        public void The_name_comes_from_filename_star_then_filename_without_quotes(string? disposition, string? expected) =>
            Assert.Equal(expected, Suggested(disposition));

        [Theory]
        [InlineData("report.csv", true)]
        [InlineData("report 2026 (final).csv", true)]
        [InlineData("résumé.csv", true)]
        [InlineData(null, false)]
        [InlineData("", false)]
        [InlineData("..", false)]
        [InlineData("../escape.csv", false)]
        [InlineData("a/b.csv", false)]
        [InlineData("a\\b.csv", false)]
        [InlineData(".bashrc", false)]
        [InlineData("a\u0001b", false)]
        public void Only_a_plain_visible_file_name_is_taken(string? name, bool usable) =>
            Assert.Equal(usable, TransferManager.IsUsableSuggestedName(name));
    }
}
