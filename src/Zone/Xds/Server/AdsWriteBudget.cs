namespace Federation.Zone.Xds.Server;

/// <summary>
/// How many bytes of serialized responses every ADS stream of the server together may have handed to the transport
/// and not yet seen leave it. A response is serialized into its stream's HTTP/2 buffers when it is written and stays
/// there until flow control lets it out, so without a bound a burst (a thousand proxies connecting, each owed ~100 KB
/// of clusters and endpoints) is copied once per stream into the transport's memory pool at once — and the pool keeps
/// those blocks after the burst. Waiting for budget, a response is only the message object, whose resources every
/// proxy of the mesh shares. Grants are first come, first served. A grant expires after <see cref="StalledAfter"/>:
/// a write that has not left by then stops counting (its proxy is not reading), so a stuck proxy cannot starve the
/// others; it still holds at most one response, as before.
/// </summary>
public sealed class AdsWriteBudget
{
    /// <summary>
    /// 1 MiB: above one round of small updates (a listener each) for a thousand proxies, far below a full burst. A
    /// write completes once Kestrel has passed its bytes on to the connection (flow control and the socket
    /// permitting), so this bounds the zone's own buffers, not what the network or the kernel hold. xds-scale
    /// (1,000 proxies connecting at once): Kestrel's pool keeps ~1,200 blocks after the burst (~2,400 with 4 MiB),
    /// and all proxies are configured as fast.
    /// </summary>
    public const long DefaultBytes = 1L * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _inUse;

    public AdsWriteBudget(long bytes = DefaultBytes, TimeSpan? stalledAfter = null, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Bytes = bytes;
        StalledAfter = stalledAfter ?? TimeSpan.FromSeconds(5);
        Time = time ?? TimeProvider.System;
    }

    public long Bytes { get; }

    public TimeSpan StalledAfter { get; }

    public TimeProvider Time { get; }

    /// <summary>Bytes granted and not yet released.</summary>
    public long InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="bytes"/> fit (or nothing else is granted, so a response larger than the whole
    /// budget still goes out, alone). Dispose the lease once the write has left, or stopped counting.
    /// </summary>
    public ValueTask<Lease> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        Waiter? waiter = null;
        lock (_lock)
        {
            if (_waiters.Count == 0 && Fits(bytes))
            {
                _inUse += bytes;
            }
            else
            {
                waiter = new Waiter(bytes);
                waiter.Node = _waiters.AddLast(waiter);
            }
        }
        return waiter is null ? ValueTask.FromResult(new Lease(this, bytes)) : WaitAsync(waiter, cancellationToken);
    }

    private async ValueTask<Lease> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(static w => ((Waiter)w!).Cancel(), waiter))
        {
            try
            {
                await waiter.Granted.Task;
            }
            catch (OperationCanceledException)
            {
                lock (_lock)
                {
                    if (waiter.Node?.List is not null)
                    {
                        _waiters.Remove(waiter.Node);
                    }
                }
                // Leaving the head of the line may let the next ones in.
                GrantWaiting();
                throw;
            }
        }
        return new Lease(this, waiter.Bytes);
    }

    private bool Fits(long bytes) => _inUse == 0 || _inUse + bytes <= Bytes;

    private void Release(long bytes)
    {
        lock (_lock)
        {
            _inUse -= bytes;
        }
        GrantWaiting();
    }

    private void GrantWaiting()
    {
        List<Waiter>? granted = null;
        lock (_lock)
        {
            while (_waiters.First is { } first && Fits(first.Value.Bytes))
            {
                _waiters.RemoveFirst();
                _inUse += first.Value.Bytes;
                (granted ??= []).Add(first.Value);
            }
        }
        // Completed outside the lock; continuations run asynchronously anyway.
        foreach (var waiter in granted ?? [])
        {
            if (!waiter.Granted.TrySetResult())
            {
                // Cancelled meanwhile: its bytes go back.
                Release(waiter.Bytes);
            }
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Cancel() => Granted.TrySetCanceled();
    }

    /// <summary>Bytes held for one write; disposing returns them, as does the grant expiring (whichever comes first).</summary>
    public sealed class Lease : IDisposable
    {
        private readonly ITimer _expiry;
        private AdsWriteBudget? _budget;

        internal Lease(AdsWriteBudget budget, long bytes)
        {
            _budget = budget;
            Bytes = bytes;
            _expiry = budget.Time.CreateTimer(static l => ((Lease)l!).Return(), this, budget.StalledAfter, Timeout.InfiniteTimeSpan);
        }

        public long Bytes { get; }

        /// <summary>Whether the bytes still count against the budget.</summary>
        public bool Held => Volatile.Read(ref _budget) is not null;

        public void Dispose()
        {
            _expiry.Dispose();
            Return();
        }

        private void Return() => Interlocked.Exchange(ref _budget, null)?.Release(Bytes);
    }
}
