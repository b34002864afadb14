using System.Collections.Immutable;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Federation.Policies;
using Federation.Resources;
using Federation.Security.Pki;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;
using Google.Protobuf.WellKnownTypes;
using Endpoint = Envoy.Config.Endpoint.V3.Endpoint;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;
using Route = Envoy.Config.Route.V3.Route;

namespace Federation.Zone.Xds.Generators;

/// <summary>
/// Generates a proxy's complete config from the zone state. What every proxy of a mesh shares (outbound
/// listeners/routes/clusters/endpoints for every service) is built once per mesh version and kind; only the
/// inbound side (with its RBAC) and the certificates are per proxy.
/// </summary>
public sealed class ConfigGenerator
{
    private static readonly Duration ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5));

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Mesh, ProxyKind Kind), (OutboundInputs Inputs, Shared Resources)> _outbound = [];

    /// <summary>
    /// What the shared outbound resources are built from. Compared by reference where they are collections: a new
    /// mesh version that kept them (a policy change) reuses the resources, so every proxy keeps the same objects.
    /// </summary>
    private readonly record struct OutboundInputs(
        ImmutableSortedDictionary<string, ServiceView> Services,
        Resources.Types.MeshSpec Spec,
        bool MtlsEnabled,
        ImmutableArray<(string Address, int Port)> Egresses,
        string Zone)
    {
        public static OutboundInputs Of(MeshView mesh, string zone) => new(mesh.Services, mesh.Spec, mesh.MtlsEnabled, mesh.Egresses, zone);
    }

    /// <summary>What every proxy of one mesh and kind gets, with a version per type computed once.</summary>
    private sealed record Shared(ImmutableDictionary<string, ImmutableDictionary<string, XdsResource>> Resources, ImmutableDictionary<string, string> Versions)
    {
        public static readonly Shared None = new(
            XdsTypes.All.ToImmutableDictionary(t => t, _ => ImmutableDictionary.Create<string, XdsResource>(StringComparer.Ordinal)),
            XdsTypes.All.ToImmutableDictionary(t => t, _ => TypeVersion([])));
    }

    public ProxySnapshot Generate(ZoneState state, ProxyContext proxy, long version)
    {
        var own = XdsTypes.All.ToDictionary(t => t, _ => new Dictionary<string, XdsResource>(StringComparer.Ordinal));
        if (proxy.IsZoneProxy)
        {
            ZoneProxyGenerator.Generate(state, proxy, own);
            return Seal(Shared.None, own, version);
        }
        var mesh = state.Mesh(proxy.Mesh);
        if (mesh is null)
        {
            return ProxySnapshot.Empty with { Version = version };
        }
        var shared = Outbound(mesh, proxy.Kind, state.Zone);
        if (proxy.Kind == ProxyKind.Proxyless)
        {
            AddProxylessInbound(mesh, proxy, own);
        }
        else
        {
            AddEnvoyInbound(mesh, proxy, own);
            AddEnvoyOutboundListeners(mesh, proxy, own);
            AddTransparentProxying(mesh, proxy, own);
            AddSecrets(mesh, proxy, own);
        }
        return Seal(shared, own, version);
    }

    /// <summary>
    /// The proxy's snapshot: the shared resources plus its own. A type with nothing of its own reuses the shared
    /// dictionary and version as they are; otherwise the version combines the shared version with its own resources
    /// (few), so no proxy re-hashes what every proxy shares.
    /// </summary>
    private static ProxySnapshot Seal(Shared shared, Dictionary<string, Dictionary<string, XdsResource>> own, long version)
    {
        var resources = ImmutableDictionary.CreateBuilder<string, ImmutableDictionary<string, XdsResource>>(StringComparer.Ordinal);
        var versions = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var type in XdsTypes.All)
        {
            var common = shared.Resources[type];
            var mine = own[type];
            if (mine.Count == 0)
            {
                resources[type] = common;
                versions[type] = shared.Versions[type];
                continue;
            }
            resources[type] = common.SetItems(mine);
            versions[type] = TypeVersion(mine.Values, shared.Versions[type]);
        }
        return new ProxySnapshot(version, resources.ToImmutable(), versions.ToImmutable());
    }

    /// <summary>
    /// The hash of <c>prefix;name=version;name=version...</c> (names in ordinal order), fed to the hash piece by piece
    /// rather than built as one string: every proxy computes it for its own resources on every regeneration.
    /// </summary>
    private static string TypeVersion(IEnumerable<XdsResource> resources, string prefix = "")
    {
        var sorted = resources.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var hash = new System.IO.Hashing.XxHash64();
        Span<byte> buffer = stackalloc byte[256];
        Append(hash, prefix, buffer);
        foreach (var r in sorted)
        {
            hash.Append(";"u8);
            Append(hash, r.Name, buffer);
            hash.Append("="u8);
            Append(hash, r.Version, buffer);
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private static void Append(System.IO.Hashing.XxHash64 hash, string text, Span<byte> buffer)
    {
        if (Encoding.UTF8.GetMaxByteCount(text.Length) <= buffer.Length)
        {
            hash.Append(buffer[..Encoding.UTF8.GetBytes(text, buffer)]);
        }
        else
        {
            hash.Append(Encoding.UTF8.GetBytes(text));
        }
    }

    private Shared Outbound(MeshView mesh, ProxyKind kind, string zone)
    {
        lock (_lock)
        {
            if (_outbound.TryGetValue((mesh.Name, kind), out var cached) && cached.Inputs == OutboundInputs.Of(mesh, zone))
            {
                return cached.Resources;
            }
        }
        var listeners = ImmutableDictionary.CreateBuilder<string, XdsResource>(StringComparer.Ordinal);
        var routes = ImmutableDictionary.CreateBuilder<string, XdsResource>(StringComparer.Ordinal);
        var clusters = ImmutableDictionary.CreateBuilder<string, XdsResource>(StringComparer.Ordinal);
        var endpoints = ImmutableDictionary.CreateBuilder<string, XdsResource>(StringComparer.Ordinal);
        foreach (var service in mesh.Services.Values)
        {
            var clusterName = XdsNames.OutboundCluster(service.Name);
            clusters[clusterName] = XdsBuild.Resource(clusterName, OutboundCluster(mesh, service, kind));
            endpoints[clusterName] = XdsBuild.Resource(clusterName, LoadAssignment(mesh, service, zone));
            var routeName = XdsNames.OutboundRoute(service.Name);
            routes[routeName] = XdsBuild.Resource(routeName, new RouteConfiguration
            {
                Name = routeName,
                VirtualHosts =
                {
                    new VirtualHost
                    {
                        Name = service.Name,
                        Domains = { "*" },
                        Routes = { new Route { Match = new RouteMatch { Prefix = kind == ProxyKind.Proxyless ? "" : "/" }, Route_ = new RouteAction { Cluster = clusterName } } },
                    },
                },
            });
            if (kind == ProxyKind.Proxyless)
            {
                // The client asks for the Listener named by its target: <service>.<mesh>.mesh, with or without a port.
                var targets = new List<string> { XdsNames.Sni(service.Name, mesh.Name) };
                targets.AddRange(service.Ports.Select(p => $"{XdsNames.Sni(service.Name, mesh.Name)}:{p}"));
                if (mesh.Name == "default")
                {
                    targets.Add($"{service.Name}.mesh");
                }
                foreach (var target in targets)
                {
                    listeners[target] = XdsBuild.Resource(target, ApiListener(target, routeName));
                }
            }
        }
        var byType = ImmutableDictionary<string, ImmutableDictionary<string, XdsResource>>.Empty
            .Add(XdsTypes.Listener, listeners.ToImmutable())
            .Add(XdsTypes.RouteConfiguration, routes.ToImmutable())
            .Add(XdsTypes.Cluster, clusters.ToImmutable())
            .Add(XdsTypes.ClusterLoadAssignment, endpoints.ToImmutable())
            .Add(XdsTypes.Secret, ImmutableDictionary.Create<string, XdsResource>(StringComparer.Ordinal));
        var result = new Shared(byType, byType.ToImmutableDictionary(kv => kv.Key, kv => TypeVersion(kv.Value.Values)));
        lock (_lock)
        {
            _outbound[(mesh.Name, kind)] = (OutboundInputs.Of(mesh, zone), result);
        }
        return result;
    }

    private static Listener ApiListener(string name, string routeName)
    {
        var hcm = XdsBuild.Hcm(name);
        hcm.Rds = new Rds { ConfigSource = XdsBuild.Ads(), RouteConfigName = routeName };
        hcm.HttpFilters.Add(XdsBuild.Router());
        return new Listener { Name = name, ApiListener = new ApiListener { ApiListener_ = XdsBuild.Pack(hcm) } };
    }

    private static Cluster OutboundCluster(MeshView mesh, ServiceView service, ProxyKind kind)
    {
        var name = XdsNames.OutboundCluster(service.Name);
        var cluster = new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = XdsBuild.Ads(), ServiceName = name },
            ConnectTimeout = ConnectTimeout,
            LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
        };
        if (kind == ProxyKind.Envoy && service.IsHttp2)
        {
            cluster.Http2ProtocolOptions = new Http2ProtocolOptions();
        }
        if (mesh.MtlsEnabled)
        {
            var spiffe = WorkloadCertificates.SpiffeId(mesh.Name, service.Name);
            var validation = new CertificateValidationContext
            {
                MatchSubjectAltNames = { XdsBuild.Exact(spiffe) },
            };
            var common = new CommonTlsContext();
            if (kind == ProxyKind.Proxyless)
            {
                validation.CaCertificateProviderInstance = XdsBuild.Provider();
                common.TlsCertificateProviderInstance = XdsBuild.Provider();
                common.ValidationContext = validation;
            }
            else
            {
                validation.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher { SanType = SubjectAltNameMatcher.Types.SanType.Uri, Matcher = XdsBuild.Exact(spiffe) });
                common.TlsCertificateSdsSecretConfigs.Add(XdsBuild.Sds(XdsNames.IdentitySecret(mesh.Name)));
                common.CombinedValidationContext = new CommonTlsContext.Types.CombinedCertificateValidationContext
                {
                    DefaultValidationContext = validation,
                    ValidationContextSdsSecretConfig = XdsBuild.Sds(XdsNames.CaSecret(mesh.Name)),
                };
            }
            cluster.TransportSocket = XdsBuild.Tls(new UpstreamTlsContext { CommonTlsContext = common, Sni = XdsNames.Sni(service.Name, mesh.Name) });
        }
        return cluster;
    }

    /// <summary>
    /// Local instances in this zone's locality; each remote zone as one locality reached at its ingress, weighted by
    /// its instance count. With locality-aware load balancing, remote zones are priority 1 (used only when no local
    /// instance is healthy).
    /// </summary>
    private static ClusterLoadAssignment LoadAssignment(MeshView mesh, ServiceView service, string zone)
    {
        var name = XdsNames.OutboundCluster(service.Name);
        var cla = new ClusterLoadAssignment { ClusterName = name };
        var seen = new HashSet<(string, int)>();
        var local = new LocalityLbEndpoints { Locality = new Locality { Zone = zone } };
        foreach (var endpoint in service.Local)
        {
            if (!seen.Add((endpoint.Address, endpoint.Port)))
            {
                continue;
            }
            local.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Endpoint { Address = XdsBuild.SocketAddress(endpoint.Address, endpoint.Port) },
                HealthStatus = endpoint.Healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy,
                LoadBalancingWeight = 1,
            });
        }
        var healthyLocal = service.Local.Count(e => e.Healthy);
        if (local.LbEndpoints.Count > 0)
        {
            local.LoadBalancingWeight = (uint)Math.Max(1, healthyLocal);
            cla.Endpoints.Add(local);
        }
        var localityAware = mesh.Spec.Routing?.LocalityAwareLoadBalancing == true && healthyLocal > 0;
        if (!mesh.Egresses.IsEmpty && service.Remote.Length > 0)
        {
            // The mesh routes cross-zone traffic through this zone's egress, which forwards by SNI to the remote ingresses.
            var viaEgress = new LocalityLbEndpoints
            {
                Locality = new Locality { Zone = zone, SubZone = "egress" },
                Priority = localityAware ? 1u : 0u,
                LoadBalancingWeight = (uint)service.Remote.Sum(r => r.Instances),
            };
            foreach (var (address, port) in mesh.Egresses.Where(e => seen.Add(e)))
            {
                viaEgress.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint { Address = XdsBuild.SocketAddress(address, port) },
                    HealthStatus = HealthStatus.Healthy,
                    LoadBalancingWeight = 1,
                });
            }
            if (viaEgress.LbEndpoints.Count > 0)
            {
                cla.Endpoints.Add(viaEgress);
            }
            return cla;
        }
        foreach (var byZone in service.Remote.GroupBy(r => r.Zone))
        {
            var remote = new LocalityLbEndpoints
            {
                Locality = new Locality { Zone = byZone.Key },
                Priority = localityAware ? 1u : 0u,
            };
            var weight = 0;
            foreach (var r in byZone)
            {
                if (!seen.Add((r.Address, r.Port)))
                {
                    continue;
                }
                remote.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint { Address = XdsBuild.SocketAddress(r.Address, r.Port) },
                    HealthStatus = HealthStatus.Healthy,
                    LoadBalancingWeight = (uint)r.Instances,
                });
                weight += r.Instances;
            }
            if (remote.LbEndpoints.Count > 0)
            {
                remote.LoadBalancingWeight = (uint)weight;
                cla.Endpoints.Add(remote);
            }
        }
        return cla;
    }

    private static void AddProxylessInbound(MeshView mesh, ProxyContext proxy, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        var networking = proxy.Spec.Networking;
        foreach (var inbound in networking.Inbound ?? [])
        {
            var address = inbound.Address ?? networking.Address;
            var name = XdsNames.ProxylessServerListener(address, inbound.Port);
            var hcm = XdsBuild.Hcm(XdsNames.InboundListener(address, inbound.Port));
            hcm.RouteConfig = new RouteConfiguration
            {
                Name = XdsNames.InboundListener(address, inbound.Port),
                VirtualHosts =
                {
                    new VirtualHost
                    {
                        Name = "inbound",
                        Domains = { "*" },
                        Routes = { new Route { Match = new RouteMatch { Prefix = "" }, NonForwardingAction = new NonForwardingAction() } },
                    },
                },
            };
            var chain = new FilterChain { Name = XdsNames.InboundListener(address, inbound.Port) };
            if (mesh.MtlsEnabled)
            {
                hcm.HttpFilters.Add(HttpRbacFilter(mesh, proxy, inbound));
                chain.TransportSocket = XdsBuild.Tls(new DownstreamTlsContext
                {
                    CommonTlsContext = new CommonTlsContext
                    {
                        TlsCertificateProviderInstance = XdsBuild.Provider(),
                        ValidationContext = new CertificateValidationContext { CaCertificateProviderInstance = XdsBuild.Provider() },
                    },
                    RequireClientCertificate = true,
                });
            }
            hcm.HttpFilters.Add(XdsBuild.Router());
            chain.Filters.Add(new Filter { Name = XdsBuild.HcmFilterName, TypedConfig = XdsBuild.Pack(hcm) });
            var listener = new Listener
            {
                Name = name,
                Address = XdsBuild.SocketAddress(address, inbound.Port),
                TrafficDirection = TrafficDirection.Inbound,
                FilterChains = { chain },
                // Under transparent proxying inbound traffic arrives redirected, through the inbound passthrough listener.
                BindToPort = networking.TransparentProxying?.RedirectPortInbound is null ? null : false,
            };
            into[XdsTypes.Listener][name] = XdsBuild.Resource(name, listener);
        }
    }

    private static HttpFilter HttpRbacFilter(MeshView mesh, ProxyContext proxy, Resources.Types.DataplaneInbound inbound) =>
        InboundRbac(mesh, proxy, inbound).HttpFilter;

    /// <summary>The RBAC of one inbound, resolved and built once per mesh version and distinct inbound.</summary>
    private sealed record RbacRules(Envoy.Config.Rbac.V3.RBAC Allow, Envoy.Config.Rbac.V3.RBAC? Shadow)
    {
        /// <summary>The HTTP filter (it carries no per-proxy name), packed once and shared; nobody changes it.</summary>
        public HttpFilter HttpFilter { get; } = BuildHttpFilter(Allow, Shadow);

        private static HttpFilter BuildHttpFilter(Envoy.Config.Rbac.V3.RBAC allow, Envoy.Config.Rbac.V3.RBAC? shadow)
        {
            var rbac = new HttpRbac { Rules = allow };
            if (shadow is not null)
            {
                rbac.ShadowRules = shadow;
                rbac.ShadowRulesStatPrefix = "shadow_deny_";
            }
            return new HttpFilter { Name = XdsBuild.HttpRbacFilterName, TypedConfig = XdsBuild.Pack(rbac) };
        }
    }

    // A MeshView is immutable and replaced when anything in the mesh changes (its permissions included), so its
    // cache goes with it. The proxies of a service share their inbound's RBAC: after a policy change it is resolved
    // and built once per service rather than once per proxy.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<MeshView, System.Collections.Concurrent.ConcurrentDictionary<string, RbacRules>> RbacByMesh = [];

    private static RbacRules InboundRbac(MeshView mesh, ProxyContext proxy, Resources.Types.DataplaneInbound inbound)
    {
        var byInbound = RbacByMesh.GetValue(mesh, static _ => new(StringComparer.Ordinal));
        var key = RbacKey(mesh, proxy.Name, inbound.Tags);
        if (byInbound.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var rules = TrafficPermissions.Resolve(mesh.Permissions, proxy.Name, inbound.Tags);
        var (allow, shadow) = RbacBuilder.Build(mesh.Name, rules);
        return byInbound.GetOrAdd(key, new RbacRules(allow, shadow));
    }

    /// <summary>
    /// What the resolved rules depend on besides the mesh: the inbound's tags, and the Dataplane's name only when a
    /// policy targets that Dataplane by name (see <see cref="TrafficPermissions.TargetRank"/>).
    /// </summary>
    private static string RbacKey(MeshView mesh, string dataplane, IReadOnlyDictionary<string, string> tags)
    {
        var key = new StringBuilder();
        foreach (var (name, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            key.Append(name).Append('\0').Append(value).Append('\0');
        }
        foreach (var permission in mesh.Permissions)
        {
            if (permission.GetSpec<Resources.Types.MeshTrafficPermissionSpec>().TargetRef is { Kind: Resources.Types.TargetRefKind.Dataplane } target && target.Name == dataplane)
            {
                key.Append('\u0001').Append(dataplane);
                break;
            }
        }
        return key.ToString();
    }

    private static void AddEnvoyInbound(MeshView mesh, ProxyContext proxy, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        var networking = proxy.Spec.Networking;
        foreach (var inbound in networking.Inbound ?? [])
        {
            var address = inbound.Address ?? networking.Address;
            var servicePort = inbound.ServicePort ?? inbound.Port;
            var localCluster = XdsNames.LocalCluster(servicePort);
            var protocol = inbound.Tags.GetValueOrDefault(WellKnownLabels.Protocol, "tcp");
            var http = protocol is "http" or "http2" or "grpc";
            var cluster = new Cluster
            {
                Name = localCluster,
                Type = Cluster.Types.DiscoveryType.Static,
                ConnectTimeout = ConnectTimeout,
                LoadAssignment = new ClusterLoadAssignment
                {
                    ClusterName = localCluster,
                    Endpoints =
                    {
                        new LocalityLbEndpoints
                        {
                            LbEndpoints = { new LbEndpoint { Endpoint = new Endpoint { Address = XdsBuild.SocketAddress(inbound.ServiceAddress ?? "127.0.0.1", servicePort) } } },
                        },
                    },
                },
            };
            if (protocol is "http2" or "grpc")
            {
                cluster.Http2ProtocolOptions = new Http2ProtocolOptions();
            }
            into[XdsTypes.Cluster][localCluster] = XdsBuild.Resource(localCluster, cluster);

            var name = XdsNames.InboundListener(address, inbound.Port);
            var chain = new FilterChain { Name = name };
            if (http)
            {
                var hcm = XdsBuild.Hcm(name);
                hcm.RouteConfig = new RouteConfiguration
                {
                    Name = name,
                    VirtualHosts =
                    {
                        new VirtualHost
                        {
                            Name = inbound.Tags.GetValueOrDefault(WellKnownLabels.Service, "inbound"),
                            Domains = { "*" },
                            Routes = { new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = localCluster } } },
                        },
                    },
                };
                if (mesh.MtlsEnabled)
                {
                    // RBAC comes first, before anything reaches the application.
                    hcm.HttpFilters.Add(HttpRbacFilter(mesh, proxy, inbound));
                }
                hcm.HttpFilters.Add(XdsBuild.Router());
                chain.Filters.Add(new Filter { Name = XdsBuild.HcmFilterName, TypedConfig = XdsBuild.Pack(hcm) });
            }
            else
            {
                if (mesh.MtlsEnabled)
                {
                    var (allow, shadow) = InboundRbac(mesh, proxy, inbound);
                    var rbac = new NetworkRbac { Rules = allow, StatPrefix = name };
                    if (shadow is not null)
                    {
                        rbac.ShadowRules = shadow;
                    }
                    chain.Filters.Add(new Filter { Name = XdsBuild.NetworkRbacFilterName, TypedConfig = XdsBuild.Pack(rbac) });
                }
                chain.Filters.Add(new Filter { Name = XdsBuild.TcpProxyFilterName, TypedConfig = XdsBuild.Pack(new TcpProxy { StatPrefix = name, Cluster = localCluster }) });
            }
            if (mesh.MtlsEnabled)
            {
                chain.TransportSocket = XdsBuild.Tls(new DownstreamTlsContext
                {
                    CommonTlsContext = new CommonTlsContext
                    {
                        TlsCertificateSdsSecretConfigs = { XdsBuild.Sds(XdsNames.IdentitySecret(mesh.Name)) },
                        ValidationContextSdsSecretConfig = XdsBuild.Sds(XdsNames.CaSecret(mesh.Name)),
                    },
                    RequireClientCertificate = true,
                });
            }
            var listener = new Listener
            {
                Name = name,
                Address = XdsBuild.SocketAddress(address, inbound.Port),
                TrafficDirection = TrafficDirection.Inbound,
                FilterChains = { chain },
                // Under transparent proxying inbound traffic arrives redirected, through the inbound passthrough listener.
                BindToPort = networking.TransparentProxying?.RedirectPortInbound is null ? null : false,
            };
            into[XdsTypes.Listener][name] = XdsBuild.Resource(name, listener);
        }
    }

    private static void AddEnvoyOutboundListeners(MeshView mesh, ProxyContext proxy, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        foreach (var outbound in proxy.Spec.Networking.Outbound ?? [])
        {
            if (outbound.Tags?.GetValueOrDefault(WellKnownLabels.Service) is not { } serviceName)
            {
                continue;
            }
            var listener = OutboundListener(mesh, outbound.Address ?? "127.0.0.1", outbound.Port, serviceName);
            into[XdsTypes.Listener][listener.Name] = XdsBuild.Resource(listener.Name, listener);
        }
    }

    /// <summary>An outbound listener at address:port for one service: HTTP routes (RDS) or a TCP proxy to its cluster.</summary>
    private static Listener OutboundListener(MeshView mesh, string address, int port, string serviceName)
    {
        var name = XdsNames.OutboundListener(address, port);
        var chain = new FilterChain { Name = name };
        if (mesh.Services.TryGetValue(serviceName, out var service) && service.IsHttp)
        {
            var hcm = XdsBuild.Hcm(name);
            hcm.Rds = new Rds { ConfigSource = XdsBuild.Ads(), RouteConfigName = XdsNames.OutboundRoute(serviceName) };
            hcm.HttpFilters.Add(XdsBuild.Router());
            chain.Filters.Add(new Filter { Name = XdsBuild.HcmFilterName, TypedConfig = XdsBuild.Pack(hcm) });
        }
        else
        {
            chain.Filters.Add(new Filter { Name = XdsBuild.TcpProxyFilterName, TypedConfig = XdsBuild.Pack(new TcpProxy { StatPrefix = name, Cluster = XdsNames.OutboundCluster(serviceName) }) });
        }
        return new Listener
        {
            Name = name,
            Address = XdsBuild.SocketAddress(address, port),
            TrafficDirection = TrafficDirection.Outbound,
            FilterChains = { chain },
        };
    }

    /// <summary>The port of every VIP listener: what a client of <c>&lt;service&gt;.&lt;mesh&gt;.mesh</c> dials, as in Kuma.</summary>
    public const int VipPort = 80;

    /// <summary>
    /// Transparent proxying (the Dataplane's <c>networking.transparentProxying</c>; iptables redirects the workload's
    /// traffic to the proxy): a listener on the outbound redirect port hands each connection, by its original
    /// destination, to the VIP listener of the service the zone's DNS named (<c>&lt;vip&gt;:80</c>, not bound) or
    /// passes it through to where it was going; a listener on the inbound redirect port does the same for the
    /// inbound listeners (not bound either) and passes undeclared ports through.
    /// </summary>
    private static void AddTransparentProxying(MeshView mesh, ProxyContext proxy, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        if (proxy.Spec.Networking.TransparentProxying is not { } tp)
        {
            return;
        }
        if (tp.RedirectPortOutbound is { } outboundPort)
        {
            AddPassthrough(XdsNames.OutboundPassthrough, outboundPort, TrafficDirection.Outbound, into);
            var reachable = tp.ReachableServices is { Count: > 0 } names ? names.ToHashSet(StringComparer.Ordinal) : null;
            foreach (var (service, vip) in mesh.Vips)
            {
                if (reachable?.Contains(service) == false || !mesh.Services.ContainsKey(service))
                {
                    continue;
                }
                var listener = OutboundListener(mesh, vip, VipPort, service);
                listener.BindToPort = false;
                into[XdsTypes.Listener][listener.Name] = XdsBuild.Resource(listener.Name, listener);
            }
        }
        if (tp.RedirectPortInbound is { } inboundPort)
        {
            AddPassthrough(XdsNames.InboundPassthrough, inboundPort, TrafficDirection.Inbound, into);
        }
    }

    /// <summary>A redirect listener on every address and its original-destination cluster, both named <paramref name="name"/>.</summary>
    private static void AddPassthrough(string name, int port, TrafficDirection direction, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        var listener = new Listener
        {
            Name = name,
            Address = XdsBuild.SocketAddress("0.0.0.0", port),
            TrafficDirection = direction,
            UseOriginalDst = true,
            FilterChains =
            {
                new FilterChain
                {
                    Name = name,
                    Filters = { new Filter { Name = XdsBuild.TcpProxyFilterName, TypedConfig = XdsBuild.Pack(new TcpProxy { StatPrefix = name, Cluster = name }) } },
                },
            },
        };
        into[XdsTypes.Listener][name] = XdsBuild.Resource(name, listener);
        var cluster = new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.OriginalDst,
            LbPolicy = Cluster.Types.LbPolicy.ClusterProvided,
            ConnectTimeout = ConnectTimeout,
        };
        into[XdsTypes.Cluster][name] = XdsBuild.Resource(name, cluster);
    }

    // The Secret resources of a certificate are built once and reused until the certificate is replaced.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<WorkloadCertificate, XdsResource[]> SecretsByCertificate = [];

    private static void AddSecrets(MeshView mesh, ProxyContext proxy, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        if (!mesh.MtlsEnabled || proxy.Certificate is not { } cert)
        {
            return;
        }
        var secrets = SecretsByCertificate.GetValue(cert, c =>
        {
            var identity = XdsNames.IdentitySecret(mesh.Name);
            var ca = XdsNames.CaSecret(mesh.Name);
            return
            [
                XdsBuild.Resource(identity, new Secret
                {
                    Name = identity,
                    TlsCertificate = new TlsCertificate
                    {
                        CertificateChain = new DataSource { InlineBytes = Google.Protobuf.ByteString.CopyFromUtf8(c.CertificatePem) },
                        PrivateKey = new DataSource { InlineBytes = Google.Protobuf.ByteString.CopyFromUtf8(c.KeyPem) },
                    },
                }),
                CaSecret(ca, c.CaPem),
            ];
        });
        foreach (var secret in secrets)
        {
            into[XdsTypes.Secret][secret.Name] = secret;
        }
    }

    // Every certificate of a mesh carries the same CA: its Secret resource is built once per CA (certificates issued
    // from one CA share its PEM string) instead of once per proxy.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<string, XdsResource> CaSecretByPem = [];

    private static XdsResource CaSecret(string name, string caPem)
    {
        if (CaSecretByPem.TryGetValue(caPem, out var cached) && cached.Name == name)
        {
            return cached;
        }
        var secret = XdsBuild.Resource(name, new Secret
        {
            Name = name,
            ValidationContext = new CertificateValidationContext { TrustedCa = new DataSource { InlineBytes = Google.Protobuf.ByteString.CopyFromUtf8(caPem) } },
        });
        CaSecretByPem.AddOrUpdate(caPem, secret);
        return secret;
    }

}
