using System.Threading.Channels;
using Grpc.Core;

namespace Federation.Zone.Tests.Xds.Server.Fakes;

/// <summary>The request side of a call, fed by the test.</summary>
internal sealed class FakeRequestStream<T>(int capacity = 0) : IAsyncStreamReader<T>
    where T : class
{
    private readonly Channel<T> _channel = capacity > 0
        ? Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleReader = true })
        : Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });

    public T Current { get; private set; } = null!;

    /// <summary>Completes when the server has room for it (with a capacity, that is once it read the previous ones).</summary>
    public ValueTask WriteAsync(T request) => _channel.Writer.WriteAsync(request, TestContext.Current.CancellationToken);

    /// <summary>The client half-closes.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        while (await _channel.Reader.WaitToReadAsync(cancellationToken))
        {
            if (_channel.Reader.TryRead(out var item))
            {
                Current = item;
                return true;
            }
        }
        return false;
    }
}

/// <summary>The response side of a call, read by the test; writes can be held to play a proxy that does not read.</summary>
internal sealed class FakeResponseStream<T> : IServerStreamWriter<T>
    where T : class
{
    private readonly Channel<T> _channel = Channel.CreateUnbounded<T>();
    private TaskCompletionSource _gate = Open();
    private int _writes;
    private int _blockedWrites;

    public WriteOptions? WriteOptions { get; set; }

    public ChannelReader<T> Reader => _channel.Reader;

    /// <summary>Writes that completed.</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>Raised when a write starts waiting at a held gate.</summary>
    public Testing.Pulse Blocked { get; } = new();

    public int BlockedWrites => Volatile.Read(ref _blockedWrites);

    public void Hold() => Interlocked.Exchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Release() => Volatile.Read(ref _gate).TrySetResult();

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public async Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        var gate = Volatile.Read(ref _gate).Task;
        if (!gate.IsCompleted)
        {
            Interlocked.Increment(ref _blockedWrites);
            Blocked.Set();
            await gate.WaitAsync(cancellationToken);
        }
        Interlocked.Increment(ref _writes);
        await _channel.Writer.WriteAsync(message, cancellationToken);
    }

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}

/// <summary>A server call context whose cancellation the test controls.</summary>
internal sealed class FakeCallContext(string method) : ServerCallContext
{
    private readonly CancellationTokenSource _cts = new();

    public void Cancel() => _cts.Cancel();

    protected override string MethodCore => method;

    protected override string HostCore => "127.0.0.1";

    protected override string PeerCore => "ipv4:127.0.0.1:40000";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => _cts.Token;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
