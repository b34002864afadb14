using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Federation.Dataplane.ZoneProxy.Tls;

/// <summary>What the bytes read so far from a new connection are.</summary>
internal enum ClientHelloStatus
{
    /// <summary>A TLS ClientHello so far, not complete yet: read more.</summary>
    Incomplete,

    /// <summary>A whole ClientHello; <see cref="ClientHelloResult.ServerName"/> is its SNI, or null when it has none.</summary>
    Complete,

    /// <summary>The first byte is not a TLS handshake record: not TLS (plaintext, HTTP, SSLv2...).</summary>
    NotTls,

    /// <summary>TLS records, but not a well-formed ClientHello.</summary>
    Invalid,

    /// <summary>The ClientHello is larger than the limit.</summary>
    TooLarge,
}

/// <summary>The outcome of <see cref="ClientHelloParser.Parse"/>; <see cref="Reason"/> says what was wrong, for logs.</summary>
internal readonly record struct ClientHelloResult(ClientHelloStatus Status, string? ServerName = null, string? Reason = null)
{
    public static readonly ClientHelloResult Incomplete = new(ClientHelloStatus.Incomplete);
}

/// <summary>
/// Reads the SNI (<c>server_name</c> extension, RFC 6066) out of a TLS ClientHello without terminating TLS, the way
/// Envoy's <c>tls_inspector</c> does: the record layer (RFC 8446 §5.1: the ClientHello may span several
/// handshake records) and the handshake message (RFC 8446 §4.1.2, the same layout for TLS 1.0 to 1.3). It is
/// called again with everything read so far each time more arrives, so a ClientHello split across TCP reads or TLS
/// records in any way parses the same.
/// </summary>
internal static class ClientHelloParser
{
    /// <summary>Envoy's <c>tls_inspector</c> gives up at 64 KiB too; real ClientHellos are well under 2 KiB.</summary>
    public const int DefaultMaxHandshakeBytes = 64 * 1024;

    private const byte HandshakeRecord = 22;
    private const byte ClientHelloType = 1;
    private const int RecordHeader = 5;
    private const int MaxRecordPayload = 1 << 14;
    private const ushort ServerNameExtension = 0;
    private const byte HostNameType = 0;

    /// <summary>The most bytes a client may send before its ClientHello is complete (headers of tiny records included).</summary>
    public static int MaxBytesToRead(int maxHandshakeBytes) => maxHandshakeBytes + (4 * RecordHeader) + 1024;

    /// <summary>Parses what was read so far (from the connection's first byte).</summary>
    public static ClientHelloResult Parse(ReadOnlySpan<byte> data, int maxHandshakeBytes = DefaultMaxHandshakeBytes)
    {
        if (data.IsEmpty)
        {
            return ClientHelloResult.Incomplete;
        }
        if (data[0] != HandshakeRecord)
        {
            return new(ClientHelloStatus.NotTls, Reason: $"the first byte is 0x{data[0]:x2}, not a TLS handshake record (0x16)");
        }

        // The handshake message may be fragmented over several records: gather the payloads read so far.
        var gathered = ArrayPool<byte>.Shared.Rent(Math.Min(data.Length, maxHandshakeBytes + 4));
        try
        {
            var length = 0;
            var pos = 0;
            int? messageLength = null;
            while (pos < data.Length)
            {
                if (data.Length - pos < RecordHeader)
                {
                    if (data[pos] != HandshakeRecord)
                    {
                        return Invalid($"a record of type {data[pos]} arrived before the ClientHello was complete");
                    }
                    break;
                }
                var header = data.Slice(pos, RecordHeader);
                if (header[0] != HandshakeRecord)
                {
                    return Invalid($"a record of type {header[0]} arrived before the ClientHello was complete");
                }
                if (header[1] != 3)
                {
                    return Invalid($"record version {header[1]}.{header[2]} is not TLS (3.x)");
                }
                var recordLength = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
                if (recordLength is 0 or > MaxRecordPayload)
                {
                    return Invalid($"a handshake record of {recordLength} bytes (allowed: 1 to {MaxRecordPayload})");
                }
                pos += RecordHeader;
                var available = Math.Min(recordLength, data.Length - pos);
                var room = gathered.Length - length;
                if (available > room)
                {
                    // More handshake bytes than a ClientHello under the limit can have.
                    return TooLarge(maxHandshakeBytes);
                }
                data.Slice(pos, available).CopyTo(gathered.AsSpan(length));
                length += available;
                pos += available;

                if (messageLength is null && length >= 4)
                {
                    if (gathered[0] != ClientHelloType)
                    {
                        return Invalid($"the first handshake message is of type {gathered[0]}, not a ClientHello (1)");
                    }
                    messageLength = (gathered[1] << 16) | (gathered[2] << 8) | gathered[3];
                    if (messageLength > maxHandshakeBytes)
                    {
                        return TooLarge(maxHandshakeBytes);
                    }
                }
                if (messageLength is { } m && length >= 4 + m)
                {
                    return ParseBody(gathered.AsSpan(4, m));
                }
                if (available < recordLength)
                {
                    break; // this record is still arriving
                }
            }
            return ClientHelloResult.Incomplete;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(gathered);
        }
    }

    private static ClientHelloResult ParseBody(ReadOnlySpan<byte> body)
    {
        var reader = new SpanReader(body);
        if (!reader.Skip(2) || !reader.Skip(32))
        {
            return Invalid("the ClientHello is too short for its version and random");
        }
        if (!reader.TryReadVector8(out var sessionId) || sessionId.Length > 32)
        {
            return Invalid("malformed legacy_session_id");
        }
        if (!reader.TryReadVector16(out var suites) || suites.Length < 2 || suites.Length % 2 != 0)
        {
            return Invalid("malformed cipher_suites");
        }
        if (!reader.TryReadVector8(out var compression) || compression.Length < 1)
        {
            return Invalid("malformed legacy_compression_methods");
        }
        if (reader.Remaining == 0)
        {
            return new(ClientHelloStatus.Complete); // no extensions at all (SSL 3.0 style): no SNI
        }
        if (!reader.TryReadVector16(out var extensions) || reader.Remaining != 0)
        {
            return Invalid("malformed extensions");
        }
        var ext = new SpanReader(extensions);
        string? serverName = null;
        var seen = false;
        while (ext.Remaining > 0)
        {
            if (!ext.TryReadUInt16(out var type) || !ext.TryReadVector16(out var extension))
            {
                return Invalid("malformed extension");
            }
            if (type != ServerNameExtension)
            {
                continue;
            }
            if (seen)
            {
                return Invalid("two server_name extensions");
            }
            seen = true;
            var problem = ReadServerName(extension, out serverName);
            if (problem is not null)
            {
                return Invalid(problem);
            }
        }
        return new(ClientHelloStatus.Complete, serverName);
    }

    /// <summary>The first host_name of a server_name extension (RFC 6066 §3), lower-cased; null when it lists none.</summary>
    private static string? ReadServerName(ReadOnlySpan<byte> extension, out string? serverName)
    {
        serverName = null;
        var reader = new SpanReader(extension);
        if (!reader.TryReadVector16(out var list) || reader.Remaining != 0)
        {
            return "malformed server_name extension";
        }
        var names = new SpanReader(list);
        while (names.Remaining > 0)
        {
            if (!names.TryReadByte(out var nameType) || !names.TryReadVector16(out var name))
            {
                return "malformed server_name list";
            }
            if (nameType != HostNameType || serverName is not null)
            {
                continue;
            }
            if (name.IsEmpty || name.Length > 255)
            {
                return $"a host_name of {name.Length} bytes";
            }
            foreach (var b in name)
            {
                if (b is <= 0x20 or >= 0x7f)
                {
                    return "a host_name with a byte that is not printable ASCII";
                }
            }
            serverName = Encoding.ASCII.GetString(name).ToLowerInvariant().TrimEnd('.');
        }
        return null;
    }

    private static ClientHelloResult Invalid(string reason) => new(ClientHelloStatus.Invalid, Reason: reason);

    private static ClientHelloResult TooLarge(int max) =>
        new(ClientHelloStatus.TooLarge, Reason: $"the ClientHello is larger than {max} bytes");

    /// <summary>Big-endian reads with bounds checks, as TLS vectors are laid out.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public readonly int Remaining => _data.Length;

        public bool Skip(int count)
        {
            if (_data.Length < count)
            {
                return false;
            }
            _data = _data[count..];
            return true;
        }

        public bool TryReadByte(out byte value)
        {
            value = 0;
            if (_data.IsEmpty)
            {
                return false;
            }
            value = _data[0];
            _data = _data[1..];
            return true;
        }

        public bool TryReadUInt16(out ushort value)
        {
            value = 0;
            if (_data.Length < 2)
            {
                return false;
            }
            value = BinaryPrimitives.ReadUInt16BigEndian(_data);
            _data = _data[2..];
            return true;
        }

        public bool TryReadVector8(out ReadOnlySpan<byte> vector)
        {
            vector = default;
            return TryReadByte(out var length) && TryTake(length, out vector);
        }

        public bool TryReadVector16(out ReadOnlySpan<byte> vector)
        {
            vector = default;
            return TryReadUInt16(out var length) && TryTake(length, out vector);
        }

        private bool TryTake(int length, out ReadOnlySpan<byte> vector)
        {
            vector = default;
            if (_data.Length < length)
            {
                return false;
            }
            vector = _data[..length];
            _data = _data[length..];
            return true;
        }
    }
}
