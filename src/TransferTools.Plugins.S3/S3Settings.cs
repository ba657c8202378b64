using System;
using System.Collections.Generic;
using System.Globalization;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>
    /// Where and as whom the plugin talks S3: a registration's configuration, overridden per transfer by
    /// <c>-ProtocolOption</c> (never secrets) and by the profile named in <c>s3://PROFILE@bucket/key</c>. Anything not
    /// given comes from the AWS standard chain as the AWS CLI reads it: <c>AWS_ACCESS_KEY_ID</c>,
    /// <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>, <c>AWS_PROFILE</c>, <c>AWS_REGION</c>,
    /// <c>AWS_ENDPOINT_URL_S3</c> / <c>AWS_ENDPOINT_URL</c> and the shared credentials and config files.
    /// </summary>
    internal sealed class S3Settings
    {
        /// <summary>Objects up to this size go up in one PUT (16 MiB).</summary>
        public const long DefaultMultipartThreshold = 16L * 1024 * 1024;

        private static readonly string[] NonSecretKeys = { "ServiceUrl", "Region", "ForcePathStyle", "Profile", "ChecksumMode", "MultipartThreshold", "Parallelism", "CopyPartSize" };

        public string? ServiceUrl { get; private set; }
        public string Region { get; private set; } = "us-east-1";
        public bool ForcePathStyle { get; private set; }
        public string? Profile { get; private set; }
        public string? AccessKeyId { get; private set; }
        public string? SecretAccessKey { get; private set; }
        public string? SessionToken { get; private set; }
        public bool ChecksumWhenSupported { get; private set; }
        public long MultipartThreshold { get; private set; } = DefaultMultipartThreshold;
        public int Parallelism { get; private set; } = 4;
        /// <summary>A server-side copy of an object larger than this goes as parts of this size (<c>UploadPartCopy</c>); up to
        /// it, one <c>CopyObject</c>. Default and maximum 5 GiB (CopyObject's limit); at least 5 MiB.</summary>
        public long CopyPartSize { get; private set; } = S3PartUploads.MaxPartSize;

        /// <summary>A key for caching clients: every setting but the secret itself (its key id and a hash stand for it).</summary>
        public string CacheKey => string.Join("\u0001", ServiceUrl, Region, ForcePathStyle, Profile, AccessKeyId,
            SecretAccessKey is null ? "" : SecretAccessKey.GetHashCode().ToString(CultureInfo.InvariantCulture), SessionToken?.GetHashCode(), ChecksumWhenSupported);

        /// <summary>Where requests go, for messages: the service URL or the region's AWS endpoint.</summary>
        public string EndpointDisplay => ServiceUrl ?? $"AWS S3 ({Region})";

        /// <summary>Which identity signs, for messages: the access key id or the profile, never a secret.</summary>
        public string IdentityDisplay =>
            AccessKeyId != null ? $"access key id '{AccessKeyId}'"
            : Profile != null ? $"profile '{Profile}'"
            : Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is string fromEnv && fromEnv.Length > 0 ? $"access key id '{fromEnv}' (AWS_ACCESS_KEY_ID)"
            : "the AWS default credentials";

        /// <summary>Reads a registration's configuration, then per-transfer options, then a profile from the URI.</summary>
        public static S3Settings Read(IReadOnlyDictionary<string, string> config, IDictionary<string, string>? overrides = null, string? profileFromUri = null)
        {
            string? Get(string key)
            {
                if (overrides != null && Array.IndexOf(NonSecretKeys, key) >= 0 && overrides.TryGetValue(key, out var o) && !string.IsNullOrWhiteSpace(o))
                {
                    return o.Trim();
                }

                return config.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
            }

            var s = new S3Settings
            {
                Profile = profileFromUri ?? Get("Profile"),
                AccessKeyId = profileFromUri is null ? Get("AccessKeyId") : null,
                SecretAccessKey = profileFromUri is null ? Get("SecretAccessKey") : null,
                SessionToken = profileFromUri is null ? Get("SessionToken") : null,
            };
            if ((s.AccessKeyId is null) != (s.SecretAccessKey is null))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "Give AccessKeyId and SecretAccessKey together (or neither, for a Profile or the AWS default credentials).",
                    errorId: "S3CredentialIncomplete", target: s.AccessKeyId is null ? "AccessKeyId" : "SecretAccessKey");
            }

            CredentialProfile? profile = null;
            var profileName = s.Profile ?? Environment.GetEnvironmentVariable("AWS_PROFILE");
            if (!string.IsNullOrEmpty(profileName) && s.AccessKeyId is null)
            {
                new CredentialProfileStoreChain().TryGetProfile(profileName, out profile);
                if (profile is null && s.Profile != null)
                {
                    throw new PluginException(ErrorCode.InvalidConfiguration,
                        $"There is no AWS profile '{s.Profile}' in the shared credentials or config files (~/.aws/credentials, ~/.aws/config).",
                        errorId: "S3ProfileNotFound", target: s.Profile);
                }
            }

            s.ServiceUrl = Get("ServiceUrl") ?? profile?.EndpointUrl
                           ?? NonEmpty(Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3")) ?? NonEmpty(Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL"));
            if (s.ServiceUrl != null && (!Uri.TryCreate(s.ServiceUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"ServiceUrl '{s.ServiceUrl}' is not an http(s) URL such as https://s3.example.com.",
                    errorId: "S3ServiceUrlInvalid", target: "ServiceUrl");
            }

            s.Region = Get("Region") ?? profile?.Region?.SystemName
                       ?? NonEmpty(Environment.GetEnvironmentVariable("AWS_REGION")) ?? NonEmpty(Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION")) ?? "us-east-1";
            // Custom endpoints (Ceph, MinIO, a local address) rarely have wildcard DNS for virtual-hosted buckets.
            s.ForcePathStyle = ReadBool(Get("ForcePathStyle"), "ForcePathStyle", s.ServiceUrl != null);
            var checksum = Get("ChecksumMode") ?? "WhenRequired";
            if (string.Equals(checksum, "WhenSupported", StringComparison.OrdinalIgnoreCase))
            {
                s.ChecksumWhenSupported = true;
            }
            else if (!string.Equals(checksum, "WhenRequired", StringComparison.OrdinalIgnoreCase))
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, "ChecksumMode is WhenRequired (the default) or WhenSupported.",
                    errorId: "S3SettingInvalid", target: "ChecksumMode");
            }

            var thresholdMiB = ReadLong(Get("MultipartThreshold"), "MultipartThreshold", 16, 5, 5 * 1024);
            s.MultipartThreshold = thresholdMiB * 1024 * 1024;
            s.Parallelism = (int)ReadLong(Get("Parallelism"), "Parallelism", 4, 1, 32);
            s.CopyPartSize = ReadLong(Get("CopyPartSize"), "CopyPartSize", 5 * 1024, 5, 5 * 1024) * 1024 * 1024;
            return s;
        }

        /// <summary>A client for these settings.</summary>
        public AmazonS3Client CreateClient()
        {
            var config = new AmazonS3Config
            {
                ForcePathStyle = ForcePathStyle,
                RequestChecksumCalculation = ChecksumWhenSupported ? RequestChecksumCalculation.WHEN_SUPPORTED : RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ChecksumWhenSupported ? ResponseChecksumValidation.WHEN_SUPPORTED : ResponseChecksumValidation.WHEN_REQUIRED,
                MaxErrorRetry = 3,
                Timeout = TimeSpan.FromSeconds(100),
            };
            if (ServiceUrl != null)
            {
                config.ServiceURL = ServiceUrl;
                config.AuthenticationRegion = Region;
            }
            else
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(Region);
            }

            if (AccessKeyId != null)
            {
                AWSCredentials credentials = SessionToken != null
                    ? new SessionAWSCredentials(AccessKeyId, SecretAccessKey, SessionToken)
                    : new BasicAWSCredentials(AccessKeyId, SecretAccessKey);
                return new AmazonS3Client(credentials, config);
            }

            if (Profile != null)
            {
                if (!new CredentialProfileStoreChain().TryGetAWSCredentials(Profile, out var fromProfile))
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed, $"The AWS profile '{Profile}' has no usable credentials.",
                        errorId: "S3ProfileWithoutCredentials", target: Profile);
                }

                return new AmazonS3Client(fromProfile, config);
            }

            // The AWS default chain: environment, AWS_PROFILE, shared files, container and instance roles.
            return new AmazonS3Client(config);
        }

        private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value!.Trim();

        private static bool ReadBool(string? text, string key, bool fallback)
        {
            if (text is null)
            {
                return fallback;
            }

            if (bool.TryParse(text, out var value))
            {
                return value;
            }

            throw new PluginException(ErrorCode.InvalidConfiguration, $"{key} must be true or false.", errorId: "S3SettingInvalid", target: key);
        }

        private static long ReadLong(string? text, string key, long fallback, long min, long max)
        {
            if (text is null)
            {
                return fallback;
            }

            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration, $"{key} must be a whole number from {min} to {max}.",
                    errorId: "S3SettingInvalid", target: key);
            }

            return value;
        }
    }
}
