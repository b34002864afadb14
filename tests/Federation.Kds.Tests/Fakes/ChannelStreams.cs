using System.Threading.Channels;
using Grpc.Core;

namespace Federation.Kds.Tests.Fakes;

/// <summary>The peer's side of a fake gRPC stream: what the code under test reads.</summary>
public sealed class ChannelStreamReader<T> : IAsyncStreamReader<T>
{
    private readonly Channel<T> _channel = Channel.CreateUnbounded<T>();

    public T Current { get; private set; } = default!;

    /// <summary>Sends a message to the code under test.</summary>
    public void Send(T message) => Assert.True(_channel.Writer.TryWrite(message));

    /// <summary>Half-closes the stream, as a peer ending its side.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (await _channel.Reader.WaitToReadAsync(cancellationToken) && _channel.Reader.TryRead(out var message))
        {
            Current = message;
            return true;
        }
        return false;
    }
}

/// <summary>Collects what the code under test writes to a fake gRPC stream.</summary>
public sealed class ChannelStreamWriter<T> : IServerStreamWriter<T>
{
    private readonly Channel<T> _channel = Channel.CreateUnbounded<T>();

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(T message, CancellationToken cancellationToken) => _channel.Writer.WriteAsync(message, cancellationToken).AsTask();

    /// <summary>The next message written, or a test failure naming <paramref name="expected"/> after the timeout.</summary>
    public async Task<T> NextAsync(string expected, TimeSpan? timeout = null)
    {
        try
        {
            return await _channel.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(timeout ?? TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {expected}: nothing was written");
            throw;
        }
    }

    /// <summary>True when nothing more has been written (call after a barrier that proves the writer got past the point of interest).</summary>
    public bool IsDrained => !_channel.Reader.TryPeek(out _);

    public bool TryRead(out T message) => _channel.Reader.TryRead(out message!);
}
