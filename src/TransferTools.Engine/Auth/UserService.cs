using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Engine.Auth
{
    /// <summary>
    /// User administration through any auth plugin that keeps users (<see cref="IUserDirectory"/>: LocalUsers, or a
    /// third-party plugin).
    /// Every call needs Admin on <c>users/NAME</c>, except the bootstrap: while the directory has no users, this is the
    /// only auth plugin and the session is not signed in, the first user may be created, and must be an Admin.
    /// </summary>
    public sealed class UserService
    {
        private readonly TransferSession _session;

        /// <summary>Creates the service for a session.</summary>
        public UserService(TransferSession session) => _session = session;

        /// <summary>The resource name of a user: <c>users/NAME</c>.</summary>
        public static string Resource(string name) => "users/" + name;

        /// <summary>Creates a user (Admin, or the bootstrap rule for the first user).</summary>
        public async Task<UserInfo> NewAsync(OperationContext context, string? plugin, string name, string password,
            IReadOnlyList<string> roles, IReadOnlyList<string> scopes)
        {
            var (registration, directory) = await ResolveAsync(context, plugin).ConfigureAwait(false);
            var bootstrap = _session.Auth.Current is null
                            && _session.Auth.RegisteredAuthPlugins().Length == 1
                            && !await directory.HasUsersAsync(context).ConfigureAwait(false);
            if (bootstrap)
            {
                if (!roles.Any(r => string.Equals(Roles.Normalize(r), Roles.Admin, StringComparison.Ordinal)) || scopes.Count > 0)
                {
                    throw new PluginException(ErrorCode.InvalidArgument,
                        $"'{registration}' has no users yet: the first user must be an unscoped Admin (New-TransferUser -Credential ... -Role Admin), so that someone can manage the rest.",
                        errorId: "FirstUserMustBeAdmin", target: name);
                }

                context.Logger.Log(LogLevel.Verbose, $"'{registration}' has no users yet: creating the first Admin '{name}' without a session (bootstrap).");
            }
            else
            {
                await _session.Auth.DemandAsync(context, Resource(name), Action.Admin).ConfigureAwait(false);
            }

            return Stamp(await directory.CreateUserAsync(context, name, password, roles, scopes).ConfigureAwait(false), registration);
        }

        /// <summary>Every user of the directory (Admin).</summary>
        public async Task<IReadOnlyList<UserInfo>> ListAsync(OperationContext context, string? plugin)
        {
            var (registration, directory) = await ResolveAsync(context, plugin).ConfigureAwait(false);
            await _session.Auth.DemandAsync(context, "users/", Action.Admin).ConfigureAwait(false);
            return (await directory.ListUsersAsync(context).ConfigureAwait(false)).Select(u => Stamp(u, registration)).ToList();
        }

        /// <summary>Changes a user (Admin).</summary>
        public async Task<UserInfo> SetAsync(OperationContext context, string? plugin, string name, UserChange change)
        {
            var (registration, directory) = await ResolveAsync(context, plugin).ConfigureAwait(false);
            await _session.Auth.DemandAsync(context, Resource(name), Action.Admin).ConfigureAwait(false);
            return Stamp(await directory.UpdateUserAsync(context, name, change).ConfigureAwait(false), registration);
        }

        /// <summary>Removes a user (Admin).</summary>
        public async Task RemoveAsync(OperationContext context, string? plugin, string name)
        {
            var (_, directory) = await ResolveAsync(context, plugin).ConfigureAwait(false);
            await _session.Auth.DemandAsync(context, Resource(name), Action.Admin).ConfigureAwait(false);
            await directory.RemoveUserAsync(context, name).ConfigureAwait(false);
        }

        // Which registration a user belongs to is the engine's knowledge: a third-party directory need not know its name.
        private static UserInfo Stamp(UserInfo user, string registration)
        {
            user.Plugin = registration;
            return user;
        }

        /// <summary>The user directory named <paramref name="plugin"/>, or the only registered one.</summary>
        public async Task<(string Name, IUserDirectory Directory)> ResolveAsync(OperationContext context, string? plugin)
        {
            var authNames = _session.Auth.RegisteredAuthPlugins();
            if (!string.IsNullOrEmpty(plugin))
            {
                var name = authNames.FirstOrDefault(n => string.Equals(n, plugin, StringComparison.OrdinalIgnoreCase))
                           ?? throw new PluginException(ErrorCode.PluginNotFound, $"No auth plugin named '{plugin}' is registered.", errorId: "AuthPluginNotFound", target: plugin);
                var instance = await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false);
                return (name, instance as IUserDirectory ?? throw new PluginException(ErrorCode.NotSupported,
                    $"The auth plugin '{name}' ({instance.Metadata.Name}) keeps no users of its own: manage them at its identity provider.",
                    errorId: "NoUserDirectory", target: name));
            }

            var directories = new List<(string, IUserDirectory)>();
            foreach (var name in authNames)
            {
                if (await _session.Plugins.GetAsync<IAuthPlugin>(context, name).ConfigureAwait(false) is IUserDirectory directory)
                {
                    directories.Add((name, directory));
                }
            }

            return directories.Count switch
            {
                0 => throw new PluginException(ErrorCode.PluginNotFound,
                    "No auth plugin that keeps users is registered. Register-TransferPlugin -Type LocalUsers first.", errorId: "NoUserDirectory"),
                1 => directories[0],
                _ => throw new PluginException(ErrorCode.InvalidArgument,
                    $"Several user directories are registered ({string.Join(", ", directories.Select(d => d.Item1))}); choose one with -Plugin.",
                    errorId: "UserDirectoryAmbiguous"),
            };
        }
    }
}
