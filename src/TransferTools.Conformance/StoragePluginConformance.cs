using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;
using static TransferTools.Conformance.ConformanceAssert;

namespace TransferTools.Conformance
{
    /// <summary>
    /// The storage suite: round-trip, not found, listing order and paging, stats, limits, bad ids and names,
    /// cancellation, concurrency and persistence. Derive and implement <see cref="PluginConformance{T}.CreatePlugin"/>
    /// (and usually <see cref="PluginConformance{T}.CreateConfiguration"/>).
    /// </summary>
    public abstract class StoragePluginConformance : PluginConformance<IStoragePlugin>
    {
        /// <inheritdoc/>
        protected override PluginType ExpectedKind => PluginType.Storage;

        /// <summary>The largest item the plugin accepts, or null when it has no limit of its own. When set, one byte
        /// more must be refused with <see cref="ErrorCode.LimitExceeded"/>.</summary>
        protected virtual long? MaxItemSize => null;

        /// <summary>The size of the "large item" round trip (default 3 MiB + 17 bytes: several buffers, not aligned).</summary>
        protected virtual int LargeItemSize => 3 * 1024 * 1024 + 17;

        /// <summary>True when items outlive the plugin instance (a new instance on the same data sees them).</summary>
        protected virtual bool IsPersistent => true;

        /// <summary>Ids no store may accept: every one must be refused with InvalidArgument or NotFound.</summary>
        public static IEnumerable<object[]> BadIds => new[]
        {
            "", " ", "../x", "..\\x", "/etc/passwd", "C:\\Windows\\win.ini", "a/../../b", "x\0y", "%2e%2e%2fx", "*", new string('a', 5000),
        }.Select(id => new object[] { id });

        /// <summary>Stores <paramref name="content"/> under <paramref name="name"/>.</summary>
        protected async Task<string> StoreAsync(string name, byte[] content, IStoragePlugin? plugin = null, IDictionary<string, string>? custom = null)
        {
            var metadata = new ItemMetadata { Name = name, Size = content.Length, MimeType = "text/plain", CreatedAt = DateTimeOffset.UtcNow };
            foreach (var pair in custom ?? new Dictionary<string, string>())
            {
                metadata.Custom[pair.Key] = pair.Value;
            }

            using (var stream = new MemoryStream(content))
            {
                var id = await WithTimeout((plugin ?? Plugin).StoreAsync(NewContext(), stream, metadata));
                Assert.False(string.IsNullOrWhiteSpace(id), "StoreAsync returned an empty id.");
                return id;
            }
        }

        /// <summary>Retrieves an item's content and metadata.</summary>
        protected async Task<(byte[] Content, ItemMetadata Metadata)> RetrieveAsync(string id, IStoragePlugin? plugin = null)
        {
            using (var item = await WithTimeout((plugin ?? Plugin).RetrieveAsync(NewContext(), id)))
            {
                return (await ReadAllAsync(item.Content), item.Metadata);
            }
        }

        /// <summary>Every item with <paramref name="prefix"/>, paging with <paramref name="pageSize"/>.</summary>
        protected async Task<List<Item>> ListAllAsync(string? prefix, int pageSize)
        {
            var all = new List<Item>();
            ListCursor? after = null;
            for (var page = 0; page < 10000; page++)
            {
                var items = await WithTimeout(Plugin.ListAsync(NewContext(), new ListFilter { Prefix = prefix, Limit = pageSize, StartAfter = after }));
                Assert.True(items.Count <= pageSize, $"ListAsync returned {items.Count} items for Limit {pageSize}.");
                if (items.Count == 0)
                {
                    return all;
                }

                all.AddRange(items);
                after = items[items.Count - 1].ToCursor();
            }

            throw new InvalidOperationException("Listing did not end.");
        }

        /// <summary>Content and metadata come back as stored.</summary>
        [Fact]
        public async Task Storage_round_trip_keeps_content_and_metadata()
        {
            var content = Content(1000);
            var id = await StoreAsync("docs/round-trip.txt", content, custom: new Dictionary<string, string> { ["owner"] = "conformance" });
            var (back, metadata) = await RetrieveAsync(id);
            Assert.Equal(content, back);
            Assert.Equal("docs/round-trip.txt", metadata.Name);
            Assert.Equal(content.Length, metadata.Size);
            Assert.Equal("text/plain", metadata.MimeType);
            Assert.True(metadata.Custom.TryGetValue("owner", out var owner) && owner == "conformance", "Custom metadata was not kept.");
            if (metadata.Sha256 != null)
            {
                Assert.Equal(Sha256(content), metadata.Sha256);
            }
        }

        /// <summary>Empty, one-byte and odd-sized items round-trip.</summary>
        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(65537)]
        public async Task Storage_round_trip_of_sizes(int size)
        {
            var content = Content(size, seed: size);
            var id = await StoreAsync($"sizes/{size}.bin", content);
            var (back, metadata) = await RetrieveAsync(id);
            Assert.Equal(content, back);
            Assert.Equal(size, metadata.Size);
        }

        /// <summary>A large item round-trips through streams.</summary>
        [Fact]
        public async Task Storage_round_trip_of_a_large_item()
        {
            var content = Content(LargeItemSize, seed: 7);
            var id = await StoreAsync("large.bin", content);
            Assert.Equal(content, (await RetrieveAsync(id)).Content);
        }

        /// <summary>Storing the same content twice makes two items.</summary>
        [Fact]
        public async Task Storage_each_store_creates_a_new_item()
        {
            var content = Content(100);
            var first = await StoreAsync("same.txt", content);
            var second = await StoreAsync("same.txt", content);
            Assert.NotEqual(first, second);
            await WithTimeout(Plugin.DeleteAsync(NewContext(), first));
            Assert.Equal(content, (await RetrieveAsync(second)).Content);
        }

        /// <summary>An unknown id is NotFound for retrieve and delete.</summary>
        [Fact]
        public async Task Storage_unknown_id_is_not_found()
        {
            var id = await StoreAsync("exists.txt", Content(10));
            var unknown = Guid.NewGuid().ToString("n");
            await FailsWith(() => Plugin.RetrieveAsync(NewContext(), unknown), ErrorCode.NotFound, ErrorCode.InvalidArgument);
            await FailsWith(() => Plugin.DeleteAsync(NewContext(), unknown), ErrorCode.NotFound, ErrorCode.InvalidArgument);
            Assert.NotEqual(unknown, id);
        }

        /// <summary>A deleted item is gone from retrieve, delete, list and stats.</summary>
        [Fact]
        public async Task Storage_deleted_item_is_gone()
        {
            var id = await StoreAsync("gone/item.txt", Content(10));
            var before = await WithTimeout(Plugin.StatsAsync(NewContext()));
            await WithTimeout(Plugin.DeleteAsync(NewContext(), id));
            await FailsWith(() => Plugin.RetrieveAsync(NewContext(), id), ErrorCode.NotFound);
            await FailsWith(() => Plugin.DeleteAsync(NewContext(), id), ErrorCode.NotFound);
            Assert.DoesNotContain(await ListAllAsync("gone/", 100), i => i.Id == id);
            var after = await WithTimeout(Plugin.StatsAsync(NewContext()));
            Assert.Equal(before.TotalItems - 1, after.TotalItems);
            Assert.Equal(before.TotalSize - 10, after.TotalSize);
        }

        /// <summary>Bad ids are refused with InvalidArgument or NotFound, never another exception.</summary>
        [Theory]
        [MemberData(nameof(BadIds))]
        public async Task Storage_bad_ids_are_refused(string id)
        {
            await StoreAsync("keep.txt", Content(10));
            await FailsWith(() => Plugin.RetrieveAsync(NewContext(), id), ErrorCode.InvalidArgument, ErrorCode.NotFound);
            await FailsWith(() => Plugin.DeleteAsync(NewContext(), id), ErrorCode.InvalidArgument, ErrorCode.NotFound);
            Assert.Single(await ListAllAsync("keep.txt", 10));
        }

        /// <summary>A name that looks like a path outside the store is refused or kept as a plain name: nothing is written outside.</summary>
        [Theory]
        [InlineData("../../escape-{0}.txt")]
        [InlineData("/tmp/escape-{0}.txt")]
        [InlineData("..\\..\\escape-{0}.txt")]
        public async Task Storage_names_cannot_escape_the_store(string pattern)
        {
            var marker = Guid.NewGuid().ToString("n");
            var name = string.Format(pattern, marker);
            try
            {
                var id = await StoreAsync(name, Content(10));
                Assert.Equal(name, (await RetrieveAsync(id)).Metadata.Name);
            }
            catch (PluginException e)
            {
                Assert.Equal(ErrorCode.InvalidArgument, e.Code);
            }

            var escaped = Directory.EnumerateFiles(WorkDirectory, "*" + marker + "*", SearchOption.TopDirectoryOnly)
                .Concat(Directory.EnumerateFiles(Path.GetTempPath(), "*" + marker + "*", SearchOption.TopDirectoryOnly));
            Assert.Empty(escaped);
        }

        /// <summary>Listing filters by prefix (ordinal) and orders by name, then id.</summary>
        [Fact]
        public async Task Storage_list_filters_by_prefix_in_name_then_id_order()
        {
            foreach (var name in new[] { "p/b.txt", "p/a.txt", "p/B.txt", "q/a.txt", "p/a.txt", "pa.txt" })
            {
                await StoreAsync(name, Content(5));
            }

            var items = await ListAllAsync("p/", 100);
            Assert.Equal(new[] { "p/B.txt", "p/a.txt", "p/a.txt", "p/b.txt" }, items.Select(i => i.Metadata.Name).ToArray());
            Assert.True(string.CompareOrdinal(items[1].Id, items[2].Id) < 0, "Items with the same name are not in id order.");
            Assert.Equal(6, (await ListAllAsync(null, 100)).Count);
            Assert.Empty(await ListAllAsync("nothing/", 100));
        }

        /// <summary>Paging with Limit and StartAfter returns every item exactly once, in order.</summary>
        [Fact]
        public async Task Storage_list_pages_through_every_item_once()
        {
            var ids = new List<string>();
            for (var i = 0; i < 7; i++)
            {
                ids.Add(await StoreAsync($"page/{i % 3}.txt", Content(3, seed: i)));
            }

            var paged = await ListAllAsync("page/", 3);
            Assert.Equal(ids.OrderBy(x => x, StringComparer.Ordinal).ToArray(), paged.Select(i => i.Id).OrderBy(x => x, StringComparer.Ordinal).ToArray());
            var keys = paged.Select(i => (i.Metadata.Name, i.Id)).ToList();
            Assert.Equal(keys.OrderBy(k => k.Name, StringComparer.Ordinal).ThenBy(k => k.Id, StringComparer.Ordinal).ToList(), keys);
        }

        /// <summary>Limit 0 means the plugin's own page size, not "nothing".</summary>
        [Fact]
        public async Task Storage_list_limit_zero_uses_the_page_size()
        {
            await StoreAsync("zero.txt", Content(3));
            var items = await WithTimeout(Plugin.ListAsync(NewContext(), new ListFilter { Limit = 0 }));
            Assert.NotEmpty(items);
        }

        /// <summary>Stats count items and bytes.</summary>
        [Fact]
        public async Task Storage_stats_count_items_and_bytes()
        {
            var before = await WithTimeout(Plugin.StatsAsync(NewContext()));
            await StoreAsync("stats/1", Content(100));
            await StoreAsync("stats/2", Content(250));
            var after = await WithTimeout(Plugin.StatsAsync(NewContext()));
            Assert.Equal(before.TotalItems + 2, after.TotalItems);
            Assert.Equal(before.TotalSize + 350, after.TotalSize);
        }

        /// <summary>An item over <see cref="MaxItemSize"/> is refused with LimitExceeded and leaves nothing behind.</summary>
        [Fact]
        public async Task Storage_limits_are_enforced()
        {
            if (MaxItemSize is not long max)
            {
                return;
            }

            await FailsWith(() => StoreAsync("too-big.bin", new byte[max + 1]), ErrorCode.LimitExceeded);
            Assert.Empty(await ListAllAsync("too-big", 10));
        }

        /// <summary>A cancelled store is cancelled and stores nothing.</summary>
        [Fact]
        public async Task Storage_store_with_cancelled_token_stores_nothing()
        {
            var before = await WithTimeout(Plugin.StatsAsync(NewContext()));
            using (var stream = new MemoryStream(Content(1000)))
            {
                await IsCancelled(() => Plugin.StoreAsync(CancelledContext(), stream, new ItemMetadata { Name = "cancelled.txt", Size = 1000 }));
            }

            Assert.Empty(await ListAllAsync("cancelled", 10));
            Assert.Equal(before.TotalItems, (await WithTimeout(Plugin.StatsAsync(NewContext()))).TotalItems);
        }

        /// <summary>A store cancelled while reading the content leaves no item.</summary>
        [Fact]
        public async Task Storage_store_cancelled_mid_stream_leaves_no_item()
        {
            using (var cts = new CancellationTokenSource())
            using (var stream = new CancellingStream(Content(2 * 1024 * 1024), cts, cancelAfterBytes: 64 * 1024))
            {
                await IsCancelled(() => Plugin.StoreAsync(NewContext(cts.Token), stream, new ItemMetadata { Name = "half.bin", Size = stream.Length }));
            }

            Assert.Empty(await ListAllAsync("half", 10));
        }

        /// <summary>A retrieve with a cancelled token is cancelled.</summary>
        [Fact]
        public async Task Storage_retrieve_with_cancelled_token_is_cancelled()
        {
            var id = await StoreAsync("r.txt", Content(10));
            await IsCancelled(async () =>
            {
                using (var item = await Plugin.RetrieveAsync(CancelledContext(), id))
                {
                    await item.Content.ReadAsync(new byte[10], 0, 10, new CancellationToken(true));
                }
            });
        }

        /// <summary>Parallel stores, retrieves, lists and deletes do not interfere.</summary>
        [Fact]
        public async Task Storage_concurrent_operations_do_not_interfere()
        {
            var contents = Enumerable.Range(0, 16).Select(i => Content(4096 + i, seed: 100 + i)).ToArray();
            var ids = await Task.WhenAll(contents.Select((c, i) => Task.Run(() => StoreAsync($"par/{i:00}.bin", c))));
            Assert.Equal(16, ids.Distinct().Count());
            var checks = ids.Select((id, i) => Task.Run(async () => Assert.Equal(contents[i], (await RetrieveAsync(id)).Content)));
            var lists = Enumerable.Range(0, 4).Select(_ => Task.Run(() => ListAllAsync("par/", 5)));
            await Task.WhenAll(checks.Concat(lists));
            await Task.WhenAll(ids.Where((_, i) => i % 2 == 0).Select(id => Task.Run(() => WithTimeout(Plugin.DeleteAsync(NewContext(), id)))));
            Assert.Equal(8, (await ListAllAsync("par/", 100)).Count);
        }

        /// <summary>Items outlive the instance: a new instance on the same data sees them.</summary>
        [Fact]
        public async Task Storage_items_survive_a_new_instance()
        {
            if (!IsPersistent)
            {
                return;
            }

            var content = Content(500);
            var id = await StoreAsync("persist.txt", content);
            await ShutdownPluginAsync();
            var second = await CreateInitializedAsync();
            Assert.Equal(content, (await RetrieveAsync(id, second)).Content);
        }

        private sealed class CancellingStream : MemoryStream
        {
            private readonly CancellationTokenSource _cts;
            private readonly long _cancelAfter;

            public CancellingStream(byte[] content, CancellationTokenSource cts, long cancelAfterBytes) : base(content)
            {
                _cts = cts;
                _cancelAfter = cancelAfterBytes;
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                if (Position >= _cancelAfter)
                {
                    _cts.Cancel();
                }

                return base.Read(buffer, offset, count);
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                return Task.FromResult(Read(buffer, offset, count));
            }
        }
    }
}
