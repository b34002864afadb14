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
    private sealed record Entry(string Fingerprint, WorkloadCertificate Certificate, long Regenerations, DateTimeOffset IssuedAt)
    {
        /// <summary>
        /// What <see cref="Fingerprint"/> was last checked against. Resources are immutable, so while the zone state
        /// holds the same Dataplane object (and the mesh the same CA and lifetime) the fingerprint cannot differ:
        /// regenerating every proxy of a mesh after a policy change then costs a lookup per proxy.
        /// </summary>
        public (Resource Dataplane, string CaPem, TimeSpan Lifetime)? CheckedAgainst { get; init; }
    }

    private readonly ConcurrentDictionary<(string Mesh, string Name), Entry> _issued = new();

    /// <summary>The current certificate, issuing a new one when needed; null when the mesh has no mTLS.</summary>
    public WorkloadCertificate? Get(MeshView mesh, Resource dataplane)
    {
        if (!mesh.MtlsEnabled)
        {
            return null;
        }
        var key = (dataplane.Mesh, dataplane.Name);
        var now = time.GetUtcNow();
        var lifetime = mesh.CertificateLifetime;
        if (_issued.TryGetValue(key, out var entry) && now < entry.Certificate.RenewAt && entry.CheckedAgainst is var (checkedDataplane, checkedCa, checkedLifetime)
            && ReferenceEquals(checkedDataplane, dataplane) && checkedLifetime == lifetime && checkedCa == mesh.Ca!.CertificatePem)
        {
            return entry.Certificate;
        }
        var spec = dataplane.GetSpec<DataplaneSpec>();
        var tags = (spec.Networking.Inbound ?? []).SelectMany(i => i.Tags)
            .Append(new KeyValuePair<string, string>(WellKnownLabels.Zone, options.Zone))
            .Distinct()
            .OrderBy(t => t.Key, StringComparer.Ordinal).ThenBy(t => t.Value, StringComparer.Ordinal)
            .ToList();
        var services = spec.Services.Order(StringComparer.Ordinal).ToList();
        var fingerprint = $"{mesh.Ca!.CertificatePem.GetHashCode(StringComparison.Ordinal)}|{lifetime}|{string.Join(',', services)}|{string.Join(',', tags.Select(t => $"{t.Key}={t.Value}"))}";
        var checkedAgainst = (dataplane, mesh.Ca.CertificatePem, lifetime);
        if (entry is not null && entry.Fingerprint == fingerprint && now < entry.Certificate.RenewAt)
        {
            _issued[key] = entry with { CheckedAgainst = checkedAgainst };
            return entry.Certificate;
        }
        var certificate = WorkloadCertificates.Issue(mesh.Ca, mesh.Name, services, tags, now, lifetime);
        _issued[key] = new Entry(fingerprint, certificate, (entry?.Regenerations ?? -1) + 1, now) { CheckedAgainst = checkedAgainst };
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
