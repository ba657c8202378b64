using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using TransferTools.Abstractions;

namespace TransferTools.Plugins.S3
{
    /// <summary>Checks at registration that a ServiceUrl answers as S3, so a wrong URL fails there and not mid-transfer.</summary>
    internal static class S3Probe
    {
        public static async Task RequireS3Async(AmazonS3Client client, S3Settings settings, CancellationToken token)
        {
            try
            {
                await client.ListBucketsAsync(new ListBucketsRequest(), token).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.Forbidden && !S3Errors.IsAuthentication(e))
            {
                // S3 answered (AccessDenied): a key scoped to some buckets may not list them all.
            }
            catch (AmazonS3Exception e) when (S3Errors.IsAuthentication(e))
            {
                throw S3Errors.Map(e, settings, "registration check", settings.EndpointDisplay, token);
            }
            catch (Exception e) when (e is AmazonS3Exception || e is Amazon.Runtime.AmazonUnmarshallingException || e is System.Xml.XmlException)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    $"{settings.EndpointDisplay} does not answer as an S3 service (check ServiceUrl: the address of the S3 API, such as https://s3.us-east-1.amazonaws.com or http://ceph-rgw:7480).",
                    e, "S3EndpointNotS3", "ServiceUrl");
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, settings, "registration check", settings.EndpointDisplay, token);
            }
        }
    }

    /// <summary>
    /// A GET's body. Read from the start, it is hashed and checked against the object's <c>x-amz-meta-sha256</c> at its
    /// end (<see cref="ErrorCode.ChecksumMismatch"/>); network failures surface as plugin errors.
    /// </summary>
    internal sealed class S3ReadStream : Stream
    {
        private readonly GetObjectResponse _response;
        private readonly Stream _body;
        private readonly string _display;
        private readonly S3Settings _settings;
        private readonly string? _expectedSha256;
        private readonly IncrementalHash? _sha;
        private readonly long _length;
        private long _read;
        private bool _checked;

        public S3ReadStream(GetObjectResponse response, string display, S3Settings settings, string? expectedSha256)
        {
            _response = response;
            _body = response.ResponseStream;
            _display = display;
            _settings = settings;
            _expectedSha256 = expectedSha256;
            _sha = expectedSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            _length = response.ContentLength;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            int read;
            try
            {
                read = await _body.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is PluginException))
            {
                throw S3Errors.Map(e, _settings, "download", _display, cancellationToken);
            }

            if (_sha != null)
            {
                if (read > 0)
                {
                    _sha.AppendData(buffer, offset, read);
                    _read += read;
                }

                // At the object's last byte, not at end of stream: a reader that knows the size never asks past it.
                if (!_checked && (_read >= _length || (read == 0 && count > 0)))
                {
                    _checked = true;
                    var actual = S3ProtocolPlugin.ToHex(_sha.GetHashAndReset());
                    if (!string.Equals(actual, _expectedSha256, StringComparison.Ordinal))
                    {
                        throw new PluginException(ErrorCode.ChecksumMismatch,
                            $"The SHA-256 of '{_display}' is {actual}, but the object's x-amz-meta-sha256 says {_expectedSha256}.", errorId: "ChecksumMismatch", target: _display);
                    }
                }
            }

            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _body.Dispose();
                _response.Dispose();
                _sha?.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>A small object written in one PUT when flushed (spooled to a local temporary file meanwhile).</summary>
    internal sealed class S3PutStream : Stream
    {
        private readonly AmazonS3Client _client;
        private readonly S3Settings _settings;
        private readonly S3Location _location;
        private readonly CancellationToken _token;
        private readonly FileStream _spool;
        private bool _dirty = true;

        public S3PutStream(AmazonS3Client client, S3Settings settings, S3Location location, CancellationToken token)
        {
            _client = client;
            _settings = settings;
            _location = location;
            _token = token;
            _spool = new FileStream(Path.Combine(Path.GetTempPath(), "tt-s3-" + Guid.NewGuid().ToString("n")), FileMode.CreateNew, FileAccess.ReadWrite,
                FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _spool.Length;
        public override long Position { get => _spool.Length; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            _spool.Write(buffer, offset, count);
            _dirty = true;
        }

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await _spool.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            _dirty = true;
        }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (!_dirty)
            {
                return;
            }

            await _spool.FlushAsync(cancellationToken).ConfigureAwait(false);
            _spool.Position = 0;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_token, cancellationToken);
            try
            {
                using var md5 = MD5.Create();
                var digest = Convert.ToBase64String(md5.ComputeHash(_spool));
                _spool.Position = 0;
                await _client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = _location.Bucket,
                    Key = _location.Key,
                    InputStream = new NonClosing(_spool),
                    AutoCloseStream = false,
                    MD5Digest = digest,
                }, linked.Token).ConfigureAwait(false);
                _dirty = false;
            }
            catch (Exception e)
            {
                throw S3Errors.Map(e, _settings, "upload", _location.Display, linked.Token);
            }
            finally
            {
                _spool.Position = _spool.Length;
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _spool.Dispose();
            }

            base.Dispose(disposing);
        }

        /// <summary>Keeps the SDK from closing the spool it was given.</summary>
        private sealed class NonClosing : Stream
        {
            private readonly Stream _inner;
            public NonClosing(Stream inner) => _inner = inner;
            public override bool CanRead => true;
            public override bool CanSeek => true;
            public override bool CanWrite => false;
            public override long Length => _inner.Length;
            public override long Position { get => _inner.Position; set => _inner.Position = value; }
            public override void Flush() { }
            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);
            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
