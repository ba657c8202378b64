using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;

namespace TransferTools.Engine.Tests.Http
{
    /// <summary>
    /// Runs a real test server (sshd, nginx) through tests/services/TestServices.psm1 in a child pwsh, so the xunit
    /// tests and the Pester tests share one source of truth. The child keeps the server alive until disposed.
    /// </summary>
    public sealed class TestServiceHost : IDisposable
    {
        private readonly Process _process;
        private readonly string _scriptPath;

        private TestServiceHost(Process process, string scriptPath, JsonElement info)
        {
            _process = process;
            _scriptPath = scriptPath;
            Info = info;
        }

        /// <summary>What Start-TestSshd / Start-TestNginx returned (without the process).</summary>
        public JsonElement Info { get; }

        public string Get(string name) => Info.GetProperty(name).ValueKind == JsonValueKind.Number
            ? Info.GetProperty(name).GetRawText()
            : Info.GetProperty(name).GetString() ?? "";

        public int Port => Info.GetProperty("Port").GetInt32();

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

        /// <summary>Starts <c>Start-Test{service}</c> (Sshd or Nginx).</summary>
        public static TestServiceHost Start(string service)
        {
            var root = RepoRoot;
            var script = Path.Combine(Path.GetTempPath(), $"tt-servicehost-{Guid.NewGuid():n}.ps1");
            File.WriteAllText(script, $$"""
                $ErrorActionPreference = 'Stop'
                Import-Module '{{Path.Combine(root, "tests/services/TestServices.psm1")}}'
                $server = Start-Test{{service}}
                'READY ' + ($server | Select-Object * -ExcludeProperty Process | ConvertTo-Json -Compress -Depth 3)
                [Console]::Out.Flush()
                while ($true) {
                    $line = [Console]::In.ReadLine()
                    if ($null -eq $line -or $line -eq 'stop') { break }
                    if ($line -eq 'restart') { Restart-TestSshd $server | Out-Null; 'RESTARTED'; [Console]::Out.Flush() }
                }
                Stop-AllTestServices
                """);
            var psi = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = root,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", script })
            {
                psi.ArgumentList.Add(a);
            }

            var process = Process.Start(psi)!;
            var errors = process.StandardError.ReadToEndAsync();
            string? line;
            while ((line = process.StandardOutput.ReadLine()) != null)
            {
                if (line.StartsWith("READY ", StringComparison.Ordinal))
                {
                    var info = JsonDocument.Parse(line.Substring(6)).RootElement.Clone();
                    return new TestServiceHost(process, script, info);
                }
            }

            process.WaitForExit(10000);
            throw new InvalidOperationException($"Start-Test{service} failed: {errors.GetAwaiter().GetResult()}");
        }

        /// <summary>Kills the server and starts it again on the same port (Restart-TestSshd).</summary>
        public void Restart()
        {
            _process.StandardInput.WriteLine("restart");
            _process.StandardInput.Flush();
            string? line;
            while ((line = _process.StandardOutput.ReadLine()) != null && line != "RESTARTED")
            {
            }
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.WriteLine("stop");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(15000))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            catch (Exception)
            {
                // The child is gone already.
            }

            _process.Dispose();
            try
            {
                File.Delete(_scriptPath);
            }
            catch (IOException)
            {
            }
        }
    }
}
