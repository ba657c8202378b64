using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Storage;
using TransferTools.Engine.BuiltIn.LocalStore;

namespace TransferTools.Engine.Tests.Storage
{
    public class LocalStoreTests
    {
        private static readonly OperationContext Context = new OperationContext();

        private static async Task<LocalStorePlugin> OpenAsync(TestHome home, string? path = null)
        {
            var plugin = new LocalStorePlugin();
            await plugin.InitAsync(Context, new Dictionary<string, string>
            {
                ["Path"] = path ?? System.IO.Path.Combine(home.Path, "store"),
                ["SweepIntervalHours"] = "0",
            });
            return plugin;
        }

        private static Task<string> StoreAsync(LocalStorePlugin plugin, string name, string content, IDictionary<string, string>? custom = null) =>
            plugin.StoreAsync(Context, new MemoryStream(Encoding.UTF8.GetBytes(content)), new ItemMetadata
            {
                Name = name,
                MimeType = "text/plain",
                Custom = custom ?? new Dictionary<string, string>(),
            });

        private static string Sha(string content) =>
            Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(content))).ToLowerInvariant();

        [Fact]
        public async Task Registrations_without_a_path_each_get_their_own_store()
        {
            using var home = new TestHome();
            using var session = home.NewSession();
            var context = session.CreateContext(CancellationToken.None);
            await session.RegisterPluginAsync(context, "Archive", "LocalStore", null, new Dictionary<string, string> { ["SweepIntervalHours"] = "0" });
            await session.Storage.StoreAsync(context, "Archive", new MemoryStream(Encoding.UTF8.GetBytes("only in archive")),
                new ItemMetadata { Name = "a.txt" });

            Assert.Equal(1, (await session.Storage.StatsAsync(context, "Archive")).TotalItems);
            Assert.Equal(0, (await session.Storage.StatsAsync(context, null)).TotalItems);
            Assert.True(Directory.Exists(System.IO.Path.Combine(home.Path, "plugins", "Archive", "store")));
        }

        [Fact]
        public async Task Store_retrieve_round_trip_keeps_metadata()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var id = await StoreAsync(plugin, "docs/a b.txt", "hello", new Dictionary<string, string> { ["owner"] = "ops", ["ключ"] = "значение" });
            Assert.True(ItemIds.IsWellFormed(id));
            using var item = await plugin.RetrieveAsync(Context, id);
            Assert.Equal("hello", new StreamReader(item.Content).ReadToEnd());
            Assert.Equal("docs/a b.txt", item.Metadata.Name);
            Assert.Equal(5, item.Metadata.Size);
            Assert.Equal("text/plain", item.Metadata.MimeType);
            Assert.Equal(Sha("hello"), item.Metadata.Sha256);
            Assert.Equal("значение", item.Metadata.Custom["ключ"]);
            Assert.True(DateTimeOffset.UtcNow - item.Metadata.CreatedAt < TimeSpan.FromMinutes(1));
        }

        [Theory]
        [InlineData("../x")]
        [InlineData("a/b")]
        [InlineData("a\\b")]
        [InlineData("..")]
        [InlineData("a\u0001b")]
        [InlineData("")]
        public async Task Unsafe_ids_are_refused_with_InvalidArgument_naming_the_id(string id)
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.RetrieveAsync(Context, id));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
            Assert.Equal("InvalidItemId", e.ErrorId);
            Assert.Equal(id, e.Target);
            e = await Assert.ThrowsAsync<PluginException>(() => plugin.DeleteAsync(Context, id));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        }

        [Fact]
        public async Task Overlong_id_and_unknown_id()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.RetrieveAsync(Context, new string('a', 300)));
            Assert.Equal(ErrorCode.InvalidArgument, e.Code);
            e = await Assert.ThrowsAsync<PluginException>(() => plugin.RetrieveAsync(Context, ItemIds.NewId()));
            Assert.Equal(ErrorCode.NotFound, e.Code);
            Assert.Equal("ItemNotFound", e.ErrorId);
        }

        [Fact]
        public async Task Expected_sha256_mismatch_stores_nothing()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.StoreAsync(Context, new MemoryStream(new byte[] { 1, 2, 3 }),
                new ItemMetadata { Name = "x", Sha256 = new string('0', 64) }));
            Assert.Equal(ErrorCode.ChecksumMismatch, e.Code);
            Assert.Equal(0, (await plugin.StatsAsync(Context)).TotalItems);
            Assert.Empty(Directory.GetFiles(System.IO.Path.Combine(plugin.RootDirectory, "blobs"), "*", SearchOption.AllDirectories));
            Assert.Empty(Directory.GetFiles(System.IO.Path.Combine(plugin.RootDirectory, "tmp")));
        }

        [Fact]
        public async Task Dedupe_refcounts_and_stats_without_scan()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var a = await StoreAsync(plugin, "a", "same");
            var b = await StoreAsync(plugin, "b", "same");
            var c = await StoreAsync(plugin, "c", "other!");
            Assert.Equal((3L, 14L, 2L, 10L), plugin.ReadStats());
            await plugin.DeleteAsync(Context, a);
            Assert.Equal((2L, 10L, 2L, 10L), plugin.ReadStats());
            using (var kept = await plugin.RetrieveAsync(Context, b))
            {
                Assert.Equal("same", new StreamReader(kept.Content).ReadToEnd());
            }

            await plugin.DeleteAsync(Context, b);
            await plugin.DeleteAsync(Context, c);
            Assert.Equal((0L, 0L, 0L, 0L), plugin.ReadStats());
            Assert.Empty(Directory.GetFiles(System.IO.Path.Combine(plugin.RootDirectory, "blobs"), "*", SearchOption.AllDirectories));
            var e = await Assert.ThrowsAsync<PluginException>(() => plugin.DeleteAsync(Context, c));
            Assert.Equal(ErrorCode.NotFound, e.Code);
        }

        [Fact]
        public async Task List_pages_through_every_item_in_name_id_order_and_prefix_is_exact()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var random = new Random(5);
            var names = new List<string>();
            var alphabet = "ab/ .-_zZ~é";
            for (var i = 0; i < 300; i++)
            {
                var n = new string(Enumerable.Range(0, random.Next(1, 6)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()).Trim('/');
                if (n.Length == 0 || n.Contains("//") || n.Split('/').Any(s => s == "." || s == ".."))
                {
                    continue;
                }

                names.Add(n);
            }

            var stored = new List<(string Name, string Id)>();
            foreach (var n in names)
            {
                stored.Add((n, await StoreAsync(plugin, n, n)));
            }

            var expected = stored.OrderBy(x => x.Name, StringComparer.Ordinal).ThenBy(x => x.Id, StringComparer.Ordinal).ToList();
            var listed = new List<(string, string)>();
            ListCursor? cursor = null;
            while (true)
            {
                var page = await plugin.ListAsync(Context, new ListFilter { Limit = 7, StartAfter = cursor });
                listed.AddRange(page.Select(p => (p.Metadata.Name, p.Id)));
                if (page.Count < 7)
                {
                    break;
                }

                cursor = page[^1].ToCursor();
            }

            Assert.Equal(expected, listed);
            foreach (var prefix in new[] { "a", "ab", "b/", "z", "é", "~" })
            {
                var want = expected.Where(x => x.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
                var got = await plugin.ListAsync(Context, new ListFilter { Prefix = prefix, Limit = 1000 });
                Assert.Equal(want, got.Select(p => (p.Metadata.Name, p.Id)).ToList());
            }
        }

        [Fact]
        public async Task Prefix_text_is_not_a_pattern()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            await StoreAsync(plugin, "a%b", "1");
            await StoreAsync(plugin, "axb", "2");
            await StoreAsync(plugin, "a_c", "3");
            Assert.Equal(new[] { "a%b" }, (await plugin.ListAsync(Context, new ListFilter { Prefix = "a%" })).Select(i => i.Metadata.Name));
            Assert.Equal(new[] { "a_c" }, (await plugin.ListAsync(Context, new ListFilter { Prefix = "a_" })).Select(i => i.Metadata.Name));
        }

        [Fact]
        public async Task Prefix_upper_bound()
        {
            Assert.Equal("b", StorageKeys.PrefixUpperBound("a"));
            Assert.Equal("ab0", StorageKeys.PrefixUpperBound("ab/"));
            Assert.Equal("\uE000", StorageKeys.PrefixUpperBound("\uD7FF"));
            Assert.Equal("b", StorageKeys.PrefixUpperBound("a\U0010FFFF"));
            Assert.Null(StorageKeys.PrefixUpperBound("\U0010FFFF"));
            await Task.CompletedTask;
        }

        [Fact]
        public async Task Four_writers_and_deleters_at_once_stay_consistent()
        {
            using var home = new TestHome();
            var store = System.IO.Path.Combine(home.Path, "store");
            var plugins = new List<LocalStorePlugin>();
            for (var i = 0; i < 4; i++)
            {
                plugins.Add(await OpenAsync(home, store));
            }

            var tasks = plugins.Select((p, w) => Task.Run(async () =>
            {
                var mine = new List<string>();
                for (var i = 0; i < 60; i++)
                {
                    mine.Add(await StoreAsync(p, $"w{w}/{i:D3}", $"content {i % 7}"));
                    if (i % 3 == 0)
                    {
                        await p.DeleteAsync(Context, mine[0]);
                        mine.RemoveAt(0);
                    }
                }

                return mine;
            })).ToList();
            var kept = (await Task.WhenAll(tasks)).SelectMany(x => x).ToList();
            var stats = plugins[0].ReadStats();
            Assert.Equal(kept.Count, stats.Items);
            Assert.Equal(7, stats.Blobs);
            Assert.Equal(7, Directory.GetFiles(System.IO.Path.Combine(store, "blobs"), "*", SearchOption.AllDirectories).Length);
            var listed = await plugins[1].ListAsync(Context, new ListFilter { Limit = 10000 });
            Assert.Equal(kept.OrderBy(x => x, StringComparer.Ordinal), listed.Select(i => i.Id).OrderBy(x => x, StringComparer.Ordinal));
            foreach (var id in kept)
            {
                using var item = await plugins[2].RetrieveAsync(Context, id);
                Assert.StartsWith("content ", new StreamReader(item.Content).ReadToEnd());
            }

            foreach (var p in plugins)
            {
                await p.ShutdownAsync(Context);
            }
        }

        [Fact]
        public async Task Crash_leftovers_are_swept_and_an_orphan_blob_is_adopted_by_a_later_save()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var keep = await StoreAsync(plugin, "keep", "keep me");

            // A crash after the blob was moved into place but before the index row: a blob without a row.
            var sha = Sha("orphan");
            var blob = System.IO.Path.Combine(plugin.RootDirectory, "blobs", sha[..2], sha.Substring(2, 2), sha);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(blob)!);
            File.WriteAllText(blob, "orphan");
            var temp = System.IO.Path.Combine(plugin.RootDirectory, "tmp", "crashed.tmp");
            File.WriteAllText(temp, "half");

            // Young leftovers may belong to a save in progress: kept.
            var young = await plugin.SweepAsync(TimeSpan.FromMinutes(30));
            Assert.Equal(0, young.OrphanBlobsRemoved + young.TempFilesRemoved);

            // A save of the same content adopts the orphan instead of failing.
            var adopted = await StoreAsync(plugin, "adopted", "orphan");
            File.SetLastWriteTimeUtc(blob, DateTime.UtcNow.AddHours(-2));
            File.SetLastWriteTimeUtc(temp, DateTime.UtcNow.AddHours(-2));
            var swept = await plugin.SweepAsync(TimeSpan.FromMinutes(30));
            Assert.Equal(1, swept.TempFilesRemoved);
            Assert.Equal(0, swept.OrphanBlobsRemoved);
            Assert.True(File.Exists(blob));

            await plugin.DeleteAsync(Context, adopted);
            Assert.False(File.Exists(blob));
            using var kept = await plugin.RetrieveAsync(Context, keep);
            Assert.Equal("keep me", new StreamReader(kept.Content).ReadToEnd());
        }

        [Fact]
        public async Task Old_orphan_blob_is_removed_by_the_sweep()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            var sha = Sha("lost");
            var blob = System.IO.Path.Combine(plugin.RootDirectory, "blobs", sha[..2], sha.Substring(2, 2), sha);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(blob)!);
            File.WriteAllText(blob, "lost");
            File.SetLastWriteTimeUtc(blob, DateTime.UtcNow.AddHours(-2));
            var swept = await plugin.SweepAsync(TimeSpan.FromMinutes(30));
            Assert.Equal(1, swept.OrphanBlobsRemoved);
            Assert.False(File.Exists(blob));
        }

        [Fact]
        public async Task Cancelled_store_leaves_nothing()
        {
            using var home = new TestHome();
            using var plugin = await OpenAsync(home);
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => plugin.StoreAsync(new OperationContext(cts.Token),
                new MemoryStream(new byte[1000]), new ItemMetadata { Name = "x" }));
            Assert.Equal(0, (await plugin.StatsAsync(Context)).TotalItems);
            Assert.Empty(Directory.GetFiles(System.IO.Path.Combine(plugin.RootDirectory, "tmp")));
        }

        [Fact]
        public void Native_loader_knows_this_platform()
        {
            SqliteNativeLoader.EnsureInitialized();
            Assert.NotEmpty(SqliteNativeLoader.RuntimeIdentifiers());
            Assert.All(SqliteNativeLoader.CandidatePaths("/m"), p => Assert.Contains("sqlite3", p));
        }
    }
}
