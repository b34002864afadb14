using Federation.Resources;
using Federation.Stores;
using Mediator;

namespace Federation.Api;

/// <summary>Lists resources of a type (optionally one mesh, labels, one page).</summary>
public sealed record ListResourcesQuery(ResourceQuery Query) : IQuery<ResourcePage>;

/// <summary>Reads one resource; null when it does not exist.</summary>
public sealed record GetResourceQuery(ResourceKey Key) : IQuery<Resource?>;

/// <summary>Creates or replaces a resource written through an API (never used for KDS sync).</summary>
public sealed record PutResourceCommand(Resource Resource, long? ExpectedVersion, bool DryRun) : ICommand<PutResourceResult>;

public sealed record PutResourceResult(Resource Resource, bool Created);

/// <summary>Deletes a resource (and, for a Mesh, everything in it); returns what was deleted.</summary>
public sealed record DeleteResourceCommand(ResourceKey Key, long? ExpectedVersion) : ICommand<Resource>;

/// <summary>Published after every committed change of the store, whoever made it (API, KDS, another replica).</summary>
public sealed record ResourceChanged(ResourceChange Change) : INotification;
