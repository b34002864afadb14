using System.Threading.Channels;

namespace Federation.Stores;

/// <summary>A live subscription to a store's changes. Dispose to stop receiving.</summary>
public sealed class ChangeSubscription : IDisposable
{
    private readonly Channel<ResourceChange> _channel;
    private readonly Action<ChangeSubscription> _onDispose;
    private bool _lost;

    internal ChangeSubscription(int capacity, Action<ChangeSubscription> onDispose)
    {
        _channel = Channel.CreateBounded<ResourceChange>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _onDispose = onDispose;
    }

    /// <summary>Changes in commit order; a <see cref="ChangeKind.Reset"/> means some were missed.</summary>
    public ChannelReader<ResourceChange> Reader => _channel.Reader;

    /// <summary>Never blocks the committer: a subscriber that falls behind gets a Reset once it catches up.</summary>
    internal void Deliver(ResourceChange change)
    {
        if (_lost)
        {
            if (!_channel.Writer.TryWrite(ResourceChange.Reset(change.Revision)))
            {
                return;
            }
            _lost = false;
        }
        if (!_channel.Writer.TryWrite(change))
        {
            _lost = true;
        }
    }

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _onDispose(this);
    }
}

/// <summary>
/// Fans committed changes out to in-process subscribers. Callers publish under their commit lock so every
/// subscriber sees changes in commit order.
/// </summary>
public sealed class ChangeFeedHub
{
    public const int DefaultCapacity = 16_384;

    private readonly Lock _lock = new();
    private readonly int _capacity;
    private ChangeSubscription[] _subscribers = [];

    public ChangeFeedHub(int capacity = DefaultCapacity)
    {
        _capacity = capacity;
    }

    public ChangeSubscription Subscribe()
    {
        var sub = new ChangeSubscription(_capacity, Remove);
        lock (_lock)
        {
            _subscribers = [.. _subscribers, sub];
        }
        return sub;
    }

    public void Publish(IReadOnlyList<ResourceChange> changes)
    {
        lock (_lock)
        {
            foreach (var sub in _subscribers)
            {
                foreach (var change in changes)
                {
                    sub.Deliver(change);
                }
            }
        }
    }

    private void Remove(ChangeSubscription sub)
    {
        lock (_lock)
        {
            _subscribers = [.. _subscribers.Where(s => s != sub)];
        }
    }
}
