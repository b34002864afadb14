namespace Federation.Dataplane.ControlPlane;

/// <summary>The file holding a Dataplane's token (<c>fedctl generate dataplane-token</c> writes its content).</summary>
internal static class TokenFile
{
    public static string Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataplaneException($"cannot read the dataplane token file {path}: {e.Message}", e);
        }
        var token = text.Trim();
        if (token.Length == 0)
        {
            throw new DataplaneException($"the dataplane token file {path} is empty (generate a token: fedctl generate dataplane-token --mesh <mesh> --name <dataplane>)");
        }
        if (token.Any(char.IsWhiteSpace))
        {
            throw new DataplaneException($"the dataplane token file {path} holds more than one word; it must hold only the token");
        }
        return token;
    }
}
