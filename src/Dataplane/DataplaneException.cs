namespace Federation.Dataplane;

/// <summary>A failure fed-dp reports as one line (<c>fed-dp: ...</c>) before exiting non-zero.</summary>
internal sealed class DataplaneException(string message, Exception? inner = null) : Exception(message, inner);
