using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Plugins.S3;

using Xunit;

namespace TransferTools.Conformance.Tests
{
    /// <summary>The built-in S3 protocol against Ceph radosgw, in a bucket of this test's own.</summary>
    [Collection(RadosgwCollection.Name)]
    public class S3Conformance : ProtocolPluginConformance
    {
        private readonly RadosgwFixture _rgw;
        private readonly string _bucket = "conformance-" + Guid.NewGuid().ToString("n").Substring(0, 12);

        public S3Conformance(RadosgwFixture rgw) => _rgw = rgw;

        public override async Task InitializeAsync()
        {
            await base.InitializeAsync();
            // The S3Bucket store creates its bucket when missing: the protocol never creates buckets.
            var store = new S3StoragePlugin();
            await WithTimeout(store.InitAsync(NewContext(), Connection(_rgw, _bucket)));
            await store.ShutdownAsync(NewContext());
        }

        // S3 has no folders: a prefix exists while a key under it does.
        protected override bool KeepsEmptyDirectories => false;

        protected override IProtocolPlugin CreatePlugin() => new S3ProtocolPlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) => Connection(_rgw, null);

        protected override TransferOptions CreateOptions() => new TransferOptions { StallTimeout = TimeSpan.FromSeconds(20) };

        protected override Uri CreateLocation(string name) => new Uri($"s3://{_bucket}/data/{name}");

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["ServiceUrl"] = "not a url" },
            new Dictionary<string, string> { ["ServiceUrl"] = _rgw.Get("ServiceUrl"), ["AccessKeyId"] = "only-the-id" },
            new Dictionary<string, string> { ["ServiceUrl"] = _rgw.Get("ServiceUrl"), ["ChecksumMode"] = "Sometimes" },
            new Dictionary<string, string> { ["ServiceUrl"] = _rgw.Get("ServiceUrl"), ["MultipartThreshold"] = "1" },
        };

        internal static Dictionary<string, string> Connection(RadosgwFixture rgw, string? bucket)
        {
            var config = new Dictionary<string, string>
            {
                ["ServiceUrl"] = rgw.Get("ServiceUrl"),
                ["AccessKeyId"] = rgw.Get("AccessKeyId"),
                ["SecretAccessKey"] = rgw.Get("SecretAccessKey"),
            };
            if (bucket != null)
            {
                config["Bucket"] = bucket;
            }

            return config;
        }
    }

    /// <summary>The built-in S3Bucket store against Ceph radosgw, under a prefix of this test's own.</summary>
    [Collection(RadosgwCollection.Name)]
    public class S3BucketConformance : StoragePluginConformance
    {
        private readonly RadosgwFixture _rgw;
        private readonly string _prefix = "conformance/" + Guid.NewGuid().ToString("n");

        public S3BucketConformance(RadosgwFixture rgw) => _rgw = rgw;

        protected override IStoragePlugin CreatePlugin() => new S3StoragePlugin();

        protected override IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory)
        {
            var config = S3Conformance.Connection(_rgw, "conformance-store");
            config["Prefix"] = _prefix;
            return config;
        }

        protected override IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) => new[]
        {
            new Dictionary<string, string> { ["ServiceUrl"] = _rgw.Get("ServiceUrl") },
            new Dictionary<string, string> { ["ServiceUrl"] = _rgw.Get("ServiceUrl"), ["Bucket"] = "Not_A_Bucket" },
        };
    }
}
