using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Serialization;

namespace Federation.Cli.Config;

/// <summary>
/// Reads and writes the fedctl config file (YAML). The file holds admin tokens, so it is written owner-only
/// (0600, in a 0700 directory when fedctl creates it) and replaced atomically, never left half written.
/// </summary>
internal sealed class ConfigStore(string path)
{
    public const string PathVariable = "FEDCTL_CONFIG";

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string Path { get; } = path;

    /// <summary><c>$FEDCTL_CONFIG</c>, else <c>~/.fedctl/config.yaml</c>.</summary>
    public static string DefaultPath(Func<string, string?> getVariable, string homeDirectory) =>
        getVariable(PathVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : System.IO.Path.Combine(homeDirectory, ".fedctl", "config.yaml");

    /// <summary>The stored config; an empty one when the file does not exist yet.</summary>
    public FedctlConfig Load()
    {
        string text;
        try
        {
            text = File.ReadAllText(Path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return FedctlConfig.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the config file {Path}: {e.Message}", e);
        }
        try
        {
            var documents = YamlJson.ParseDocuments(text);
            return documents.Count == 0 ? FedctlConfig.Empty : FromNode(documents[0]);
        }
        catch (Exception e) when (e is DocumentFormatException or FormatException)
        {
            throw new CliException($"the config file {Path} is not valid: {e.Message}", e);
        }
    }

    public void Save(FedctlConfig config)
    {
        var text = Render(config, redactTokens: false);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(Path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (!Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(directory);
                }
                else
                {
                    Directory.CreateDirectory(directory, OwnerOnlyDirectory);
                }
            }
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnlyFile;
            }
            using (var writer = new StreamWriter(temporary, System.Text.Encoding.UTF8, options))
            {
                writer.Write(text);
            }
            File.Move(temporary, Path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new CliException($"cannot write the config file {Path}: {e.Message}", e);
        }
    }

    /// <summary>The file's YAML; with <paramref name="redactTokens"/>, tokens are shown as <c>REDACTED</c>.</summary>
    public static string Render(FedctlConfig config, bool redactTokens)
    {
        var planes = new JsonArray();
        foreach (var plane in config.ControlPlanes)
        {
            var entry = new JsonObject { ["name"] = plane.Name, ["address"] = plane.Address };
            if (plane.Token is not null)
            {
                entry["token"] = redactTokens ? "REDACTED" : plane.Token;
            }
            planes.Add(entry);
        }
        var root = new JsonObject
        {
            ["currentControlPlane"] = config.CurrentControlPlane,
            ["controlPlanes"] = planes,
        };
        return YamlJson.ToYaml(root);
    }

    private static FedctlConfig FromNode(JsonNode? node)
    {
        if (node is null)
        {
            return FedctlConfig.Empty;
        }
        if (node is not JsonObject root)
        {
            throw new FormatException("expected a mapping at the top");
        }
        var planes = new List<ControlPlaneEntry>();
        if (root["controlPlanes"] is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                if (array[i] is not JsonObject entry)
                {
                    throw new FormatException($"controlPlanes[{i}] must be a mapping");
                }
                var name = ReadString(entry, "name", $"controlPlanes[{i}]") ?? throw new FormatException($"controlPlanes[{i}].name is required");
                var address = ReadString(entry, "address", $"controlPlanes[{i}]") ?? throw new FormatException($"controlPlanes[{i}].address is required");
                planes.Add(new ControlPlaneEntry(name, address, ReadString(entry, "token", $"controlPlanes[{i}]")));
            }
        }
        else if (root["controlPlanes"] is not null)
        {
            throw new FormatException("controlPlanes must be a list");
        }
        return new FedctlConfig
        {
            CurrentControlPlane = ReadString(root, "currentControlPlane", ""),
            ControlPlanes = [.. planes],
        };
    }

    private static string? ReadString(JsonObject obj, string field, string at) => obj[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new FormatException($"{(at.Length == 0 ? field : $"{at}.{field}")} must be a string"),
    };

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the write already failed and that is what gets reported.
        }
    }
}
