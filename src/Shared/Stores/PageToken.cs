using System.Buffers.Text;
using System.Text;

namespace Federation.Stores;

/// <summary>The opaque continuation token of a list page: the (mesh, name) of the last item returned.</summary>
public static class PageToken
{
    public static string Encode(string mesh, string name) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{mesh}\n{name}"));

    public static bool TryDecode(string? token, out string mesh, out string name)
    {
        mesh = name = "";
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
            var nl = text.IndexOf('\n', StringComparison.Ordinal);
            if (nl < 0)
            {
                return false;
            }
            mesh = text[..nl];
            name = text[(nl + 1)..];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the parameter when a token is not one we issued.</summary>
    public static (string Mesh, string Name)? Parse(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        return TryDecode(token, out var mesh, out var name)
            ? (mesh, name)
            : throw new ArgumentException($"invalid page token '{token}'", nameof(token));
    }

    /// <summary>Pages an ordered sequence in memory (memory store, label-filtered lists).</summary>
    public static ResourcePage Page(IEnumerable<Resources.Resource> ordered, ResourceQuery query)
    {
        var after = Parse(query.After);
        var all = ordered.Where(query.Matches).ToList();
        var start = 0;
        if (after is { } a)
        {
            start = all.FindIndex(r => Compare(r.Mesh, r.Name, a.Mesh, a.Name) > 0);
            if (start < 0)
            {
                start = all.Count;
            }
        }
        var count = query.Limit > 0 ? Math.Min(query.Limit, all.Count - start) : all.Count - start;
        var items = all.GetRange(start, count);
        var next = query.Limit > 0 && start + count < all.Count ? Encode(items[^1].Mesh, items[^1].Name) : null;
        return new ResourcePage(items, all.Count, next);
    }

    public static int Compare(string meshA, string nameA, string meshB, string nameB)
    {
        var c = string.CompareOrdinal(meshA, meshB);
        return c != 0 ? c : string.CompareOrdinal(nameA, nameB);
    }
}
