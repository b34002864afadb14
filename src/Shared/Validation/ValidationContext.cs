namespace Federation.Validation;

/// <summary>One problem with an input, at a field path such as <c>spec.from[0].default.action</c>.</summary>
public sealed record ValidationError(string Field, string Message)
{
    public override string ToString() => Field.Length == 0 ? Message : $"{Field}: {Message}";
}

/// <summary>
/// Collects every validation error of one input, each at its field path. Children share the error list:
/// <c>ctx.At("mtls").At("backends", 0).Error("...")</c> reports at <c>mtls.backends[0]</c>.
/// </summary>
public sealed class ValidationContext
{
    private readonly List<ValidationError> _errors;

    public ValidationContext(string path = "")
        : this(path, [])
    {
    }

    private ValidationContext(string path, List<ValidationError> errors)
    {
        Path = path;
        _errors = errors;
    }

    public string Path { get; }

    public IReadOnlyList<ValidationError> Errors => _errors;

    public bool IsValid => _errors.Count == 0;

    public ValidationContext At(string field) => new(Join(Path, field), _errors);

    public ValidationContext At(string field, int index) => new($"{Join(Path, field)}[{index}]", _errors);

    /// <summary>An element of the list at this path.</summary>
    public ValidationContext AtIndex(int index) => new($"{Path}[{index}]", _errors);

    /// <summary>A map entry at this path; keys that are not plain identifiers (tags like kuma.io/service) are quoted.</summary>
    public ValidationContext AtMapKey(string key) =>
        new(key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && key.Length > 0 ? Join(Path, key) : $"{Path}[\"{key}\"]", _errors);

    public void Error(string message) => _errors.Add(new ValidationError(Path, message));

    public void Error(string field, string message) => _errors.Add(new ValidationError(Join(Path, field), message));

    public void Require(bool condition, string message)
    {
        if (!condition)
        {
            Error(message);
        }
    }

    public static string Join(string path, string field) =>
        path.Length == 0 ? field : field.Length == 0 ? path : $"{path}.{field}";
}

/// <summary>Thrown when an input fails validation; carries every error.</summary>
public sealed class ValidationException(IReadOnlyList<ValidationError> errors, string? title = null)
    : Exception(title ?? Describe(errors))
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;

    public ValidationException(string field, string message)
        : this([new ValidationError(field, message)])
    {
    }

    private static string Describe(IReadOnlyList<ValidationError> errors) =>
        errors.Count == 0 ? "invalid input" : string.Join("; ", errors.Select(e => e.ToString()));
}
