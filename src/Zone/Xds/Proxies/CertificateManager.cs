using System.Collections.Concurrent;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Xds.Proxies;

/// <summary>
/// Issues and caches each Dataplane's workload certificate from its mesh CA. A certificate is reissued when it
/// reaches 80 % of its lifetime, when the CA changes, or when the Dataplane's services or tags change.
/// </summary>
public sealed class CertificateManager(ZoneOptions options, TimeProvider time)
{
    private sealed record Entry(string Fingerprint, WorkloadCertificate Certificate, long Regenerations, DateTimeOffset IssuedAt);

    private readonly ConcurrentDictionary<(string Mesh, string Name), Entry> _issued = new();

    /// <summary>The current certificate, issuing a new one when needed; null when the mesh has no mTLS.</summary>
    public WorkloadCertificate? Get(MeshView mesh, Resource dataplane)
    {
        if (!mesh.MtlsEnabled)
        {
            return null;
        }
        var spec = dataplane.GetSpec<DataplaneSpec>();
        var tags = (spec.Networking.Inbound ?? []).SelectMany(i => i.Tags)
            .Append(new KeyValuePair<string, string>(WellKnownLabels.Zone, options.Zone))
            .Distinct()
            .OrderBy(t => t.Key, StringComparer.Ordinal).ThenBy(t => t.Value, StringComparer.Ordinal)
            .ToList();
        var services = spec.Services.Order(StringComparer.Ordinal).ToList();
        var fingerprint = $"{mesh.Ca!.CertificatePem.GetHashCode(StringComparison.Ordinal)}|{mesh.CertificateLifetime}|{string.Join(',', services)}|{string.Join(',', tags.Select(t => $"{t.Key}={t.Value}"))}";
        var key = (dataplane.Mesh, dataplane.Name);
        var now = time.GetUtcNow();
        if (_issued.TryGetValue(key, out var entry) && entry.Fingerprint == fingerprint && now < entry.Certificate.RenewAt)
        {
            return entry.Certificate;
        }
        var certificate = WorkloadCertificates.Issue(mesh.Ca, mesh.Name, services, tags, now, mesh.CertificateLifetime);
        _issued[key] = new Entry(fingerprint, certificate, (entry?.Regenerations ?? -1) + 1, now);
        return certificate;
    }

    /// <summary>What the insight shows about the certificate in use.</summary>
    public DataplaneCertificateInfo? Info(string mesh, string name, string? backend) =>
        _issued.TryGetValue((mesh, name), out var e)
            ? new DataplaneCertificateInfo
            {
                CertificateExpirationTime = e.Certificate.NotAfter,
                LastCertificateRegeneration = e.IssuedAt,
                CertificateRegenerations = e.Regenerations,
                IssuedBackend = backend,
            }
            : null;

    public void Forget(string mesh, string name) => _issued.TryRemove((mesh, name), out _);
}
