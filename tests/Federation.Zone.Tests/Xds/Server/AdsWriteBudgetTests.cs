using Federation.Zone.Tests.Xds.Server.Fakes;
using Federation.Zone.Xds.Server;
using Microsoft.Extensions.Time.Testing;

namespace Federation.Zone.Tests.Xds.Server;

/// <summary>The server-wide budget of serialized response bytes handed to the transport.</summary>
public sealed class AdsWriteBudgetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AcquireAsync_WithinBudget_GrantsAtOnce()
    {
        var budget = new AdsWriteBudget(100);

        var a = budget.AcquireAsync(60, Ct);
        var b = budget.AcquireAsync(40, Ct);

        Assert.True(a.IsCompletedSuccessfully);
        Assert.True(b.IsCompletedSuccessfully);
        Assert.Equal(100, budget.InUse);
        (await a).Dispose();
        (await b).Dispose();
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public async Task AcquireAsync_OverBudget_WaitsForARelease()
    {
        var budget = new AdsWriteBudget(100);
        var first = await budget.AcquireAsync(80, Ct);

        var second = budget.AcquireAsync(30, Ct).AsTask();
        Assert.False(second.IsCompleted);

        first.Dispose();
        using var lease = await second.Within10s("the second grant after the first release");
        Assert.Equal(30, budget.InUse);
    }

    [Fact]
    public async Task AcquireAsync_LargerThanTheBudget_GoesAloneWhenNothingElseIsGranted()
    {
        var budget = new AdsWriteBudget(100);
        var small = await budget.AcquireAsync(10, Ct);

        var huge = budget.AcquireAsync(1000, Ct).AsTask();
        Assert.False(huge.IsCompleted);
        small.Dispose();

        using var lease = await huge.Within10s("the oversized grant once the budget is empty");
        Assert.Equal(1000, budget.InUse);
    }

    [Fact]
    public async Task AcquireAsync_Waiters_AreGrantedInArrivalOrder()
    {
        var budget = new AdsWriteBudget(100);
        var holder = await budget.AcquireAsync(100, Ct);
        var big = budget.AcquireAsync(90, Ct).AsTask();
        var small = budget.AcquireAsync(10, Ct).AsTask();

        // The small one would fit beside the big one only after it; it does not overtake.
        Assert.False(small.IsCompleted);
        holder.Dispose();

        using var b = await big.Within10s("the first waiter");
        using var s = await small.Within10s("the second waiter");
        Assert.Equal(100, budget.InUse);
    }

    [Fact]
    public async Task AcquireAsync_CancelledWaiter_LeavesTheLineAndLetsTheNextIn()
    {
        var budget = new AdsWriteBudget(100);
        var holder = await budget.AcquireAsync(50, Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var cancelled = budget.AcquireAsync(80, cts.Token).AsTask();
        var next = budget.AcquireAsync(40, Ct).AsTask();

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Within10s("the cancelled waiter to fail"));
        using var lease = await next.Within10s("the waiter behind the cancelled one");
        Assert.Equal(90, budget.InUse);
        holder.Dispose();
    }

    [Fact]
    public async Task LeaseDispose_Twice_ReleasesOnce()
    {
        var budget = new AdsWriteBudget(100);
        var lease = await budget.AcquireAsync(30, Ct);
        using var other = await budget.AcquireAsync(20, Ct);

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(20, budget.InUse);
    }

    [Fact]
    public async Task Lease_NotDisposedWithinStalledAfter_StopsCounting()
    {
        var time = new FakeTimeProvider();
        var budget = new AdsWriteBudget(100, TimeSpan.FromSeconds(5), time);
        using var stuck = await budget.AcquireAsync(100, Ct);
        var next = budget.AcquireAsync(100, Ct).AsTask();

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(next.IsCompleted);
        Assert.True(stuck.Held);
        time.Advance(TimeSpan.FromSeconds(1));

        using var lease = await next.Within10s("the grant after the stuck one expired");
        Assert.False(stuck.Held);
        stuck.Dispose();
        Assert.Equal(100, budget.InUse);
    }

    [Fact]
    public async Task StreamAggregatedResources_ProxyNotReading_HoldsTheBudgetOnlyUntilItsGrantExpires()
    {
        var time = new FakeTimeProvider();
        // Room for one response at a time: the stalled proxy's first response takes it all.
        var budget = new AdsWriteBudget(1, TimeSpan.FromSeconds(5), time);
        using var ads = new AdsServiceUnderTest(budget);
        ads.Source.Proxy("default.stuck").Publish(b => b.Listener("a"));
        ads.Source.Proxy("default.web").Publish(b => b.Listener("b"));
        await using var stuck = await ads.SotwAsync(Sotw.Request(XdsTypes.Listener), nodeId: "default.stuck", holdResponses: true);
        await stuck.Responses.Blocked.WaitUntilAsync(() => stuck.Responses.BlockedWrites == 1, "the stalled proxy's write to block");

        await using var web = await ads.SotwAsync(Sotw.Request(XdsTypes.Listener), nodeId: "default.web");
        var first = web.NextAsync(XdsTypes.Listener, "the other proxy's LDS once the stalled grant expired");
        // The stalled response is granted alone (it is larger than the whole budget), and nothing fits beside it.
        Assert.True(budget.InUse > budget.Bytes);
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(["b"], Sotw.Names(await first));
        Assert.Equal(0, stuck.Responses.Writes);
    }
}
