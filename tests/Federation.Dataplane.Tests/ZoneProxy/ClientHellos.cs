using System.Buffers.Binary;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;

namespace Federation.Dataplane.Tests.ZoneProxy;

/// <summary>
/// ClientHellos for the parser tests: real ones captured from <see cref="SslStream"/> in-process (whatever the
/// platform's TLS library sends), re-cut into records of chosen sizes, and hand-built ones for edge cases.
/// </summary>
internal static class ClientHellos
{
    /// <summary>The bytes <see cref="SslStream"/> writes first as a client: its ClientHello, in one or more records.</summary>
    public static async Task<byte[]> CaptureAsync(string targetHost, SslProtocols protocols)
    {
        await using var capture = new CaptureStream();
        await using var ssl = new SslStream(capture, leaveInnerStreamOpen: true);
        var handshake = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = protocols,
        }, TestContext.Current.CancellationToken);
        var hello = await capture.FirstWrite.Within10s($"SslStream to write its ClientHello for '{targetHost}'");
        capture.End();
        await Assert.ThrowsAnyAsync<Exception>(() => handshake).Within10s("the abandoned handshake to fail");
        return hello;
    }

    /// <summary>The handshake message (type, length, body) carried by the records of <paramref name="records"/>.</summary>
    public static byte[] HandshakeMessage(byte[] records)
    {
        var message = new List<byte>();
        for (var pos = 0; pos < records.Length;)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(records.AsSpan(pos + 3));
            message.AddRange(records.AsSpan(pos + 5, length));
            pos += 5 + length;
        }
        return [.. message];
    }

    /// <summary>The same handshake message re-cut into handshake records of the given payload sizes (the last takes the rest).</summary>
    public static byte[] Refragment(byte[] records, params int[] sizes)
    {
        var message = HandshakeMessage(records);
        var output = new List<byte>();
        var pos = 0;
        foreach (var size in sizes.Append(int.MaxValue))
        {
            var take = Math.Min(size, message.Length - pos);
            if (take <= 0)
            {
                break;
            }
            output.AddRange(Record(22, message.AsSpan(pos, take)));
            pos += take;
        }
        return [.. output];
    }

    /// <summary>One TLS record.</summary>
    public static byte[] Record(byte type, ReadOnlySpan<byte> payload, byte major = 3, byte minor = 1)
    {
        var record = new byte[5 + payload.Length];
        record[0] = type;
        record[1] = major;
        record[2] = minor;
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(3), (ushort)payload.Length);
        payload.CopyTo(record.AsSpan(5));
        return record;
    }

    /// <summary>A minimal ClientHello in one record, with the given extensions (or none at all when null).</summary>
    public static byte[] Build(IEnumerable<(ushort Type, byte[] Data)>? extensions)
    {
        var body = new List<byte> { 3, 3 };
        body.AddRange(new byte[32]);
        body.Add(0); // session id
        body.AddRange([0, 2, 0x13, 0x01]); // one cipher suite
        body.AddRange([1, 0]); // null compression
        if (extensions is not null)
        {
            var ext = new List<byte>();
            foreach (var (type, data) in extensions)
            {
                ext.AddRange(U16(type));
                ext.AddRange(U16(data.Length));
                ext.AddRange(data);
            }
            body.AddRange(U16(ext.Count));
            body.AddRange(ext);
        }
        var message = new List<byte> { 1, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count };
        message.AddRange(body);
        return Record(22, [.. message]);
    }

    /// <summary>A server_name extension listing <paramref name="names"/> as (name type, name).</summary>
    public static (ushort, byte[]) ServerName(params (byte Type, string Name)[] names)
    {
        var list = new List<byte>();
        foreach (var (type, name) in names)
        {
            list.Add(type);
            list.AddRange(U16(name.Length));
            list.AddRange(Encoding.ASCII.GetBytes(name));
        }
        return (0, [.. U16(list.Count), .. list]);
    }

    public static (ushort, byte[]) ServerName(string name) => ServerName((0, name));

    /// <summary>The extension types of a one-record ClientHello, in order (to check what kind of hello a capture is).</summary>
    public static Dictionary<ushort, byte[]> Extensions(byte[] records)
    {
        var body = HandshakeMessage(records).AsSpan(4);
        var pos = 2 + 32;
        pos += 1 + body[pos];
        pos += 2 + BinaryPrimitives.ReadUInt16BigEndian(body[pos..]);
        pos += 1 + body[pos];
        var end = pos + 2 + BinaryPrimitives.ReadUInt16BigEndian(body[pos..]);
        pos += 2;
        var result = new Dictionary<ushort, byte[]>();
        while (pos < end)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(body[pos..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(body[(pos + 2)..]);
            result[type] = body.Slice(pos + 4, length).ToArray();
            pos += 4 + length;
        }
        return result;
    }

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    /// <summary>A stream that keeps what is written to it and answers reads only when ended (with end of stream).</summary>
    private sealed class CaptureStream : Stream
    {
        private readonly TaskCompletionSource<byte[]> _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<byte[]> FirstWrite => _firstWrite.Task;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void End() => _ended.TrySetResult();

        public override void Write(byte[] buffer, int offset, int count) => _firstWrite.TrySetResult(buffer.AsSpan(offset, count).ToArray());

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _firstWrite.TrySetResult(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _ended.Task.WaitAsync(cancellationToken);
            return 0;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            End();
            base.Dispose(disposing);
        }
    }
}
