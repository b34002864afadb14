namespace Federation.IntegrationTests.Fixture;

/// <summary>
/// One global with three zones shared by the tests that neither stop nor reconfigure a node; each of them works
/// in a mesh of its own, so they do not see each other's resources.
/// </summary>
public sealed class SharedFederationFixture : IAsyncLifetime
{
    public MultiZoneFixture Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = ["zone-1", "zone-2", "zone-3"] }, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedFederation : ICollectionFixture<SharedFederationFixture>
{
    public const string Name = "shared federation (global + 3 zones)";
}
