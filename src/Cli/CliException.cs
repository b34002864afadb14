namespace Federation.Cli;

/// <summary>A failure to report to the user as one <c>Error: ...</c> line (exit code 1); the message is that line.</summary>
internal sealed class CliException(string message, Exception? inner = null) : Exception(message, inner);
