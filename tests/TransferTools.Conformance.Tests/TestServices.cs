using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    /// <summary>
    /// One real server from tests/services (sshd, nginx, azurite, oidc), started once per test run through
    /// <c>tests/services/Serve.ps1</c> in a child pwsh, so the xunit and Pester tests share one way of starting them.
    /// Serve.ps1 writes the server's connection details to an info file and keeps the server up until that file is
    /// deleted or this process exits.
    /// </summary>
    public abstract class ServiceFixture : IDisposable
    {
        // The first run on a machine may install packages (apt, npm) before the server starts.
        private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(5);

        // One start at a time: the first start installs what is missing (apt, npm ci into tests/services/node), and
        // two installs at once trip over each other.
        private static readonly object StartGate = new object();
        private readonly Process _process;
        private readonly string _infoFile;
        private readonly StringBuilder _output = new StringBuilder();

        protected ServiceFixture(string service)
        {
            lock (StartGate)
            {
                Service = service;
                _infoFile = Path.Combine(Path.GetTempPath(), $"tt-conformance-{service}-{Guid.NewGuid():n}.json");
                _process = Start(service, _infoFile, out var info);
                Info = info;
            }
        }

        private Process Start(string service, string infoFile, out JsonElement info)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = RepoRoot,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "pwsh", "-NoProfile", "-NonInteractive", "-File", Path.Combine(RepoRoot, "tests", "services", "Serve.ps1"),
                "-Service", service, "-InfoFile", infoFile, "-ParentPid", Environment.ProcessId.ToString(),
            })
            {
                psi.ArgumentList.Add(argument);
            }

            var process = Process.Start(psi) ?? throw new InvalidOperationException("Could not start pwsh for tests/services/Serve.ps1.");
            process.OutputDataReceived += (_, e) => Remember(e.Data);
            process.ErrorDataReceived += (_, e) => Remember(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var deadline = DateTime.UtcNow + StartTimeout;
            while (!File.Exists(infoFile))
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    Stop(process, infoFile);
                    throw new InvalidOperationException($"tests/services/Serve.ps1 -Service {service} did not start the server: {Output}");
                }

                Thread.Sleep(100);
            }

            using (var document = JsonDocument.Parse(File.ReadAllText(infoFile)))
            {
                info = document.RootElement.GetProperty(service).Clone();
            }

            return process;
        }

        /// <summary>sshd, nginx, azurite or oidc.</summary>
        public string Service { get; }

        /// <summary>What the Start-Test* function returned (Process replaced by Pid).</summary>
        public JsonElement Info { get; }

        /// <summary>The port the server listens on (127.0.0.1).</summary>
        public int Port => Info.GetProperty("Port").GetInt32();

        /// <summary>A property of <see cref="Info"/> as text.</summary>
        public string Get(string name)
        {
            var value = Info.GetProperty(name);
            return value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : value.GetRawText();
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        /// <summary>The repository root (the folder with TransferTools.sln).</summary>
        public static string RepoRoot
        {
            get
            {
                var dir = new DirectoryInfo(AppContext.BaseDirectory);
                while (dir != null && !File.Exists(Path.Combine(dir.FullName, "TransferTools.sln")))
                {
                    dir = dir.Parent;
                }

                return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (TransferTools.sln).");
            }
        }

        public void Dispose()
        {
            Stop(_process, _infoFile);
            Cleanup();
        }

        /// <summary>Removes what the derived fixture made, after the server stopped.</summary>
        protected virtual void Cleanup()
        {
        }

        private void Remember(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                if (_output.Length < 20000)
                {
                    _output.AppendLine(line);
                }
            }
        }

        private static void Stop(Process process, string infoFile)
        {
            try
            {
                // Serve.ps1 stops its servers once the info file is gone (it checks twice a second).
                File.Delete(infoFile);
                if (!process.WaitForExit(15000))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // The process is gone already.
            }
            catch (IOException)
            {
            }

            process.Dispose();
        }
    }

    /// <summary>OpenSSH sshd (Start-TestSshd) and a known_hosts file that trusts it.</summary>
    public sealed class SshdFixture : ServiceFixture
    {
        public SshdFixture() : base("sshd")
        {
            KnownHostsFile = Path.Combine(Path.GetTempPath(), $"tt-conformance-known_hosts-{Guid.NewGuid():n}");
            File.WriteAllText(KnownHostsFile, Get("KnownHostsLine") + "\n");
        }

        public string KnownHostsFile { get; }

        protected override void Cleanup() => File.Delete(KnownHostsFile);
    }

    /// <summary>nginx with static files and WebDAV (Start-TestNginx).</summary>
    public sealed class NginxFixture : ServiceFixture
    {
        public NginxFixture() : base("nginx")
        {
        }
    }

    /// <summary>The azurite Blob emulator (Start-TestAzurite).</summary>
    public sealed class AzuriteFixture : ServiceFixture
    {
        public AzuriteFixture() : base("azurite")
        {
        }
    }

    /// <summary>Ceph radosgw, a real S3 server on a single-node Ceph (Start-TestRadosgw; ~15 s to start).</summary>
    public sealed class RadosgwFixture : ServiceFixture
    {
        public RadosgwFixture() : base("radosgw")
        {
        }
    }

    /// <summary>The oidc-provider based OpenID Provider (Start-TestOidcProvider).</summary>
    public sealed class OidcProviderFixture : ServiceFixture
    {
        public OidcProviderFixture() : base("oidc")
        {
        }
    }

    // One server per run: every test class that needs it joins its collection. Classes in one collection run one
    // after another; different servers' collections run in parallel.

    [CollectionDefinition(Name)]
    public sealed class SshdCollection : ICollectionFixture<SshdFixture>
    {
        public const string Name = "sshd";
    }

    [CollectionDefinition(Name)]
    public sealed class NginxCollection : ICollectionFixture<NginxFixture>
    {
        public const string Name = "nginx";
    }

    [CollectionDefinition(Name)]
    public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
    {
        public const string Name = "azurite";
    }

    [CollectionDefinition(Name)]
    public sealed class RadosgwCollection : ICollectionFixture<RadosgwFixture>
    {
        public const string Name = "radosgw";
    }

    [CollectionDefinition(Name)]
    public sealed class OidcProviderCollection : ICollectionFixture<OidcProviderFixture>
    {
        public const string Name = "oidc";
    }
}
