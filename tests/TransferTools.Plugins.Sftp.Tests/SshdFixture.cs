using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using TransferTools.Abstractions;
using TransferTools.Engine.Tests.Http;

namespace TransferTools.Plugins.Sftp.Tests
{
    /// <summary>A real OpenSSH sshd (Start-TestSshd) and a plugin instance that trusts it through a known_hosts file.</summary>
    public class SshdFixture : IDisposable
    {
        public SshdFixture()
        {
            Server = TestServiceHost.Start("Sshd");
            WorkDir = Path.Combine(Path.GetTempPath(), $"tt-sftp-tests-{Guid.NewGuid():n}");
            Directory.CreateDirectory(WorkDir);
            KnownHostsFile = Path.Combine(WorkDir, "known_hosts");
            File.WriteAllText(KnownHostsFile, Server.Get("KnownHostsLine") + "\n");
            Plugin = NewPlugin(KnownHostsFile);
        }

        public TestServiceHost Server { get; }
        public string WorkDir { get; }
        public string KnownHostsFile { get; }
        public SftpProtocolPlugin Plugin { get; }
        public int Port => Server.Port;
        public string Fingerprint => Server.Get("HostKeyFingerprint");
        public string PasswordUser => Server.Get("PasswordUser");
        public string KeyUser => Server.Get("KeyUser");
        public string PasswordUserData => Server.Get("PasswordUserData");
        public string KeyUserData => Server.Get("KeyUserData");

        public static SftpProtocolPlugin NewPlugin(string knownHosts)
        {
            var plugin = new SftpProtocolPlugin();
            plugin.InitAsync(OperationContext.None, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                [SftpProtocolPlugin.KnownHostsPathKey] = knownHosts,
            }).GetAwaiter().GetResult();
            return plugin;
        }

        public TransferOptions PasswordOptions(string? password = null) => new TransferOptions
        {
            Credential = new NetworkCredential(PasswordUser, password ?? Server.Get("Password")),
            StallTimeout = TimeSpan.FromSeconds(20),
        };

        public TransferOptions KeyOptions(bool encrypted = false, string? passphrase = null) => new TransferOptions
        {
            Custom = { [SftpProtocolPlugin.KeyFileKey] = encrypted ? Server.Get("EncryptedKeyFile") : Server.Get("KeyFile") },
            Credential = passphrase is null ? null : new NetworkCredential(KeyUser, passphrase),
            StallTimeout = TimeSpan.FromSeconds(20),
        };

        public Uri PasswordUri(string path) => new Uri($"sftp://{PasswordUser}@127.0.0.1:{Port}{path}");
        public Uri KeyUri(string path) => new Uri($"sftp://{KeyUser}@127.0.0.1:{Port}{path}");

        public void Dispose()
        {
            Plugin.ShutdownAsync(OperationContext.None).GetAwaiter().GetResult();
            Server.Dispose();
            try
            {
                Directory.Delete(WorkDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
