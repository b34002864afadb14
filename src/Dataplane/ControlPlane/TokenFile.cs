namespace Federation.Dataplane.ControlPlane;

/// <summary>The file holding a Dataplane's token (<c>fedctl generate dataplane-token</c> writes its content).</summary>
internal static class TokenFile
{
    /// <summary>A dataplane token.</summary>
    public static string Read(string path) => Read(path, "dataplane token", "fedctl generate dataplane-token --mesh <mesh> --name <dataplane>");

    /// <summary>A token of another kind (<paramref name="what"/>, e.g. "zone token"), with how to generate one.</summary>
    public static string Read(string path, string what, string howToGenerate)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataplaneException($"cannot read the {what} file {path}: {e.Message}", e);
        }
        var token = text.Trim();
        if (token.Length == 0)
        {
            throw new DataplaneException($"the {what} file {path} is empty (generate a token: {howToGenerate})");
        }
        if (token.Any(char.IsWhiteSpace))
        {
            throw new DataplaneException($"the {what} file {path} holds more than one word; it must hold only the token");
        }
        return token;
    }
}
