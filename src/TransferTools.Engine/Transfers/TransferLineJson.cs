using System.Text.Json.Serialization;

namespace TransferTools.Engine.Transfers
{
    /// <summary>
    /// The batch journal line of a <see cref="TransferRecord"/>, serialized by code the System.Text.Json source generator
    /// writes at build time: the same JSON as <see cref="TransferJournal.LineJson"/> (compact, nulls left out, enums by
    /// name; a test holds the two equal), without the serializer built by reflection. A batch writes two lines per file, so
    /// for 10,000 small files the reflection path and its warm-up (emitted accessors, generic converters jitted three times
    /// as they tier up) were the largest piece of the engine's own CPU time per file.
    /// </summary>
    [JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
    [JsonSerializable(typeof(TransferRecord))]
    internal sealed partial class TransferLineJson : JsonSerializerContext
    {
    }

    /// <summary>
    /// A line of a batch manifest file (<see cref="TransferManifest.ToLine"/>), source-generated for the same reason: the
    /// JSON of the reflection options it replaces (camelCase, compact, nulls left out; a test holds the two equal).
    /// </summary>
    [JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonSerializable(typeof(TransferManifest))]
    internal sealed partial class TransferManifestLineJson : JsonSerializerContext
    {
    }
}
