namespace Federation.Cli.Commands;

/// <summary>Short reasons for file errors, without .NET's full sentences and paths.</summary>
internal static class FileErrors
{
    public static string Describe(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
