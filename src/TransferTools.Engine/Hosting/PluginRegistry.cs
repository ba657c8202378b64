using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Hosting
{
    /// <summary>
    /// The persisted list of plugin registrations (<c>HOME/plugins.json</c>). Every read checks the file's time stamp,
    /// so a registration made in another runspace or process is seen at the next call (as SecretManagement's vault
    /// registry is). Writes take a cross-process lock and replace the file atomically.
    /// </summary>
    public sealed class PluginRegistry
    {
        private static readonly JsonSerializerOptions JsonOptions = new JsonSerializerOptions
        {
            WriteIndented = true,
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        };
        private readonly string _path;
        private readonly object _gate = new object();
        private List<PluginRegistration> _cache = new List<PluginRegistration>();
        private DateTime _cacheStamp = DateTime.MinValue;

        /// <summary>Creates a registry stored under <paramref name="homeDirectory"/>.</summary>
        public PluginRegistry(string homeDirectory)
        {
            HomeDirectory = homeDirectory;
            _path = Path.Combine(homeDirectory, "plugins.json");
        }

        /// <summary>The home root.</summary>
        public string HomeDirectory { get; }

        /// <summary>The registry file.</summary>
        public string FilePath => _path;

        /// <summary>Every persisted registration, in registration order.</summary>
        public IReadOnlyList<PluginRegistration> GetAll()
        {
            lock (_gate)
            {
                var stamp = File.Exists(_path) ? File.GetLastWriteTimeUtc(_path) : DateTime.MinValue;
                if (stamp != _cacheStamp)
                {
                    _cache = Read();
                    _cacheStamp = stamp;
                }

                return _cache.ToList();
            }
        }

        /// <summary>One registration by name, or null.</summary>
        public PluginRegistration? Find(string name) =>
            GetAll().FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

        /// <summary>Adds a registration. <see cref="ErrorCode.AlreadyExists"/> when the name is taken.</summary>
        public void Add(PluginRegistration registration)
        {
            Update(list =>
            {
                if (list.Any(r => string.Equals(r.Name, registration.Name, StringComparison.OrdinalIgnoreCase)))
                {
                    throw new PluginException(ErrorCode.AlreadyExists,
                        $"A plugin named '{registration.Name}' is registered already. Choose another -Name, or Unregister-TransferPlugin it first.",
                        errorId: "PluginNameInUse", target: registration.Name);
                }

                list.Add(registration);
            });
        }

        /// <summary>Removes a registration; returns false when there was none.</summary>
        public bool Remove(string name)
        {
            var removed = false;
            Update(list => removed = list.RemoveAll(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)) > 0);
            return removed;
        }

        private void Update(Action<List<PluginRegistration>> change)
        {
            TransferToolsHome.EnsurePrivateDirectory(HomeDirectory);
            using (AtomicFile.Lock(_path + ".lock", TimeSpan.FromSeconds(10)))
            {
                lock (_gate)
                {
                    var list = Read();
                    change(list);
                    AtomicFile.WriteAllText(_path, JsonSerializer.Serialize(list, JsonOptions), ownerOnly: true);
                    _cache = list;
                    _cacheStamp = File.GetLastWriteTimeUtc(_path);
                }
            }
        }

        private List<PluginRegistration> Read()
        {
            if (!File.Exists(_path))
            {
                return new List<PluginRegistration>();
            }

            try
            {
                var list = JsonSerializer.Deserialize<List<PluginRegistration>>(File.ReadAllText(_path), JsonOptions)
                           ?? new List<PluginRegistration>();
                foreach (var r in list)
                {
                    r.Configuration = new Dictionary<string, string>(r.Configuration ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
                    r.ProtectedConfiguration = new Dictionary<string, string>(r.ProtectedConfiguration ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
                }

                return list;
            }
            catch (JsonException e)
            {
                throw new PluginException(ErrorCode.InvalidConfiguration,
                    $"The plugin registry '{_path}' is not valid JSON; fix or delete it.", e, "PluginRegistryDamaged", _path);
            }
        }
    }
}
