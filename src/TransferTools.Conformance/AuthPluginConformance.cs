using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;
using static TransferTools.Conformance.ConformanceAssert;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Conformance
{
    /// <summary>
    /// The auth suite: sign-in round trip, wrong and malformed credentials, authorization, refresh, revoke,
    /// tampered tokens, secrets kept out of messages, cancellation and concurrency. Derive and implement
    /// <see cref="PluginConformance{T}.CreatePlugin"/> and <see cref="CreateValidRequestAsync"/>.
    /// </summary>
    public abstract class AuthPluginConformance : PluginConformance<IAuthPlugin>
    {
        /// <inheritdoc/>
        protected override PluginType ExpectedKind => PluginType.Auth;

        /// <summary>A request that signs in (called once per test, after Init; create the user here if the plugin needs one).</summary>
        protected abstract Task<AuthRequest> CreateValidRequestAsync();

        /// <summary>The request from <see cref="CreateValidRequestAsync"/>, made once per test.</summary>
        protected AuthRequest ValidRequest { get; private set; } = new AuthRequest();

        /// <summary>Initializes the plugin, then asks for the valid request once.</summary>
        public override async Task InitializeAsync()
        {
            await base.InitializeAsync().ConfigureAwait(false);
            ValidRequest = await WithTimeout(CreateValidRequestAsync()).ConfigureAwait(false);
        }

        /// <summary>A request that must fail with AuthenticationFailed (default: the valid one with a wrong password or token).</summary>
        protected virtual Task<AuthRequest> CreateInvalidRequestAsync()
        {
            var valid = ValidRequest;
            return Task.FromResult(new AuthRequest
            {
                Type = valid.Type,
                Username = valid.Username,
                Password = valid.Password is null ? null : valid.Password + "-wrong",
                Token = valid.Token is null ? null : valid.Token + "x",
                Oidc = new OidcCredentials { ClientId = valid.Oidc.ClientId, ClientSecret = valid.Oidc.ClientSecret is null ? null : valid.Oidc.ClientSecret + "-wrong" },
            });
        }

        /// <summary>A resource and action the valid user may do, or null to skip that check.</summary>
        protected virtual (string Resource, Action Action)? AllowedAccess => ("storage/LocalStore/conformance.txt", Action.Read);

        /// <summary>A resource and action the valid user may not do, or null when the user may do everything.</summary>
        protected virtual (string Resource, Action Action)? DeniedAccess => null;

        /// <summary>True when <see cref="IAuthPlugin.RefreshAsync"/> is supported (otherwise NotSupported is expected).</summary>
        protected virtual bool SupportsRefresh => true;

        /// <summary>True when <see cref="IAuthPlugin.RevokeAsync"/> makes the token unusable at once.</summary>
        protected virtual bool RevokesTokens => true;

        private Task<AuthResult> SignInAsync() => WithTimeout(Plugin.AuthenticateAsync(NewContext(), ValidRequest));

        /// <summary>A valid request gives a token, a future expiry and a user; no secret shows in ToString.</summary>
        [Fact]
        public async Task Auth_sign_in_round_trip()
        {
            var request = ValidRequest;
            var result = await WithTimeout(Plugin.AuthenticateAsync(NewContext(), request));
            Assert.False(string.IsNullOrEmpty(result.Token), "No token.");
            Assert.True(result.ExpiresAt > DateTimeOffset.UtcNow, "The token expires in the past.");
            Assert.False(string.IsNullOrEmpty(result.User.Id), "No user id.");
            Assert.DoesNotContain(result.Token, result.ToString());
            if (request.Password is { Length: > 0 } password)
            {
                Assert.DoesNotContain(password, result.ToString());
            }

            if (AllowedAccess is { } allowed)
            {
                Assert.True(await WithTimeout(Plugin.AuthorizeAsync(NewContext(), result.Token, allowed.Resource, allowed.Action)));
            }
        }

        /// <summary>Wrong credentials fail with AuthenticationFailed, and the message holds no secret.</summary>
        [Fact]
        public async Task Auth_wrong_credentials_are_refused()
        {
            var request = await CreateInvalidRequestAsync();
            var e = await FailsWith(() => Plugin.AuthenticateAsync(NewContext(), request), ErrorCode.AuthenticationFailed, ErrorCode.Throttled);
            foreach (var secret in new[] { request.Password, request.Token, request.Oidc.ClientSecret }.Where(s => !string.IsNullOrEmpty(s)))
            {
                Assert.DoesNotContain(secret!, e.Message);
                Assert.DoesNotContain(secret!, e.ToString());
            }
        }

        /// <summary>Empty and malformed requests are refused with a PluginException, never another exception.</summary>
        [Fact]
        public async Task Auth_malformed_requests_are_refused()
        {
            var requests = new[]
            {
                new AuthRequest { Type = AuthType.Password, Username = "", Password = "" },
                new AuthRequest { Type = AuthType.Password, Username = null, Password = null },
                new AuthRequest { Type = AuthType.Password, Username = "../../etc/passwd", Password = "x" },
                new AuthRequest { Type = AuthType.Token, Token = "" },
                new AuthRequest { Type = AuthType.Token, Token = "not-a-token" },
            };
            foreach (var request in requests)
            {
                await FailsWith(() => Plugin.AuthenticateAsync(NewContext(), request),
                    ErrorCode.AuthenticationFailed, ErrorCode.InvalidArgument, ErrorCode.NotSupported, ErrorCode.Throttled);
            }
        }

        /// <summary>Authorize answers true for what is allowed and false for what is not.</summary>
        [Fact]
        public async Task Auth_authorize_allows_and_denies()
        {
            var result = await SignInAsync();
            if (AllowedAccess is { } allowed)
            {
                Assert.True(await WithTimeout(Plugin.AuthorizeAsync(NewContext(), result.Token, allowed.Resource, allowed.Action)));
            }

            if (DeniedAccess is { } denied)
            {
                Assert.False(await WithTimeout(Plugin.AuthorizeAsync(NewContext(), result.Token, denied.Resource, denied.Action)));
            }
        }

        /// <summary>A garbage, empty or tampered token is AuthenticationFailed, not "allowed" and not "denied".</summary>
        [Fact]
        public async Task Auth_bad_tokens_are_refused()
        {
            var result = await SignInAsync();
            var middle = result.Token.Length / 2;
            var tampered = result.Token.Substring(0, middle) + (result.Token[middle] == 'A' ? 'B' : 'A') + result.Token.Substring(middle + 1);
            foreach (var token in new[] { "", "garbage", tampered, result.Token + "x" })
            {
                await FailsWith(() => Plugin.AuthorizeAsync(NewContext(), token, "storage/LocalStore/x", Action.Read), ErrorCode.AuthenticationFailed);
            }
        }

        /// <summary>Refresh gives a usable result for the same user.</summary>
        [Fact]
        public async Task Auth_refresh_gives_a_usable_token()
        {
            var result = await SignInAsync();
            if (!SupportsRefresh)
            {
                await FailsWith(() => Plugin.RefreshAsync(NewContext(), result.RefreshToken ?? result.Token), ErrorCode.NotSupported);
                return;
            }

            var refreshed = await WithTimeout(Plugin.RefreshAsync(NewContext(), result.RefreshToken ?? result.Token));
            Assert.False(string.IsNullOrEmpty(refreshed.Token));
            Assert.Equal(result.User.Id, refreshed.User.Id);
            if (AllowedAccess is { } allowed)
            {
                Assert.True(await WithTimeout(Plugin.AuthorizeAsync(NewContext(), refreshed.Token, allowed.Resource, allowed.Action)));
            }
        }

        /// <summary>A revoked token is refused from then on.</summary>
        [Fact]
        public async Task Auth_revoked_token_is_refused()
        {
            var result = await SignInAsync();
            await WithTimeout(Plugin.RevokeAsync(NewContext(), result.Token));
            if (RevokesTokens)
            {
                await FailsWith(() => Plugin.AuthorizeAsync(NewContext(), result.Token, "storage/LocalStore/x", Action.Read), ErrorCode.AuthenticationFailed);
            }
        }

        /// <summary>Tokens from one instance are valid in another over the same data (sessions in other processes).</summary>
        [Fact]
        public async Task Auth_tokens_are_valid_across_instances()
        {
            var result = await SignInAsync();
            var second = await CreateInitializedAsync();
            if (AllowedAccess is { } allowed)
            {
                Assert.True(await WithTimeout(second.AuthorizeAsync(NewContext(), result.Token, allowed.Resource, allowed.Action)));
            }
        }

        /// <summary>A sign-in with a cancelled token is cancelled.</summary>
        [Fact]
        public async Task Auth_cancelled_token_cancels()
        {
            await IsCancelled(() => Plugin.AuthenticateAsync(CancelledContext(), ValidRequest));
        }

        /// <summary>Parallel sign-ins and checks all succeed.</summary>
        [Fact]
        public async Task Auth_concurrent_sign_ins()
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(SignInAsync)));
            Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r.Token)));
            if (AllowedAccess is { } allowed)
            {
                var answers = await Task.WhenAll(results.Select(r => Task.Run(() => WithTimeout(Plugin.AuthorizeAsync(NewContext(), r.Token, allowed.Resource, allowed.Action)))));
                Assert.All(answers, Assert.True);
            }
        }
    }
}
