using Federation.Validation;

namespace Federation.Api;

/// <summary>An API refusal with its HTTP status and a reason a user can act on.</summary>
public sealed class ApiException(int status, string title, string detail, IReadOnlyList<ValidationError>? errors = null)
    : Exception(detail)
{
    public int Status { get; } = status;

    public string Title { get; } = title;

    public IReadOnlyList<ValidationError> Errors { get; } = errors ?? [];

    public static ApiException BadRequest(string detail, IReadOnlyList<ValidationError>? errors = null) =>
        new(400, "Bad Request", detail, errors);

    public static ApiException MethodNotAllowed(string detail) => new(405, "Method Not Allowed", detail);

    public static ApiException Forbidden(string detail) => new(403, "Forbidden", detail);

    public static ApiException NotFound(string detail) => new(404, "Not Found", detail);

    public static ApiException TooLarge(string detail) => new(413, "Payload Too Large", detail);
}
