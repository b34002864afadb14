using System.Collections.Immutable;
using Envoy.Service.Discovery.V3;

namespace Federation.Zone.Xds.Server;

/// <summary>
/// State-of-the-world ADS (<c>StreamAggregatedResources</c>) for one stream.
/// <list type="bullet">
/// <item>Subscriptions per type: the first request of a type with no names is a wildcard (Envoy's LDS/CDS); <c>*</c>
/// among the names is one too. Once names were given, an empty list means "none" (how grpc-js unsubscribes).</item>
/// <item>A response carries the type's version and every subscribed resource that exists; it is sent when that
/// set (names and per-resource versions) differs from what this stream last sent.</item>
/// <item>ACK = the latest nonce of the type, no error_detail, and the version sent with that nonce; NACK = the
/// latest nonce with error_detail (even with a new version: a partial accept is still a rejection). A request with
/// another nonce only updates the subscription, as does one with the latest nonce and an older version (grpc-js
/// sends new names that way before it has finished with the response).</item>
/// <item>Snapshot changes wait for the answer to the previous response of the type; subscription changes are
/// answered at once whatever the nonce; a NACKed version is not resent, only a newer snapshot is.</item>
/// </list>
/// </summary>
internal sealed class SotwSession(IProxyWatch watch, XdsServerMetrics metrics, AdsWriteBudget budget, ILogger logger)
    : AdsSession<DiscoveryRequest, DiscoveryResponse>(watch, metrics, budget)
{
    // Scratch for one evaluation, shared by the streams a thread serves (an evaluation never awaits): serving a
    // snapshot allocates the response and little else, and a stream holds no list of its own.
    [ThreadStatic]
    private static List<XdsResource>? _desired;

    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);

    protected override void OnRequest(DiscoveryRequest request)
    {
        var typeUrl = request.TypeUrl;
        RequireServed(typeUrl);
        var isNew = !_types.TryGetValue(typeUrl, out var state);
        if (state is null)
        {
            state = new TypeState();
            _types[typeUrl] = state;
        }
        else if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.Nonce && state.AwaitingAnswer)
        {
            if (request.ErrorDetail is { } error)
            {
                state.AwaitingAnswer = false;
                Metrics.Nacked(typeUrl);
                Watch.OnNack(typeUrl, state.NonceVersion, error.Message);
                AdsLog.Nacked(logger, Watch.ProxyId, typeUrl, state.NonceVersion, error.Message);
            }
            else if (request.VersionInfo == state.NonceVersion)
            {
                state.AwaitingAnswer = false;
                Metrics.Acked(typeUrl);
                Watch.OnAck(typeUrl, state.NonceVersion);
            }
        }
        if (isNew && request.VersionInfo.Length > 0)
        {
            // A reconnecting client says which version it holds; it is not resent if still current.
            state.ClientVersion = request.VersionInfo;
        }
        UpdateSubscription(state, request, isNew);
    }

    protected override void OnTaken(string typeUrl) => _types[typeUrl].WritePending = false;

    protected override void Evaluate(ProxySnapshot snapshot)
    {
        foreach (var typeUrl in XdsTypesInSendOrder)
        {
            if (_types.TryGetValue(typeUrl, out var state))
            {
                TrySend(typeUrl, state, snapshot);
            }
        }
    }

    private static void UpdateSubscription(TypeState state, DiscoveryRequest request, bool isNew)
    {
        var names = request.ResourceNames;
        bool wildcard;
        HashSet<string> explicitNames;
        if (names.Count == 0)
        {
            // First request (or still a wildcard): wildcard. After names: none.
            wildcard = isNew || state.Wildcard;
            explicitNames = wildcard ? state.Names : [];
        }
        else
        {
            wildcard = false;
            explicitNames = new HashSet<string>(names.Count, StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (name == "*")
                {
                    wildcard = true;
                }
                else
                {
                    explicitNames.Add(name);
                }
            }
        }
        var changed = isNew || wildcard != state.Wildcard || !explicitNames.SetEquals(state.Names);
        if (!changed)
        {
            return;
        }
        state.Wildcard = wildcard;
        state.Names = explicitNames;
        state.SubscriptionChanged = true;
        if (!wildcard && state.SentFrom is not null)
        {
            // The client dropped what it unsubscribed from: forget it, so re-subscribing sends it again.
            state.SentOnly = state.SentOnly is null ? explicitNames : [.. state.SentOnly.Where(explicitNames.Contains)];
        }
    }

    private void TrySend(string typeUrl, TypeState state, ProxySnapshot snapshot)
    {
        if (state.WritePending || (state.AwaitingAnswer && !state.SubscriptionChanged))
        {
            return;
        }
        var typeVersion = snapshot.VersionOf(typeUrl);
        var existing = snapshot.Of(typeUrl);
        if (!state.SubscriptionChanged && state.SentFrom is not null && typeVersion == state.SentTypeVersion)
        {
            // Same content (the type version hashes every name and version): hold on to the current dictionary
            // rather than an older snapshot's.
            state.SentFrom = existing;
            return;
        }
        state.SubscriptionChanged = false;
        if (!state.Wildcard && state.Names.Count == 0)
        {
            // Subscribed to nothing: nothing to send, nothing to wait for.
            Remember(state, existing);
            state.SentTypeVersion = typeVersion;
            state.AwaitingAnswer = false;
            return;
        }
        var desired = Desired(state, existing, _desired ??= []);
        if (state.SentFrom is null && state.ClientVersion is { } held && held == typeVersion && typeVersion.Length > 0)
        {
            // A reconnecting client already holds this version.
            Remember(state, existing);
            state.SentTypeVersion = typeVersion;
            state.ClientVersion = null;
            return;
        }
        state.ClientVersion = null;
        if (state.SentFrom is not null && SameAs(state, desired))
        {
            // The client holds exactly this (e.g. a name was unsubscribed, or only unsubscribed resources changed).
            Remember(state, existing);
            state.SentTypeVersion = typeVersion;
            return;
        }
        var response = new DiscoveryResponse { VersionInfo = typeVersion, TypeUrl = typeUrl, Nonce = NextNonce() };
        response.Resources.Capacity = desired.Count;
        foreach (var resource in desired)
        {
            response.Resources.Add(resource.Resource);
        }
        Remember(state, existing);
        state.SentTypeVersion = typeVersion;
        state.Nonce = response.Nonce;
        state.NonceVersion = typeVersion;
        state.AwaitingAnswer = true;
        state.WritePending = true;
        Enqueue(typeUrl, typeVersion, desired.Count, response);
    }

    private static List<XdsResource> Desired(TypeState state, ImmutableDictionary<string, XdsResource> existing, List<XdsResource> into)
    {
        into.Clear();
        if (state.Wildcard)
        {
            into.AddRange(existing.Values);
            return into;
        }
        foreach (var name in state.Names)
        {
            if (existing.TryGetValue(name, out var resource))
            {
                into.Add(resource);
            }
        }
        return into;
    }

    /// <summary>Whether the client holds exactly <paramref name="desired"/>: same names, same versions.</summary>
    private static bool SameAs(TypeState state, List<XdsResource> desired)
    {
        var from = state.SentFrom!;
        var only = state.SentOnly;
        var held = only is null ? from.Count : only.Count(from.ContainsKey);
        if (held != desired.Count)
        {
            return false;
        }
        foreach (var resource in desired)
        {
            if (only is not null && !only.Contains(resource.Name))
            {
                return false;
            }
            if (!from.TryGetValue(resource.Name, out var sent) || sent.Version != resource.Version)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Records what was just sent (what <see cref="Desired"/> chose from <paramref name="existing"/>) by reference:
    /// the snapshot's dictionary, which every proxy with that config shares, filtered by the subscribed names.
    /// </summary>
    private static void Remember(TypeState state, ImmutableDictionary<string, XdsResource> existing)
    {
        state.SentFrom = existing;
        state.SentOnly = state.Wildcard ? null : state.Names;
    }

    /// <summary>The protocol state of one type on one stream.</summary>
    private sealed class TypeState
    {
        public bool Wildcard;
        public HashSet<string> Names = new(StringComparer.Ordinal);

        /// <summary>The subscription changed since the last evaluation: answer even while awaiting an ACK.</summary>
        public bool SubscriptionChanged;

        /// <summary>
        /// What the client holds from this stream: the resources of this dictionary (null before the first response)
        /// whose names are in <see cref="SentOnly"/> (null: all of them). <see cref="Names"/> is replaced, never
        /// changed, when the subscription changes, so it can be referenced here.
        /// </summary>
        public ImmutableDictionary<string, XdsResource>? SentFrom;

        public HashSet<string>? SentOnly;

        /// <summary>The snapshot's type version when <see cref="SentFrom"/> was last compared with it.</summary>
        public string SentTypeVersion = "";

        /// <summary>The version_info of a reconnecting client's first request of the type.</summary>
        public string? ClientVersion;

        public string? Nonce;
        public string NonceVersion = "";
        public bool AwaitingAnswer;
        public bool WritePending;
    }
}
