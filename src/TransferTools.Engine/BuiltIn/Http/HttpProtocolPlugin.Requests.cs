using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.Http
{
    // Sending one request: the shared clients (one that validates certificates, one that does not), redirects, and
    // who may receive the session's bearer token.
    public sealed partial class HttpProtocolPlugin
    {
        /// <summary>Sends one request, following redirects for GET and HEAD; the caller owns the response.</summary>
        private async Task<HttpResponseMessage> SendAsync(OperationContext context, TransferOptions options, Uri uri, HttpMethod method,
            Action<HttpRequestMessage>? prepare, string operation, bool follow = true)
        {
            var client = Client(options);
            var current = uri;
            for (var hop = 0; ; hop++)
            {
                using var request = new HttpRequestMessage(method, current);
                prepare?.Invoke(request);
                // Credentials go only to the authority the user named, never to where a redirect points.
                if (string.Equals(current.GetLeftPart(UriPartial.Authority), uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
                {
                    Authorize(context, options, request, current);
                }

                HttpResponseMessage response;
                using (var headers = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken))
                {
                    if (options.StallTimeout > TimeSpan.Zero)
                    {
                        headers.CancelAfter(options.StallTimeout);
                    }

                    try
                    {
                        response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
                    {
                        throw;
                    }
                    catch (Exception e)
                    {
                        throw HttpErrors.FromException(e, current, operation, request);
                    }
                }

                var status = (int)response.StatusCode;
                if (follow && (method == HttpMethod.Get || method == Head) && status >= 300 && status < 400 && status != 304
                    && response.Headers.Location is Uri next)
                {
                    response.Dispose();
                    if (hop >= MaxRedirects)
                    {
                        throw new PluginException(ErrorCode.InvalidArgument, $"{operation} {HttpErrors.Redact(uri)}: more than {MaxRedirects} redirects.",
                            errorId: "HttpTooManyRedirects", target: HttpErrors.Redact(uri));
                    }

                    var target = next.IsAbsoluteUri ? next : new Uri(current, next);
                    if (current.Scheme == Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttps)
                    {
                        throw new PluginException(ErrorCode.SecurityError, $"{operation} {HttpErrors.Redact(uri)}: refusing a redirect from https to {target.Scheme}.",
                            errorId: "HttpInsecureRedirect", target: HttpErrors.Redact(uri));
                    }

                    current = target;
                    continue;
                }

                return response;
            }
        }

        private void Authorize(OperationContext context, TransferOptions options, HttpRequestMessage request, Uri target)
        {
            var credential = options.Credential;
            if (credential != null && !string.IsNullOrEmpty(credential.UserName))
            {
                var raw = Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}");
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(raw));
                return;
            }

            if (!string.IsNullOrEmpty(context.AccessToken) && BearerAllowed(target))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.AccessToken);
            }
        }

        /// <summary>True when the configuration names <paramref name="target"/>'s host (or host:port) as one that may see the token.</summary>
        internal bool BearerAllowed(Uri target)
        {
            if (!Configuration.TryGetValue(BearerTokenHostsKey, out var hosts) || string.IsNullOrWhiteSpace(hosts))
            {
                return false;
            }

            foreach (var entry in hosts.Split(new[] { ',', ';', ' ' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var host = entry.Trim();
                if (string.Equals(host, target.Host, StringComparison.OrdinalIgnoreCase)
                    || string.Equals(host, $"{target.Host}:{target.Port}", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        private HttpClient Client(TransferOptions options)
        {
            var insecure = SkipCertificateCheck(options);
            lock (_clientLock)
            {
                if (insecure)
                {
                    return _insecureClient ??= NewClient(insecure: true);
                }

                return _client ??= NewClient(insecure: false);
            }
        }

        private static HttpClient NewClient(bool insecure)
        {
            var handler = new HttpClientHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                PreAuthenticate = false,
            };
            if (insecure)
            {
                handler.ServerCertificateCustomValidationCallback = (_, _, _, _) => true;
            }
            else
            {
                // The platform's verdict, unchanged; what it objected to is kept on the request, so the error can say
                // why (an unknown CA, an expired certificate, another name) instead of only that the handshake failed.
                handler.ServerCertificateCustomValidationCallback = HttpErrors.RememberCertificateVerdict;
            }

            var client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
            client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("TransferTools",
                typeof(HttpProtocolPlugin).Assembly.GetName().Version?.ToString(3) ?? "0"));
            return client;
        }

        private bool SkipCertificateCheck(TransferOptions? options)
        {
            static bool IsTrue(string? v) => string.Equals(v?.Trim(), "true", StringComparison.OrdinalIgnoreCase) || v?.Trim() == "1";
            return (Configuration.TryGetValue(SkipCertificateCheckKey, out var c) && IsTrue(c))
                   || (options != null && options.Custom.TryGetValue(SkipCertificateCheckKey, out var o) && IsTrue(o));
        }

        private int MaxRedirects
        {
            get
            {
                if (!Configuration.TryGetValue(MaxRedirectsKey, out var v) || string.IsNullOrWhiteSpace(v))
                {
                    return 5;
                }

                if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 0 || n > 50)
                {
                    throw new PluginException(ErrorCode.InvalidConfiguration, $"Http option {MaxRedirectsKey}='{v}' must be a whole number from 0 to 50.",
                        errorId: "HttpInvalidOption", target: MaxRedirectsKey);
                }

                return n;
            }
        }
    }
}
