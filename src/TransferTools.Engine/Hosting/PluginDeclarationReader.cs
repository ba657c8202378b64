using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using TransferTools.Abstractions;

namespace TransferTools.Engine.Hosting
{
    /// <summary>What a plugin class declares through <see cref="TransferPluginAttribute"/>, and the class that declares it.</summary>
    public sealed class PluginDeclaration
    {
        internal PluginDeclaration(string className, string name, PluginType kind, string description,
            IReadOnlyList<string> schemes, IReadOnlyList<string> secretKeys, IReadOnlyList<string>? pathKeys = null)
        {
            PathKeys = pathKeys ?? Array.Empty<string>();
            ClassName = className;
            Name = name;
            Kind = kind;
            Description = description;
            Schemes = schemes;
            SecretKeys = secretKeys;
        }

        /// <summary>The full name of the declaring class.</summary>
        public string ClassName { get; }
        /// <summary>The type name users type.</summary>
        public string Name { get; }
        /// <summary>The plugin kind.</summary>
        public PluginType Kind { get; }
        /// <summary>One sentence on what it is.</summary>
        public string Description { get; }
        /// <summary>For protocols: the URI schemes served.</summary>
        public IReadOnlyList<string> Schemes { get; }
        /// <summary>The configuration keys whose values are secrets.</summary>
        public IReadOnlyList<string> SecretKeys { get; }

        /// <summary>The configuration keys whose values are local paths, resolved at registration.</summary>
        public IReadOnlyList<string> PathKeys { get; }

        /// <summary>True when <paramref name="configurationKey"/> is one of <see cref="PathKeys"/> (case-insensitive).</summary>
        public bool IsPath(string configurationKey) =>
            PathKeys.Contains(configurationKey, StringComparer.OrdinalIgnoreCase);

        /// <summary>True when <paramref name="configurationKey"/> is one of <see cref="SecretKeys"/> (case-insensitive).</summary>
        public bool IsSecret(string configurationKey) =>
            SecretKeys.Contains(configurationKey, StringComparer.OrdinalIgnoreCase);

        /// <summary>The declaration of a loaded class, or null when it carries none.</summary>
        public static PluginDeclaration? Of(Type type)
        {
            var declared = type.GetCustomAttribute<TransferPluginAttribute>(inherit: false);
            return declared is null ? null
                : new PluginDeclaration(type.FullName ?? type.Name, declared.Name, declared.Kind, declared.Description ?? "",
                    declared.Schemes ?? Array.Empty<string>(), declared.SecretKeys ?? Array.Empty<string>(), declared.PathKeys ?? Array.Empty<string>());
        }
    }

    /// <summary>
    /// Reads the <see cref="TransferPluginAttribute"/> declarations of an assembly file from its metadata, without
    /// loading it: the plugins the module ships in assemblies of their own (Sftp, AzureBlob, Oidc, OpenTelemetry) bring
    /// heavy dependencies and load only when used, yet the catalog must know their names, schemes and secret keys.
    /// </summary>
    public static class PluginDeclarationReader
    {
        private static readonly string AttributeNamespace = typeof(TransferPluginAttribute).Namespace!;
        private const string AttributeName = nameof(TransferPluginAttribute);

        /// <summary>Every declared plugin class in the assembly at <paramref name="path"/>, in metadata order.</summary>
        /// <exception cref="BadImageFormatException">The file is not a .NET assembly.</exception>
        public static IReadOnlyList<PluginDeclaration> Read(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var pe = new PEReader(stream, PEStreamOptions.PrefetchMetadata);
            var reader = pe.GetMetadataReader();
            var result = new List<PluginDeclaration>();
            foreach (var handle in reader.TypeDefinitions)
            {
                var type = reader.GetTypeDefinition(handle);
                foreach (var attributeHandle in type.GetCustomAttributes())
                {
                    var attribute = reader.GetCustomAttribute(attributeHandle);
                    if (IsDeclaration(reader, attribute))
                    {
                        result.Add(Decode(reader, type, attribute));
                    }
                }
            }

            return result;
        }

        private static bool IsDeclaration(MetadataReader reader, CustomAttribute attribute)
        {
            EntityHandle owner;
            switch (attribute.Constructor.Kind)
            {
                case HandleKind.MemberReference:
                    owner = reader.GetMemberReference((MemberReferenceHandle)attribute.Constructor).Parent;
                    break;
                case HandleKind.MethodDefinition:
                    owner = reader.GetMethodDefinition((MethodDefinitionHandle)attribute.Constructor).GetDeclaringType();
                    break;
                default:
                    return false;
            }

            return owner.Kind switch
            {
                HandleKind.TypeReference => Is(reader, reader.GetTypeReference((TypeReferenceHandle)owner).Namespace,
                    reader.GetTypeReference((TypeReferenceHandle)owner).Name),
                HandleKind.TypeDefinition => Is(reader, reader.GetTypeDefinition((TypeDefinitionHandle)owner).Namespace,
                    reader.GetTypeDefinition((TypeDefinitionHandle)owner).Name),
                _ => false,
            };
        }

        private static bool Is(MetadataReader reader, StringHandle ns, StringHandle name) =>
            reader.StringComparer.Equals(name, AttributeName) && reader.StringComparer.Equals(ns, AttributeNamespace);

        private static PluginDeclaration Decode(MetadataReader reader, TypeDefinition type, CustomAttribute attribute)
        {
            var value = attribute.DecodeValue(new NameProvider());
            var name = (string?)value.FixedArguments[0].Value ?? "";
            var kind = (PluginType)Convert.ToInt32(value.FixedArguments[1].Value);
            string description = "";
            IReadOnlyList<string> schemes = Array.Empty<string>(), secretKeys = Array.Empty<string>(), pathKeys = Array.Empty<string>();
            foreach (var named in value.NamedArguments)
            {
                switch (named.Name)
                {
                    case nameof(TransferPluginAttribute.Description):
                        description = named.Value as string ?? "";
                        break;
                    case nameof(TransferPluginAttribute.Schemes):
                        schemes = Strings(named.Value);
                        break;
                    case nameof(TransferPluginAttribute.SecretKeys):
                        secretKeys = Strings(named.Value);
                        break;
                    case nameof(TransferPluginAttribute.PathKeys):
                        pathKeys = Strings(named.Value);
                        break;
                }
            }

            return new PluginDeclaration(FullName(reader, type), name, kind, description, schemes, secretKeys, pathKeys);
        }

        // As Type.FullName writes it, so that Assembly.GetType finds it: Namespace.Outer+Nested.
        private static string FullName(MetadataReader reader, TypeDefinition type)
        {
            var declaring = type.GetDeclaringType();
            if (!declaring.IsNil)
            {
                return FullName(reader, reader.GetTypeDefinition(declaring)) + "+" + reader.GetString(type.Name);
            }

            var ns = reader.GetString(type.Namespace);
            return (ns.Length == 0 ? "" : ns + ".") + reader.GetString(type.Name);
        }

        private static IReadOnlyList<string> Strings(object? value) =>
            value is ImmutableArray<CustomAttributeTypedArgument<string>> items
                ? items.Select(i => i.Value as string ?? "").ToArray()
                : Array.Empty<string>();

        /// <summary>Names types by their full name; enough to decode the attribute's string, string[] and enum arguments.</summary>
        private sealed class NameProvider : ICustomAttributeTypeProvider<string>
        {
            public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
            public string GetSystemType() => "System.Type";
            public string GetSZArrayType(string elementType) => elementType + "[]";
            public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
                reader.GetString(reader.GetTypeDefinition(handle).Name);
            public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) =>
                reader.GetString(reader.GetTypeReference(handle).Name);
            public string GetTypeFromSerializedName(string name) => name;
            // The only enum the declaration takes is PluginType, an int.
            public PrimitiveTypeCode GetUnderlyingEnumType(string type) => PrimitiveTypeCode.Int32;
            public bool IsSystemType(string type) => type == "System.Type";
        }
    }
}
