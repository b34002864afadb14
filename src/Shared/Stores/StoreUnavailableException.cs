namespace Federation.Stores;

/// <summary>The store's backend cannot be reached; the message names it. Callers may retry later (HTTP 503).</summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public StoreUnavailableException()
    {
    }
}
