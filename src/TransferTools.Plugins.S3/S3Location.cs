using System;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// An <c>s3://[PROFILE@]bucket/key</c> location. A key that ends in <c>/</c> (or none) is a prefix: S3 has no
    /// folders, so <c>s3://bucket/logs/</c> is everything whose key starts with <c>logs/</c>. <c>PROFILE</c> names an AWS
    /// profile of the shared config files (with its own <c>endpoint_url</c>, region and keys).
    /// </summary>
    internal readonly struct S3Location
    {
        private S3Location(string bucket, string key, string? profile)
        {
            Bucket = bucket;
            Key = key;
            Profile = profile;
        }

        public string Bucket { get; }
        public string Key { get; }
        public string? Profile { get; }

        /// <summary>True for the bucket itself or a key ending in <c>/</c>.</summary>
        public bool IsPrefix => Key.Length == 0 || Key.EndsWith("/", StringComparison.Ordinal);

        /// <summary>The key as a folder prefix: empty for the bucket, otherwise ending in <c>/</c>.</summary>
        public string FolderPrefix => Key.Length == 0 || IsPrefix ? Key : Key + "/";

        /// <summary>For messages: <c>s3://bucket/key</c> (no profile).</summary>
        public string Display => $"s3://{Bucket}/{Key}";

        public static S3Location Parse(Uri uri)
        {
            if (!string.Equals(uri.Scheme, "s3", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{uri}' is not an s3:// location.", errorId: "S3LocationInvalid", target: uri.ToString());
            }

            var bucket = uri.Host;
            if (bucket.Length < 3 || bucket.Length > 63)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{uri}' does not name a bucket (s3://BUCKET/key, 3 to 63 characters).",
                    errorId: "S3LocationInvalid", target: uri.ToString());
            }

            var key = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
            var profile = uri.UserInfo.Length > 0 ? Uri.UnescapeDataString(uri.UserInfo) : null;
            if (profile != null && profile.IndexOf(':') >= 0)
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"s3:// locations never carry secrets: give a profile name (s3://PROFILE@bucket/key), not a key and secret.",
                    errorId: "S3LocationInvalid", target: $"s3://{bucket}/{key}");
            }

            return new S3Location(bucket, key, profile);
        }

        /// <summary>A location from its parts.</summary>
        public static S3Location Of(string bucket, string key) => new S3Location(bucket, key, null);

        /// <summary>The same bucket (and profile) with another key.</summary>
        public S3Location WithKey(string key) => new S3Location(Bucket, key, Profile);
    }
}
