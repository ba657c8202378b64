using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Security;

namespace TransferTools.Engine.Hosting
{
    /// <summary>Loads plugin assemblies. The default loads into the shared context; PowerShell 7 swaps in isolation.</summary>
    public interface IPluginAssemblyLoader
    {
        /// <summary>Loads the assembly at <paramref name="path"/> (a full path).</summary>
        Assembly Load(string path);
    }

    /// <summary>Loads with <see cref="Assembly.LoadFrom(string)"/>.</summary>
    public sealed class DefaultPluginAssemblyLoader : IPluginAssemblyLoader
    {
        /// <inheritdoc/>
        public Assembly Load(string path) => Assembly.LoadFrom(path);
    }

    /// <summary>
    /// One session's plugin instances: creates them on first use from the registry and the catalog, runs the
    /// lifecycle (Init with configuration, active, Shutdown) and reports every failure with the plugin's name and stage.
    /// </summary>
    public sealed class PluginHost
    {
        private readonly PluginRegistry _registry;
        private readonly SecretProtector _secrets;
        private readonly IPluginHost _services;
        private readonly Dictionary<string, LoadedPlugin> _loaded = new Dictionary<string, LoadedPlugin>(StringComparer.OrdinalIgnoreCase);
        private readonly SemaphoreSlim _gate = new SemaphoreSlim(1, 1);

        /// <summary>The context value, set in the context passed to <see cref="IPlugin.InitAsync"/>, that names the
        /// registration being initialized (a plugin keeps its data under <c>GetPluginDataDirectory(name)</c>).</summary>
        public const string RegistrationNameKey = "TransferTools.RegistrationName";

        /// <summary>Creates a host.</summary>
        public PluginHost(PluginRegistry registry, SecretProtector secrets, IPluginHost services, IPluginAssemblyLoader? loader = null)
        {
            _registry = registry;
            _secrets = secrets;
            _services = services;
            AssemblyLoader = loader ?? PluginAssemblyLoaders.CreateDefault(ModuleDirectory);
        }

        /// <summary>How external plugin assemblies are loaded.</summary>
        public IPluginAssemblyLoader AssemblyLoader { get; set; }

        /// <summary>Where built-in plugin assemblies live (the module folder); defaults to the engine's folder.</summary>
        public string ModuleDirectory { get; set; } = Path.GetDirectoryName(typeof(PluginHost).Assembly.Location) ?? ".";

        /// <summary>Persisted registrations plus the defaults not overridden by one of the same name.</summary>
        public IReadOnlyList<PluginRegistration> GetRegistrations()
        {
            var persisted = _registry.GetAll();
            var result = new List<PluginRegistration>();
            foreach (var d in PluginCatalog.Defaults)
            {
                if (!persisted.Any(p => string.Equals(p.Name, d.Name, StringComparison.OrdinalIgnoreCase)))
                {
                    result.Add(new PluginRegistration { Name = d.Name, TypeName = d.Name, Kind = d.Kind, IsDefault = true });
                }
            }

            result.AddRange(persisted);
            return result;
        }

        /// <summary>One registration by name, or null.</summary>
        public PluginRegistration? FindRegistration(string name) =>
            GetRegistrations().FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));

        /// <summary>The initialized instance of registration <paramref name="name"/>, loading it on first use.</summary>
        /// <exception cref="PluginException"><see cref="ErrorCode.PluginNotFound"/>, or <see cref="ErrorCode.LifecycleError"/> when Init fails.</exception>
        public async Task<IPlugin> GetAsync(OperationContext context, string name)
        {
            var registration = FindRegistration(name) ?? throw new PluginException(ErrorCode.PluginNotFound,
                $"No plugin named '{name}' is registered. Get-TransferPlugin lists the registered plugins.",
                errorId: "PluginNotFound", target: name);
            return await GetAsync(context, registration).ConfigureAwait(false);
        }

        /// <summary>The initialized instance of a registration of kind <typeparamref name="T"/>.</summary>
        public async Task<T> GetAsync<T>(OperationContext context, string name) where T : class, IPlugin
        {
            var plugin = await GetAsync(context, name).ConfigureAwait(false);
            return plugin as T ?? throw new PluginException(ErrorCode.InvalidArgument,
                $"The plugin '{name}' is a {plugin.Metadata.Type.ToSeedValue()} plugin, not a {KindOf<T>().ToSeedValue()} plugin.",
                errorId: "PluginWrongKind", target: name);
        }

        /// <summary>Every registration of <paramref name="kind"/>, initialized. A plugin whose Init fails is skipped and reported through <paramref name="onError"/>.</summary>
        public async Task<IReadOnlyList<(PluginRegistration Registration, IPlugin Plugin)>> GetAllAsync(
            OperationContext context, PluginType kind, Action<PluginException>? onError = null)
        {
            var result = new List<(PluginRegistration, IPlugin)>();
            foreach (var registration in GetRegistrations().Where(r => r.Kind == kind))
            {
                try
                {
                    result.Add((registration, await GetAsync(context, registration).ConfigureAwait(false)));
                }
                catch (PluginException e) when (onError != null)
                {
                    onError(e);
                }
            }

            return result;
        }

        /// <summary>The name of the protocol registration that serves <paramref name="scheme"/>, or null.</summary>
        /// <remarks>Built-ins answer from the catalog without loading; external ones are loaded and asked.</remarks>
        public async Task<string?> FindProtocolForSchemeAsync(OperationContext context, string scheme)
        {
            // Registered (non-default) plugins come first so a user's registration can take over a scheme.
            foreach (var registration in GetRegistrations().Where(r => r.Kind == PluginType.Protocol).OrderBy(r => r.IsDefault))
            {
                var builtIn = registration.AssemblyPath is null ? PluginCatalog.Find(registration.TypeName) : null;
                if (builtIn != null)
                {
                    if (builtIn.Schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase))
                    {
                        return registration.Name;
                    }

                    continue;
                }

                if (registration.Configuration.TryGetValue("Scheme", out var configured)
                    && string.Equals(configured, scheme, StringComparison.OrdinalIgnoreCase))
                {
                    return registration.Name;
                }

                try
                {
                    if (await GetAsync(context, registration).ConfigureAwait(false) is ITransferEndpoint endpoint
                        && endpoint.Schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase))
                    {
                        return registration.Name;
                    }
                }
                catch (PluginException)
                {
                    // A broken external plugin must not hide the built-ins; Get-TransferPlugin shows its error.
                }
            }

            return null;
        }

        /// <summary>Instantiates (without Init) the plugin a registration names, to validate it before it is saved.</summary>
        public IPlugin Instantiate(PluginRegistration registration)
        {
            Type type;
            if (registration.AssemblyPath != null)
            {
                var assembly = LoadExternal(registration.AssemblyPath, registration.Name);
                var candidates = FindPluginTypes(assembly);
                var match = candidates.Where(t => string.Equals(t.FullName, registration.TypeName, StringComparison.Ordinal)
                                                  || string.Equals(t.Name, registration.TypeName, StringComparison.OrdinalIgnoreCase)).ToList();
                if (match.Count != 1)
                {
                    throw new PluginException(ErrorCode.PluginNotFound,
                        $"The assembly '{registration.AssemblyPath}' has no plugin class '{registration.TypeName}'. It has: {string.Join(", ", candidates.Select(c => c.FullName))}.",
                        errorId: "PluginTypeNotFound", target: registration.AssemblyPath) { PluginName = registration.Name, Stage = "Load" };
                }

                type = match[0];
            }
            else
            {
                var builtIn = PluginCatalog.Find(registration.TypeName) ?? throw UnknownType(registration.TypeName);
                type = LoadBuiltInType(builtIn, registration.Name);
            }

            try
            {
                return (IPlugin)Activator.CreateInstance(type)!;
            }
            catch (TargetInvocationException e)
            {
                throw new PluginException(ErrorCode.LifecycleError, $"The plugin class '{type.FullName}' could not be created: {e.InnerException?.Message}",
                    e.InnerException, "PluginCreateFailed", registration.Name) { PluginName = registration.Name, Stage = "Create" };
            }
        }

        /// <summary>The public, concrete plugin classes of an external assembly.</summary>
        public static IReadOnlyList<Type> FindPluginTypes(Assembly assembly)
        {
            Type[] types;
            try
            {
                types = assembly.GetExportedTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types.Where(t => t != null).ToArray()!;
            }

            return types.Where(t => t.IsClass && !t.IsAbstract && typeof(IPlugin).IsAssignableFrom(t)
                                    && t.GetConstructor(Type.EmptyTypes) != null).ToList();
        }

        /// <summary>Loads an external assembly, mapping failures to a clear error.</summary>
        /// <param name="path">The assembly's full path.</param>
        /// <param name="registrationName">The registration it is loaded for (for error messages).</param>
        /// <param name="isolate">True for third-party plugins (<see cref="AssemblyLoader"/>: their own load context on
        /// PowerShell 7); false for the module's own plugin assemblies, which share the engine's context.</param>
        public Assembly LoadExternal(string path, string registrationName, bool isolate = true)
        {
            if (!File.Exists(path))
            {
                throw new PluginException(ErrorCode.NotFound, $"The plugin assembly '{path}' does not exist.", errorId: "PluginAssemblyNotFound", target: path)
                { PluginName = registrationName, Stage = "Load" };
            }

            try
            {
                return isolate ? AssemblyLoader.Load(path) : Assembly.LoadFrom(path);
            }
            catch (Exception e) when (e is BadImageFormatException || e is FileLoadException || e is IOException)
            {
                throw new PluginException(ErrorCode.LifecycleError, $"The plugin assembly '{path}' could not be loaded: {e.Message}", e,
                    "PluginAssemblyLoadFailed", path) { PluginName = registrationName, Stage = "Load" };
            }
        }

        /// <summary>State and metadata of every registration, for <c>Get-TransferPlugin</c>.</summary>
        public IReadOnlyList<PluginInfo> Describe()
        {
            var infos = new List<PluginInfo>();
            foreach (var r in GetRegistrations())
            {
                var builtIn = r.AssemblyPath is null ? PluginCatalog.Find(r.TypeName) : null;
                _loaded.TryGetValue(r.Name, out var loaded);
                var config = new Dictionary<string, string>(r.Configuration, StringComparer.OrdinalIgnoreCase);
                foreach (var key in r.ProtectedConfiguration.Keys)
                {
                    config[key] = "********";
                }

                infos.Add(new PluginInfo
                {
                    Name = r.Name,
                    Type = r.TypeName,
                    Kind = r.Kind,
                    State = loaded?.State ?? PluginState.Registered,
                    Metadata = loaded?.State == PluginState.Active ? loaded.Plugin?.Metadata : null,
                    Description = loaded?.Plugin?.Metadata.Description ?? builtIn?.Description ?? "",
                    IsDefault = r.IsDefault,
                    IsBuiltIn = builtIn != null,
                    AssemblyPath = r.AssemblyPath,
                    Configuration = config,
                    RegisteredAt = r.IsDefault ? (DateTimeOffset?)null : r.RegisteredAt,
                    LastError = loaded?.LastError,
                });
            }

            return infos;
        }

        /// <summary>Shuts one instance down (used by Unregister-TransferPlugin) and forgets it.</summary>
        public async Task UnloadAsync(OperationContext context, string name)
        {
            await _gate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                if (_loaded.TryGetValue(name, out var loaded))
                {
                    _loaded.Remove(name);
                    await ShutdownOneAsync(context, name, loaded).ConfigureAwait(false);
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        /// <summary>Shuts every loaded instance down, in reverse load order; errors are collected, not thrown.</summary>
        public async Task<IReadOnlyList<PluginException>> ShutdownAllAsync(OperationContext context)
        {
            var errors = new List<PluginException>();
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                foreach (var pair in _loaded.OrderByDescending(p => p.Value.Sequence).ToList())
                {
                    try
                    {
                        await ShutdownOneAsync(context, pair.Key, pair.Value).ConfigureAwait(false);
                    }
                    catch (PluginException e)
                    {
                        errors.Add(e);
                    }
                }

                _loaded.Clear();
            }
            finally
            {
                _gate.Release();
            }

            return errors;
        }

        /// <summary>The instances loaded so far, in load order.</summary>
        public IReadOnlyList<(string Name, IPlugin Plugin)> Loaded
        {
            get
            {
                lock (_loaded)
                {
                    return _loaded.Where(p => p.Value.State == PluginState.Active && p.Value.Plugin != null)
                        .OrderBy(p => p.Value.Sequence).Select(p => (p.Key, p.Value.Plugin!)).ToList();
                }
            }
        }

        private static async Task ShutdownOneAsync(OperationContext context, string name, LoadedPlugin loaded)
        {
            if (loaded.State != PluginState.Active || loaded.Plugin is null)
            {
                return;
            }

            loaded.State = PluginState.Shutdown;
            try
            {
                await loaded.Plugin.ShutdownAsync(context).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                loaded.LastError = $"Shutdown: {e.Message}";
                throw Wrap(e, name, "Shutdown");
            }
            finally
            {
                (loaded.Plugin as IDisposable)?.Dispose();
            }
        }

        private int _sequence;

        private async Task<IPlugin> GetAsync(OperationContext context, PluginRegistration registration)
        {
            await _gate.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                if (_loaded.TryGetValue(registration.Name, out var existing) && existing.State == PluginState.Active)
                {
                    return existing.Plugin!;
                }

                var loaded = new LoadedPlugin { Sequence = ++_sequence };
                lock (_loaded)
                {
                    _loaded[registration.Name] = loaded;
                }

                try
                {
                    loaded.Plugin = Instantiate(registration);
                    var config = new Dictionary<string, string>(registration.Configuration, StringComparer.OrdinalIgnoreCase);
                    foreach (var pair in registration.ProtectedConfiguration)
                    {
                        config[pair.Key] = _secrets.Unprotect(pair.Value);
                    }

                    var initContext = new OperationContext(context.CancellationToken, context.Logger, _services, context.Values.ToDictionary(p => p.Key, p => p.Value))
                        .WithValue(RegistrationNameKey, registration.Name);
                    await loaded.Plugin.InitAsync(initContext, config).ConfigureAwait(false);
                    loaded.State = PluginState.Active;
                    return loaded.Plugin;
                }
                catch (Exception e)
                {
                    loaded.State = PluginState.Failed;
                    var wrapped = Wrap(e, registration.Name, "Init");
                    loaded.LastError = $"Init: {wrapped.Error.Message}";
                    throw wrapped;
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        private Type LoadBuiltInType(BuiltInPluginType builtIn, string registrationName)
        {
            Assembly assembly;
            if (builtIn.AssemblyName == typeof(PluginHost).Assembly.GetName().Name)
            {
                assembly = typeof(PluginHost).Assembly;
            }
            else
            {
                // A plugin the module also ships built for net8.0 (Sftp: SSH.NET's net8.0 build has hardware AES-GCM)
                // loads that build on .NET 8 or later, in its own load context so that its dependencies come from
                // its folder and never from the netstandard2.0 copies beside the module; where the module also
                // ships it precompiled for this platform, that copy.
                var modern = PluginAssemblyLoaders.CanIsolate && !(AssemblyLoader is DefaultPluginAssemblyLoader)
                    ? new[] { PluginAssemblyLoaders.PrecompiledFolder, PluginAssemblyLoaders.ModernFolder }
                        .Where(folder => folder != null)
                        .Select(folder => Path.Combine(ModuleDirectory, folder!, builtIn.AssemblyName + ".dll"))
                        .FirstOrDefault(File.Exists)
                    : null;
                assembly = modern != null
                    ? LoadExternal(modern, registrationName, isolate: true)
                    : LoadExternal(Path.Combine(ModuleDirectory, builtIn.AssemblyName + ".dll"), registrationName, isolate: false);
            }

            return assembly.GetType(builtIn.ClassName, throwOnError: false) ?? throw new PluginException(ErrorCode.PluginNotFound,
                $"The plugin type '{builtIn.Name}' is not available in this build of TransferTools.",
                errorId: "PluginTypeUnavailable", target: builtIn.Name) { PluginName = registrationName, Stage = "Load" };
        }

        /// <summary>The error for a type name that is neither built in nor an external class.</summary>
        public static PluginException UnknownType(string typeName) => new PluginException(ErrorCode.PluginNotFound,
            $"'{typeName}' is not a plugin type. Built-in types: {string.Join(", ", PluginCatalog.BuiltIns.Select(b => b.Name))}; or register an assembly with -Path.",
            errorId: "UnknownPluginType", target: typeName);

        private static PluginException Wrap(Exception e, string name, string stage)
        {
            if (e is PluginException pe)
            {
                pe.PluginName ??= name;
                pe.Stage ??= stage;
                return pe;
            }

            return new PluginException(ErrorCode.LifecycleError, $"{e.GetType().Name}: {e.Message}", e, $"Plugin{stage}Failed", name)
            { PluginName = name, Stage = stage };
        }

        private static PluginType KindOf<T>() =>
            typeof(IAuthPlugin).IsAssignableFrom(typeof(T)) ? PluginType.Auth
            : typeof(IStoragePlugin).IsAssignableFrom(typeof(T)) ? PluginType.Storage
            : typeof(IProtocolPlugin).IsAssignableFrom(typeof(T)) ? PluginType.Protocol
            : PluginType.Monitor;

        /// <summary>The kind a plugin object implements, or null when it implements none.</summary>
        public static PluginType? KindOf(IPlugin plugin) =>
            plugin is IAuthPlugin ? PluginType.Auth
            : plugin is IStoragePlugin ? PluginType.Storage
            : plugin is IProtocolPlugin ? PluginType.Protocol
            : plugin is IMonitorPlugin ? PluginType.Monitor
            : (PluginType?)null;

        private sealed class LoadedPlugin
        {
            public int Sequence;
            public IPlugin? Plugin;
            public PluginState State = PluginState.Registered;
            public string? LastError;
        }
    }
}
