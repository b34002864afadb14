using System.Text.Json.Serialization;
using Federation.Serialization;
using Federation.Validation;

namespace Federation.Resources.Types;

/// <summary>A Mesh: the unit of isolation; it may enable mTLS with one CA backend and choose how traffic leaves a zone.</summary>
public sealed record MeshSpec : IResourceSpec
{
    public MeshMtls? Mtls { get; init; }

    public MeshRouting? Routing { get; init; }

    public MeshNetworking? Networking { get; init; }

    /// <summary>The enabled CA backend, when mTLS is on.</summary>
    [JsonIgnore]
    public MtlsBackend? EnabledBackend =>
        Mtls?.EnabledBackend is { Length: > 0 } name ? Mtls.Backends?.FirstOrDefault(b => b.Name == name) : null;

    [JsonIgnore]
    public bool MtlsEnabled => EnabledBackend is not null;

    public void Validate(ValidationContext context)
    {
        if (Mtls is { } mtls)
        {
            var m = context.At("mtls");
            var names = new HashSet<string>(StringComparer.Ordinal);
            var backends = mtls.Backends ?? [];
            for (var i = 0; i < backends.Count; i++)
            {
                var b = backends[i];
                var bc = m.At("backends", i);
                if (Names.CheckDnsLabelName(b.Name) is { } nameProblem)
                {
                    bc.Error("name", nameProblem);
                }
                else if (!names.Add(b.Name))
                {
                    bc.Error("name", $"duplicate backend name '{b.Name}'");
                }
                if (b.Type != "builtin")
                {
                    bc.Error("type", $"unsupported CA backend type '{b.Type}' (supported: builtin)");
                }
                if (b.DpCert?.Rotation?.Expiration is { } exp)
                {
                    CheckDuration(bc.At("dpCert").At("rotation").At("expiration"), exp, TimeSpan.FromMinutes(1));
                }
                if (b.Conf?.CaCert is { } ca)
                {
                    var cc = bc.At("conf").At("caCert");
                    if (ca.RsaBits is { } bits && bits is not (2048 or 3072 or 4096))
                    {
                        cc.Error("RSAbits", $"must be 2048, 3072 or 4096, got {bits}");
                    }
                    if (ca.Expiration is { } caExp)
                    {
                        CheckDuration(cc.At("expiration"), caExp, TimeSpan.FromHours(1));
                    }
                }
            }
            if (mtls.EnabledBackend is { Length: > 0 } enabled && !names.Contains(enabled))
            {
                m.Error("enabledBackend", backends.Count == 0
                    ? $"names backend '{enabled}' but no backends are defined"
                    : $"names backend '{enabled}', which is not among the backends ({string.Join(", ", backends.Select(b => b.Name))})");
            }
        }
    }

    internal static void CheckDuration(ValidationContext ctx, string value, TimeSpan minimum)
    {
        if (!GoDuration.TryParse(value, out var d))
        {
            ctx.Error($"'{value}' is not a duration (examples: 24h, 90m, 30s)");
        }
        else if (d < minimum)
        {
            ctx.Error($"must be at least {GoDuration.Format(minimum)}, got {value}");
        }
    }
}

public sealed record MeshMtls
{
    public string? EnabledBackend { get; init; }

    public IReadOnlyList<MtlsBackend>? Backends { get; init; }

    public bool? SkipValidation { get; init; }
}

public enum MtlsMode
{
    STRICT,
    PERMISSIVE,
}

public sealed record MtlsBackend
{
    public required string Name { get; init; }

    public required string Type { get; init; }

    public MtlsMode? Mode { get; init; }

    public DpCert? DpCert { get; init; }

    public BuiltinCaConf? Conf { get; init; }
}

public sealed record DpCert
{
    public DpCertRotation? Rotation { get; init; }
}

public sealed record DpCertRotation
{
    public string? Expiration { get; init; }
}

public sealed record BuiltinCaConf
{
    public CaCertConf? CaCert { get; init; }
}

public sealed record CaCertConf
{
    [JsonPropertyName("RSAbits")]
    public int? RsaBits { get; init; }

    public string? Expiration { get; init; }
}

public sealed record MeshRouting
{
    public bool? ZoneEgress { get; init; }

    public bool? LocalityAwareLoadBalancing { get; init; }
}

public sealed record MeshNetworking
{
    public MeshOutbound? Outbound { get; init; }
}

public sealed record MeshOutbound
{
    public bool? Passthrough { get; init; }
}
