using System.Buffers;

namespace Federation.Validation;

/// <summary>Name and label rules (RFC 1123, as Kubernetes and Kuma apply them).</summary>
public static class Names
{
    public const int MaxNameLength = 253;
    public const int MaxLabelLength = 63;

    private static readonly SearchValues<char> LabelChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");
    private static readonly SearchValues<char> LabelKeyNameChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    /// <summary>An RFC 1123 subdomain: lower-case DNS labels joined by dots, at most 253 characters.</summary>
    public static string? CheckResourceName(string name)
    {
        if (name.Length == 0)
        {
            return "must not be empty";
        }
        if (name.Length > MaxNameLength)
        {
            return $"must be at most {MaxNameLength} characters (got {name.Length})";
        }
        foreach (var part in name.Split('.'))
        {
            var problem = CheckDnsLabel(part);
            if (problem is not null)
            {
                return $"'{Truncate(name)}' is not a valid name: {problem} (use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)";
            }
        }
        return null;
    }

    /// <summary>An RFC 1123 label (no dots): mesh and zone names.</summary>
    public static string? CheckDnsLabelName(string name)
    {
        var problem = CheckDnsLabel(name);
        return problem is null
            ? null
            : $"'{Truncate(name)}' is not a valid name: {problem} (use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit; no dots)";
    }

    private static string? CheckDnsLabel(string label)
    {
        if (label.Length == 0)
        {
            return "empty segment";
        }
        if (label.Length > MaxLabelLength)
        {
            return $"a segment is longer than {MaxLabelLength} characters";
        }
        var bad = label.AsSpan().IndexOfAnyExcept(LabelChars);
        if (bad >= 0)
        {
            return $"character '{label[bad]}' is not allowed";
        }
        if (label[0] == '-' || label[^1] == '-')
        {
            return "must start and end with a letter or digit";
        }
        return null;
    }

    /// <summary>A label or tag key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.</summary>
    public static string? CheckLabelKey(string key)
    {
        var slash = key.LastIndexOf('/');
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (CheckResourceName(prefix) is not null)
            {
                return $"key '{Truncate(key)}' has an invalid prefix '{Truncate(prefix)}'";
            }
        }
        if (name.Length == 0 || name.Length > MaxLabelLength)
        {
            return $"key '{Truncate(key)}' must have a name of 1 to {MaxLabelLength} characters";
        }
        if (name.AsSpan().IndexOfAnyExcept(LabelKeyNameChars) >= 0 || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return $"key '{Truncate(key)}' must consist of letters, digits, '-', '_' and '.', starting and ending with a letter or digit";
        }
        return null;
    }

    /// <summary>A label or tag value: printable, no control characters, at most 253 characters.</summary>
    public static string? CheckLabelValue(string value)
    {
        if (value.Length > MaxNameLength)
        {
            return $"value must be at most {MaxNameLength} characters";
        }
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return "value must not contain control characters";
            }
        }
        return null;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..61] + "...";
}
