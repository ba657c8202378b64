using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.BuiltIn.Http;
using TransferTools.Plugins.Sftp;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    // The protocol conformance suite against servers written by other people (issue 27's server matrix), each started by
    // tests/services (ThirdPartyServices.ps1) as the unprivileged user ttsrv, in a folder of this test's own.

    /// <summary>An SFTP server of the matrix, with a known_hosts file that trusts it.</summary>
    public abstract class ThirdPartySftpFixture : ServiceFixture
    {
        protected ThirdPartySftpFixture(string service) : base(service)
        {
            KnownHostsFile = Path.Combine(Path.GetTempPath(), $"tt-conformance-known_hosts-{Guid.NewGuid():n}");
            File.WriteAllText(KnownHostsFile, Get("KnownHostsLine") + "\n");
        }

        public string KnownHostsFile { get; }

        protected override void Cleanup() => File.Delete(KnownHostsFile);
    }

    /// <summary>rclone serve sftp (Start-TestRcloneSftp).</summary>
    public sealed class RcloneSftpFixture : ThirdPartySftpFixture
    {
        public RcloneSftpFixture() : base("rclone-sftp")
        {
        }
    }

    /// <summary>ProFTPD mod_sftp (Start-TestProftpdSftp).</summary>
    public sealed class ProftpdSftpFixture : ThirdPartySftpFixture
    {
        public ProftpdSftpFixture() : base("proftpd-sftp")
        {
        }
    }

    /// <summary>Apache httpd mod_dav (Start-TestApacheDav).</summary>
    public sealed class ApacheDavFixture : ServiceFixture
    {
        public ApacheDavFixture() : base("apache-dav")
        {
        }
    }

    /// <summary>rclone serve webdav (Start-TestRcloneWebDav).</summary>
    public sealed class RcloneWebDavFixture : ServiceFixture
    {
        public RcloneWebDavFixture() : base("rclone-webdav")
        {
        }
    }

    [CollectionDefinition(Name)]
    public sealed class RcloneSftpCollection : ICollectionFixture<RcloneSftpFixture>
    {
        public const string Name = "rclone-sftp";
    }

    [CollectionDefinition(Name)]
    public sealed class ProftpdSftpCollection : ICollectionFixture<ProftpdSftpFixture>
    {
        public const string Name = "proftpd-sftp";
    }

    [CollectionDefinition(Name)]
    public sealed class ApacheDavCollection : ICollectionFixture<ApacheDavFixture>
    {
        public const string Name = "apache-dav";
    }

    [CollectionDefinition(Name)]
    public sealed class RcloneWebDavCollection : ICollectionFixture<RcloneWebDavFixture>
    {
        public const string Name = "rclone-webdav";
    }

    /// <summary>The Sftp protocol against a third-party SFTP server (user tt, password).</summary>
    public abstract class ThirdPartySftpConformance : ProtocolPluginConformance
    {
        private readonly ThirdPartySftpFixture _server;
        private readonly string _folder = "conformance-" + Guid.NewGuid().ToString("n");

        protected ThirdPartySftpConformance(ThirdPartySftpFixture server) => _server = server;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), CreateLocation(""), CreateOptions()));
        }

        protected override IProtocolPlugin CreatePlugin() => new SftpProtocolPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string> { [SftpProtocolPlugin.KnownHostsPathKey] = _server.KnownHostsFile };

        protected override TransferOptions CreateOptions() => new TransferOptions
        {
            Credential = new NetworkCredential(_server.Get("User"), _server.Get("Password")),
            StallTimeout = TimeSpan.FromSeconds(20),
        };

        protected override Uri CreateLocation(string name) =>
            new Uri($"sftp://{_server.Get("User")}@127.0.0.1:{_server.Port}{_server.Get("PathPrefix")}/{_folder}/{name}");
    }

    /// <summary>The Http protocol against a third-party WebDAV server (Basic auth).</summary>
    public abstract class ThirdPartyDavConformance : ProtocolPluginConformance
    {
        private readonly ServiceFixture _server;
        private readonly string _folder = "conformance-" + Guid.NewGuid().ToString("n");

        protected ThirdPartyDavConformance(ServiceFixture server) => _server = server;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            await WithTimeout(Endpoint.CreateDirectoryAsync(NewContext(), CreateLocation(""), CreateOptions()));
        }

        protected override IProtocolPlugin CreatePlugin() => new HttpProtocolPlugin();

        protected override TransferOptions CreateOptions() => new TransferOptions
        {
            Credential = new NetworkCredential(_server.Get("User"), _server.Get("Password")),
            StallTimeout = TimeSpan.FromSeconds(20),
        };

        protected override Uri CreateLocation(string name) => new Uri($"{_server.Get("BaseUri")}/{_folder}/{name}");
    }

    [Collection(RcloneSftpCollection.Name)]
    public class RcloneSftpConformance : ThirdPartySftpConformance
    {
        public RcloneSftpConformance(RcloneSftpFixture server) : base(server)
        {
        }

        /// <summary>rclone's VFS without --vfs-cache-mode writes answers "Illegal seek" to a write into an existing file.</summary>
        protected override bool ContinuesWritesAtOffset => false;
    }

    [Collection(ProftpdSftpCollection.Name)]
    public class ProftpdSftpConformance : ThirdPartySftpConformance
    {
        public ProftpdSftpConformance(ProftpdSftpFixture server) : base(server)
        {
        }
    }

    [Collection(ApacheDavCollection.Name)]
    public class ApacheDavConformance : ThirdPartyDavConformance
    {
        public ApacheDavConformance(ApacheDavFixture server) : base(server)
        {
        }
    }

    [Collection(RcloneWebDavCollection.Name)]
    public class RcloneWebDavConformance : ThirdPartyDavConformance
    {
        public RcloneWebDavConformance(RcloneWebDavFixture server) : base(server)
        {
        }
    }

    /// <summary>
    /// The Http protocol against nginx's /put/ location (<c>dav_methods PUT</c>: no MOVE, MKCOL or DELETE), written under
    /// the engine's own temporary names, which the plain-PUT fallback sends straight to the final name.
    /// </summary>
    [Collection(NginxCollection.Name)]
    public class NginxPutOnlyConformance : ProtocolPluginConformance
    {
        private readonly NginxFixture _nginx;
        private readonly string _folder = "conformance-" + Guid.NewGuid().ToString("n");

        public NginxPutOnlyConformance(NginxFixture nginx) => _nginx = nginx;

        protected override IProtocolPlugin CreatePlugin() => new HttpProtocolPlugin();

        protected override TransferOptions CreateOptions() => new TransferOptions { StallTimeout = TimeSpan.FromSeconds(20) };

        // nginx makes the folders on the way of a PUT (create_full_put_path): the test's folder needs no MKCOL.
        protected override Uri CreateLocation(string name) => new Uri($"{_nginx.Get("BaseUri")}/put/{_folder}/{name}");

        /// <summary>The engine's temporary name, .NAME.ID8.ttpart (TransferLocation.Temporary).</summary>
        protected override Uri TemporaryFor(Uri final)
        {
            var name = final.AbsolutePath.Substring(final.AbsolutePath.LastIndexOf('/') + 1);
            return new Uri(final, "./." + name + "." + Guid.NewGuid().ToString("n").Substring(0, 8) + ".ttpart");
        }

        /// <summary>The upload goes to the final name; the commit only waits for the PUT's answer.</summary>
        protected override bool CommitsByMove => false;

        /// <summary>dav_methods PUT: DELETE is 405.</summary>
        protected override bool DeletesFiles => false;

        /// <summary>No MKCOL: nginx makes the folders on the way of a PUT (create_full_put_path).</summary>
        protected override bool CreatesDirectories => false;
    }
}
