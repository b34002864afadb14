using Federation.Validation;

namespace Federation.Resources.Types;

/// <summary>Rules shared by every tag set (inbound tags, selectors, available services).</summary>
public static class Tagging
{
    public static readonly IReadOnlySet<string> Protocols = new HashSet<string>(StringComparer.Ordinal)
    {
        "tcp", "http", "http2", "grpc", "kafka",
    };

    public static void Validate(ValidationContext ctx, IReadOnlyDictionary<string, string> tags)
    {
        foreach (var (key, value) in tags)
        {
            var entry = ctx.AtMapKey(key);
            if (Names.CheckLabelKey(key) is { } keyProblem)
            {
                entry.Error(keyProblem);
            }
            if (Names.CheckLabelValue(value) is { } valueProblem)
            {
                entry.Error(valueProblem);
            }
            else if (value.Length == 0)
            {
                entry.Error("value must not be empty");
            }
        }
        if (tags.TryGetValue(WellKnownLabels.Protocol, out var protocol) && !Protocols.Contains(protocol))
        {
            ctx.AtMapKey(WellKnownLabels.Protocol).Error($"unknown protocol '{protocol}' (expected one of {string.Join(", ", Protocols)})");
        }
    }
}
