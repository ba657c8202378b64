using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Xunit;

namespace TransferTools.Conformance
{
    /// <summary>
    /// What every plugin kind's suite shares: a fresh work folder and an initialized plugin per test, shut down
    /// afterwards, and the lifecycle tests (metadata, Init then Shutdown, Shutdown without Init, bad configuration).
    /// </summary>
    /// <typeparam name="TPlugin">The plugin interface under test.</typeparam>
    public abstract class PluginConformance<TPlugin> : IAsyncLifetime where TPlugin : class, IPlugin
    {
        private readonly List<TPlugin> _extraInstances = new List<TPlugin>();
        private bool _pluginShutDown;

        /// <summary>A new, uninitialized instance of the plugin under test.</summary>
        protected abstract TPlugin CreatePlugin();

        /// <summary>The configuration passed to InitAsync. <paramref name="dataDirectory"/> is a fresh, empty folder
        /// the plugin may use for its data; it is the same for every instance within one test.</summary>
        protected virtual IReadOnlyDictionary<string, string> CreateConfiguration(string dataDirectory) =>
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        /// <summary>Configurations that InitAsync must refuse with a <see cref="PluginException"/>
        /// (<see cref="ErrorCode.InvalidConfiguration"/> or <see cref="ErrorCode.InvalidArgument"/>). Default: none.</summary>
        protected virtual IEnumerable<IReadOnlyDictionary<string, string>> InvalidConfigurations(string dataDirectory) =>
            Enumerable.Empty<IReadOnlyDictionary<string, string>>();

        /// <summary>The host services plugins see (default: a <see cref="ConformanceHost"/> under the work folder).
        /// Override to run the suite inside a real engine.</summary>
        protected virtual IPluginHost CreateHost(string homeDirectory) => new ConformanceHost(homeDirectory);

        /// <summary>The kind the plugin must declare in its metadata.</summary>
        protected abstract PluginType ExpectedKind { get; }

        /// <summary>How long one awaited operation may take before the test fails instead of hanging.</summary>
        protected virtual TimeSpan OperationTimeout => TimeSpan.FromSeconds(60);

        /// <summary>This test's work folder (deleted afterwards).</summary>
        protected string WorkDirectory { get; private set; } = "";

        /// <summary>The folder passed to <see cref="CreateConfiguration"/>.</summary>
        protected string DataDirectory => Path.Combine(WorkDirectory, "data");

        /// <summary>The host services given to the plugin.</summary>
        protected IPluginHost Host { get; private set; } = null!;

        /// <summary>The initialized plugin under test.</summary>
        protected TPlugin Plugin { get; private set; } = null!;

        /// <summary>A context for one call, with the host and an optional cancellation token.</summary>
        protected OperationContext NewContext(CancellationToken cancellationToken = default) =>
            new OperationContext(cancellationToken, NullPluginLogger.Instance, Host);

        /// <summary>A context whose token is cancelled already.</summary>
        protected OperationContext CancelledContext()
        {
            var cts = new CancellationTokenSource();
            cts.Cancel();
            return NewContext(cts.Token);
        }

        /// <summary>Shuts <see cref="Plugin"/> down now (it is not shut down again after the test).</summary>
        protected async Task ShutdownPluginAsync()
        {
            _pluginShutDown = true;
            await WithTimeout(Plugin.ShutdownAsync(NewContext())).ConfigureAwait(false);
        }

        /// <summary>Creates and initializes another instance on the same data (shut down after the test).</summary>
        protected async Task<TPlugin> CreateInitializedAsync()
        {
            var plugin = CreatePlugin();
            await WithTimeout(plugin.InitAsync(NewContext(), CreateConfiguration(DataDirectory))).ConfigureAwait(false);
            _extraInstances.Add(plugin);
            return plugin;
        }

        /// <summary>Awaits <paramref name="task"/>, failing the test after <see cref="OperationTimeout"/>.</summary>
        protected async Task WithTimeout(Task task)
        {
            if (await Task.WhenAny(task, Task.Delay(OperationTimeout)).ConfigureAwait(false) != task)
            {
                throw new TimeoutException($"The operation did not finish within {OperationTimeout}.");
            }

            await task.ConfigureAwait(false);
        }

        /// <summary>Awaits <paramref name="task"/>, failing the test after <see cref="OperationTimeout"/>.</summary>
        protected async Task<T> WithTimeout<T>(Task<T> task)
        {
            await WithTimeout((Task)task).ConfigureAwait(false);
            return await task.ConfigureAwait(false);
        }

        /// <summary>Creates the work folder and the plugin, and runs InitAsync.</summary>
        public virtual async Task InitializeAsync()
        {
            WorkDirectory = Path.Combine(Path.GetTempPath(), "tt-conformance-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(DataDirectory);
            Host = CreateHost(Path.Combine(WorkDirectory, "home"));
            Plugin = CreatePlugin();
            await WithTimeout(Plugin.InitAsync(NewContext(), CreateConfiguration(DataDirectory))).ConfigureAwait(false);
        }

        /// <summary>Shuts every instance down and removes the work folder.</summary>
        public virtual async Task DisposeAsync()
        {
            var instances = _pluginShutDown ? _extraInstances : _extraInstances.Concat(new[] { Plugin });
            foreach (var plugin in instances.Where(p => p != null).Reverse())
            {
                try
                {
                    await plugin.ShutdownAsync(NewContext()).ConfigureAwait(false);
                }
                catch (PluginException)
                {
                    // Shutdown failures are checked by the lifecycle tests, not while cleaning up.
                }
            }

            try
            {
                Directory.Delete(WorkDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        /// <summary>Metadata is complete and names the right kind, before and after Init.</summary>
        [Fact]
        public void Lifecycle_metadata_describes_the_plugin()
        {
            foreach (var metadata in new[] { CreatePlugin().Metadata, Plugin.Metadata })
            {
                Assert.False(string.IsNullOrWhiteSpace(metadata.Name), "Metadata.Name is empty.");
                Assert.False(string.IsNullOrWhiteSpace(metadata.Version), "Metadata.Version is empty.");
                Assert.Equal(ExpectedKind, metadata.Type);
            }
        }

        /// <summary>The class declares itself (<see cref="TransferPluginAttribute"/>) as its metadata and schemes say.</summary>
        [Fact]
        public void Lifecycle_declaration_matches_the_plugin()
        {
            var plugin = CreatePlugin();
            var declared = TransferPluginAttribute.Of(plugin.GetType());
            Assert.True(declared != null, $"{plugin.GetType().FullName} has no [TransferPlugin] declaration.");
            Assert.Equal(ExpectedKind, declared!.Kind);
            Assert.Equal(declared.Name, plugin.Metadata.Name);
            Assert.All(declared.SecretKeys, k => Assert.False(string.IsNullOrWhiteSpace(k), "A declared secret key is empty."));
            if (plugin is ITransferEndpoint endpoint)
            {
                Assert.Equal(declared.Schemes.OrderBy(s => s, StringComparer.Ordinal), endpoint.Schemes.OrderBy(s => s, StringComparer.Ordinal));
            }
        }

        /// <summary>Shutdown of a plugin that was never initialized does not throw.</summary>
        [Fact]
        public async Task Lifecycle_shutdown_without_init_does_not_throw()
        {
            await WithTimeout(CreatePlugin().ShutdownAsync(NewContext()));
        }

        /// <summary>Init then Shutdown on a second instance over the same data works while the first is active.</summary>
        [Fact]
        public async Task Lifecycle_init_then_shutdown_of_a_second_instance()
        {
            var second = CreatePlugin();
            await WithTimeout(second.InitAsync(NewContext(), CreateConfiguration(DataDirectory)));
            await WithTimeout(second.ShutdownAsync(NewContext()));
        }

        /// <summary>Each configuration from <see cref="InvalidConfigurations"/> is refused at Init with a PluginException.</summary>
        [Fact]
        public async Task Lifecycle_init_refuses_invalid_configuration()
        {
            foreach (var config in InvalidConfigurations(DataDirectory))
            {
                var plugin = CreatePlugin();
                var e = await Assert.ThrowsAsync<PluginException>(() => WithTimeout(plugin.InitAsync(NewContext(), config)));
                Assert.Contains(e.Code, new[] { ErrorCode.InvalidConfiguration, ErrorCode.InvalidArgument });
                await plugin.ShutdownAsync(NewContext());
            }
        }
    }

    /// <summary>Assertions the suites share.</summary>
    public static class ConformanceAssert
    {
        /// <summary>Asserts that <paramref name="action"/> fails with a <see cref="PluginException"/> of one of <paramref name="codes"/>.</summary>
        public static async Task<PluginException> FailsWith(Func<Task> action, params ErrorCode[] codes)
        {
            try
            {
                await action().ConfigureAwait(false);
            }
            catch (PluginException e)
            {
                Assert.True(codes.Contains(e.Code), $"Expected a PluginException with code {string.Join(" or ", codes)}, got {e.Code}: {e.Message}");
                return e;
            }
            catch (Exception e)
            {
                Assert.Fail($"Expected a PluginException with code {string.Join(" or ", codes)}, got {e.GetType().Name}: {e.Message}");
            }

            Assert.Fail($"Expected a PluginException with code {string.Join(" or ", codes)}, but the call succeeded.");
            return null!;
        }

        /// <summary>Asserts that <paramref name="action"/> ends in cancellation: an OperationCanceledException, or a
        /// PluginException with <see cref="ErrorCode.Cancelled"/>.</summary>
        public static async Task IsCancelled(Func<Task> action)
        {
            try
            {
                await action().ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (PluginException e) when (e.Code == ErrorCode.Cancelled)
            {
                return;
            }
            catch (Exception e)
            {
                Assert.Fail($"Expected cancellation, got {e.GetType().Name}: {e.Message}");
            }

            Assert.Fail("Expected cancellation, but the call succeeded.");
        }

        /// <summary>Deterministic pseudo-random content.</summary>
        public static byte[] Content(int size, int seed = 1)
        {
            var bytes = new byte[size];
            new Random(seed).NextBytes(bytes);
            return bytes;
        }

        /// <summary>Reads a stream to its end.</summary>
        public static async Task<byte[]> ReadAllAsync(Stream stream)
        {
            using (var memory = new MemoryStream())
            {
                await stream.CopyToAsync(memory).ConfigureAwait(false);
                return memory.ToArray();
            }
        }

        /// <summary>Lower-case hex SHA-256.</summary>
        public static string Sha256(byte[] content)
        {
            using (var sha = System.Security.Cryptography.SHA256.Create())
            {
                return Hex.ToLowerString(sha.ComputeHash(content));
            }
        }
    }
}
