using System.Text;
using Google.Protobuf.WellKnownTypes;

namespace Federation.Kds.Xds;

/// <summary>
/// The name of a packed xDS resource without decoding the message: Listener.name, RouteConfiguration.name,
/// Cluster.name, ClusterLoadAssignment.cluster_name and Secret.name are all field 1, a string. A client simulating
/// many proxies should not parse every Listener just to learn what it is called.
/// </summary>
internal static class ResourceNames
{
    /// <summary>The field-1 string of <paramref name="resource"/> ("" when absent), or null if the bytes are malformed.</summary>
    public static string? NameOf(Any resource)
    {
        var bytes = resource.Value.Span;
        var pos = 0;
        while (pos < bytes.Length)
        {
            if (!TryReadVarint(bytes, ref pos, out var tag))
            {
                return null;
            }
            var field = tag >> 3;
            switch (tag & 7)
            {
                case 0:
                    if (!TryReadVarint(bytes, ref pos, out _))
                    {
                        return null;
                    }
                    break;
                case 1:
                    pos += 8;
                    break;
                case 2:
                    if (!TryReadVarint(bytes, ref pos, out var length) || length > (ulong)(bytes.Length - pos))
                    {
                        return null;
                    }
                    if (field == 1)
                    {
                        return Encoding.UTF8.GetString(bytes.Slice(pos, (int)length));
                    }
                    pos += (int)length;
                    break;
                case 5:
                    pos += 4;
                    break;
                default:
                    return null;
            }
        }
        return pos == bytes.Length ? "" : null;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> bytes, ref int pos, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && pos < bytes.Length; shift += 7)
        {
            var b = bytes[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }
        return false;
    }
}
