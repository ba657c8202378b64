using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Transfers
{
    internal enum StopReason
    {
        None,
        Suspend,
        Cancel,
        Shutdown,
    }

    /// <summary>A transfer running in this session: its record, owner lock, cancellation and live figures.</summary>
    internal sealed class RunningTransfer
    {
        private readonly object _gate = new object();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _measureFrom;
        private TimeSpan _measureStart;
        private TimeSpan _lastReport;
        private TimeSpan _lastRecord;
        private long _lastReportBytes;
        private double _rate;
        private int _stop;

        public RunningTransfer(TransferRecord record, IDisposable ownerLock, NetworkCredentialHolder credential, CancellationTokenSource cts)
        {
            Record = record;
            Lock = ownerLock;
            Credential = credential;
            Cts = cts;
        }

        public TransferRecord Record { get; }
        public IDisposable Lock { get; }
        public NetworkCredentialHolder Credential { get; }
        public CancellationTokenSource Cts { get; }
        public OperationContext Context { get; set; } = OperationContext.None;
        /// <summary>The context for monitor events: the same values, never cancelled.</summary>
        public OperationContext EventContext => Context.WithCancellation(CancellationToken.None);
        public ITransferEndpoint? Remote { get; set; }
        /// <summary>True when no chunk log was ever written for this transfer (fresh, one chunk).</summary>
        public bool NeverLogged { get; set; }
        /// <summary>The batch this transfer is journaled in, or null for a record file of its own.</summary>
        public TransferBatch? Batch { get; set; }
        public Task Completion { get; set; } = Task.CompletedTask;
        /// <summary>The bandwidth limits this transfer's bytes count against (its command's, the agent's, or its own).</summary>
        public System.Collections.Generic.IReadOnlyList<BandwidthLimiter> Limiters { get; set; } = new BandwidthLimiter[0];
        public StopReason Stop => (StopReason)Volatile.Read(ref _stop);

        public void RequestStop(StopReason reason)
        {
            // The first reason wins: a Stop-Transfer after Ctrl+C still cancels, a suspend after a cancel does not undo it.
            if (Interlocked.CompareExchange(ref _stop, (int)reason, (int)StopReason.None) == (int)StopReason.None
                || (reason == StopReason.Cancel && Interlocked.Exchange(ref _stop, (int)reason) != (int)reason))
            {
                try
                {
                    Cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }

        public void Update(Action<TransferRecord> change)
        {
            lock (_gate)
            {
                change(Record);
            }
        }

        public TransferRecord CloneRecord()
        {
            lock (_gate)
            {
                return Record.Clone();
            }
        }

        public void BeginMeasuring(long offset)
        {
            lock (_gate)
            {
                _measureFrom = offset;
                _measureStart = _clock.Elapsed;
                _lastReport = _measureStart;
                _lastReportBytes = offset;
                _live = offset;
            }
        }

        private long _live;

        /// <summary>True when a progress report is due; updates the smoothed rate.</summary>
        public bool ReportDue(long bytes, TimeSpan interval)
        {
            lock (_gate)
            {
                _live = bytes;
                var now = _clock.Elapsed;
                var elapsed = now - _lastReport;
                if (elapsed < interval && (Record.TotalBytes < 0 || bytes < Record.TotalBytes))
                {
                    return false;
                }

                var sample = (bytes - _lastReportBytes) / Math.Max(0.001, elapsed.TotalSeconds);
                _rate = _rate <= 0 ? sample : 0.7 * _rate + 0.3 * sample;
                _lastReport = now;
                _lastReportBytes = bytes;
                Record.BytesPerSecond = _rate;
                return true;
            }
        }

        public bool RecordDue(TimeSpan interval)
        {
            lock (_gate)
            {
                if (_clock.Elapsed - _lastRecord < interval)
                {
                    return false;
                }

                _lastRecord = _clock.Elapsed;
                return true;
            }
        }

        public double AverageRate()
        {
            lock (_gate)
            {
                var seconds = (_clock.Elapsed - _measureStart).TotalSeconds;
                var moved = Math.Max(0, Math.Max(_live, Record.BytesTransferred) - _measureFrom);
                return seconds > 0 ? moved / seconds : 0;
            }
        }

        public Transfer Snapshot()
        {
            lock (_gate)
            {
                var transfer = Record.ToTransfer();
                if (transfer.Status == TransferStatus.Active)
                {
                    transfer.BytesTransferred = Math.Max(transfer.BytesTransferred, _live);
                    transfer.Progress = Record.TotalBytes > 0 ? Math.Min(100, transfer.BytesTransferred * 100.0 / Record.TotalBytes) : 0;
                    transfer.BytesPerSecond = _rate;
                }

                return transfer;
            }
        }
    }

    /// <summary>The owner lock of a batch member: the batch's lock covers it.</summary>
    internal sealed class NoLock : IDisposable
    {
        public static readonly NoLock Instance = new NoLock();

        public void Dispose()
        {
        }
    }
}
