using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Protocols;
using TransferTools.Engine.BuiltIn.StorageProtocol;

namespace TransferTools.Engine.Tests.Storage
{
    public class StorageEndpointTests
    {
        private static readonly TransferOptions Options = new TransferOptions();

        [Fact]
        public async Task Staged_write_resumes_then_commits_as_one_item_readable_by_id_and_name_from_an_offset()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var endpoint = new StorageProtocolPlugin();
            var temp = new Uri("storage://LocalStore/in/.a.txt.12345678.ttpart");
            var final = new Uri("storage://LocalStore/in/a.txt");

            Assert.True((await endpoint.GetInfoAsync(context, new Uri("storage://LocalStore/in/"), Options)).IsDirectory);
            Assert.False((await endpoint.GetInfoAsync(context, final, Options)).Exists);

            using (var w = await endpoint.OpenWriteAsync(context, temp, 0, Options))
            {
                await w.WriteAsync(Encoding.UTF8.GetBytes("hello wXXXX"));
            }

            // A resume rewrites from offset 7, dropping what lay past it.
            using (var w = await endpoint.OpenWriteAsync(context, temp, 7, Options))
            {
                await w.WriteAsync(Encoding.UTF8.GetBytes("orld"));
            }

            Assert.Equal(11, (await endpoint.GetInfoAsync(context, temp, Options)).Length);
            await endpoint.CommitAsync(context, temp, final, overwrite: false, Options);
            Assert.False((await endpoint.GetInfoAsync(context, temp, Options)).Exists);

            var byName = await endpoint.GetInfoAsync(context, final, Options);
            Assert.True(byName.Exists);
            Assert.False(byName.IsDirectory);
            Assert.Equal(11, byName.Length);
            Assert.True((await endpoint.GetInfoAsync(context, new Uri("storage://LocalStore/in"), Options)).IsDirectory);

            var item = (await session.Storage.ListItemsAsync(context, null, new ListFilter { Prefix = "in/" })).Single();
            var byId = new Uri("storage://LocalStore/" + item.Id);
            var info = await endpoint.GetInfoAsync(context, byId, Options);
            Assert.Equal(byName.Version, info.Version);
            using (var r = await endpoint.OpenReadAsync(context, byId, 6, info.Version, Options))
            {
                Assert.Equal("world", await new StreamReader(r).ReadToEndAsync());
            }

            var changed = await Assert.ThrowsAsync<PluginException>(() => endpoint.OpenReadAsync(context, final, 0, new string('0', 64), Options));
            Assert.Equal(ErrorCode.SourceChanged, changed.Code);

            // Committing again under the same name: a conflict unless overwriting, and overwriting keeps one item.
            using (var w = await endpoint.OpenWriteAsync(context, temp, 0, Options))
            {
                await w.WriteAsync(Encoding.UTF8.GetBytes("v2"));
            }

            var conflict = await Assert.ThrowsAsync<PluginException>(() => endpoint.CommitAsync(context, temp, final, overwrite: false, Options));
            Assert.Equal(ErrorCode.Conflict, conflict.Code);
            await endpoint.CommitAsync(context, temp, final, overwrite: true, Options);
            var now = (await session.Storage.ListItemsAsync(context, null, new ListFilter { Prefix = "in/" })).Single();
            Assert.Equal(2, now.Size);
        }

        [Theory]
        [InlineData("storage://LocalStore/a%5Cb")]
        [InlineData("storage://LocalStore/a%01b")]
        public async Task Unsafe_paths_are_refused(string uri)
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var endpoint = new StorageProtocolPlugin();
            var e = await Assert.ThrowsAsync<PluginException>(() => endpoint.OpenWriteAsync(context, new Uri(uri), 0, Options));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        }

        [Fact]
        public void Dot_segments_are_resolved_by_the_uri_and_stay_inside_the_store_and_the_name_is_as_typed()
        {
            Assert.Equal(("LocalStore", "etc/passwd"), StorageProtocolPlugin.Parse(new Uri("storage://LocalStore/../etc/passwd")));
            Assert.Equal(("LocalStore", "b"), StorageProtocolPlugin.Parse(new Uri("storage://LocalStore/a/%2E%2E/b")));
        }

        [Fact]
        public async Task Missing_items_read_as_missing()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            var endpoint = new StorageProtocolPlugin();
            Assert.False((await endpoint.GetInfoAsync(context, new Uri("storage://LocalStore/nothing/here"), Options)).Exists);
            var e = await Assert.ThrowsAsync<PluginException>(() => endpoint.OpenReadAsync(context, new Uri("storage://LocalStore/01AAAAAAAAAAAAAAAAAAAAAAAA"), 0, null, Options));
            Assert.Equal(ErrorCode.NotFound, e.Code);
        }
    }
}
