using System.Security.Cryptography;

namespace Federation.Security;

/// <summary>
/// The control plane's admin bearer token: generated into the data directory at first start (mode 0600),
/// read back on every later start.
/// </summary>
public sealed class AdminToken
{
    public const string FileName = "admin-token";

    private AdminToken(string value, string path, bool created)
    {
        Value = value;
        FilePath = path;
        Created = created;
    }

    public string Value { get; }

    public string FilePath { get; }

    /// <summary>True when this start generated the token (so it is printed once).</summary>
    public bool Created { get; }

    public static AdminToken LoadOrCreate(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.GetFullPath(Path.Combine(dataDirectory, FileName));
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length < 16)
            {
                throw new InvalidOperationException($"the admin token in {path} is too short; delete the file to generate a new one");
            }
            return new AdminToken(existing, path, created: false);
        }
        var token = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        SecureFile.WriteAllText(path, token + "\n");
        return new AdminToken(token, path, created: true);
    }

    private static string Base64UrlEncode(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}

/// <summary>Writes files only the owner can read (tokens, private keys), atomically.</summary>
public static class SecureFile
{
    public static void WriteAllText(string path, string contents)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(contents);
        }
        File.Move(temp, path, overwrite: true);
    }
}
