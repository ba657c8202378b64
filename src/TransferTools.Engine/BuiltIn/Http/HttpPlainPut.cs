using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace TransferTools.Engine.BuiltIn.Http
{
    /// <summary>
    /// Uploads to a server that takes PUT but not WebDAV MOVE (nginx <c>dav_methods PUT</c>, artifact repositories,
    /// pre-signed object-store URLs): there the engine's temporary name is never used. Before the first byte goes out,
    /// one MOVE of a name that does not exist asks the folder whether it knows MOVE (a WebDAV server answers 404; one
    /// without MOVE 405 or 501); where it does not, the temporary maps to the final name and the PUT goes straight there.
    /// A complete PUT is atomic on nginx, Apache, IIS and object stores (they write aside and rename), and an interrupted
    /// one leaves nothing: resuming is a new PUT, and commit has nothing left to do.
    /// </summary>
    internal sealed class HttpPlainPut
    {
        // The engine's temporary name: .NAME.ID8.ttpart beside the final name (TransferLocation.Temporary).
        private static readonly Regex Temporary = new Regex(@"^\.(?<name>.+)\.[0-9A-Za-z]{8}\.ttpart$", RegexOptions.CultureInvariant);

        private readonly ConcurrentDictionary<string, Task<bool>> _moveByFolder = new ConcurrentDictionary<string, Task<bool>>(StringComparer.Ordinal);

        /// <summary>The final name <paramref name="temporary"/> stands for, or null when it is not a temporary name.</summary>
        public static Uri? FinalNameOf(Uri temporary)
        {
            var path = temporary.AbsolutePath;
            var slash = path.LastIndexOf('/');
            var match = Temporary.Match(path.Substring(slash + 1));
            if (!match.Success)
            {
                return null;
            }

            // The name as it stands in the path (still percent-encoded), resolved beside the temporary; "./" keeps a
            // name with a ':' from reading as a scheme.
            var final = new Uri(temporary, "./" + match.Groups["name"].Value);
            return string.IsNullOrEmpty(temporary.Query) ? final : new Uri(final.GetLeftPart(UriPartial.Path) + temporary.Query);
        }

        /// <summary>The folder <paramref name="location"/> is in (its URL up to the last '/').</summary>
        public static Uri FolderOf(Uri location) => new Uri(location, "./");

        /// <summary>Whether the folder <paramref name="folder"/> is known to lack MOVE (asked before, answered).</summary>
        public bool KnownWithoutMove(Uri folder) =>
            _moveByFolder.TryGetValue(folder.GetLeftPart(UriPartial.Path), out var known) && known.Status == TaskStatus.RanToCompletion && !known.Result;

        /// <summary>Whether the folder <paramref name="folder"/> understands MOVE, asked once per folder through
        /// <paramref name="askMove"/> (which sends a MOVE of a name that does not exist and returns the answer's status).</summary>
        public async Task<bool> SupportsMoveAsync(Uri folder, Func<Uri, Task<HttpStatusCode>> askMove)
        {
            var key = folder.GetLeftPart(UriPartial.Path);
            var asking = _moveByFolder.GetOrAdd(key, _ => AskAsync(folder, askMove));
            try
            {
                return await asking.ConfigureAwait(false);
            }
            catch
            {
                // A failed question (a dropped connection) is asked again next time.
                _moveByFolder.TryRemove(key, out _);
                throw;
            }
        }

        private static async Task<bool> AskAsync(Uri folder, Func<Uri, Task<HttpStatusCode>> askMove)
        {
            var probe = new Uri(folder, ".ttprobe-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            var status = await askMove(probe).ConfigureAwait(false);
            // 404 (nothing to move), 409, 412, 403 or a success: MOVE is understood here. 405, 501 and 400: it is not.
            return !(status == HttpStatusCode.MethodNotAllowed || status == HttpStatusCode.NotImplemented || status == HttpStatusCode.BadRequest);
        }
    }
}
