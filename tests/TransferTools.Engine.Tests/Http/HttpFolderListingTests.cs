using System;
using System.Linq;
using TransferTools.Abstractions;
using Xunit;
using TransferTools.Engine.BuiltIn.Http;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>
    /// Folder listings as web servers write them: which links are entries and which are not (parent, sort orders,
    /// other folders and sites), names decoded, folders told from files, and nginx's JSON form. The same against a real
    /// nginx, end to end, is in tests/Http.Tests.ps1.
    /// </summary>
    public sealed class HttpFolderListingTests
    {
        private static readonly Uri Pub = new Uri("https://files.example.com/pub/");

        [Fact]
        public void An_nginx_autoindex_page_lists_its_files_and_folders()
        {
            const string page = @"<html>
<head><title>Index of /pub/</title></head>
<body>
<h1>Index of /pub/</h1><hr><pre><a href=""../"">../</a>
<a href=""docs/"">docs/</a>                                              04-Dec-2026 16:00       -
<a href=""report%202026.csv"">report 2026.csv</a>                                    04-Dec-2026 16:00     532
<a href=""r%C3%A9sum%C3%A9.txt"">résumé.txt</a>                                         04-Dec-2026 16:00      17
<a href=""a%26b.bin"">a&amp;b.bin</a>                                            04-Dec-2026 16:00    4096
<a href=""very-long-name-that-nginx-cuts-short-in-the-text-but-not-in-the-link.bin"">very-long-name-that-nginx-cuts-short-in-the-tex..&gt;</a> 04-Dec-2026 16:00 1
</pre><hr></body>
</html>";
            var entries = HttpFolderListing.Parse(Pub, "text/html", page);

            Assert.Equal(new[] { "docs", "report 2026.csv", "résumé.txt", "a&b.bin", "very-long-name-that-nginx-cuts-short-in-the-text-but-not-in-the-link.bin" },
                entries.Select(e => e.Name));
            Assert.True(entries[0].IsDirectory);
            Assert.All(entries.Skip(1), e => Assert.False(e.IsDirectory));
            Assert.All(entries, e => Assert.Equal(-1, e.Length));
        }

        [Fact]
        public void An_apache_page_keeps_its_entries_and_drops_sorting_parent_and_icons()
        {
            const string page = @"<!DOCTYPE HTML PUBLIC ""-//W3C//DTD HTML 3.2 Final//EN"">
<html><head><title>Index of /pub</title></head><body><h1>Index of /pub</h1>
<table>
<tr><th><img src=""/icons/blank.gif"" alt=""[ICO]""></th><th><a href=""?C=N;O=D"">Name</a></th><th><a href=""?C=M;O=A"">Last modified</a></th></tr>
<tr><td><a href=""/""><img src=""/icons/back.gif"" alt=""[PARENTDIR]""></a></td><td><a href=""/"">Parent Directory</a></td></tr>
<tr><td><a href='data.tar.gz'><img src=""/icons/compressed.gif"" alt=""[   ]""></a></td><td><a href='data.tar.gz'>data.tar.gz</a></td></tr>
<tr><td><a HREF=sub/><img src=""/icons/folder.gif"" alt=""[DIR]""></a></td><td><a HREF=sub/>sub/</a></td></tr>
</table><address>Apache/2.4.62 Server at files.example.com Port 443</address></body></html>";
            var entries = HttpFolderListing.Parse(new Uri("https://files.example.com/pub/"), "text/html", page);

            Assert.Equal(new[] { ("data.tar.gz", false), ("sub", true) }, entries.Select(e => (e.Name, e.IsDirectory)));
        }

        [Theory]
        [InlineData("/pub/iis-style.txt", "iis-style.txt")]
        [InlineData("https://files.example.com/pub/absolute.txt", "absolute.txt")]
        [InlineData("./dot.txt", "dot.txt")]
        [InlineData("HTTPS://FILES.EXAMPLE.COM/pub/host-case.txt", "host-case.txt")]
        public void Links_in_any_form_to_a_direct_child_are_entries(string href, string name)
        {
            var entry = HttpFolderListing.ChildOf(Pub, href);
            Assert.NotNull(entry);
            Assert.Equal(name, entry!.Name);
        }

        [Theory]
        [InlineData("")]
        [InlineData("../")]
        [InlineData("./")]
        [InlineData("/")]
        [InlineData("/pub/")]
        [InlineData("/other/file.txt")]
        [InlineData("sub/deeper.txt")]
        [InlineData("https://elsewhere.example.com/pub/file.txt")]
        [InlineData("http://files.example.com/pub/file.txt")]
        [InlineData("file.txt?download=1")]
        [InlineData("#top")]
        [InlineData("mailto:admin@example.com")]
        [InlineData("javascript:void(0)")]
        public void Links_that_are_not_a_direct_child_are_not_entries(string href)
        {
            Assert.Null(HttpFolderListing.ChildOf(Pub, href));
        }

        [Fact]
        public void An_encoded_slash_stays_in_the_name_for_the_walk_to_refuse()
        {
            // The walk reports such a name as SourceNameUnsafe rather than let it reach outside -OutputDir.
            Assert.Equal("a/b.txt", HttpFolderListing.ChildOf(Pub, "a%2Fb.txt")!.Name);
        }

        [Fact]
        public void A_name_listed_twice_is_one_entry()
        {
            var entries = HttpFolderListing.Parse(Pub, "text/html", "<a href=\"x.bin\"><img></a> <a href=\"x.bin\">x.bin</a>");
            Assert.Single(entries);
        }

        [Fact]
        public void Nginx_json_gives_kinds_sizes_and_times_and_leaves_out_other_kinds()
        {
            const string json = @"[
{ ""name"":""docs"", ""type"":""directory"", ""mtime"":""Fri, 04 Dec 2026 16:00:00 GMT"" },
{ ""name"":""report 2026.csv"", ""type"":""file"", ""mtime"":""Fri, 04 Dec 2026 16:00:01 GMT"", ""size"":532 },
{ ""name"":""fifo"", ""type"":""other"", ""mtime"":""Fri, 04 Dec 2026 16:00:02 GMT"" }
]";
            var entries = HttpFolderListing.Parse(Pub, "application/json", json);

            Assert.Equal(2, entries.Count);
            Assert.True(entries[0].IsDirectory);
            Assert.Equal(-1, entries[0].Length);
            Assert.Equal("report 2026.csv", entries[1].Name);
            Assert.Equal(532, entries[1].Length);
            Assert.Equal(new DateTimeOffset(2026, 12, 4, 16, 0, 1, TimeSpan.Zero), entries[1].LastModified);
        }

        [Theory]
        [InlineData("{\"name\":\"x\"}")]
        [InlineData("[{\"type\":\"file\"}]")]
        [InlineData("[{\"name\":")]
        public void Json_that_is_not_a_listing_is_HttpListingUnreadable(string json)
        {
            var error = Assert.Throws<PluginException>(() => HttpFolderListing.Parse(Pub, "application/json", json));
            Assert.Equal(ErrorCode.InvalidArgument, error.Code);
            Assert.Equal("HttpListingUnreadable", error.ErrorId);
            Assert.Contains("https://files.example.com/pub/", error.Message);
        }

        [Theory]
        [InlineData("text/html", true)]
        [InlineData("TEXT/HTML", true)]
        [InlineData("application/json", true)]
        [InlineData("application/xhtml+xml", true)]
        [InlineData("application/octet-stream", false)]
        [InlineData("text/plain", false)]
        [InlineData(null, false)]
        public void Html_and_json_are_the_forms_read(string? mediaType, bool readable)
        {
            Assert.Equal(readable, HttpFolderListing.CanRead(mediaType));
        }
    }
}
