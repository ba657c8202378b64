using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Engine.Tests.Auth
{
    public class ThirdPartyUserDirectoryTests
    {
        /// <summary>
        /// An auth plugin written against the Abstractions only, registered from its assembly like any third-party
        /// plugin, that keeps its users in memory. Passwords are compared in plain text: it is a test double of the
        /// API, not of good practice.
        /// </summary>
        [TransferPlugin("MemoryUsers", PluginType.Auth, Description = "Users in memory (test).")]
        public sealed class MemoryUsersAuthPlugin : IAuthPlugin, IUserDirectory
        {
            private static readonly ConcurrentDictionary<string, (UserInfo Info, string Password)> Users =
                new ConcurrentDictionary<string, (UserInfo, string)>(StringComparer.OrdinalIgnoreCase);

            public PluginMetadata Metadata { get; } = PluginMetadata.FromDeclaration(typeof(MemoryUsersAuthPlugin));

            public Task InitAsync(OperationContext context, IReadOnlyDictionary<string, string> config) => Task.CompletedTask;
            public Task ShutdownAsync(OperationContext context) => Task.CompletedTask;

            public Task<AuthResult> AuthenticateAsync(OperationContext context, AuthRequest request)
            {
                if (request.Username is null || !Users.TryGetValue(request.Username, out var user) || user.Password != request.Password)
                {
                    throw new PluginException(ErrorCode.AuthenticationFailed, "Wrong name or password.", errorId: "SignInFailed");
                }

                return Task.FromResult(new AuthResult
                {
                    Token = "token-" + user.Info.Name,
                    ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
                    User = new User { Id = user.Info.Id, Name = user.Info.Name, Roles = user.Info.Roles },
                });
            }

            public Task<bool> AuthorizeAsync(OperationContext context, string token, string resource, Action action) =>
                Task.FromResult(Users.Values.Any(u => "token-" + u.Info.Name == token && u.Info.Roles.Contains("Admin")));

            public Task<AuthResult> RefreshAsync(OperationContext context, string token) =>
                throw new PluginException(ErrorCode.NotSupported, "No refresh.", errorId: "NoRefresh");

            public Task RevokeAsync(OperationContext context, string token) => Task.CompletedTask;

            public Task<bool> HasUsersAsync(OperationContext context) => Task.FromResult(!Users.IsEmpty);

            public Task<IReadOnlyList<UserInfo>> ListUsersAsync(OperationContext context) =>
                Task.FromResult<IReadOnlyList<UserInfo>>(Users.Values.Select(u => u.Info).OrderBy(u => u.Name).ToList());

            public Task<UserInfo> CreateUserAsync(OperationContext context, string name, string password, IReadOnlyList<string> roles, IReadOnlyList<string> scopes)
            {
                var info = new UserInfo { Name = name, Id = Guid.NewGuid().ToString("n"), Roles = roles.ToArray(), Scopes = scopes.ToArray(), CreatedAt = DateTimeOffset.UtcNow };
                if (!Users.TryAdd(name, (info, password)))
                {
                    throw new PluginException(ErrorCode.AlreadyExists, $"'{name}' exists.", errorId: "UserExists", target: name);
                }

                return Task.FromResult(info);
            }

            public Task<UserInfo> UpdateUserAsync(OperationContext context, string name, UserChange change)
            {
                var user = Users.TryGetValue(name, out var u) ? u : throw new PluginException(ErrorCode.NotFound, $"No user '{name}'.", errorId: "UserNotFound", target: name);
                user.Info.Roles = change.Roles?.ToArray() ?? user.Info.Roles;
                Users[name] = (user.Info, change.Password ?? user.Password);
                return Task.FromResult(user.Info);
            }

            public Task RemoveUserAsync(OperationContext context, string name) =>
                Users.TryRemove(name, out _) ? Task.CompletedTask
                    : throw new PluginException(ErrorCode.NotFound, $"No user '{name}'.", errorId: "UserNotFound", target: name);

            public static void Clear() => Users.Clear();
        }

        [Fact]
        public async Task A_third_party_auth_plugin_offers_user_administration_through_the_engine()
        {
            MemoryUsersAuthPlugin.Clear();
            using var home = new TestHome();
            var session = home.NewSession();
            OperationContext Context() => session.CreateContext(CancellationToken.None);
            await session.RegisterPluginAsync(Context(), "Directory", typeof(MemoryUsersAuthPlugin).FullName,
                typeof(MemoryUsersAuthPlugin).Assembly.Location, null);

            // The bootstrap rule and the Admin demand are the engine's, whoever keeps the users.
            var first = await session.Auth.Users.NewAsync(Context(), null, "root", "root-password", new[] { "Admin" }, Array.Empty<string>());
            Assert.Equal("Directory", first.Plugin);
            var refused = await Assert.ThrowsAsync<PluginException>(() => session.Auth.Users.ListAsync(Context(), null));
            Assert.Equal("NotConnected", refused.ErrorId);

            await session.Auth.ConnectAsync(Context(), null, new AuthRequest { Type = AuthType.Password, Username = "root", Password = "root-password" });
            await session.Auth.Users.NewAsync(Context(), "Directory", "bob", "bob-password", new[] { "Reader" }, Array.Empty<string>());
            var changed = await session.Auth.Users.SetAsync(Context(), null, "bob", new UserChange { Roles = new[] { "Contributor" } });
            Assert.Equal(new[] { "Contributor" }, changed.Roles);
            var users = await session.Auth.Users.ListAsync(Context(), null);
            Assert.Equal(new[] { "bob", "root" }, users.Select(u => u.Name));
            Assert.All(users, u => Assert.Equal("Directory", u.Plugin));
            await session.Auth.Users.RemoveAsync(Context(), null, "bob");
            Assert.Equal(new[] { "root" }, (await session.Auth.Users.ListAsync(Context(), null)).Select(u => u.Name));
            await session.CloseAsync();
        }
    }
}
