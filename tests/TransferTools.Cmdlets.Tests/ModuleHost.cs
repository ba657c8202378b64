using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security.Cryptography;

// TRANSFERTOOLS_HOME is one variable per process: test classes take turns, each with its own home.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace TransferTools.Cmdlets.Tests
{
    /// <summary>
    /// One temporary TRANSFERTOOLS_HOME and work folder per test class, and PowerShell runspaces that import the built
    /// module. A new runspace is a new TransferTools session (sessions are per runspace); every runspace of a class shares
    /// the class's home, as two pwsh windows of one user share theirs.
    /// </summary>
    public sealed class ModuleHost : IDisposable
    {
        private readonly string? _previousHome;
        private readonly List<Runspace> _runspaces = new List<Runspace>();
        private Runspace? _shared;

        public ModuleHost()
        {
            ModuleManifest = FindModule();
            Root = Path.Combine(Path.GetTempPath(), "tt-cmdlets-" + Guid.NewGuid().ToString("n"));
            Home = Path.Combine(Root, "home");
            Work = Path.Combine(Root, "work");
            Directory.CreateDirectory(Home);
            Directory.CreateDirectory(Work);
            _previousHome = Environment.GetEnvironmentVariable("TRANSFERTOOLS_HOME");
            Environment.SetEnvironmentVariable("TRANSFERTOOLS_HOME", Home);
        }

        /// <summary>out/TransferTools/TransferTools.psd1, or the module TRANSFERTOOLS_TEST_MODULE names.</summary>
        public string ModuleManifest { get; }

        public string Root { get; }

        /// <summary>The TRANSFERTOOLS_HOME of this class's sessions.</summary>
        public string Home { get; }

        /// <summary>A folder for the test's own files.</summary>
        public string Work { get; }

        /// <summary>The class's long-lived runspace (one session for all its tests), opened on first use.</summary>
        public Runspace Shared => _shared ??= NewRunspace();

        /// <summary>A new runspace with the module imported: a new session on this class's home.</summary>
        public Runspace NewRunspace()
        {
            var state = InitialSessionState.CreateDefault2();
            state.ImportPSModule(ModuleManifest);
            state.Variables.Add(new SessionStateVariableEntry("Work", Work, "The test's work folder"));
            var runspace = RunspaceFactory.CreateRunspace(state);
            runspace.Open();
            _runspaces.Add(runspace);
            return runspace;
        }

        /// <summary>Runs <paramref name="script"/> in <see cref="Shared"/>; errors are collected, not thrown.</summary>
        public Result Run(string script, IDictionary<string, object?>? parameters = null) => Run(Shared, script, parameters);

        public static Result Run(Runspace runspace, string script, IDictionary<string, object?>? parameters = null)
        {
            using var shell = PowerShell.Create(runspace);
            shell.AddScript(script);
            if (parameters != null)
            {
                shell.AddParameters((System.Collections.IDictionary)parameters.ToDictionary(p => p.Key, p => p.Value));
            }

            var output = shell.Invoke();
            return new Result(output, shell.Streams.Error.ToList(), shell.HadErrors);
        }

        /// <summary>A file of <paramref name="size"/> seeded pseudo-random bytes under <see cref="Work"/>.</summary>
        public string NewFile(string relativePath, int size, int seed = 1)
        {
            var path = Path.Combine(Work, relativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = new byte[size];
            new Random(seed).NextBytes(data);
            File.WriteAllBytes(path, data);
            return path;
        }

        /// <summary>A new empty folder under <see cref="Work"/>.</summary>
        public string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(Work, name)).FullName;

        /// <summary>
        /// Every file under the home and the work folder with its SHA-256: what "changes nothing" compares. The
        /// session's log (written as it goes) is left out.
        /// </summary>
        public IReadOnlyDictionary<string, string> Snapshot()
        {
            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(Root, file);
                if (relative.EndsWith(".log", StringComparison.Ordinal) || relative.Contains("-wal", StringComparison.Ordinal)
                    || relative.Contains("-shm", StringComparison.Ordinal))
                {
                    continue;
                }

                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                files[relative] = Convert.ToHexString(SHA256.HashData(stream));
            }

            foreach (var folder in Directory.EnumerateDirectories(Root, "*", SearchOption.AllDirectories))
            {
                files[Path.GetRelativePath(Root, folder) + "/"] = "";
            }

            return files;
        }

        public void Dispose()
        {
            foreach (var runspace in _runspaces)
            {
                runspace.Dispose();
            }

            Environment.SetEnvironmentVariable("TRANSFERTOOLS_HOME", _previousHome);
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        private static string FindModule()
        {
            var named = Environment.GetEnvironmentVariable("TRANSFERTOOLS_TEST_MODULE");
            if (!string.IsNullOrEmpty(named))
            {
                return Path.Combine(named, "TransferTools.psd1");
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "TransferTools.sln")))
                {
                    var manifest = Path.Combine(dir.FullName, "out", "TransferTools", "TransferTools.psd1");
                    return File.Exists(manifest)
                        ? manifest
                        : throw new InvalidOperationException($"The module is not built ({manifest}): run ./build.ps1 first.");
                }
            }

            throw new InvalidOperationException("TransferTools.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>What one script wrote: its output objects and its error records.</summary>
    public sealed record Result(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, bool HadErrors)
    {
        /// <summary>The output's base objects (PowerShell wraps each in a PSObject).</summary>
        public IReadOnlyList<object> Objects => Output.Select(o => o.BaseObject).ToList();

        /// <summary>Fails with the errors' text unless there were none.</summary>
        public Result Succeeded()
        {
            Assert.True(Errors.Count == 0, string.Join(Environment.NewLine, Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
            return this;
        }
    }
}
