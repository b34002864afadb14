using Federation.Zone.Dns;

namespace Federation.Zone.Tests.Dns;

public sealed class VipAllocatorTests
{
    [Fact]
    public void Allocate_NewServices_GetDistinctAddressesIn240Slash4()
    {
        var table = VipAllocator.Allocate(new Dictionary<string, string>(), new HashSet<string> { "a.default", "b.default", "a.other" });
        Assert.Equal(3, table.Values.Distinct().Count());
        Assert.All(table.Values, v => Assert.StartsWith("240.", v, StringComparison.Ordinal));
    }

    [Fact]
    public void Allocate_ExistingServices_KeepTheirAddress()
    {
        var existing = new Dictionary<string, string> { ["b.default"] = "240.0.0.7" };
        var table = VipAllocator.Allocate(existing, new HashSet<string> { "a.default", "b.default" });
        Assert.Equal("240.0.0.7", table["b.default"]);
        Assert.NotEqual("240.0.0.7", table["a.default"]);
    }

    [Fact]
    public void Allocate_ServiceGoneEverywhere_FreesItsAddressForReuse()
    {
        var existing = new Dictionary<string, string> { ["old.default"] = "240.0.0.1" };
        var table = VipAllocator.Allocate(existing, new HashSet<string> { "new.default" });
        Assert.False(table.ContainsKey("old.default"));
        Assert.Equal("240.0.0.1", table["new.default"]);
    }

    [Fact]
    public void Allocate_NeverHandsOutNetworkOrBroadcastLikeAddresses()
    {
        var wanted = Enumerable.Range(0, 600).Select(i => $"s{i}.default").ToHashSet();
        var table = VipAllocator.Allocate(new Dictionary<string, string>(), wanted);
        Assert.DoesNotContain(table.Values, v => v.EndsWith(".0", StringComparison.Ordinal) || v.EndsWith(".255", StringComparison.Ordinal));
        Assert.Equal(600, table.Values.Distinct().Count());
    }
}
