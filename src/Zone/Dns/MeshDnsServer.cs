using System.Net;
using ARSoft.Tools.Net.Dns;

namespace Federation.Zone.Dns;

/// <summary>
/// The zone's DNS server (UDP, <c>--dns-port</c>): answers <c>&lt;service&gt;.&lt;mesh&gt;.mesh</c> (and
/// <c>&lt;service&gt;.mesh</c> for mesh <c>default</c>) with the service's VIP, including services reachable only in
/// other zones; NXDOMAIN for other names under <c>.mesh</c>; REFUSED for everything else (it is not a resolver).
/// </summary>
public sealed partial class MeshDnsServer(VipAllocator vips, ZoneOptions options, ILogger<MeshDnsServer> logger) : IHostedService, IDisposable
{
    private const int Ttl = 30;
    private DnsServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(options.BindAddress), options.DnsPort);
        _server = new DnsServer([new UdpServerTransport(endpoint, 1000)]);
        _server.QueryReceived += OnQueryAsync;
        _server.Start();
        LogStarted(logger, endpoint);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _server?.Stop();
        return Task.CompletedTask;
    }

    private Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is DnsMessage query)
        {
            e.Response = Answer(query, vips.Current);
        }
        return Task.CompletedTask;
    }

    /// <summary>The answer to one query, from a VIP table (<c>&lt;service&gt;.&lt;mesh&gt;</c> → address).</summary>
    public static DnsMessage Answer(DnsMessage query, IReadOnlyDictionary<string, IPAddress> table)
    {
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = false;
        if (query.Questions.Count != 1)
        {
            response.ReturnCode = ReturnCode.FormatError;
            return response;
        }
        var question = query.Questions[0];
        var name = question.Name.ToString().TrimEnd('.').ToLowerInvariant();
        if (!name.EndsWith(".mesh", StringComparison.Ordinal))
        {
            response.ReturnCode = ReturnCode.Refused;
            return response;
        }
        var labels = name[..^".mesh".Length].Split('.');
        var key = labels.Length switch
        {
            1 => VipAllocator.Key(labels[0], "default"),
            2 => VipAllocator.Key(labels[0], labels[1]),
            _ => null,
        };
        response.IsAuthoritiveAnswer = true;
        if (key is null || !table.TryGetValue(key, out var address))
        {
            response.ReturnCode = ReturnCode.NxDomain;
            return response;
        }
        if (question.RecordType is RecordType.A or RecordType.Any)
        {
            response.AnswerRecords.Add(new ARecord(question.Name, Ttl, address));
        }
        return response;
    }

    public void Dispose() => (_server as IDisposable)?.Dispose();

    [LoggerMessage(EventId = 91, EventName = "DnsStarted", Level = LogLevel.Information, Message = "DNS for .mesh names on {Endpoint}/udp")]
    private static partial void LogStarted(ILogger logger, IPEndPoint endpoint);
}
