using Federation.Validation;

namespace Federation.Resources.Types;

/// <summary>Who may call a set of destinations: <c>targetRef</c> picks the destinations, <c>from</c> the callers and the action.</summary>
public sealed record MeshTrafficPermissionSpec : IResourceSpec
{
    /// <summary>The destinations; the whole mesh when omitted.</summary>
    public TargetRef? TargetRef { get; init; }

    public required IReadOnlyList<MtpFrom> From { get; init; }

    public void Validate(ValidationContext context)
    {
        TargetRef?.Validate(context.At("targetRef"), TargetRefKind.Mesh, TargetRefKind.MeshSubset, TargetRefKind.MeshService,
            TargetRefKind.MeshServiceSubset, TargetRefKind.Dataplane);
        if (From.Count == 0)
        {
            context.Error("from", "must list at least one source");
        }
        for (var i = 0; i < From.Count; i++)
        {
            From[i].TargetRef.Validate(context.At("from", i).At("targetRef"), TargetRefKind.Mesh, TargetRefKind.MeshSubset,
                TargetRefKind.MeshService, TargetRefKind.MeshServiceSubset);
        }
    }
}

public enum TargetRefKind
{
    Mesh,
    MeshSubset,
    MeshService,
    MeshServiceSubset,
    Dataplane,
}

/// <summary>A selector of proxies, as in Kuma's targetRef.</summary>
public sealed record TargetRef
{
    public required TargetRefKind Kind { get; init; }

    public string? Name { get; init; }

    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    public string? SectionName { get; init; }

    public void Validate(ValidationContext ctx, params TargetRefKind[] allowed)
    {
        if (!allowed.Contains(Kind))
        {
            ctx.Error("kind", $"kind {Kind} is not allowed here (allowed: {string.Join(", ", allowed)})");
            return;
        }
        switch (Kind)
        {
            case TargetRefKind.Mesh:
                ForbidName(ctx);
                ForbidTags(ctx);
                break;
            case TargetRefKind.MeshSubset:
                ForbidName(ctx);
                RequireTags(ctx);
                break;
            case TargetRefKind.MeshService:
                RequireName(ctx);
                ForbidTags(ctx);
                break;
            case TargetRefKind.MeshServiceSubset:
                RequireName(ctx);
                RequireTags(ctx);
                break;
            case TargetRefKind.Dataplane:
                if (Name is null && Labels is null)
                {
                    ctx.Error("name", "kind Dataplane needs a name or labels");
                }
                else if (Name is not null && Names.CheckResourceName(Name) is { } problem)
                {
                    ctx.Error("name", problem);
                }
                ForbidTags(ctx);
                break;
        }
        if (Tags is not null)
        {
            Tagging.Validate(ctx.At("tags"), Tags);
        }
    }

    private void RequireName(ValidationContext ctx)
    {
        if (string.IsNullOrEmpty(Name))
        {
            ctx.Error("name", $"is required for kind {Kind}");
        }
    }

    private void ForbidName(ValidationContext ctx)
    {
        if (Name is not null)
        {
            ctx.Error("name", $"must not be set for kind {Kind}");
        }
    }

    private void RequireTags(ValidationContext ctx)
    {
        if (Tags is null)
        {
            ctx.Error("tags", $"is required for kind {Kind}");
        }
    }

    private void ForbidTags(ValidationContext ctx)
    {
        if (Tags is not null)
        {
            ctx.Error("tags", $"must not be set for kind {Kind}");
        }
    }
}

public sealed record MtpFrom
{
    public required TargetRef TargetRef { get; init; }

    public required MtpConf Default { get; init; }
}

public sealed record MtpConf
{
    public required MtpAction Action { get; init; }
}

public enum MtpAction
{
    Allow,
    Deny,
    AllowWithShadowDeny,
}
