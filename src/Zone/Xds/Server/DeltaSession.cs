using Envoy.Service.Discovery.V3;

namespace Federation.Zone.Xds.Server;

/// <summary>
/// Incremental ADS (<c>DeltaAggregatedResources</c>) for one stream.
/// <list type="bullet">
/// <item>Subscriptions per type: <c>resource_names_subscribe</c>/<c>_unsubscribe</c>; <c>*</c> is the wildcard, and
/// so is an empty first subscribe for Listener and Cluster (Envoy's legacy form). Unsubscribing <c>*</c> ends it.</item>
/// <item>The stream tracks name → version of what the client holds, seeded from <c>initial_resource_versions</c> on
/// the first request of a type (a reconnect), so nothing the client already holds at that version is resent.</item>
/// <item>A response holds the resources the client lacks or holds at another version, and in
/// <c>removed_resources</c> the subscribed names it holds that no longer exist. Nothing is sent when there is
/// nothing to say, except a first (possibly empty) answer to a fresh wildcard subscription, which Envoy waits for.</item>
/// <item>ACK = the latest nonce of the type without error_detail, NACK = with it. Snapshot changes wait for the
/// answer to the previous response; subscription changes are answered at once. A NACKed version is not resent.</item>
/// <item>Rejected as nonsense: initial_resource_versions on a later request of a type, a name both subscribed and
/// unsubscribed in one request, error_detail without a response_nonce.</item>
/// </list>
/// </summary>
internal sealed class DeltaSession(IProxyWatch watch, XdsServerMetrics metrics, AdsWriteBudget budget, ILogger logger)
    : AdsSession<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(watch, metrics, budget)
{
    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);

    protected override void OnRequest(DeltaDiscoveryRequest request)
    {
        var typeUrl = request.TypeUrl;
        RequireServed(typeUrl);
        var isNew = !_types.TryGetValue(typeUrl, out var state);
        if (!isNew && request.InitialResourceVersions.Count > 0)
        {
            throw Violation($"initial_resource_versions is only allowed on the first request of {typeUrl} on a stream");
        }
        if (request.ErrorDetail is not null && request.ResponseNonce.Length == 0)
        {
            throw Violation($"a {typeUrl} request has error_detail but no response_nonce: there is no response it could reject");
        }
        foreach (var name in request.ResourceNamesUnsubscribe)
        {
            if (request.ResourceNamesSubscribe.Contains(name))
            {
                throw Violation($"a {typeUrl} request both subscribes and unsubscribes '{name}'");
            }
        }

        if (state is null)
        {
            state = new TypeState
            {
                // Envoy's legacy wildcard: an empty first subscribe for the types that have no names to ask for.
                Wildcard = request.ResourceNamesSubscribe.Count == 0 && XdsTypes.RequiresFullState(typeUrl),
                SubscriptionChanged = true,
            };
            _types[typeUrl] = state;
        }
        else if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.Nonce && state.AwaitingAnswer)
        {
            state.AwaitingAnswer = false;
            if (request.ErrorDetail is { } error)
            {
                Metrics.Nacked(typeUrl);
                Watch.OnNack(typeUrl, state.NonceVersion, error.Message);
                AdsLog.Nacked(logger, Watch.ProxyId, typeUrl, state.NonceVersion, error.Message);
            }
            else
            {
                Metrics.Acked(typeUrl);
                Watch.OnAck(typeUrl, state.NonceVersion);
            }
        }

        foreach (var name in request.ResourceNamesSubscribe)
        {
            var added = name == "*" ? !state.Wildcard : state.Names.Add(name);
            if (name == "*")
            {
                state.Wildcard = true;
            }
            state.SubscriptionChanged |= added;
        }
        foreach (var name in request.ResourceNamesUnsubscribe)
        {
            if (name == "*")
            {
                if (state.Wildcard)
                {
                    state.Wildcard = false;
                    // What only the wildcard brought is dropped by the client.
                    foreach (var held in state.Held.Keys.Where(n => !state.Names.Contains(n)).ToList())
                    {
                        state.Held.Remove(held);
                    }
                }
            }
            else if (state.Names.Remove(name) && !state.Wildcard)
            {
                state.Held.Remove(name);
            }
        }
        if (isNew)
        {
            foreach (var (name, version) in request.InitialResourceVersions)
            {
                if (state.Wildcard || state.Names.Contains(name))
                {
                    state.Held[name] = version;
                }
            }
            state.AnswerEvenIfEmpty = state.Wildcard && state.Held.Count == 0;
        }
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

    private void TrySend(string typeUrl, TypeState state, ProxySnapshot snapshot)
    {
        if (state.WritePending || (state.AwaitingAnswer && !state.SubscriptionChanged))
        {
            return;
        }
        var typeVersion = snapshot.VersionOf(typeUrl);
        if (!state.SubscriptionChanged && state.Evaluated && typeVersion == state.EvaluatedTypeVersion)
        {
            return;
        }
        state.SubscriptionChanged = false;
        state.Evaluated = true;
        state.EvaluatedTypeVersion = typeVersion;

        var existing = snapshot.Of(typeUrl);
        DeltaDiscoveryResponse? response = null;
        if (state.Wildcard)
        {
            foreach (var resource in existing.Values)
            {
                AddIfLacking(ref response, state, resource);
            }
        }
        else
        {
            foreach (var name in state.Names)
            {
                if (existing.TryGetValue(name, out var resource))
                {
                    AddIfLacking(ref response, state, resource);
                }
            }
        }
        List<string>? removed = null;
        foreach (var name in state.Held.Keys)
        {
            if (!existing.ContainsKey(name))
            {
                (removed ??= []).Add(name);
            }
        }
        if (response is null && removed is null && !state.AnswerEvenIfEmpty)
        {
            return;
        }
        state.AnswerEvenIfEmpty = false;
        response ??= new DeltaDiscoveryResponse();
        if (removed is not null)
        {
            foreach (var name in removed)
            {
                state.Held.Remove(name);
            }
            response.RemovedResources.AddRange(removed);
        }
        foreach (var resource in response.Resources)
        {
            state.Held[resource.Name] = resource.Version;
        }
        response.SystemVersionInfo = typeVersion;
        response.TypeUrl = typeUrl;
        response.Nonce = NextNonce();
        state.Nonce = response.Nonce;
        state.NonceVersion = typeVersion;
        state.AwaitingAnswer = true;
        state.WritePending = true;
        Enqueue(typeUrl, typeVersion, response.Resources.Count, response);
    }

    private static void AddIfLacking(ref DeltaDiscoveryResponse? response, TypeState state, XdsResource resource)
    {
        if (state.Held.TryGetValue(resource.Name, out var held) && held == resource.Version)
        {
            return;
        }
        (response ??= new DeltaDiscoveryResponse()).Resources.Add(new Resource
        {
            Name = resource.Name,
            Version = resource.Version,
            Resource_ = resource.Resource,
        });
    }

    /// <summary>The protocol state of one type on one stream.</summary>
    private sealed class TypeState
    {
        public bool Wildcard;
        public readonly HashSet<string> Names = new(StringComparer.Ordinal);

        /// <summary>Name → version of what the client holds (what it said it had, plus what it was sent).</summary>
        public readonly Dictionary<string, string> Held = new(StringComparer.Ordinal);

        public bool SubscriptionChanged;
        public bool AnswerEvenIfEmpty;
        public bool Evaluated;
        public string EvaluatedTypeVersion = "";
        public string? Nonce;
        public string NonceVersion = "";
        public bool AwaitingAnswer;
        public bool WritePending;
    }
}
