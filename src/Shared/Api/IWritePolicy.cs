using Federation.Resources;

namespace Federation.Api;

/// <summary>
/// Who may write what through this control plane's API, and the labels it stamps. The global and a zone
/// differ: a federated zone refuses global-provided types and global-origin resources; the global refuses
/// inventory that belongs to zones.
/// </summary>
public interface IWritePolicy
{
    /// <summary>Throws <see cref="ApiException"/> (403/405) when the write is not allowed here.</summary>
    void CheckWrite(ResourceTypeDescriptor type, Resource? existing);

    /// <summary>The resource as it will be stored; labels that claim another origin or zone are refused.</summary>
    Resource Stamp(Resource incoming);
}

/// <summary>Which control plane serves the API.</summary>
public enum ControlPlaneMode
{
    Global,
    Zone,
}

/// <summary>The rules of <see cref="IWritePolicy"/> for the global, a federated zone and a standalone zone.</summary>
public sealed class WritePolicy(ControlPlaneMode mode, string? zoneName, bool federated) : IWritePolicy
{
    public ControlPlaneMode Mode => mode;

    public void CheckWrite(ResourceTypeDescriptor type, Resource? existing)
    {
        if (mode == ControlPlaneMode.Global)
        {
            if (!type.WritableOnGlobal)
            {
                throw ApiException.MethodNotAllowed(type.Flow.HasFlag(KdsFlow.ZoneToGlobal)
                    ? $"{type.Name} resources are synced from zones and are read-only on the global control plane; write them on the zone's API"
                    : $"{type.Name} resources are written by the control plane itself and are read-only");
            }
            if (existing?.GetLabel(WellKnownLabels.Origin) == WellKnownLabels.OriginZone)
            {
                throw ApiException.Forbidden($"{existing.Key} was synced from zone '{existing.GetLabel(WellKnownLabels.Zone)}'; change it on that zone");
            }
            return;
        }
        var writable = federated ? type.WritableOnZone : type.WritableOnZone || type.WritableOnGlobal;
        if (!writable)
        {
            throw ApiException.MethodNotAllowed(federated && type.Flow.HasFlag(KdsFlow.GlobalToZones)
                ? $"{type.Name} resources are provided by the global control plane and are read-only on zone '{zoneName}'; apply them on the global"
                : $"{type.Name} resources are written by the control plane itself and are read-only");
        }
        if (existing?.GetLabel(WellKnownLabels.Origin) == WellKnownLabels.OriginGlobal)
        {
            throw ApiException.Forbidden($"{existing.Key} comes from the global control plane and is read-only on zone '{zoneName}'; change it on the global");
        }
        if (existing?.GetLabel(WellKnownLabels.Zone) is { } owner && owner != zoneName)
        {
            throw ApiException.Forbidden($"{existing.Key} belongs to zone '{owner}' and is read-only here");
        }
    }

    public Resource Stamp(Resource incoming)
    {
        // Resources written through an API carry no origin label: absence means "made here". KDS stamps the
        // origin (and zone) on what it syncs, so a user may not claim another origin.
        var allowedOrigin = mode == ControlPlaneMode.Global ? WellKnownLabels.OriginGlobal : WellKnownLabels.OriginZone;
        var errors = new List<Validation.ValidationError>();
        if (incoming.GetLabel(WellKnownLabels.Origin) is { } origin && origin != allowedOrigin)
        {
            errors.Add(new Validation.ValidationError($"labels[\"{WellKnownLabels.Origin}\"]",
                $"resources written here have origin '{allowedOrigin}'; '{origin}' is set only by KDS sync (remove the label)"));
        }
        if (mode == ControlPlaneMode.Zone && incoming.GetLabel(WellKnownLabels.Zone) is { } zone && zone != zoneName)
        {
            errors.Add(new Validation.ValidationError($"labels[\"{WellKnownLabels.Zone}\"]", $"this is zone '{zoneName}', not '{zone}'"));
        }
        if (mode == ControlPlaneMode.Global && incoming.GetLabel(WellKnownLabels.Zone) is not null && incoming.Descriptor.Flow.HasFlag(KdsFlow.ZoneToGlobal))
        {
            errors.Add(new Validation.ValidationError($"labels[\"{WellKnownLabels.Zone}\"]", "is set by KDS sync from the zone's identity"));
        }
        if (errors.Count > 0)
        {
            throw ApiException.BadRequest($"{incoming.Key} has labels reserved for the control plane", errors);
        }
        return incoming;
    }
}
