using BenchmarkDotNet.Attributes;
using Federation.Resources;
using Federation.Stores;
using Federation.Tests.Stores;

namespace Federation.Benchmarks.Stores;

/// <summary>Point read, single update and a 10,000-item list against each store.</summary>
[MemoryDiagnoser]
public class StoreBenchmarks
{
    private const int ListSize = 10_000;

    private static readonly ResourceKey Target = new("MeshTrafficPermission", "default", "bench");

    private IResourceStore _store = null!;
    private RedisServerProcess? _redis;
    private DirectoryInfo? _directory;
    private Resource[] _variants = [];
    private int _next;

    [Params("memory", "sqlite", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => CleanupAsync().GetAwaiter().GetResult();

    [Benchmark]
    public async Task<Resource?> Get() => await _store.GetAsync(Target);

    /// <summary>An update of an existing resource: the content alternates, so every put is a real write.</summary>
    [Benchmark]
    public async Task<CommitResult> Put()
    {
        var resource = _variants[_next++ & 1];
        return await _store.CommitAsync([new PutResource(resource)]);
    }

    [Benchmark]
    public async Task<int> List10000()
    {
        var page = await _store.ListAsync(new ResourceQuery("Dataplane"));
        return page.Items.Count;
    }

    private async Task SetupAsync()
    {
        _store = await OpenAsync();
        for (var batch = 0; batch < ListSize / 1000; batch++)
        {
            var writes = Enumerable.Range(batch * 1000, 1000)
                .Select(i => (ResourceWrite)new PutResource(new Resource(
                    new ResourceKey("Dataplane", $"mesh-{i % 10}", $"dp-{i:00000}"),
                    $$$"""{"networking":{"address":"10.0.{{{i / 250}}}.{{{i % 250}}}","inbound":[{"port":8080,"tags":{"kuma.io/service":"svc-{{{i % 50}}}"}}]}}""",
                    Labels(("kuma.io/zone", $"zone-{i % 3}"), ("kuma.io/origin", "zone")))))
                .ToList();
            await _store.CommitAsync(writes);
        }
        const string Spec = """{"targetRef":{"kind":"MeshService","name":"backend"},"from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Allow"}}]}""";
        _variants =
        [
            new Resource(Target, Spec, Labels(("kuma.io/origin", "global"))),
            new Resource(Target, Spec.Replace("Allow", "Deny", StringComparison.Ordinal), Labels(("kuma.io/origin", "global"))),
        ];
        await _store.CommitAsync([new PutResource(_variants[1])]);
    }

    private async Task<IResourceStore> OpenAsync()
    {
        switch (Store)
        {
            case "memory":
                return new MemoryStore(TimeProvider.System);
            case "sqlite":
                _directory = Directory.CreateTempSubdirectory("federation-bench-");
                return new SqliteStore(Path.Combine(_directory.FullName, "federation.db"), TimeProvider.System);
            case "redis":
                _redis = await RedisServerProcess.StartAsync(TimeSpan.FromSeconds(20));
                return await RedisStore.ConnectAsync(new RedisStoreOptions { Configuration = _redis.Configuration }, TimeProvider.System);
            default:
                throw new ArgumentException($"unknown store '{Store}'");
        }
    }

    private async Task CleanupAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable d:
                await d.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
            default:
                break;
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
        _directory?.Delete(recursive: true);
    }

    private static System.Collections.Immutable.ImmutableSortedDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, labels.Select(l => KeyValuePair.Create(l.Key, l.Value)));
}
