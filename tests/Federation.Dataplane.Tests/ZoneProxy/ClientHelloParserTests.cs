using System.Security.Authentication;
using System.Text;
using Federation.Dataplane.ZoneProxy.Tls;

namespace Federation.Dataplane.Tests.ZoneProxy;

public sealed class ClientHelloParserTests
{
    private const string Sni = "backend.default.mesh";

    private static ClientHelloResult Parse(byte[] bytes, int max = ClientHelloParser.DefaultMaxHandshakeBytes) => ClientHelloParser.Parse(bytes, max);

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Parse_RealClientHello_ReturnsItsSni(SslProtocols protocol)
    {
        var hello = await ClientHellos.CaptureAsync(Sni, protocol);

        var result = Parse(hello);

        Assert.Equal(new ClientHelloResult(ClientHelloStatus.Complete, Sni), result);
    }

    [Fact]
    public async Task Parse_RealTls13ClientHello_IsATls13Hello()
    {
        // The capture must really be TLS 1.3 (supported_versions lists 0x0304), or the test above proves less than it says.
        var hello = await ClientHellos.CaptureAsync(Sni, SslProtocols.Tls13);

        var extensions = ClientHellos.Extensions(hello);

        Assert.True(extensions.TryGetValue(43, out var versions), "no supported_versions extension");
        Assert.True(versions.Skip(1).Chunk(2).Any(v => v[0] == 3 && v[1] == 4), "supported_versions does not list TLS 1.3");
        Assert.True(extensions.ContainsKey(51), "no key_share extension");
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task Parse_EveryPrefixOfARealClientHello_IsIncompleteUntilTheLastByte(SslProtocols protocol)
    {
        // A ClientHello arriving one byte per TCP read.
        var hello = await ClientHellos.CaptureAsync(Sni, protocol);

        for (var length = 0; length < hello.Length; length++)
        {
            Assert.Equal(ClientHelloStatus.Incomplete, ClientHelloParser.Parse(hello.AsSpan(0, length)).Status);
        }
        Assert.Equal(Sni, Parse(hello).ServerName);
    }

    [Theory]
    [InlineData(new[] { 1 })]
    [InlineData(new[] { 2, 2 })]
    [InlineData(new[] { 3, 40, 1 })]
    [InlineData(new[] { 100, 100 })]
    [InlineData(new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 })]
    public async Task Parse_ClientHelloFragmentedOverRecords_ReturnsItsSni(int[] recordSizes)
    {
        var hello = ClientHellos.Refragment(await ClientHellos.CaptureAsync(Sni, SslProtocols.Tls13), recordSizes);

        Assert.True(hello.Count(b => b == 22) > recordSizes.Length, "the re-cut ClientHello has several records");
        Assert.Equal(new ClientHelloResult(ClientHelloStatus.Complete, Sni), Parse(hello));
    }

    [Fact]
    public async Task Parse_FragmentedRecordsArrivingInOddReads_IsIncompleteUntilTheLastByte()
    {
        // Records of 7 bytes, read 3 bytes at a time: record headers and the handshake header split across reads.
        var hello = ClientHellos.Refragment(await ClientHellos.CaptureAsync(Sni, SslProtocols.Tls12), [.. Enumerable.Repeat(7, 30)]);

        for (var length = 0; length < hello.Length; length += 3)
        {
            Assert.Equal(ClientHelloStatus.Incomplete, ClientHelloParser.Parse(hello.AsSpan(0, length)).Status);
        }
        Assert.Equal(Sni, Parse(hello).ServerName);
    }

    [Fact]
    public async Task Parse_BytesAfterTheClientHello_AreIgnored()
    {
        // E.g. TLS 1.3 early data right behind the ClientHello: it is forwarded, not parsed.
        var hello = await ClientHellos.CaptureAsync(Sni, SslProtocols.Tls13);

        var result = Parse([.. hello, .. ClientHellos.Record(23, new byte[300])]);

        Assert.Equal(Sni, result.ServerName);
    }

    [Fact]
    public async Task Parse_RealClientHelloToAnIpAddress_HasNoSni()
    {
        // RFC 6066: no server_name for a literal IP address.
        var hello = await ClientHellos.CaptureAsync("127.0.0.1", SslProtocols.Tls13);

        Assert.Equal(new ClientHelloResult(ClientHelloStatus.Complete), Parse(hello));
    }

    [Fact]
    public void Parse_ClientHelloWithoutExtensions_HasNoSni() =>
        Assert.Equal(new ClientHelloResult(ClientHelloStatus.Complete), Parse(ClientHellos.Build(null)));

    [Fact]
    public void Parse_ServerNameAmongOtherExtensions_IsFound()
    {
        var hello = ClientHellos.Build([(10, [0, 2, 0, 29]), ClientHellos.ServerName("web.default.mesh"), (16, [0, 3, 2, (byte)'h', (byte)'2'])]);

        Assert.Equal("web.default.mesh", Parse(hello).ServerName);
    }

    [Fact]
    public void Parse_ServerNameInCapitalsWithATrailingDot_IsLowerCasedWithoutTheDot() =>
        Assert.Equal(Sni, Parse(ClientHellos.Build([ClientHellos.ServerName("Backend.Default.MESH.")])).ServerName);

    [Fact]
    public void Parse_ServerNameListWithAnUnknownNameTypeFirst_TakesTheHostName() =>
        Assert.Equal(Sni, Parse(ClientHellos.Build([ClientHellos.ServerName((7, "other"), (0, Sni))])).ServerName);

    [Fact]
    public void Parse_EmptyServerNameList_HasNoSni() =>
        Assert.Equal(new ClientHelloResult(ClientHelloStatus.Complete), Parse(ClientHellos.Build([(0, [0, 0])])));

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: backend\r\n\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n")]
    public void Parse_PlaintextProtocols_AreNotTls(string text)
    {
        var result = Parse(Encoding.ASCII.GetBytes(text));

        Assert.Equal(ClientHelloStatus.NotTls, result.Status);
        Assert.Contains("not a TLS handshake record", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Sslv2CompatibleHello_IsNotTls() =>
        Assert.Equal(ClientHelloStatus.NotTls, Parse([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15]).Status);

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "record version 7.1", ClientHellos.Record(22, new byte[10], major: 7), "record version 7.1 is not TLS" },
        { "empty record", ClientHellos.Record(22, []), "a handshake record of 0 bytes" },
        { "oversized record", [22, 3, 1, 0x48, 0x01], "a handshake record of 18433 bytes" },
        { "ServerHello", ClientHellos.Record(22, [2, 0, 0, 4, 3, 3, 0, 0]), "not a ClientHello" },
        { "alert before the hello is complete", [.. ClientHellos.Record(22, [1, 0, 1, 0]), .. ClientHellos.Record(21, [2, 40])], "a record of type 21 arrived" },
        { "truncated cipher suites", ClientHellos.Record(22, [1, 0, 0, 37, 3, 3, .. new byte[32], 0, 0, 9]), "malformed cipher_suites" },
        { "odd cipher suites", ClientHellos.Record(22, [1, 0, 0, 41, 3, 3, .. new byte[32], 0, 0, 3, 1, 2, 3, 1, 0]), "malformed cipher_suites" },
        { "long session id", ClientHellos.Record(22, [1, 0, 0, 35, 3, 3, .. new byte[32], 33]), "malformed legacy_session_id" },
        { "extension overruns", ClientHellos.Build([(0, [0, 9, 0, 0, 5, (byte)'a'])]), "malformed server_name" },
        { "two server_name extensions", ClientHellos.Build([ClientHellos.ServerName("a.mesh"), ClientHellos.ServerName("b.mesh")]), "two server_name extensions" },
        { "control byte in host_name", ClientHellos.Build([ClientHellos.ServerName("a\nb.mesh")]), "not printable ASCII" },
        { "empty host_name", ClientHellos.Build([ClientHellos.ServerName("")]), "a host_name of 0 bytes" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Parse_MalformedClientHello_IsInvalidWithAReason(string what, byte[] bytes, string reason)
    {
        var result = Parse(bytes);

        Assert.True(result.Status == ClientHelloStatus.Invalid, $"{what}: {result}");
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_HandshakeLongerThanTheLimit_IsTooLargeFromItsHeader()
    {
        // The 4-byte handshake header announces 1 MiB: no need to wait for it.
        var result = Parse(ClientHellos.Record(22, [1, 0x10, 0, 0]));

        Assert.Equal(ClientHelloStatus.TooLarge, result.Status);
        Assert.Equal($"the ClientHello is larger than {ClientHelloParser.DefaultMaxHandshakeBytes} bytes", result.Reason);
    }

    [Fact]
    public async Task Parse_RealClientHelloOverASmallLimit_IsTooLarge()
    {
        var hello = await ClientHellos.CaptureAsync(Sni, SslProtocols.Tls13);

        Assert.Equal(ClientHelloStatus.TooLarge, Parse(hello, max: 100).Status);
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrows()
    {
        var random = new Random(5);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(1, 600)];
            random.NextBytes(bytes);
            if (i % 2 == 0)
            {
                bytes[0] = 22;
                bytes[1] = 3;
            }
            _ = ClientHelloParser.Parse(bytes);
        }
    }
}
