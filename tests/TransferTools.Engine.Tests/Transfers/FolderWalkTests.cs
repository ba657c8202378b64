using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>
    /// The engine's one folder walk (<see cref="FolderWalk"/>): its order, what it leaves out, its guards, and how a listing
    /// that fails surfaces. Local trees through the send walk; remote ones through a scripted lister (a server's names).
    /// </summary>
    public sealed class FolderWalkTests : LocalTransferTestBase
    {
        private static async Task<List<FolderWalkEntry>> Drain(FolderWalk walk, OperationContext context)
        {
            var entries = new List<FolderWalkEntry>();
            while (true)
            {
                while (walk.TryNext(out var entry))
                {
                    entries.Add(entry);
                }

                if (!await walk.ListNextAsync(context))
                {
                    return entries;
                }
            }
        }

        private static IEnumerable<string> Files(IEnumerable<FolderWalkEntry> entries) =>
            entries.Where(e => e.Kind == FolderWalkEntryKind.File).Select(e => e.RelativePath);

        /// <summary>A remote tree as a server lists it: folder URI path → entries; listing a missing key throws NotFound.</summary>
        private static FolderWalk Remote(string root, Dictionary<string, RemoteFolderEntry[]> tree, Func<string, Exception?>? fail = null) =>
            new FolderWalk(root, (context, folder) =>
            {
                // The root comes as given (maybe without its '/'), subfolders always with it.
                var path = folder.AbsolutePath.EndsWith("/") ? folder.AbsolutePath : folder.AbsolutePath + "/";
                if (fail?.Invoke(path) is Exception e)
                {
                    throw e;
                }

                return tree.TryGetValue(path, out var listed)
                    ? Task.FromResult<IReadOnlyList<RemoteFolderEntry>?>(listed)
                    : throw new PluginException(ErrorCode.NotFound, $"'{path}' is gone.", errorId: "SourceNotFound", target: path);
            }, "received");

        private static RemoteFolderEntry F(string name) => new RemoteFolderEntry { Name = name, Length = 1 };

        private static RemoteFolderEntry D(string name, bool link = false) => new RemoteFolderEntry { Name = name, IsDirectory = true, IsLink = link };

        [Fact]
        public async Task Entries_come_in_ordinal_order_of_their_relative_paths_a_folder_right_before_its_contents()
        {
            var tree = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/t/"] = new[] { F("a0"), D("a"), F("a.txt"), F("B"), F("a-b") },
                ["/t/a/"] = new[] { F("z"), D("y"), F("x") },
                ["/t/a/y/"] = new[] { F("1") },
            };

            var entries = await Drain(Remote("sftp://h/t", tree), Context);

            var paths = entries.Select(e => e.RelativePath).ToList();
            Assert.Equal(new[] { "B", "a-b", "a.txt", "a", "a/x", "a/y", "a/y/1", "a/z", "a0" }, paths);
            var keys = entries.Select(e => e.Kind == FolderWalkEntryKind.Folder ? e.RelativePath + "/" : e.RelativePath).ToList();
            Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal), keys);
            // Each file knows where it goes: under the root's own name, percent-encoded in its URI.
            var deep = entries.Single(e => e.RelativePath == "a/y/1");
            Assert.Equal("t/a/y", deep.Folder);
            Assert.Equal("sftp://h/t/a/y/1", deep.Location);
            Assert.Equal(FolderWalkEntryKind.Folder, entries.Single(e => e.RelativePath == "a").Kind);
        }

        [Fact]
        public async Task A_remote_walk_lists_folders_ahead_at_most_ListAhead_at_once_in_the_same_order_with_logs_in_walk_order()
        {
            // 30 folders of two files and a subfolder each: the walk must hand them out exactly as one at a time would.
            var tree = new Dictionary<string, RemoteFolderEntry[]> { ["/t/"] = Enumerable.Range(0, 30).Select(i => D($"d{i:D2}")).Append(F("top")).ToArray() };
            for (var i = 0; i < 30; i++)
            {
                tree[$"/t/d{i:D2}/"] = new[] { F("b"), D("sub"), F("a") };
                tree[$"/t/d{i:D2}/sub/"] = new[] { F("deep") };
            }

            var inFlight = 0;
            var most = 0;
            var second = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Func<OperationContext, Uri, Task<IReadOnlyList<RemoteFolderEntry>?>> lister = async (context, folder) =>
            {
                var path = folder.AbsolutePath.EndsWith("/") ? folder.AbsolutePath : folder.AbsolutePath + "/";
                var now = Interlocked.Increment(ref inFlight);
                lock (tree)
                {
                    most = Math.Max(most, now);
                }

                try
                {
                    if (now >= 2)
                    {
                        second.TrySetResult(true);
                    }

                    if (path == "/t/d00/")
                    {
                        // Held until another listing runs beside it: only a walk that lists ahead gets past this.
                        await second.Task.WaitAsync(TimeSpan.FromSeconds(60));
                    }

                    await Task.Yield();
                    context.Logger.Log(LogLevel.Warning, "listed " + path);
                    return tree[path];
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            };
            var lines = new List<string>();
            var context = new OperationContext(logger: new Logger(lines));

            var ahead = await Drain(new FolderWalk("sftp://h/t", lister, "received"), context);
            var serial = await Drain(new FolderWalk("sftp://h/t", (c, f) => Task.FromResult<IReadOnlyList<RemoteFolderEntry>?>(
                tree[f.AbsolutePath.EndsWith("/") ? f.AbsolutePath : f.AbsolutePath + "/"]), "received", listAhead: 0), context);

            Assert.Equal(serial.Select(e => e.Kind + " " + e.RelativePath), ahead.Select(e => e.Kind + " " + e.RelativePath));
            Assert.Equal(30 * 3 + 1, Files(ahead).Count());
            Assert.InRange(most, 2, FolderWalk.ListAhead + 1);
            // Each listing's lines reach the caller when the walk takes that folder: in walk order, whatever order they ran in.
            var folders = new[] { "/t/" }.Concat(serial.Where(e => e.Kind == FolderWalkEntryKind.Folder).Select(e => "/t/" + e.RelativePath + "/"));
            Assert.Equal(folders.Select(f => "listed " + f), lines);
        }

        [Fact]
        public async Task A_local_walk_lists_at_most_LocalListAhead_folders_ahead_in_the_same_order_with_warnings_in_walk_order()
        {
            var root = NewFolder("ahead");
            for (var i = 0; i < 12; i++)
            {
                NewFolder(Path.Combine("ahead", $"d{i:D2}", "sub"));
                NewFile(Path.Combine("ahead", $"d{i:D2}", "b"), 1);
                NewFile(Path.Combine("ahead", $"d{i:D2}", "sub", "deep"), 2);
                NewFile(Path.Combine("ahead", $"d{i:D2}", "a"), 3);
            }

            var fifo = Path.Combine(root, "d05", "sub", "pipe");
            var pipes = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
            if (pipes)
            {
                using var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)!;
                mkfifo.WaitForExit();
            }

            var plugin = new BuiltIn.FileSystem.FileSystemProtocolPlugin();
            var inFlight = 0;
            var most = 0;
            var second = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var listed = new List<string>();
            Func<OperationContext, Uri, Task<IReadOnlyList<RemoteFolderEntry>?>> lister = async (context, folder) =>
            {
                var now = Interlocked.Increment(ref inFlight);
                lock (listed)
                {
                    most = Math.Max(most, now);
                    listed.Add(folder.LocalPath);
                }

                try
                {
                    if (now >= 2)
                    {
                        second.TrySetResult(true);
                    }

                    if (folder.LocalPath.TrimEnd('/') != root.TrimEnd('/'))
                    {
                        // Every listing below the root is held until two run at once: only a walk that lists ahead gets
                        // past this. (Holding only d00 raced: d01 and d02, listed ahead, could finish before d00 began.)
                        await second.Task.WaitAsync(TimeSpan.FromSeconds(60));
                    }

                    return await plugin.ListFolderAsync(context, folder, new TransferOptions());
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            };
            var aheadWarnings = new List<string>();
            var serialWarnings = new List<string>();

            var ahead = await Drain(new FolderWalk(root, lister, "sent"), Session.CreateContext(default, new Logger(aheadWarnings)));
            var serial = await Drain(new FolderWalk(root, async (c, f) => await plugin.ListFolderAsync(c, f, new TransferOptions()), "sent", listAhead: 0),
                Session.CreateContext(default, new Logger(serialWarnings)));

            Assert.Equal(serial.Select(e => e.Kind + " " + e.RelativePath), ahead.Select(e => e.Kind + " " + e.RelativePath));
            Assert.Equal(12 * 3, Files(ahead).Count());
            Assert.InRange(most, 2, FolderWalk.LocalListAhead + 1);
            Assert.Equal(serialWarnings, aheadWarnings);
            if (pipes)
            {
                Assert.Contains($"'{fifo}' is a named pipe (FIFO), not a file; skipped.", aheadWarnings);
            }
        }

        [Fact]
        public async Task A_local_tree_is_walked_in_the_same_order_with_sizes_and_each_file_goes_under_the_roots_name()
        {
            var root = NewFolder("tree");
            NewFile(Path.Combine("tree", "a0"), 10);
            NewFolder(Path.Combine("tree", "a"));
            NewFile(Path.Combine("tree", "a", "x"), 20);
            NewFile(Path.Combine("tree", "a.txt"), 30);
            NewFolder(Path.Combine("tree", "empty"));

            var entries = await Drain(FolderWalk.ForSend(Session, root + Path.DirectorySeparatorChar), Context);

            Assert.Equal(new[] { "a.txt", "a/x", "a0" }, Files(entries));
            var x = entries.Single(e => e.RelativePath == "a/x");
            Assert.Equal(Path.Combine(root, "a", "x"), x.Location);
            Assert.Equal("tree/a", x.Folder);
            Assert.Equal(20, x.Length);
            Assert.Equal("tree", entries.Single(e => e.RelativePath == "a0").Folder);
            Assert.DoesNotContain(entries, e => e.Kind == FolderWalkEntryKind.Error);
        }

        [Fact]
        public async Task TransferTools_own_folders_and_temporaries_are_left_out()
        {
            var root = NewFolder("own");
            NewFile(Path.Combine("own", "kept.bin"), 10);
            NewFile(Path.Combine("own", ".kept.bin.0123abcd.ttpart"), 10);
            NewFolder(Path.Combine("own", TransferManifest.FolderName));
            NewFile(Path.Combine("own", TransferManifest.FolderName, "0123.json"), 10);

            var entries = await Drain(FolderWalk.ForSend(Session, root), Context);

            Assert.Equal(new[] { "kept.bin" }, entries.Select(e => e.RelativePath));
        }

        [Fact]
        public async Task Names_a_server_gives_that_could_climb_out_are_reported_and_skipped()
        {
            var tree = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/t/"] = new[] { F("ok"), F(".."), F("a\\b"), D("..") , F("tab\there") },
            };

            var entries = await Drain(Remote("sftp://h/t/", tree), Context);

            Assert.Equal(new[] { "ok" }, Files(entries));
            var errors = entries.Where(e => e.Kind == FolderWalkEntryKind.Error).Select(e => (PluginException)e.Error!).ToList();
            Assert.Equal(4, errors.Count);
            Assert.All(errors, e => Assert.Equal("SourceNameUnsafe", e.ErrorId));
            Assert.All(errors, e => Assert.Equal(ErrorCode.InvalidArgument, e.Code));
            Assert.Contains(errors, e => (string?)e.Target == "sftp://h/t/a\\b");
        }

        [Fact]
        public async Task A_tree_deeper_than_the_limit_is_SourceTreeTooDeep_below_it_and_walked_above_it()
        {
            // An HTTP listing that cannot tell a link back up the tree from a folder: every folder holds itself again.
            var walk = new FolderWalk("https://h/loop/", (context, folder) =>
                Task.FromResult<IReadOnlyList<RemoteFolderEntry>?>(new[] { F("f"), D("again") }), "received");

            var entries = await Drain(walk, Context);

            Assert.Equal(FolderWalk.MaxDepth + 1, Files(entries).Count());
            var error = Assert.Single(entries, e => e.Kind == FolderWalkEntryKind.Error);
            var pe = Assert.IsType<PluginException>(error.Error);
            Assert.Equal("SourceTreeTooDeep", pe.ErrorId);
            Assert.Equal(ErrorCode.LimitExceeded, pe.Code);
            Assert.Equal(FolderWalk.MaxDepth + 1, error.RelativePath.Split('/').Length);
        }

        [Fact]
        public async Task Linked_folders_are_not_followed_and_said_so_at_verbose()
        {
            var tree = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/t/"] = new[] { F("own"), D("loop", link: true) },
                ["/t/loop/"] = new[] { F("never") },
            };

            var entries = await Drain(Remote("sftp://h/t", tree), Context);

            Assert.Equal(new[] { "own" }, Files(entries));
            Assert.Contains(entries, e => e.Kind == FolderWalkEntryKind.Verbose && e.Message!.Contains("'sftp://h/t/loop' links to a folder; not followed."));

            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                var root = NewFolder("local-link");
                NewFile(Path.Combine("local-link", "own.bin"), 10);
                File.CreateSymbolicLink(Path.Combine(root, "up"), root);
                var local = await Drain(FolderWalk.ForSend(Session, root), Context);
                Assert.Equal(new[] { "own.bin" }, Files(local));
                Assert.Contains(local, e => e.Kind == FolderWalkEntryKind.Verbose);
            }
        }

        [Fact]
        public async Task Pipes_are_left_out_with_a_warning()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return;
            }

            var root = NewFolder("pipes");
            NewFile(Path.Combine("pipes", "own.bin"), 10);
            var fifo = Path.Combine(root, "pipe");
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)!)
            {
                mkfifo.WaitForExit();
                Assert.Equal(0, mkfifo.ExitCode);
            }

            var warnings = new List<string>();
            var context = Session.CreateContext(default, new Logger(warnings));

            var entries = await Drain(FolderWalk.ForSend(Session, root), context);

            Assert.Equal(new[] { "own.bin" }, Files(entries));
            Assert.Contains($"'{fifo}' is a named pipe (FIFO), not a file; skipped.", warnings);
        }

        [Fact]
        public async Task A_subfolder_that_cannot_be_listed_is_reported_and_the_rest_walked()
        {
            var tree = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/t/"] = new[] { D("a"), D("b"), F("c") },
                ["/t/b/"] = new[] { F("in-b") },
            };

            var entries = await Drain(Remote("sftp://h/t", tree, path => path == "/t/a/"
                ? new PluginException(ErrorCode.PermissionDenied, "denied", errorId: "AccessDenied", target: path) : null), Context);

            Assert.Equal(new[] { "b/in-b", "c" }, Files(entries));
            var error = Assert.IsType<PluginException>(Assert.Single(entries, e => e.Kind == FolderWalkEntryKind.Error).Error);
            Assert.Equal("SourceFolderUnreadable", error.ErrorId);
            Assert.Equal(ErrorCode.PermissionDenied, error.Code);
            Assert.Equal("The folder 'sftp://h/t/a/' cannot be listed, so its files are not received: denied", error.Message);
            Assert.Equal("sftp://h/t/a/", error.Target);
        }

        [Fact]
        public async Task A_listing_that_fails_half_way_surfaces_its_error_and_ends_the_walk()
        {
            var tree = new Dictionary<string, RemoteFolderEntry[]>
            {
                ["/t/"] = new[] { F("1"), D("a"), D("b"), F("z") },
                ["/t/a/"] = new[] { F("in-a") },
                ["/t/b/"] = new[] { F("in-b") },
            };
            var lost = new PluginException(ErrorCode.ConnectionError, "connection lost", errorId: "ConnectionLost");

            var entries = await Drain(Remote("sftp://h/t", tree, path => path == "/t/b/" ? lost : null), Context);

            Assert.Equal(new[] { "1", "a/in-a" }, Files(entries));
            var error = Assert.Single(entries, e => e.Kind == FolderWalkEntryKind.Error);
            Assert.Same(lost, error.Error);
            Assert.Equal("sftp://h/t/b/", error.Display);
            Assert.Equal(FolderWalkEntryKind.Error, entries.Last().Kind);
        }

        [Fact]
        public async Task A_root_that_is_a_file_is_one_entry_and_a_root_that_fails_is_its_error()
        {
            var file = NewFile("single.bin", 10);
            var entries = await Drain(FolderWalk.ForReceive(Session.Transfers, file, new TransferOptions()), Context);
            var only = Assert.Single(entries);
            Assert.Equal(FolderWalkEntryKind.File, only.Kind);
            Assert.Equal("", only.Folder);
            Assert.Equal(file, only.Location);

            var missing = await Drain(FolderWalk.ForReceive(Session.Transfers, Path.Combine(Work, "absent"), new TransferOptions()), Context);
            var error = Assert.IsType<PluginException>(Assert.Single(missing).Error);
            Assert.Equal("SourceNotFound", error.ErrorId);
        }

        [Fact]
        public void Beneath_names_a_subfolder_of_a_path_or_of_a_URI()
        {
            Assert.Equal("sftp://h/archive/tree/a%20b/", TransferLocationText.Beneath("sftp://h/archive/", "tree/a b"));
            Assert.Equal("sftp://u@h:2222/tree/", TransferLocationText.Beneath("sftp://u@h:2222", "tree"));
            Assert.Equal("https://h/dav/50%25%20%231/?token=x", TransferLocationText.Beneath("https://h/dav/?token=x", "50% #1"));
            Assert.Equal("file:///a/b/", TransferLocationText.Beneath("file:///", "a/b"));
            Assert.Equal("storage://LocalStore/in/tree/a/", TransferLocationText.Beneath("storage://LocalStore/in", "tree/a"));
            // A path is joined with the platform's separator and ends with one, so the engine takes it as a folder.
            var sep = Path.DirectorySeparatorChar;
            Assert.Equal(Path.Combine(Work, "tree", "a b") + sep, TransferLocationText.Beneath(Work + sep, "tree/a b"));
        }

        private sealed class Logger : IPluginLogger
        {
            private readonly List<string> _warnings;

            public Logger(List<string> warnings) => _warnings = warnings;

            public void Log(LogLevel level, string message)
            {
                if (level == LogLevel.Warning)
                {
                    lock (_warnings)
                    {
                        _warnings.Add(message);
                    }
                }
            }
        }
    }
}
