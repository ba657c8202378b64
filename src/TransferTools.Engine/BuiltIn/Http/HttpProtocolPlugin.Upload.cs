using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.BuiltIn.Http
{
    // The upload side: PUT of the temporary (resumed by re-sending the server's own kept bytes), MOVE to commit,
    // DELETE, and MKCOL for the collections on the way.
    public sealed partial class HttpProtocolPlugin
    {
        /// <inheritdoc/>
        public override async Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options)
        {
            Check(location);
            // The PUT below runs on its own once started; a cancelled caller must not start one.
            context.CancellationToken.ThrowIfCancellationRequested();
            var target = await UploadTargetAsync(context, options, location).ConfigureAwait(false);
            var direct = target != location;
            if (direct)
            {
                context.Logger.Log(LogLevel.Verbose,
                    $"Http: {HttpErrors.Redact(HttpPlainPut.FolderOf(location))} has no WebDAV MOVE: uploading straight to {HttpErrors.Redact(target)} (a complete PUT is atomic; a resume is a new PUT).");
                location = target;
            }

            var key = Key(location);
            try
            {
                // An earlier upload of the same temporary (flushed and ended) must be on the server before this one reads it.
                await FinishUploadAsync(location).ConfigureAwait(false);
            }
            catch (PluginException e)
            {
                context.Logger.Log(LogLevel.Verbose, $"Http: the previous upload of {HttpErrors.Redact(location)} did not complete ({e.Message}).");
            }

            if (offset < 0)
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"Negative offset {offset}.", errorId: "HttpInvalidOffset", target: HttpErrors.Redact(location));
            }

            // PUT cannot append. To continue at an offset, the new PUT starts with the first bytes of the server's own
            // copy (fetched with Range), then carries on with the engine's writes: the upload link is not used for the
            // kept part, and anything past the offset is dropped. The resource is replaced only when the PUT ends.
            Stream? prefix = null;
            if (offset > 0)
            {
                var existing = await GetInfoAsync(context, location, options).ConfigureAwait(false);
                if (!existing.Exists || existing.Length < offset)
                {
                    throw new PluginException(ErrorCode.InvalidState,
                        $"Upload {HttpErrors.Redact(location)}: the server holds {Math.Max(0, existing.Length)} bytes of the temporary, fewer than the resume offset {offset}; the upload must restart.",
                        errorId: "HttpUploadRestartRequired", target: HttpErrors.Redact(location));
                }

                prefix = await OpenReadAsync(context, location, 0, existing.Version, options).ConfigureAwait(false);
            }

            var content = new StreamingUploadContent();
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var request = new HttpRequestMessage(HttpMethod.Put, location) { Content = content };
            request.Headers.ExpectContinue = true; // a 401/403 arrives before any byte is sent
            Authorize(context, options, request, location);
            var client = Client(options);
            // The answer comes once the body has ended: awaited by CommitAsync.
            var response = Task.Run(() => client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, CancellationToken.None));
            var upload = new HttpUploadStream(content, request, response, location, options.StallTimeout);
            upload.Direct = direct;
            _uploads[key] = upload;
            _ = response.ContinueWith(_ => request.Dispose(), TaskScheduler.Default);
            if (prefix != null)
            {
                using (prefix)
                {
                    try
                    {
                        var buffer = new byte[256 * 1024];
                        var left = offset;
                        while (left > 0)
                        {
                            var n = await prefix.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, left), context.CancellationToken).ConfigureAwait(false);
                            if (n == 0)
                            {
                                throw new PluginException(ErrorCode.InvalidState, $"Upload {HttpErrors.Redact(location)}: the temporary ended before the resume offset.",
                                    errorId: "HttpUploadRestartRequired", target: HttpErrors.Redact(location));
                            }

                            await upload.WriteAsync(buffer, 0, n, context.CancellationToken).ConfigureAwait(false);
                            left -= n;
                        }
                    }
                    catch
                    {
                        _uploads.TryRemove(key, out _);
                        upload.Abort();
                        throw;
                    }
                }

                context.Logger.Log(LogLevel.Verbose, $"Http: re-sent the first {offset} bytes of {HttpErrors.Redact(location)} from the server's copy.");
            }

            return upload;
        }

        /// <inheritdoc/>
        public override async Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options)
        {
            Check(temporary);
            Check(final);
            if (HttpPlainPut.FinalNameOf(temporary) is Uri direct && Key(direct) == Key(final) && _plainPut.KnownWithoutMove(HttpPlainPut.FolderOf(temporary)))
            {
                // Uploaded straight to the final name (no MOVE here): the PUT's answer is the commit.
                await FinishUploadAsync(final).ConfigureAwait(false);
                return;
            }

            await FinishUploadAsync(temporary).ConfigureAwait(false);

            using var response = await SendAsync(context, options, temporary, Move, request =>
            {
                request.Headers.TryAddWithoutValidation("Destination", final.AbsoluteUri);
                request.Headers.TryAddWithoutValidation("Overwrite", overwrite ? "T" : "F");
            }, "Commit", follow: false).ConfigureAwait(false);

            if (response.IsSuccessStatusCode)
            {
                return;
            }

            if (response.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                throw new PluginException(ErrorCode.Conflict,
                    $"Commit {HttpErrors.Redact(final)}: it exists already; choose another name or allow overwriting.",
                    errorId: "HttpDestinationExists", target: HttpErrors.Redact(final));
            }

            if (response.StatusCode == HttpStatusCode.MethodNotAllowed || response.StatusCode == HttpStatusCode.NotImplemented)
            {
                throw new PluginException(ErrorCode.NotSupported,
                    $"Commit {HttpErrors.Redact(final)}: the server does not support WebDAV MOVE, which delivering a file atomically needs. " +
                    "Upload into a WebDAV folder (nginx dav_methods PUT MOVE, Apache mod_dav, IIS WebDAV).",
                    errorId: "HttpMoveNotSupported", target: HttpErrors.Redact(final));
            }

            throw await HttpErrors.FromStatusAsync(response, final, "Commit").ConfigureAwait(false);
        }

        /// <inheritdoc/>
        public override async Task DeleteAsync(OperationContext context, Uri location, TransferOptions options)
        {
            Check(location);
            if (HttpPlainPut.FinalNameOf(location) is Uri direct && _plainPut.KnownWithoutMove(HttpPlainPut.FolderOf(location)))
            {
                // The temporary never existed: its upload went to the final name, which an unfinished PUT leaves untouched.
                if (_uploads.TryRemove(Key(direct), out var unfinished))
                {
                    unfinished.Abort();
                }

                return;
            }

            if (_uploads.TryRemove(Key(location), out var upload))
            {
                upload.Abort();
            }

            using var response = await SendAsync(context, options, location, HttpMethod.Delete, null, "Delete", follow: false).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.NotFound && response.StatusCode != HttpStatusCode.Gone)
            {
                throw await HttpErrors.FromStatusAsync(response, location, "Delete").ConfigureAwait(false);
            }
        }

        /// <inheritdoc/>
        public override async Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options)
        {
            Check(location);
            var collection = AsCollection(location);
            if (collection.AbsolutePath.EndsWith("/.transfertools/", StringComparison.Ordinal) && _plainPut.KnownWithoutMove(new Uri(collection, "../")))
            {
                throw new PluginException(ErrorCode.NotSupported,
                    $"{HttpErrors.Redact(new Uri(collection, "../"))} takes plain PUT uploads only (no WebDAV): no manifest is left beside the file, so Receive-Transfer -TransferId cannot find it there.",
                    errorId: "HttpNoManifestFolder", target: HttpErrors.Redact(collection));
            }

            await MakeCollectionAsync(context, options, AsCollection(location), depth: 0).ConfigureAwait(false);
        }

        /// <summary>
        /// Where <paramref name="location"/> really is: the final name when it is the engine's temporary in a folder without
        /// WebDAV MOVE (<see cref="HttpPlainPut"/>; asked once per folder, before the first byte of an upload).
        /// </summary>
        private async Task<Uri> UploadTargetAsync(OperationContext context, TransferOptions options, Uri location)
        {
            var final = HttpPlainPut.FinalNameOf(location);
            if (final is null)
            {
                return location;
            }

            var supported = await _plainPut.SupportsMoveAsync(HttpPlainPut.FolderOf(location), probe => AskMoveAsync(context, options, probe)).ConfigureAwait(false);
            return supported ? location : final;
        }

        /// <summary>A MOVE of <paramref name="probe"/>, a name that does not exist: its answer's status.</summary>
        private async Task<HttpStatusCode> AskMoveAsync(OperationContext context, TransferOptions options, Uri probe)
        {
            using var answer = await SendAsync(context, options, probe, Move, request =>
            {
                request.Headers.TryAddWithoutValidation("Destination", probe.AbsoluteUri + "-moved");
                request.Headers.TryAddWithoutValidation("Overwrite", "F");
            }, "Upload", follow: false).ConfigureAwait(false);
            return answer.StatusCode;
        }

        /// <summary>Waits for the server's answer to a finished upload of <paramref name="location"/>, raising its error.</summary>
        private async Task FinishUploadAsync(Uri location)
        {
            if (!_uploads.TryRemove(Key(location), out var upload) || upload.Abandoned)
            {
                return;
            }

            HttpResponseMessage answer;
            try
            {
                answer = await upload.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw HttpErrors.FromException(e, location, "Upload", upload.Request);
            }

            using (answer)
            {
                if (!answer.IsSuccessStatusCode)
                {
                    throw await HttpErrors.FromStatusAsync(answer, location, "Upload").ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// An answer a server gives to an MKCOL that lost a race with another for the same folder (the workers of one
        /// -Recurse send create a folder's parents at once): Apache mod_dav_fs answers a failed mkdir, EEXIST included,
        /// with 403, and rclone's webdav a folder being made with 423 Locked. The folder is then there after all.
        /// </summary>
        private static bool MayBeARace(HttpStatusCode status) => status == HttpStatusCode.Forbidden || (int)status == 423;

        /// <summary>
        /// After an answer <see cref="MayBeARace"/>: whether <paramref name="collection"/> is there once the other MKCOL
        /// has finished. rclone's webdav answers 423 while the other request still runs, so the folder may appear a
        /// moment later; asked again a few times, with a new MKCOL in case the other one failed.
        /// </summary>
        private async Task<bool> RaceSettledAsync(OperationContext context, TransferOptions options, Uri collection)
        {
            for (var attempt = 1; ; attempt++)
            {
                if (await IsCollectionAsync(context, options, collection).ConfigureAwait(false))
                {
                    return true;
                }

                if (attempt == 6)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(25 << attempt), context.CancellationToken).ConfigureAwait(false);
                using var again = await SendAsync(context, options, collection, Mkcol, null, "CreateDirectory", follow: false).ConfigureAwait(false);
                if (again.IsSuccessStatusCode || again.StatusCode == HttpStatusCode.MethodNotAllowed)
                {
                    return true;
                }

                if (!MayBeARace(again.StatusCode))
                {
                    return false;
                }
            }
        }

        private async Task<bool> IsCollectionAsync(OperationContext context, TransferOptions options, Uri collection)
        {
            var info = await GetInfoAsync(context, collection, options).ConfigureAwait(false);
            return info.Exists && info.IsDirectory;
        }

        private async Task MakeCollectionAsync(OperationContext context, TransferOptions options, Uri collection, int depth)
        {
            if (collection.AbsolutePath == "/" || depth > 64)
            {
                return;
            }

            using var response = await SendAsync(context, options, collection, Mkcol, null, "CreateDirectory", follow: false).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            switch (response.StatusCode)
            {
                case HttpStatusCode.MethodNotAllowed:
                    // RFC 4918: MKCOL on an existing resource is 405; make sure it is a collection.
                    var info = await GetInfoAsync(context, collection, options).ConfigureAwait(false);
                    if (info.Exists)
                    {
                        return;
                    }

                    if (!await _plainPut.SupportsMoveAsync(collection, probe => AskMoveAsync(context, options, probe)).ConfigureAwait(false))
                    {
                        // No MKCOL and no MOVE: a plain upload endpoint, where a PUT makes its own path (nginx
                        // create_full_put_path, object stores) or fails on its own.
                        return;
                    }

                    throw await HttpErrors.FromStatusAsync(response, collection, "CreateDirectory").ConfigureAwait(false);
                case HttpStatusCode.Conflict:
                    // A parent is missing: create it, then this one.
                    await MakeCollectionAsync(context, options, new Uri(collection, ".."), depth + 1).ConfigureAwait(false);
                    using (var retry = await SendAsync(context, options, collection, Mkcol, null, "CreateDirectory", follow: false).ConfigureAwait(false))
                    {
                        if (!retry.IsSuccessStatusCode && retry.StatusCode != HttpStatusCode.MethodNotAllowed
                            && !(MayBeARace(retry.StatusCode) && await RaceSettledAsync(context, options, collection).ConfigureAwait(false)))
                        {
                            throw await HttpErrors.FromStatusAsync(retry, collection, "CreateDirectory").ConfigureAwait(false);
                        }
                    }

                    return;
                case var status when MayBeARace(status) && await RaceSettledAsync(context, options, collection).ConfigureAwait(false):
                    return;
                default:
                    throw await HttpErrors.FromStatusAsync(response, collection, "CreateDirectory").ConfigureAwait(false);
            }
        }
    }
}
