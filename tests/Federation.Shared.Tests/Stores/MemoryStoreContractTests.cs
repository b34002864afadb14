using Federation.Stores;

namespace Federation.Tests.Stores;

public sealed class MemoryStoreContractTests : ResourceStoreContract
{
    protected override ValueTask<IResourceStore> OpenStoreAsync() => ValueTask.FromResult<IResourceStore>(new MemoryStore(Clock));
}
