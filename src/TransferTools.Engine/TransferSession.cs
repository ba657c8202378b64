using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Auth;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Monitoring;
using TransferTools.Engine.Security;
using TransferTools.Engine.Storage;
using TransferTools.Engine.Transfers;

namespace TransferTools.Engine
{
    /// <summary>
    /// Everything one runspace holds: loaded plugin instances, the signed-in identity (in memory only), the transfers
    /// started in it, and the services cmdlets call. Registrations and the journal live on disk under the home root,
    /// so a new session finds them.
    /// </summary>
    public sealed class TransferSession : IPluginHost, IDisposable
    {
        private int _closed;

        /// <summary>Creates a session rooted at <paramref name="homeDirectory"/> (default: <see cref="TransferToolsHome.Resolve"/>).</summary>
        public TransferSession(string? homeDirectory = null)
        {
            HomeDirectory = homeDirectory ?? TransferToolsHome.Resolve();
            TransferToolsHome.EnsurePrivateDirectory(HomeDirectory);
            Secrets = new SecretProtector(HomeDirectory);
            Registry = new PluginRegistry(HomeDirectory);
            Plugins = new PluginHost(Registry, Secrets, this);
            Monitors = new MonitorHub(this);
            Auth = new AuthService(this);
            Storage = new StorageService(this);
            Transfers = new TransferManager(this);
        }

        /// <inheritdoc/>
        public string HomeDirectory { get; }

        /// <summary>The persisted plugin registrations.</summary>
        public PluginRegistry Registry { get; }

        /// <summary>This session's plugin instances.</summary>
        public PluginHost Plugins { get; }

        /// <summary>Protects secrets in plugin configuration.</summary>
        public SecretProtector Secrets { get; }

        /// <summary>Fans events out to every monitor.</summary>
        public MonitorHub Monitors { get; }

        /// <summary>The signed-in identity and authorization checks.</summary>
        public AuthService Auth { get; }

        /// <summary>Storage operations on any registered storage plugin.</summary>
        public StorageService Storage { get; }

        /// <summary>The transfer engine.</summary>
        public TransferManager Transfers { get; }

        /// <summary>True once <see cref="CloseAsync"/> ran.</summary>
        public bool IsClosed => _closed != 0;

        /// <summary>
        /// The transfers that were still running when the session closed (<c>-Asynchronous</c> ones, as each stood once
        /// suspended), so that whoever closed it can say which to resume; empty before <see cref="CloseAsync"/>.
        /// </summary>
        public IReadOnlyList<Transfer> SuspendedAtClose { get; private set; } = Array.Empty<Transfer>();

        /// <inheritdoc/>
        public string GetPluginDataDirectory(string registrationName)
        {
            if (!Validation.IsSafeName(registrationName))
            {
                throw new PluginException(ErrorCode.InvalidArgument, $"'{registrationName}' is not a valid plugin name.", errorId: "InvalidPluginName", target: registrationName);
            }

            return TransferToolsHome.EnsurePrivateDirectory(Path.Combine(HomeDirectory, "plugins", registrationName));
        }

        /// <summary>A context for one cmdlet call: a new RequestId, the signed-in user and token, a logger.</summary>
        public OperationContext CreateContext(CancellationToken cancellationToken, IPluginLogger? logger = null)
        {
            var context = new OperationContext(cancellationToken, logger, this);
            var identity = Auth.Current;
            return identity is null ? context : context.WithIdentity(identity.User.Id, identity.Token);
        }

        /// <summary>Registers a plugin: validates the type, protects secrets, creates and initializes it, then persists.</summary>
        /// <remarks>Nothing is persisted when any step fails.</remarks>
        /// <param name="baseDirectory">The caller's current folder, against which the values of the plugin's declared path
        /// keys (<see cref="TransferPluginAttribute.PathKeys"/>) are resolved; null: the process's working folder.</param>
        public async Task<PluginInfo> RegisterPluginAsync(OperationContext context, string? name, string? typeName, string? assemblyPath,
            IDictionary<string, string>? configuration, string? baseDirectory = null)
        {
            await Auth.DemandAsync(context, "plugins/" + (name ?? typeName ?? Path.GetFileNameWithoutExtension(assemblyPath ?? "")), Abstractions.Action.Admin).ConfigureAwait(false);
            var registration = new PluginRegistration { RegisteredAt = DateTimeOffset.UtcNow };
            PluginDeclaration? declaration;
            if (assemblyPath != null)
            {
                var full = Path.GetFullPath(assemblyPath);
                // Opening a named pipe waits for a writer: refuse a pipe, socket or device before the loader opens it.
                if (Protocols.SpecialFiles.Of(full) is { SpecialKind: { } kind })
                {
                    throw LocalFiles.NotARegularFile(full, kind, "loaded as plugins");
                }

                var assembly = Plugins.LoadExternal(full, name ?? Path.GetFileNameWithoutExtension(full));
                var types = PluginHost.FindPluginTypes(assembly);
                var chosen = typeName is null ? types.ToList()
                    : types.Where(t => string.Equals(t.FullName, typeName, StringComparison.Ordinal) || string.Equals(t.Name, typeName, StringComparison.OrdinalIgnoreCase)).ToList();
                if (chosen.Count == 0)
                {
                    throw new PluginException(ErrorCode.PluginNotFound,
                        typeName is null ? $"The assembly '{full}' has no public plugin class (a class implementing IPlugin with a public parameterless constructor)."
                                         : $"The assembly '{full}' has no plugin class '{typeName}'.",
                        errorId: "PluginTypeNotFound", target: full);
                }

                if (chosen.Count > 1)
                {
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"The assembly '{full}' has several plugin classes ({string.Join(", ", chosen.Select(t => t.FullName))}); choose one with -Type.",
                        errorId: "PluginTypeAmbiguous", target: full);
                }

                registration.AssemblyPath = full;
                registration.TypeName = chosen[0].FullName!;
                registration.Name = name ?? chosen[0].Name;
                declaration = PluginDeclaration.Of(chosen[0]);
            }
            else
            {
                var builtIn = PluginCatalog.Find(typeName ?? "") ?? throw PluginHost.UnknownType(typeName ?? "");
                registration.TypeName = builtIn.Name;
                registration.Kind = builtIn.Kind;
                registration.Name = name ?? builtIn.Name;
                declaration = builtIn.Declaration;
            }

            if (!Validation.IsSafeName(registration.Name))
            {
                throw new PluginException(ErrorCode.InvalidArgument,
                    $"'{registration.Name}' is not a valid plugin name: use letters, digits, '.', '-' and '_' (at most 64).",
                    errorId: "InvalidPluginName", target: registration.Name);
            }

            if (Plugins.FindRegistration(registration.Name) is { } taken)
            {
                throw new PluginException(ErrorCode.AlreadyExists,
                    $"A plugin named '{registration.Name}' is registered already ({taken.TypeName}). Choose another -Name, or Unregister-TransferPlugin it first.",
                    errorId: "PluginNameInUse", target: registration.Name);
            }

            foreach (var pair in configuration ?? new Dictionary<string, string>())
            {
                var value = declaration?.IsPath(pair.Key) == true ? ConfigurationPaths.Resolve(pair.Value, baseDirectory) : pair.Value;
                if (SecretConfiguration.IsSecret(declaration, pair.Key))
                {
                    registration.ProtectedConfiguration[pair.Key] = Secrets.Protect(value);
                }
                else
                {
                    registration.Configuration[pair.Key] = value;
                }
            }

            // Create and Init before persisting, so a bad type or configuration leaves nothing behind.
            var probe = Plugins.Instantiate(registration);
            registration.Kind = PluginHost.KindOf(probe) ?? throw new PluginException(ErrorCode.InvalidArgument,
                $"'{registration.TypeName}' implements IPlugin but none of IAuthPlugin, IStoragePlugin, IProtocolPlugin, IMonitorPlugin.",
                errorId: "PluginKindUnknown", target: registration.TypeName);
            (probe as IDisposable)?.Dispose();
            Registry.Add(registration);
            try
            {
                await Plugins.GetAsync(context, registration.Name).ConfigureAwait(false);
            }
            catch (PluginException)
            {
                Registry.Remove(registration.Name);
                await Plugins.UnloadAsync(context, registration.Name).ConfigureAwait(false);
                throw;
            }

            return Plugins.Describe().First(p => string.Equals(p.Name, registration.Name, StringComparison.OrdinalIgnoreCase));
        }

        /// <summary>Shuts a registered plugin down and removes its registration.</summary>
        public async Task UnregisterPluginAsync(OperationContext context, string name)
        {
            await Auth.DemandAsync(context, "plugins/" + name, Abstractions.Action.Admin).ConfigureAwait(false);
            var registration = Registry.Find(name);
            if (registration is null)
            {
                var isDefault = Plugins.FindRegistration(name)?.IsDefault == true;
                throw new PluginException(isDefault ? ErrorCode.InvalidState : ErrorCode.PluginNotFound,
                    isDefault ? $"'{name}' is a built-in default and cannot be unregistered."
                              : $"No plugin named '{name}' is registered.",
                    errorId: isDefault ? "DefaultPluginNotRemovable" : "PluginNotFound", target: name);
            }

            try
            {
                await Plugins.UnloadAsync(context, registration.Name).ConfigureAwait(false);
            }
            finally
            {
                Registry.Remove(registration.Name);
                if (registration.Kind == PluginType.Auth)
                {
                    Auth.Clear();
                }
            }
        }

        /// <summary>Stops background work and shuts every plugin down. Safe to call twice.</summary>
        public async Task<IReadOnlyList<PluginException>> CloseAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return Array.Empty<PluginException>();
            }

            var context = new OperationContext(CancellationToken.None, null, this);
            SuspendedAtClose = await Transfers.ShutdownAsync().ConfigureAwait(false);
            await Monitors.ShutdownAsync().ConfigureAwait(false);
            return await Plugins.ShutdownAllAsync(context).ConfigureAwait(false);
        }

        /// <summary>Closes the session synchronously.</summary>
        public void Dispose() => CloseAsync().GetAwaiter().GetResult();
    }
}
