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
    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);

    // Reused by every evaluation (the pump is single-threaded): serving a snapshot allocates the response and little else.
    private readonly List<XdsResource> _desired = [];

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
        if (!wildcard && state.Sent is { } sent)
        {
            // The client dropped what it unsubscribed from: forget it, so re-subscribing sends it again.
            foreach (var name in sent.Keys.Where(n => !explicitNames.Contains(n)).ToList())
            {
                sent.Remove(name);
            }
        }
    }

    private void TrySend(string typeUrl, TypeState state, ProxySnapshot snapshot)
    {
        if (state.WritePending || (state.AwaitingAnswer && !state.SubscriptionChanged))
        {
            return;
        }
        var typeVersion = snapshot.VersionOf(typeUrl);
        if (!state.SubscriptionChanged && state.Sent is not null && typeVersion == state.SentTypeVersion)
        {
            return;
        }
        state.SubscriptionChanged = false;
        if (!state.Wildcard && state.Names.Count == 0)
        {
            // Subscribed to nothing: nothing to send, nothing to wait for.
            state.Sent ??= new Dictionary<string, string>(StringComparer.Ordinal);
            state.SentTypeVersion = typeVersion;
            state.AwaitingAnswer = false;
            return;
        }
        var desired = Desired(state, snapshot.Of(typeUrl), _desired);
        if (state.Sent is null && state.ClientVersion is { } held && held == typeVersion && typeVersion.Length > 0)
        {
            // A reconnecting client already holds this version.
            state.Sent = Remember(state.Sent, desired);
            state.SentTypeVersion = typeVersion;
            state.ClientVersion = null;
            return;
        }
        state.ClientVersion = null;
        if (state.Sent is { } sent && SameAs(sent, desired))
        {
            // The client holds exactly this (e.g. a name was unsubscribed, or only unsubscribed resources changed).
            state.SentTypeVersion = typeVersion;
            return;
        }
        var response = new DiscoveryResponse { VersionInfo = typeVersion, TypeUrl = typeUrl, Nonce = NextNonce() };
        response.Resources.Capacity = desired.Count;
        foreach (var resource in desired)
        {
            response.Resources.Add(resource.Resource);
        }
        state.Sent = Remember(state.Sent, desired);
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

    private static bool SameAs(Dictionary<string, string> sent, List<XdsResource> desired)
    {
        if (sent.Count != desired.Count)
        {
            return false;
        }
        foreach (var resource in desired)
        {
            if (!sent.TryGetValue(resource.Name, out var version) || version != resource.Version)
            {
                return false;
            }
        }
        return true;
    }

    private static Dictionary<string, string> Remember(Dictionary<string, string>? sent, List<XdsResource> resources)
    {
        if (sent is null)
        {
            sent = new Dictionary<string, string>(resources.Count, StringComparer.Ordinal);
        }
        else
        {
            sent.Clear();
        }
        foreach (var resource in resources)
        {
            sent[resource.Name] = resource.Version;
        }
        return sent;
    }

    /// <summary>The protocol state of one type on one stream.</summary>
    private sealed class TypeState
    {
        public bool Wildcard;
        public HashSet<string> Names = new(StringComparer.Ordinal);

        /// <summary>The subscription changed since the last evaluation: answer even while awaiting an ACK.</summary>
        public bool SubscriptionChanged;

        /// <summary>Name → resource version of what the client holds from this stream; null before the first response.</summary>
        public Dictionary<string, string>? Sent;

        /// <summary>The snapshot's type version when <see cref="Sent"/> was last compared with it.</summary>
        public string SentTypeVersion = "";

        /// <summary>The version_info of a reconnecting client's first request of the type.</summary>
        public string? ClientVersion;

        public string? Nonce;
        public string NonceVersion = "";
        public bool AwaitingAnswer;
        public bool WritePending;
    }
}
