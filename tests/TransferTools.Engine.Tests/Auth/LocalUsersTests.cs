using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Auth;
using Action = TransferTools.Abstractions.Action;
using TransferTools.Engine.BuiltIn.LocalUsers;

namespace TransferTools.Engine.Tests.Auth
{
    public class PasswordHasherTests
    {
        // RFC 7914, section 11: PBKDF2-HMAC-SHA256 test vectors.
        [Theory]
        [InlineData("passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")]
        [InlineData("Password", "NaCl", 80000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")]
        public void Managed_and_native_match_the_rfc_vectors(string password, string salt, int iterations, string expectedHex)
        {
            var p = Encoding.UTF8.GetBytes(password);
            var s = Encoding.UTF8.GetBytes(salt);
            Assert.Equal(expectedHex, Convert.ToHexString(PasswordHasher.DeriveManaged(p, s, iterations, 64)).ToLowerInvariant());
            Assert.Equal(expectedHex, Convert.ToHexString(PasswordHasher.Derive(p, s, iterations, 64)).ToLowerInvariant());
        }

        [Fact]
        public void Uses_the_native_implementation_on_modern_runtimes() => Assert.True(PasswordHasher.UsesNativeImplementation);

        [Fact]
        public void Hash_is_salted_slow_and_verifies()
        {
            var a = PasswordHasher.Hash("correct horse");
            var b = PasswordHasher.Hash("correct horse");
            Assert.NotEqual(a, b);
            Assert.StartsWith("pbkdf2-sha256$600000$", a);
            Assert.True(PasswordHasher.Verify("correct horse", a));
            Assert.False(PasswordHasher.Verify("correct horsE", a));
            Assert.False(PasswordHasher.Verify("x", "garbage"));
        }
    }

    public class ResourceScopeTests
    {
        [Theory]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/reports/q1.csv", true)]
        [InlineData("storage/LocalStore/reports/", "storage/localstore/reports/q1.csv", true)]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/Reports/q1.csv", false)]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/reports", true)]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/reportsX/q1.csv", false)]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/reports/../secret", false)]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/reports/%2E%2E/secret", false)]
        [InlineData("storage/LocalStore/reports/", "storage/LocalStore/reports/..\\secret", false)]
        [InlineData("transfer/sftp://backup/in/*", "transfer/sftp://backup/in/a/b.zip", true)]
        [InlineData("transfer/sftp://backup/in/*", "transfer/sftp://backup/out/a.zip", false)]
        [InlineData("transfer/sftp://backup/in/*", "transfer/sftp://backup/in/../out/a.zip", false)]
        [InlineData("metrics/job.?", "metrics/job.1", true)]
        [InlineData("metrics/job.?", "metrics/job.12", false)]
        public void Scopes_limit_resources(string scope, string resource, bool expected) =>
            Assert.Equal(expected, ResourceScopes.Permits(new[] { scope }, resource));

        [Theory]
        [InlineData("reports/")]
        [InlineData("storage")]
        [InlineData("storage/LocalStore/../x/")]
        [InlineData("storage/Local\u0001Store/")]
        public void Bad_scopes_are_refused(string scope) =>
            Assert.Equal("InvalidScope", Assert.Throws<PluginException>(() => ResourceScopes.Validate(scope)).ErrorId);

        [Fact]
        public void Roles_map_to_actions()
        {
            Assert.True(Roles.Allow(new[] { "reader" }, Action.Read));
            Assert.False(Roles.Allow(new[] { "Reader" }, Action.Write));
            Assert.True(Roles.Allow(new[] { "Contributor" }, Action.Write));
            Assert.False(Roles.Allow(new[] { "Contributor" }, Action.Delete));
            Assert.True(Roles.Allow(new[] { "Owner" }, Action.Delete));
            Assert.False(Roles.Allow(new[] { "Owner" }, Action.Admin));
            Assert.True(Roles.Allow(new[] { "Admin" }, Action.Admin));
            Assert.False(Roles.Allow(new[] { "Superuser" }, Action.Read));
        }
    }

    /// <summary>A session with LocalUsers registered, a fast hash for tests, and a clock the test moves.</summary>
    public sealed class LocalUsersFixture : IDisposable
    {
        public LocalUsersFixture(Dictionary<string, string>? config = null)
        {
            Home = new TestHome();
            Session = Home.NewSession();
            Now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
            var context = Session.CreateContext(CancellationToken.None);
            Session.RegisterPluginAsync(context, "Users", "LocalUsers", null, config ?? new Dictionary<string, string>()).GetAwaiter().GetResult();
            Plugin = (LocalUsersAuthPlugin)Session.Plugins.GetAsync<IAuthPlugin>(context, "Users").GetAwaiter().GetResult();
            Plugin.IterationsOverrideForTests = 1000;
            Plugin.Clock = () => Now;
            Session.Auth.Clock = () => Now;
        }

        public TestHome Home { get; }
        public TransferSession Session { get; }
        public LocalUsersAuthPlugin Plugin { get; }
        public DateTimeOffset Now { get; set; }

        public OperationContext Context => Session.CreateContext(CancellationToken.None);

        public Task<AuthResult> SignIn(string name, string password) =>
            Plugin.AuthenticateAsync(Context, new AuthRequest { Type = AuthType.Password, Username = name, Password = password });

        public void Dispose()
        {
            Session.Dispose();
            Home.Dispose();
        }
    }

    public class LocalUsersTests
    {
        private static async Task<LocalUsersFixture> WithAdminAndReader(Dictionary<string, string>? config = null)
        {
            var f = new LocalUsersFixture(config);
            await f.Session.Auth.Users.NewAsync(f.Context, null, "admin", "admin-password", new[] { "Admin" }, Array.Empty<string>());
            await f.Plugin.CreateUserAsync(f.Context, "reader", "reader-password", new[] { "Reader" }, new[] { "storage/LocalStore/reports/" });
            return f;
        }

        [Fact]
        public async Task Wrong_password_and_unknown_user_fail_alike()
        {
            using var f = await WithAdminAndReader();
            var wrong = await Assert.ThrowsAsync<PluginException>(() => f.SignIn("admin", "nope-nope"));
            var unknown = await Assert.ThrowsAsync<PluginException>(() => f.SignIn("ghost", "nope-nope"));
            Assert.Equal(ErrorCode.AuthenticationFailed, wrong.Code);
            Assert.Equal(wrong.Message, unknown.Message);
            Assert.Equal("InvalidCredentials", unknown.ErrorId);
        }

        [Fact]
        public async Task Token_authorizes_by_role_and_scope()
        {
            using var f = await WithAdminAndReader();
            var r = await f.SignIn("reader", "reader-password");
            Assert.True(await f.Plugin.AuthorizeAsync(f.Context, r.Token, "storage/LocalStore/reports/a", Action.Read));
            Assert.False(await f.Plugin.AuthorizeAsync(f.Context, r.Token, "storage/LocalStore/reports/a", Action.Write));
            Assert.False(await f.Plugin.AuthorizeAsync(f.Context, r.Token, "storage/LocalStore/other", Action.Read));
            Assert.False(await f.Plugin.AuthorizeAsync(f.Context, r.Token, "storage/LocalStore/reports/../other", Action.Read));
            Assert.DoesNotContain(r.Token, r.ToString());
        }

        [Fact]
        public async Task Tampered_token_is_refused()
        {
            using var f = await WithAdminAndReader();
            var r = await f.SignIn("reader", "reader-password");
            var parts = r.Token.Split('.');
            var claims = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1])));
            var forged = claims.Replace("\"sub\":\"", "\"sub\":\"x");
            var tampered = parts[0] + "." + Convert.ToBase64String(Encoding.UTF8.GetBytes(forged)).TrimEnd('=').Replace('+', '-').Replace('/', '_') + "." + parts[2];
            var e = await Assert.ThrowsAsync<PluginException>(() => f.Plugin.AuthorizeAsync(f.Context, tampered, "storage/LocalStore/reports/a", Action.Read));
            Assert.Equal("InvalidToken", e.ErrorId);
            var flipped = r.Token.Substring(0, r.Token.Length - 2) + (r.Token.EndsWith("AA") ? "BB" : "AA");
            Assert.Equal("InvalidToken", (await Assert.ThrowsAsync<PluginException>(() => f.Plugin.AuthorizeAsync(f.Context, flipped, "x", Action.Read))).ErrorId);
            Assert.Equal("InvalidToken", (await Assert.ThrowsAsync<PluginException>(() => f.Plugin.AuthorizeAsync(f.Context, r.RefreshToken!, "storage/LocalStore/reports/a", Action.Read))).ErrorId);
        }

        [Fact]
        public async Task Expired_token_is_refused()
        {
            using var f = await WithAdminAndReader();
            var r = await f.SignIn("reader", "reader-password");
            f.Now = r.ExpiresAt.AddSeconds(1);
            var e = await Assert.ThrowsAsync<PluginException>(() => f.Plugin.AuthorizeAsync(f.Context, r.Token, "storage/LocalStore/reports/a", Action.Read));
            Assert.Equal("TokenExpired", e.ErrorId);
        }

        [Fact]
        public async Task Revoked_token_and_its_refresh_token_are_refused_and_the_list_is_pruned()
        {
            using var f = await WithAdminAndReader();
            var r = await f.SignIn("reader", "reader-password");
            await f.Plugin.RevokeAsync(f.Context, r.Token);
            Assert.Equal("TokenRevoked", (await Assert.ThrowsAsync<PluginException>(() => f.Plugin.AuthorizeAsync(f.Context, r.Token, "storage/LocalStore/reports/a", Action.Read))).ErrorId);
            Assert.Equal("TokenRevoked", (await Assert.ThrowsAsync<PluginException>(() => f.Plugin.RefreshAsync(f.Context, r.RefreshToken!))).ErrorId);
            var stateFile = Path.Combine(f.Home.Path, "plugins", "Users", "tokens.json");
            Assert.Contains("Revoked", File.ReadAllText(stateFile));

            // After every token involved expired, the next write prunes the list.
            f.Now = f.Now.AddDays(2);
            await f.SignIn("admin", "admin-password");
            var state = System.Text.Json.JsonDocument.Parse(File.ReadAllText(stateFile)).RootElement;
            Assert.Equal(0, state.GetProperty("Revoked").GetArrayLength());
            Assert.Equal(1, state.GetProperty("Families").GetArrayLength());
        }

        [Fact]
        public async Task Refresh_rotates_and_reuse_ends_the_sign_in()
        {
            using var f = await WithAdminAndReader();
            var first = await f.SignIn("reader", "reader-password");
            f.Now = f.Now.AddMinutes(1);
            var second = await f.Plugin.RefreshAsync(f.Context, first.RefreshToken!);
            Assert.NotEqual(first.RefreshToken, second.RefreshToken);
            Assert.True(second.ExpiresAt > first.ExpiresAt);
            Assert.True(await f.Plugin.AuthorizeAsync(f.Context, second.Token, "storage/LocalStore/reports/a", Action.Read));

            var reuse = await Assert.ThrowsAsync<PluginException>(() => f.Plugin.RefreshAsync(f.Context, first.RefreshToken!));
            Assert.Equal("RefreshTokenReused", reuse.ErrorId);
            Assert.Equal("TokenRevoked", (await Assert.ThrowsAsync<PluginException>(() => f.Plugin.AuthorizeAsync(f.Context, second.Token, "x", Action.Read))).ErrorId);
        }

        [Fact]
        public async Task Repeated_failures_lock_out_exponentially_and_success_resets()
        {
            using var f = await WithAdminAndReader(new Dictionary<string, string> { ["MaxFailedSignIns"] = "3", ["LockoutSeconds"] = "10", ["MaxLockoutSeconds"] = "25" });
            for (var i = 0; i < 3; i++)
            {
                await Assert.ThrowsAsync<PluginException>(() => f.SignIn("reader", "wrong-password"));
            }

            var locked = await Assert.ThrowsAsync<PluginException>(() => f.SignIn("reader", "reader-password"));
            Assert.Equal(ErrorCode.Throttled, locked.Code);
            Assert.Equal("SignInThrottled", locked.ErrorId);

            f.Now = f.Now.AddSeconds(11); // first lockout: 10 s
            await Assert.ThrowsAsync<PluginException>(() => f.SignIn("reader", "wrong-password"));
            f.Now = f.Now.AddSeconds(19); // second lockout doubled to 20 s
            Assert.Equal(ErrorCode.Throttled, (await Assert.ThrowsAsync<PluginException>(() => f.SignIn("reader", "reader-password"))).Code);
            f.Now = f.Now.AddSeconds(2);
            await Assert.ThrowsAsync<PluginException>(() => f.SignIn("reader", "wrong-password"));
            var info = (await f.Plugin.ListUsersAsync(f.Context)).Single(u => u.Name == "reader");
            Assert.Equal(f.Now.AddSeconds(25), info.LockedUntil); // capped at MaxLockoutSeconds

            // Other users are not affected; after the lockout a success resets the count.
            await f.SignIn("admin", "admin-password");
            f.Now = f.Now.AddSeconds(26);
            await f.SignIn("reader", "reader-password");
            Assert.Equal(0, (await f.Plugin.ListUsersAsync(f.Context)).Single(u => u.Name == "reader").FailedSignIns);
        }

        [Fact]
        public async Task Unknown_names_are_throttled_too()
        {
            using var f = await WithAdminAndReader(new Dictionary<string, string> { ["MaxFailedSignIns"] = "1", ["LockoutSeconds"] = "60" });
            await Assert.ThrowsAsync<PluginException>(() => f.SignIn("ghost", "x-password"));
            Assert.Equal(ErrorCode.Throttled, (await Assert.ThrowsAsync<PluginException>(() => f.SignIn("GHOST", "x-password"))).Code);
        }

        [Fact]
        public async Task Bootstrap_only_while_empty_then_admin_only()
        {
            using var f = new LocalUsersFixture();
            var notAdmin = await Assert.ThrowsAsync<PluginException>(() => f.Session.Auth.Users.NewAsync(f.Context, null, "a", "a-password", new[] { "Reader" }, Array.Empty<string>()));
            Assert.Equal("FirstUserMustBeAdmin", notAdmin.ErrorId);
            await f.Session.Auth.Users.NewAsync(f.Context, null, "root", "root-password", new[] { "Admin" }, Array.Empty<string>());
            var second = await Assert.ThrowsAsync<PluginException>(() => f.Session.Auth.Users.NewAsync(f.Context, null, "b", "b-password", new[] { "Admin" }, Array.Empty<string>()));
            Assert.Equal("NotConnected", second.ErrorId);

            await f.Session.Auth.ConnectAsync(f.Context, null, new AuthRequest { Type = AuthType.Password, Username = "root", Password = "root-password" });
            var b = await f.Session.Auth.Users.NewAsync(f.Context, null, "b", "b-password", new[] { "Reader" }, Array.Empty<string>());
            Assert.Equal(new[] { "Reader" }, b.Roles);
        }

        [Fact]
        public async Task Context_carries_user_id_and_session_refreshes_itself_before_expiry()
        {
            using var f = await WithAdminAndReader(new Dictionary<string, string> { ["AccessTokenLifetime"] = "600" });
            var first = await f.Session.Auth.ConnectAsync(f.Context, null, new AuthRequest { Type = AuthType.Password, Username = "reader", Password = "reader-password" });
            var context = f.Context;
            Assert.Equal(first.User.Id, context.UserId);
            Assert.Equal(first.Token, context.AccessToken);
            Assert.DoesNotContain(first.Token, context.ToString());

            f.Now = f.Now.AddMinutes(5);
            await f.Session.Auth.DemandAsync(f.Context, "storage/LocalStore/reports/a", Action.Read);
            Assert.Same(first, f.Session.Auth.Current); // not due yet

            f.Now = first.ExpiresAt.AddSeconds(-30); // within the refresh window
            await f.Session.Auth.DemandAsync(f.Context, "storage/LocalStore/reports/a", Action.Read);
            var refreshed = f.Session.Auth.Current!;
            Assert.NotSame(first, refreshed);
            Assert.True(refreshed.ExpiresAt > first.ExpiresAt);

            // Expired and the refresh token revoked elsewhere: a clear SessionExpired error.
            await f.Plugin.RevokeAsync(f.Context, refreshed.RefreshToken!);
            f.Now = refreshed.ExpiresAt.AddSeconds(1);
            var e = await Assert.ThrowsAsync<PluginException>(() => f.Session.Auth.DemandAsync(f.Context, "storage/LocalStore/reports/a", Action.Read));
            Assert.Equal("SessionExpired", e.ErrorId);
            Assert.Contains("Connect-TransferService", e.Message);
        }

        [Fact]
        public async Task Refusal_names_action_resource_and_roles()
        {
            using var f = await WithAdminAndReader();
            await f.Session.Auth.ConnectAsync(f.Context, null, new AuthRequest { Type = AuthType.Password, Username = "reader", Password = "reader-password" });
            var e = await Assert.ThrowsAsync<PluginException>(() => f.Session.Auth.DemandAsync(f.Context, "storage/LocalStore/reports/a", Action.Delete));
            Assert.Equal(ErrorCode.PermissionDenied, e.Code);
            Assert.Contains("delete", e.Message);
            Assert.Contains("storage/LocalStore/reports/a", e.Message);
            Assert.Contains("Reader", e.Message);
        }

        [Fact]
        public async Task Secrets_never_reach_the_files()
        {
            using var f = await WithAdminAndReader();
            var r = await f.SignIn("reader", "reader-password");
            await f.Plugin.RefreshAsync(f.Context, r.RefreshToken!);
            foreach (var file in Directory.EnumerateFiles(f.Home.Path, "*", SearchOption.AllDirectories))
            {
                var text = File.ReadAllText(file);
                Assert.DoesNotContain("reader-password", text);
                Assert.DoesNotContain("ttl1.", text);
                Assert.DoesNotContain(r.Token.Split('.')[2], text);
            }
        }

        private static string Pad(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            return s + new string('=', (4 - s.Length % 4) % 4);
        }
    }
}
