using System.Net;
using Federation.Cli.Client;

namespace Federation.Cli.Tests.Client;

public sealed class ProblemsTests
{
    [Fact]
    public void Describe_ProblemWithParameters_JoinsDetailAndFields()
    {
        const string body = """
            {"type":"https://federation.dev/problems/validation","title":"Bad Request","status":400,
             "detail":"Mesh \"m\" is invalid.",
             "invalid_parameters":[{"field":"mtls.enabledBackend","reason":"names backend 'x'"},{"field":"","reason":"something\nmultiline"}]}
            """;

        var message = Problems.Describe(HttpStatusCode.BadRequest, "Bad Request", body, "Mesh \"m\"");

        Assert.Equal("Mesh \"m\" is invalid: mtls.enabledBackend: names backend 'x'; something multiline", message);
    }

    [Theory]
    [InlineData(HttpStatusCode.NotFound, "", "Zone \"z\" not found")]
    [InlineData(HttpStatusCode.Conflict, """{"title":"Conflict"}""", "Conflict")]
    [InlineData(HttpStatusCode.InternalServerError, "database\nlocked", "HTTP 500 Internal Server Error: database locked")]
    [InlineData(HttpStatusCode.Unauthorized, "", "authentication required (use --token or 'fedctl config control-planes add --token-file')")]
    public void Describe_VariousAnswers_GivesOneLine(HttpStatusCode status, string body, string expected) =>
        Assert.Equal(expected, Problems.Describe(status, null, body, "Zone \"z\""));
}
