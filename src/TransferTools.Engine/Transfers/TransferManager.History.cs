using System;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;

namespace TransferTools.Engine.Transfers
{
    public sealed partial class TransferManager
    {
        /// <summary>
        /// Removes a finished transfer from the history (Remove-TransferStatus): its journal record (its own file, or its
        /// line in its batch's journal), chunk log, lock and control files, and for one that did not complete its partial
        /// data, as Stop-Transfer would. A completed transfer's delivered file and manifest stay where they are.
        /// </summary>
        /// <returns>The transfer as it was before it was removed.</returns>
        /// <exception cref="PluginException"><c>TransferRunning</c> for a transfer that is pending, active or queued, here or in
        /// another process (never removed); <c>TransferNotFound</c>; <c>TransferInUse</c> when its batch is still being written.</exception>
        public async Task<Transfer> RemoveAsync(OperationContext context, string id)
        {
            id = _journal.ResolveId(id);
            var record = _journal.TryLoad(id);
            if (record is null && DamagedRecords.Why(_journal, id) is { } why)
            {
                await _session.Auth.DemandAsync(context, "transfer/", Abstractions.Action.Delete).ConfigureAwait(false);
                var damaged = DamagedRecords.Describe(_journal, id, why);
                DamagedRecords.Remove(_journal, id);
                return damaged;
            }

            if (record is null)
            {
                throw TransferErrors.NotFound(id);
            }

            await _session.Auth.DemandAsync(context, TransferIntake.Resource(record), Abstractions.Action.Delete).ConfigureAwait(false);
            if (_runner.Running.ContainsKey(id))
            {
                throw TransferErrors.Running(id, "in this session");
            }

            Transfer removed;
            using (var ownerLock = _journal.TryLock(id))
            {
                if (ownerLock is null)
                {
                    throw TransferErrors.Running(id, $"in process {record.OwnerProcessId} on {record.OwnerHost}");
                }

                var current = _journal.TryLoad(id) ?? record;
                removed = _runner.Describe(current);
                if (!removed.Status.IsFinal())
                {
                    // Queued for the agent, or a plugin's own transfer still under way: it has not finished, so it stays.
                    throw TransferErrors.Running(id, current.Queued ? "(queued for the transfer agent)" : "(not finished)");
                }

                // The batch's line first: if its journal is still being written, nothing is removed.
                if (!RemoveFromBatch(id))
                {
                    throw new PluginException(ErrorCode.InvalidState,
                        $"Transfer {Short(id)} belongs to a batch whose journal is still being written; try again when its command has finished.",
                        errorId: "TransferInUse", target: id);
                }

                if (current.Status != TransferStatus.Completed)
                {
                    await _runner.RemoveTemporaryAsync(context, current, null).ConfigureAwait(false);
                }

                _journal.RemoveWorkingFiles(id);
                AtomicFile.TryDelete(_journal.RecordPath(id));
            }

            _journal.RemoveLockFile(id);
            return removed;
        }

        /// <summary>
        /// Removes <paramref name="id"/>'s lines from its batch journal (rewritten without them, or deleted when it was the
        /// last member). False when the batch is still open here or in another process.
        /// </summary>
        private bool RemoveFromBatch(string id)
        {
            var batchId = TransferBatch.BatchIdOf(id);
            var path = _journal.BatchPath(batchId);
            if (batchId.Length == 0 || !File.Exists(path))
            {
                return true;
            }

            if (_journal.IsLiveHere(batchId))
            {
                return false;
            }

            FileStream batchLock;
            try
            {
                // The lock its writer holds while it appends: taken, nobody appends while the file is rewritten.
                batchLock = new FileStream(_journal.BatchLockPath(batchId), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException)
            {
                return false;
            }

            using (batchLock)
            {
                try
                {
                    var records = TransferJournal.ParseBatch(File.ReadAllBytes(path));
                    if (!records.Remove(id))
                    {
                        return true;
                    }

                    if (records.Count == 0)
                    {
                        AtomicFile.TryDelete(path);
                        return true;
                    }

                    var temp = path + "." + Guid.NewGuid().ToString("n").Substring(0, 8) + ".tmp";
                    try
                    {
                        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                        {
                            foreach (var member in records.Values)
                            {
                                var line = TransferJournal.SerializeLine(member);
                                stream.Write(line.Array!, line.Offset, line.Count);
                            }

                            stream.Flush(flushToDisk: true);
                        }

                        AtomicFile.ReplaceOrMove(temp, path);
                    }
                    catch
                    {
                        AtomicFile.TryDelete(temp);
                        throw;
                    }

                    return true;
                }
                finally
                {
                    // As a closing batch does: the lock file goes while it is still held.
                    AtomicFile.TryDelete(_journal.BatchLockPath(batchId));
                }
            }
        }
    }
}
