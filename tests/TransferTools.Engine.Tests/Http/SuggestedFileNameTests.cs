using System.Net.Http;
using System.Net.Http.Headers;
using TransferTools.Engine.Transfers;
using Xunit;
using TransferTools.Engine.BuiltIn.Http;

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
        [InlineData("https://aka.ms/tool", "https://download.example.com/tool/setup-2.1.msi", "setup-2.1.msi")]
        [InlineData("https://h/latest", "https://h/files/export.bin?sig=x", "export.bin")]
        [InlineData("https://h/files/report.pdf", "https://cdn.example.com/a1b2c3d4", null)]
        [InlineData("https://h/files/report.pdf", "https://cdn.example.com/report-v2.pdf", null)]
        [InlineData("https://h/latest", "https://h/files/a1b2c3d4", null)]
        [InlineData("https://h/latest", "https://h/latest", null)]
        public void A_redirect_names_the_file_only_when_the_url_asked_for_named_none(string requested, string found, string? expected) =>
            Assert.Equal(expected, HttpProtocolPlugin.RedirectedFileName(new System.Uri(requested), new System.Uri(found)));

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
        [InlineData("CON", false)]
        [InlineData("nul.txt", false)]
        [InlineData("com1.log", false)]
        [InlineData("console.log", true)]
        [InlineData("report.", false)]
        [InlineData("report ", false)]
        public void Only_a_plain_visible_file_name_is_taken(string? name, bool usable) =>
            Assert.Equal(usable, TransferIntake.IsUsableSuggestedName(name));
    }
}
