using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using TransferTools.Abstractions;
using Action = TransferTools.Abstractions.Action;

namespace TransferTools.Engine.Storage
{
    /// <summary>Storage operations on any registered storage plugin, authorized and with validated ids.</summary>
    public sealed class StorageService
    {
        /// <summary>The storage used when a cmdlet gets no <c>-Storage</c>.</summary>
        public const string DefaultStorage = "LocalStore";

        private readonly TransferSession _session;

        /// <summary>Creates the service for a session.</summary>
        public StorageService(TransferSession session) => _session = session;

        /// <summary>The storage plugin registered as <paramref name="storage"/>.</summary>
        public Task<IStoragePlugin> GetPluginAsync(OperationContext context, string? storage) =>
            _session.Plugins.GetAsync<IStoragePlugin>(context, string.IsNullOrEmpty(storage) ? DefaultStorage : storage!);

        /// <summary>Stores a stream.</summary>
        public async Task<Item> StoreAsync(OperationContext context, string? storage, Stream content, ItemMetadata metadata)
        {
            Validation.RequireSafeKey(metadata.Name, "item name", allowSlash: true);
            await _session.Auth.DemandAsync(context, Resource(storage, metadata.Name), Action.Write).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            var id = await plugin.StoreAsync(context, content, metadata).ConfigureAwait(false);
            return new Item { Id = id, Metadata = metadata };
        }

        /// <summary>Opens one item.</summary>
        public async Task<RetrievedItem> RetrieveAsync(OperationContext context, string? storage, string id)
        {
            Validation.RequireSafeKey(id, "item id", 256);
            await _session.Auth.DemandAsync(context, Resource(storage, id), Action.Read).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            return await plugin.RetrieveAsync(context, id).ConfigureAwait(false);
        }

        /// <summary>Deletes one item.</summary>
        public async Task DeleteAsync(OperationContext context, string? storage, string id)
        {
            Validation.RequireSafeKey(id, "item id", 256);
            await _session.Auth.DemandAsync(context, Resource(storage, id), Action.Delete).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            await plugin.DeleteAsync(context, id).ConfigureAwait(false);
        }

        /// <summary>Lists one page.</summary>
        public async Task<IReadOnlyList<Item>> ListAsync(OperationContext context, string? storage, ListFilter filter)
        {
            if (!string.IsNullOrEmpty(filter.Prefix))
            {
                Validation.RequireSafeKey(filter.Prefix, "prefix", allowSlash: true);
            }

            await _session.Auth.DemandAsync(context, Resource(storage, filter.Prefix ?? ""), Action.Read).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            return await plugin.ListAsync(context, filter).ConfigureAwait(false);
        }

        /// <summary>Totals.</summary>
        public async Task<StorageStats> StatsAsync(OperationContext context, string? storage)
        {
            await _session.Auth.DemandAsync(context, Resource(storage, ""), Action.Read).ConfigureAwait(false);
            var plugin = await GetPluginAsync(context, storage).ConfigureAwait(false);
            return await plugin.StatsAsync(context).ConfigureAwait(false);
        }

        /// <summary>The resource name authorization sees: <c>storage/NAME/KEY</c>.</summary>
        public static string Resource(string? storage, string key) =>
            $"storage/{(string.IsNullOrEmpty(storage) ? DefaultStorage : storage)}/{key}";
    }
}
