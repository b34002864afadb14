using System.Text.Json.Nodes;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Serialization;
using Federation.Validation;

namespace Federation.Dataplane.Manifests;

/// <summary>
/// A Dataplane as its file describes it (Kuma universal format, YAML or JSON), validated the way the control plane
/// validates it, so a mistake is reported before anything is registered.
/// </summary>
internal sealed record DataplaneManifest(string Mesh, string Name, DataplaneSpec Spec, JsonObject Document)
{
    /// <summary>How the proxy names itself to xDS (<c>node.id</c>) and in messages: <c>&lt;mesh&gt;.&lt;name&gt;</c>.</summary>
    public string Id => $"{Mesh}.{Name}";

    public static DataplaneManifest Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataplaneException($"cannot read the Dataplane file {path}: {e.Message}");
        }
        return Parse(text, path);
    }

    public static DataplaneManifest Parse(string text, string source)
    {
        IReadOnlyList<JsonNode?> documents;
        try
        {
            documents = YamlJson.ParseJsonOrYaml(text);
        }
        catch (DocumentFormatException e)
        {
            throw new DataplaneException($"{source}: {e.Message}");
        }
        if (documents.Count != 1)
        {
            throw new DataplaneException($"{source}: expected one Dataplane document, found {documents.Count}");
        }
        if (ResourceDocument.TypeOf(documents[0]) is { } type && type != ResourceTypes.Dataplane.Name)
        {
            throw new DataplaneException($"{source}: expected type Dataplane, found {type}");
        }
        Resource resource;
        try
        {
            resource = ResourceDocument.Parse(documents[0]).Resource;
        }
        catch (ValidationException e)
        {
            throw new DataplaneException($"{source}: invalid Dataplane: {string.Join("; ", e.Errors.Select(x => x.ToString()))}");
        }
        return new DataplaneManifest(resource.Mesh, resource.Name, resource.GetSpec<DataplaneSpec>(), ResourceDocument.ToDocument(resource));
    }
}
