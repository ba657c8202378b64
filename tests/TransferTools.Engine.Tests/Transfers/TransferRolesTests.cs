using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using TransferTools.Engine.Hosting;
using TransferTools.Engine.Transfers;
using Xunit;

namespace TransferTools.Engine.Tests.Transfers
{
    /// <summary>The pieces of the engine that have logic of their own: conflict policy, retry policy, capability dispatch.</summary>
    public sealed class TransferRolesTests : LocalTransferTestBase
    {
        private static readonly ITransferEndpoint Local = PluginCatalog.CreateLocalEndpoint();

        private async Task<ConflictOutcome> ResolveAsync(ConflictPolicy policy, string final)
        {
            var uri = TransferLocation.FromLocalPath(final);
            var existing = await Local.GetInfoAsync(Context, uri, new TransferOptions());
            return await ConflictResolution.ResolveAsync(policy, Local, Context, new TransferOptions(), uri, existing);
        }

        [Fact]
        public async Task Conflict_policy_keeps_overwrites_skips_or_refuses_a_taken_name()
        {
            var taken = NewFile("taken.bin", 10);
            var overwrite = await ResolveAsync(ConflictPolicy.Overwrite, taken);
            Assert.Equal((taken, false), (TransferLocation.ToLocalPath(overwrite.Final), overwrite.Skip));
            var skip = await ResolveAsync(ConflictPolicy.Skip, taken);
            Assert.Equal((taken, true), (TransferLocation.ToLocalPath(skip.Final), skip.Skip));
            var refused = await Assert.ThrowsAsync<PluginException>(() => ResolveAsync(ConflictPolicy.Fail, taken));
            Assert.Equal((ErrorCode.Conflict, "DestinationExists"), (refused.Code, refused.ErrorId));
        }

        [Fact]
        public async Task Conflict_policy_Rename_takes_the_first_free_numbered_name()
        {
            var taken = NewFile("report.csv", 10);
            Assert.Equal(Path.Combine(Work, "report (1).csv"), TransferLocation.ToLocalPath((await ResolveAsync(ConflictPolicy.Rename, taken)).Final));
            NewFile("report (1).csv", 10);
            Assert.Equal(Path.Combine(Work, "report (2).csv"), TransferLocation.ToLocalPath((await ResolveAsync(ConflictPolicy.Rename, taken)).Final));
        }

        [Theory]
        [InlineData(ConflictPolicy.Overwrite)]
        [InlineData(ConflictPolicy.Skip)]
        [InlineData(ConflictPolicy.Rename)]
        public async Task Conflict_policy_never_replaces_a_folder(ConflictPolicy policy)
        {
            var folder = NewFolder("a folder");
            var refused = await Assert.ThrowsAsync<PluginException>(() => ResolveAsync(policy, folder));
            Assert.Equal((ErrorCode.Conflict, "DestinationIsFolder"), (refused.Code, refused.ErrorId));
        }

        [Fact]
        public async Task Retry_policy_retries_transient_failures_up_to_the_count_and_records_each()
        {
            var policy = new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2) };
            var calls = 0;
            var recorded = new List<string?>();
            var result = await policy.RunAsync(Context, "", 3, () =>
                {
                    calls++;
                    return calls < 3 ? Task.FromException<int>(new PluginException(ErrorCode.ConnectionError, "dropped", errorId: "Dropped")) : Task.FromResult(42);
                },
                () => true, e => recorded.Add(e.ErrorId), CancellationToken.None);
            Assert.Equal((42, 3), (result, calls));
            Assert.Equal(new[] { "Dropped", "Dropped" }, recorded);

            calls = 0;
            var gaveUp = await Assert.ThrowsAsync<IOException>(() => policy.RunAsync<int>(Context, 2, () =>
            {
                calls++;
                throw new IOException("reset by peer");
            }));
            Assert.Equal(("reset by peer", 3), (gaveUp.Message, calls));
        }

        [Fact]
        public async Task Retry_policy_does_not_retry_lasting_failures_or_when_told_not_to()
        {
            var policy = new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(1) };
            var calls = 0;
            await Assert.ThrowsAsync<PluginException>(() => policy.RunAsync<int>(Context, 5, () =>
            {
                calls++;
                throw new PluginException(ErrorCode.PermissionDenied, "no");
            }));
            Assert.Equal(1, calls);

            calls = 0;
            await Assert.ThrowsAsync<PluginException>(() => policy.RunAsync<int>(Context, "", 5, () =>
            {
                calls++;
                throw new PluginException(ErrorCode.Timeout, "slow");
            }, () => false, null, CancellationToken.None));
            Assert.Equal(1, calls);
        }

        [Fact]
        public async Task Capabilities_are_used_when_an_endpoint_offers_them_and_skipped_when_not()
        {
            var capable = new CapableEndpoint();
            using var writer = new MemoryStream();
            EndpointFeatures.PrepareWrite(capable, writer, 100, 1100);
            Assert.Equal(new[] { "expect 1000", "reserve 100+1000" }, capable.Calls);

            EndpointFeatures.PrepareWrite(capable, writer, 1100, 1100);
            Assert.Equal(2, capable.Calls.Count);

            // An endpoint with none of them is written to as it is.
            EndpointFeatures.PrepareWrite(new PlainEndpoint(), writer, 0, 1000);

            // The local endpoint offers them all.
            Assert.True(Local is ILocalFileEndpoint && Local is ISpaceReservation && Local is IWriteBehind && Local is IUnnamedTemporaries
                        && Local is IFileAttributePreservation);
            await Task.CompletedTask;
        }

        [Fact]
        public async Task The_local_endpoint_preserves_modification_time_and_mode()
        {
            var file = NewFile("kept.bin", 10);
            var when = new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);
            var mode = OperatingSystem.IsWindows() ? (int?)null : 0x1A4; // 0644
            await ((IFileAttributePreservation)Local).SetFileAttributesAsync(Context, TransferLocation.FromLocalPath(file), when, mode, new TransferOptions());
            Assert.Equal(when.UtcDateTime, File.GetLastWriteTimeUtc(file));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(file));
            }
        }

        [Fact]
        public void A_record_of_the_previous_version_keeps_its_key_file_and_host_key_as_protocol_options()
        {
            var id = TransferManager.NewId();
            var journal = Session.Transfers.Journal;
            // As the previous version wrote it: the SFTP settings as fields of their own, before and after the options.
            File.WriteAllText(journal.RecordPath(id), "{\"FormatVersion\":1,\"Id\":\"" + id + "\",\"Direction\":\"Send\",\"Protocol\":\"Sftp\","
                + "\"KeyFile\":\"/keys/id_ed25519\",\"Custom\":{\"KnownHostsPath\":\"/keys/known_hosts\"},\"HostKeyFingerprint\":\"SHA256:abc\","
                + "\"Status\":\"Failed\"}");
            var record = journal.TryLoad(id)!;
            var options = record.ToOptions();
            Assert.Equal("/keys/id_ed25519", options.Custom["KeyFile"]);
            Assert.Equal("SHA256:abc", options.Custom["HostKeyFingerprint"]);
            Assert.Equal("/keys/known_hosts", options.Custom["KnownHostsPath"]);

            // Written back, they are options only.
            journal.Save(record);
            using (var written = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(journal.RecordPath(id))))
            {
                Assert.False(written.RootElement.TryGetProperty("KeyFile", out _));
                Assert.False(written.RootElement.TryGetProperty("HostKeyFingerprint", out _));
            }

            Assert.Equal("/keys/id_ed25519", journal.TryLoad(id)!.ToOptions().Custom["KeyFile"]);
        }

        private sealed class PlainEndpoint : ITransferEndpoint
        {
            public IReadOnlyCollection<string> Schemes => new[] { "plain" };
            public Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options) => throw new NotSupportedException();
            public Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options) => throw new NotSupportedException();
            public Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options) => throw new NotSupportedException();
            public Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options) => throw new NotSupportedException();
            public Task DeleteAsync(OperationContext context, Uri location, TransferOptions options) => throw new NotSupportedException();
            public Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options) => throw new NotSupportedException();
        }

        private sealed class CapableEndpoint : ISpaceReservation, IWriteBehind, ITransferEndpoint
        {
            private readonly PlainEndpoint _plain = new PlainEndpoint();
            public List<string> Calls { get; } = new List<string>();
            public void ReserveSpace(Stream writer, long offset, long length) => Calls.Add($"reserve {offset}+{length}");
            public void ExpectWrites(Stream writer, long length) => Calls.Add($"expect {length}");
            public IReadOnlyCollection<string> Schemes => _plain.Schemes;
            public Task<RemoteFileInfo> GetInfoAsync(OperationContext context, Uri location, TransferOptions options) => _plain.GetInfoAsync(context, location, options);
            public Task<Stream> OpenReadAsync(OperationContext context, Uri location, long offset, string? expectedVersion, TransferOptions options) =>
                _plain.OpenReadAsync(context, location, offset, expectedVersion, options);
            public Task<Stream> OpenWriteAsync(OperationContext context, Uri location, long offset, TransferOptions options) => _plain.OpenWriteAsync(context, location, offset, options);
            public Task CommitAsync(OperationContext context, Uri temporary, Uri final, bool overwrite, TransferOptions options) =>
                _plain.CommitAsync(context, temporary, final, overwrite, options);
            public Task DeleteAsync(OperationContext context, Uri location, TransferOptions options) => _plain.DeleteAsync(context, location, options);
            public Task CreateDirectoryAsync(OperationContext context, Uri location, TransferOptions options) => _plain.CreateDirectoryAsync(context, location, options);
        }
    }
}
