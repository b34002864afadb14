using System.Collections.Immutable;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Node = Envoy.Config.Core.V3.Node;

namespace Federation.Kds.Xds;

/// <summary>Which ADS variant an <see cref="XdsClient"/> speaks.</summary>
public enum XdsProtocol
{
    /// <summary><c>StreamAggregatedResources</c>: every response of a type carries the (subscribed) state.</summary>
    StateOfTheWorld,

    /// <summary><c>DeltaAggregatedResources</c>: responses carry changes and removals.</summary>
    Delta,
}

/// <summary>
/// Decides whether a response is acceptable: null to ACK it, or the reason to NACK it (sent as error_detail; the
/// client then keeps what it had).
/// </summary>
public delegate string? XdsResponseValidator(string typeUrl, IReadOnlyList<XdsClientResource> resources);

/// <summary>Settings of one <see cref="XdsClient"/>.</summary>
public sealed class XdsClientOptions
{
    /// <summary>Sent on the first request of every stream.</summary>
    public required Node Node { get; init; }

    public XdsProtocol Protocol { get; init; } = XdsProtocol.StateOfTheWorld;

    /// <summary>Call headers, e.g. <c>authorization</c>.</summary>
    public Metadata? Headers { get; init; }

    public XdsResponseValidator? Validator { get; init; }

    /// <summary>First reconnect delay; doubles (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// A resource the client holds: its name, its version (state of the world: the version_info of the response that
/// brought it; delta: the resource's own version) and the packed message.
/// </summary>
public sealed record XdsClientResource(string Name, string Version, Any Resource);

/// <summary>What the client holds of one type: the last accepted version, the resources, the last NACK reason.</summary>
public sealed record XdsTypeState(
    string TypeUrl,
    string Version,
    ImmutableDictionary<string, XdsClientResource> Resources,
    string? LastError)
{
    public static XdsTypeState Empty(string typeUrl) =>
        new(typeUrl, "", ImmutableDictionary.Create<string, XdsClientResource>(StringComparer.Ordinal), null);
}

/// <summary>Everything the client holds at one moment, immutable; <see cref="Version"/> grows with each change.</summary>
public sealed record XdsClientSnapshot(long Version, ImmutableDictionary<string, XdsTypeState> Types)
{
    public static readonly XdsClientSnapshot Empty = new(0, ImmutableDictionary.Create<string, XdsTypeState>(StringComparer.Ordinal));

    public XdsTypeState Of(string typeUrl) => Types.TryGetValue(typeUrl, out var state) ? state : XdsTypeState.Empty(typeUrl);
}

/// <summary>One response handled: its type, version, and whether it was ACKed (or NACKed with <see cref="Error"/>).</summary>
public sealed record XdsUpdate(string TypeUrl, string Version, bool Accepted, string? Error);
