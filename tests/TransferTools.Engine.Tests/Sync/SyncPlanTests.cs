using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Sync;
using TransferTools.Engine.Transfers;
using TransferTools.Engine.Tests.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Sync
{
    /// <summary>
    /// The folder sync's plan (<see cref="SyncPlan"/>): the merge of two sorted walks, the comparison, the filters, and
    /// the rule that a listing problem on either side stops every delete. Both trees are scripted listings.
    /// </summary>
    public sealed class SyncPlanTests : LocalTransferTestBase
    {
        private static readonly DateTimeOffset T0 = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);

        private static FolderWalk Walk(string root, Dictionary<string, RemoteFolderEntry[]> tree, string? failAt = null) =>
            new FolderWalk(root, (context, folder) =>
            {
                var path = folder.AbsolutePath.EndsWith("/") ? folder.AbsolutePath : folder.AbsolutePath + "/";
                if (path == failAt)
                {
                    throw new PluginException(ErrorCode.ConnectionError, "The connection dropped.", errorId: "ConnectionLost", target: path);
                }

                return tree.TryGetValue(path, out var listed)
                    ? Task.FromResult<IReadOnlyList<RemoteFolderEntry>?>(listed)
                    : throw new PluginException(ErrorCode.NotFound, $"'{path}' is gone.", errorId: "SourceNotFound", target: path);
            }, "received");

        private static RemoteFolderEntry F(string name, long length = 10, DateTimeOffset? time = null) =>
            new RemoteFolderEntry { Name = name, Length = length, LastModified = time ?? T0 };

        private static RemoteFolderEntry D(string name) => new RemoteFolderEntry { Name = name, IsDirectory = true };

        private async Task<(List<SyncItem> Items, SyncPlan Plan)> Run(Dictionary<string, RemoteFolderEntry[]> source, Dictionary<string, RemoteFolderEntry[]> destination,
            SyncOptions options, string? failSourceAt = null, string? failDestinationAt = null)
        {
            var plan = new SyncPlan(Walk("sftp://h/s/", source, failSourceAt), Walk("sftp://h/d/", destination, failDestinationAt), options,
                (c, e) => Task.FromResult(e.Location.EndsWith("same") ? "aa" : e.Location), TimeSpan.FromSeconds(1));
            var items = new List<SyncItem>();
            while (true)
            {
                while (plan.TryNext(out var item))
                {
                    items.Add(item);
                }

                if (!await plan.AdvanceAsync(Context))
                {
                    return (items, plan);
                }
            }
        }

        private static string Show(IEnumerable<SyncItem> items) =>
            string.Join(" ", items.Where(i => i.Action != SyncAction.Unchanged || i.Reason.Length > 0).Select(i => i.Action + ":" + i.RelativePath));

        [Fact]
        public async Task Merges_both_walks_in_one_pass_pairing_each_path_with_its_twin()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/s/"] = new[] { F("a.txt"), D("a"), F("b"), F("changed", 11) },
                ["/s/a/"] = new[] { F("x"), F("y", time: T0.AddMinutes(5)) },
            };
            var destination = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/d/"] = new[] { D("a"), F("a.txt", time: T0.AddMilliseconds(900)), F("changed"), D("old"), F("zz") },
                ["/d/a/"] = new[] { F("y"), F("w") },
                ["/d/old/"] = new[] { F("o") },
            };

            var (items, plan) = await Run(source, destination, new SyncOptions { Mirror = true });

            Assert.False(plan.ListingFailed);
            Assert.Equal(5, plan.SourceFiles);
            Assert.Equal("Unchanged:a.txt Delete:a/w Copy:a/x Update:a/y Copy:b Update:changed DeleteFolder:old Delete:old/o Delete:zz", Show(items));
            Assert.Contains("size differs", items.Single(i => i.RelativePath == "changed").Reason);
            Assert.Contains("the source is newer", items.Single(i => i.RelativePath == "a/y").Reason);
        }

        [Fact]
        public async Task Without_mirror_nothing_is_planned_for_destination_only_files()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]> { ["/s/"] = new[] { F("a") } };
            var destination = new Dictionary<string, RemoteFolderEntry[]> { ["/d/"] = new[] { F("a"), F("b") } };
            var (items, _) = await Run(source, destination, new SyncOptions());
            Assert.DoesNotContain(items, i => i.Action == SyncAction.Delete);
        }

        [Fact]
        public async Task A_listing_that_fails_on_either_side_marks_the_plan_so_nothing_is_deleted()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]> { ["/s/"] = new[] { D("sub"), F("z") }, ["/s/sub/"] = new[] { F("q") } };
            var destination = new Dictionary<string, RemoteFolderEntry[]> { ["/d/"] = new[] { D("sub"), F("extra") }, ["/d/sub/"] = new RemoteFolderEntry[0] };

            var (items, plan) = await Run(source, destination, new SyncOptions { Mirror = true }, failSourceAt: "/s/sub/");
            Assert.True(plan.ListingFailed);
            Assert.Contains(items, i => i.Action == SyncAction.Error);

            (_, plan) = await Run(source, destination, new SyncOptions { Mirror = true }, failDestinationAt: "/d/sub/");
            Assert.True(plan.ListingFailed);
        }

        [Fact]
        public async Task A_missing_destination_is_empty_and_a_missing_source_is_fatal()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]> { ["/s/"] = new[] { F("a") } };
            var (items, plan) = await Run(source, new Dictionary<string, RemoteFolderEntry[]>(), new SyncOptions { Mirror = true });
            Assert.True(plan.DestinationMissing);
            Assert.False(plan.ListingFailed);
            Assert.Equal("Copy:a", Show(items));

            (items, plan) = await Run(new Dictionary<string, RemoteFolderEntry[]>(), source, new SyncOptions { Mirror = true });
            var error = Assert.Single(items, i => i.Action == SyncAction.Error);
            Assert.True(error.Fatal);
            Assert.Equal("SyncSourceNotFound", ((PluginException)error.Error!).ErrorId);
            Assert.DoesNotContain(items, i => i.Action == SyncAction.Delete);
        }

        [Fact]
        public async Task Update_keeps_a_newer_destination_and_store_times_compare_by_size()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]> { ["/s/"] = new[] { F("n"), F("o", time: T0.AddDays(-1)) } };
            var destination = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/d/"] = new[] { F("n", time: T0.AddHours(1)), new RemoteFolderEntry { Name = "o", Length = 10, LastModified = T0, TimeIsStorageTime = true } },
            };
            var (items, _) = await Run(source, destination, new SyncOptions());
            Assert.Equal(SyncAction.Update, items.Single(i => i.RelativePath == "n").Action);
            Assert.Equal(SyncAction.Unchanged, items.Single(i => i.RelativePath == "o").Action);

            (items, _) = await Run(source, destination, new SyncOptions { Update = true });
            Assert.Contains("-Update keeps it", items.Single(i => i.RelativePath == "n").Reason);
        }

        [Fact]
        public async Task Checksum_uses_kept_hashes_and_reads_the_others()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]> { ["/s/"] = new[] { F("same"), F("diff") } };
            var destination = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/d/"] = new[] { new RemoteFolderEntry { Name = "same", Length = 10, Sha256 = "aa" }, new RemoteFolderEntry { Name = "diff", Length = 10, Sha256 = "bb" } },
            };
            var (items, _) = await Run(source, destination, new SyncOptions { Compare = SyncComparison.Checksum });
            Assert.Equal(SyncAction.Unchanged, items.Single(i => i.RelativePath == "same").Action);
            var diff = items.Single(i => i.RelativePath == "diff");
            Assert.Equal(SyncAction.Update, diff.Action);
            Assert.Equal("bb", diff.DestinationSha256);
        }

        [Fact]
        public async Task Excluded_files_are_neither_copied_nor_deleted_unless_delete_excluded()
        {
            var source = new Dictionary<string, RemoteFolderEntry[]> { ["/s/"] = new[] { F("a.log"), F("b.txt") } };
            var destination = new Dictionary<string, RemoteFolderEntry[]> { ["/d/"] = new[] { F("c.log") } };
            var filter = new SyncFilter(null, new[] { "*.log" }, null);
            var (items, _) = await Run(source, destination, new SyncOptions { Mirror = true, Filter = filter });
            Assert.Equal("Copy:b.txt", Show(items));
            (items, _) = await Run(source, destination, new SyncOptions { Mirror = true, DeleteExcluded = true, Filter = filter });
            Assert.Equal("Copy:b.txt Delete:c.log", Show(items));
        }

        [Theory]
        [InlineData("*.log", "a/b/c.log", true)]
        [InlineData("*.log", "c.log", true)]
        [InlineData("/*.log", "a/c.log", false)]
        [InlineData("/*.log", "c.log", true)]
        [InlineData("a/**/c.txt", "a/c.txt", true)]
        [InlineData("a/**/c.txt", "a/x/y/c.txt", true)]
        [InlineData("a/*/c.txt", "a/x/y/c.txt", false)]
        [InlineData("**", "anything/at/all", true)]
        [InlineData("f?.{jpg,png}", "d/f1.png", true)]
        [InlineData("f?.{jpg,png}", "d/f12.png", false)]
        [InlineData("[ab]*.txt", "b1.txt", true)]
        [InlineData("[!ab]*.txt", "b1.txt", false)]
        public void Globs_follow_rclone(string glob, string path, bool matches)
        {
            Assert.Equal(matches, SyncFilter.ToRegex(glob).IsMatch(path));
        }

        [Fact]
        public void A_broken_pattern_is_a_clear_error()
        {
            var e = Assert.Throws<PluginException>(() => new SyncFilter(new[] { "a[b" }, null, null));
            Assert.Equal("SyncFilterInvalid", e.ErrorId);
        }
    }
}
