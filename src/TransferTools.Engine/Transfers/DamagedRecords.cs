using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// Journal records that are there but cannot be read (truncated by a crash or a full disk, overwritten with garbage).
    /// Such a transfer is shown as failed, with what is wrong, instead of vanishing from every listing; and
    /// <c>Stop-Transfer</c> removes it, with its working files and the partial it names when that much can still be read.
    /// </summary>
    internal static class DamagedRecords
    {
        private static readonly Regex TemporaryUri = new Regex("\"TemporaryUri\"\\s*:\\s*\"(?<uri>file:[^\"]+)\"", RegexOptions.CultureInvariant);

        /// <summary>Why the record file of <paramref name="id"/> cannot be read, or null when it reads (or is not there).</summary>
        public static string? Why(TransferJournal journal, string id)
        {
            if (!TransferJournal.IsWellFormedId(id))
            {
                return null;
            }

            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(journal.RecordPath(id));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Missing, or locked for a moment by a writer: not damage.
                return null;
            }

            try
            {
                var record = JsonSerializer.Deserialize<TransferRecord>(bytes, TransferJournal.Json);
                if (record is null)
                {
                    return "it is empty";
                }

                return record.Id == id ? null : $"it names another transfer ({record.Id})";
            }
            catch (Exception e) when (e is JsonException || e is NotSupportedException || e is ArgumentException)
            {
                return bytes.Length == 0 ? "it is empty" : "it is not a complete JSON record";
            }
        }

        /// <summary>The ids of the damaged record files.</summary>
        public static IEnumerable<string> Ids(TransferJournal journal)
        {
            foreach (var id in journal.RecordFileIds())
            {
                if (Why(journal, id) != null)
                {
                    yield return id;
                }
            }
        }

        /// <summary>How a damaged record is shown: a failed transfer whose error says what is wrong and how to remove it.</summary>
        public static Transfer Describe(TransferJournal journal, string id, string why, TransferStatus status = TransferStatus.Failed)
        {
            DateTimeOffset written;
            try
            {
                written = new DateTimeOffset(File.GetLastWriteTimeUtc(journal.RecordPath(id)), TimeSpan.Zero);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                written = DateTimeOffset.UtcNow;
            }

            return new Transfer
            {
                Id = id,
                Status = status,
                StartedAt = written,
                CompletedAt = written,
                Name = "(damaged journal record)",
                Source = journal.RecordPath(id),
                Destination = "(damaged journal record)",
                Protocol = "",
                Error = status == TransferStatus.Cancelled
                    ? "The damaged journal record and the working files it left were removed."
                    : $"The journal record of transfer {TransferIds.Short(id)} is damaged: {why}. Stop-Transfer {TransferIds.Short(id)} removes it, with the partial file it names if that can still be read.",
                ErrorCode = Abstractions.ErrorCode.InvalidState,
            };
        }

        /// <summary>Removes a damaged record, its working files, and the local partial it names when that is legible.</summary>
        public static void Remove(TransferJournal journal, string id)
        {
            var path = journal.RecordPath(id);
            try
            {
                var text = Encoding.UTF8.GetString(File.ReadAllBytes(path));
                var match = TemporaryUri.Match(text);
                if (match.Success && Uri.TryCreate(match.Groups["uri"].Value, UriKind.Absolute, out var uri) && uri.IsFile
                    && uri.LocalPath.EndsWith("." + id.Substring(0, 8) + ".ttpart", StringComparison.Ordinal))
                {
                    // Only a temporary of this very transfer (its name carries the id), never a file the record merely names.
                    AtomicFile.TryDelete(uri.LocalPath);
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is UriFormatException)
            {
                // The record goes anyway: a partial that cannot be found is no reason to keep a record nobody can read.
            }

            journal.RemoveWorkingFiles(id);
            journal.RemoveLockFile(id);
            AtomicFile.TryDelete(path);
        }
    }
}
