using Federation.Resources;

namespace Federation.Cli.Client;

/// <summary>
/// Resolves the TYPE a user typed: any name the local registry accepts (type name, singular, plural, alias,
/// any case); failing that, the server's <c>/_resources</c>, so a newer control plane's types can still be read.
/// </summary>
internal static class ResourceTypeResolver
{
    public static async Task<ApiResourceType> ResolveAsync(string typeName, ControlPlaneClient client, CancellationToken cancellationToken)
    {
        if (ResourceTypes.TryResolve(typeName, out var descriptor))
        {
            return ApiResourceType.From(descriptor);
        }
        try
        {
            foreach (var (type, names) in await client.GetResourceTypesAsync(cancellationToken))
            {
                if (names.Contains(typeName, StringComparer.OrdinalIgnoreCase))
                {
                    return type;
                }
            }
        }
        catch (ControlPlaneException)
        {
            // An unreachable or older server cannot widen the list; the unknown-type message says what is known.
        }
        throw UnknownType(typeName);
    }

    public static CliException UnknownType(string typeName) =>
        new($"unknown resource type \"{typeName}\"; known types: {string.Join(", ", ResourceTypes.All.Select(d => d.Plural))}");
}
