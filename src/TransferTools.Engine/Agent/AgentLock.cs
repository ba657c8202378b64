using System;
using System.IO;
using System.Text.Json;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine.Agent
{
    /// <summary>What <c>HOME/agent/agent.json</c> says about the home's transfer agent (the last one that ran, or the running one).</summary>
    public sealed class AgentState
    {
        /// <summary>The agent's process id.</summary>
        public int ProcessId { get; set; }
        /// <summary>The machine it runs on.</summary>
        public string Host { get; set; } = "";
        /// <summary>When it started (UTC).</summary>
        public DateTimeOffset Since { get; set; }
        /// <summary>When it last wrote this (UTC).</summary>
        public DateTimeOffset UpdatedAt { get; set; }
        /// <summary>Transfers it ran at that time.</summary>
        public int Active { get; set; }
        /// <summary>Queued transfers waiting for it at that time (including those waiting out a transient error).</summary>
        public int Queued { get; set; }
        /// <summary>The error that stopped it, if one did.</summary>
        public string? LastError { get; set; }
        /// <summary>True once it stopped cleanly.</summary>
        public bool Stopped { get; set; }
    }

    /// <summary>
    /// One agent per TransferTools home: an exclusive lock on <c>HOME/agent/agent.lock</c> held for the agent's life (the
    /// system drops it when the process dies, even by kill -9), and its state in <c>agent.json</c> beside it, which any
    /// process can read.
    /// </summary>
    internal sealed class AgentLock : IDisposable
    {
        private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { WriteIndented = true };
        private readonly FileStream _held;
        private readonly string _statePath;
        private readonly AgentState _state;

        private AgentLock(FileStream held, string statePath)
        {
            _held = held;
            _statePath = statePath;
            _state = new AgentState { ProcessId = TransferRunner.OwnProcessId, Host = Environment.MachineName, Since = DateTimeOffset.UtcNow };
        }

        internal static string Folder(string home) => Path.Combine(home, "agent");

        internal static string LockPath(string home) => Path.Combine(Folder(home), "agent.lock");

        internal static string StatePath(string home) => Path.Combine(Folder(home), "agent.json");

        /// <summary>Takes the lock, or says which agent holds it.</summary>
        public static AgentLock Acquire(string home)
        {
            Directory.CreateDirectory(Folder(home));
            try
            {
                var held = new FileStream(LockPath(home), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
                var agentLock = new AgentLock(held, StatePath(home));
                agentLock.WriteStatus(0, 0, null);
                return agentLock;
            }
            catch (IOException e)
            {
                var running = ReadState(home);
                var who = running is null ? "another process" : $"process {running.ProcessId} on {running.Host}, since {running.Since.ToLocalTime():yyyy-MM-dd HH:mm:ss}";
                throw new PluginException(ErrorCode.AlreadyExists,
                    $"A transfer agent already runs for the TransferTools home '{home}': {who}. Only one agent runs per home; stop that one first (or give this one another home).",
                    e, "AgentAlreadyRunning", running?.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? home);
            }
        }

        /// <summary>True when an agent holds the home's lock now.</summary>
        public static bool IsHeld(string home)
        {
            if (!File.Exists(LockPath(home)))
            {
                return false;
            }

            try
            {
                using (new FileStream(LockPath(home), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1))
                {
                }

                return false;
            }
            catch (FileNotFoundException)
            {
                return false;
            }
            catch (IOException)
            {
                return true;
            }
            catch (UnauthorizedAccessException)
            {
                return true;
            }
        }

        /// <summary>The home's <c>agent.json</c>, or null.</summary>
        public static AgentState? ReadState(string home)
        {
            try
            {
                return JsonSerializer.Deserialize<AgentState>(File.ReadAllText(StatePath(home)), Json);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException)
            {
                return null;
            }
        }

        /// <summary>Writes the agent's state (atomically: a reader never sees half of it).</summary>
        public void WriteStatus(int active, int queued, string? lastError, bool stopped = false)
        {
            _state.Active = active;
            _state.Queued = queued;
            _state.UpdatedAt = DateTimeOffset.UtcNow;
            _state.LastError = lastError ?? _state.LastError;
            _state.Stopped = stopped;
            try
            {
                AtomicFile.WriteAllText(_statePath, JsonSerializer.Serialize(_state, Json));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // A state file is not worth stopping the agent for.
            }
        }

        public void Dispose() => _held.Dispose();
    }
}
