using System.CommandLine;
using System.Text.Json.Nodes;

namespace Federation.Cli.Commands;

/// <summary><c>fedctl revoke zone-token</c>: revoke by token id or by the token itself; streams using it are closed.</summary>
internal static class RevokeCommands
{
    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var revoke = new Command("revoke", "Revoke tokens");
        var id = new Option<string>("--id") { Description = "Token id (the jti claim; shown in 'fedctl inspect zones -o yaml' as tokenId)", HelpName = "ID" };
        var tokenFile = new Option<string>("--token-file") { Description = "File holding the token to revoke", HelpName = "FILE" };
        var zoneToken = new Command("zone-token", "Revoke a zone token: the global refuses it from now on and closes streams that use it") { id, tokenFile };
        zoneToken.Validators.Add(result =>
        {
            if ((result.GetResult(id) is null) == (result.GetResult(tokenFile) is null))
            {
                result.AddError("give exactly one of --id or --token-file");
            }
        });
        zoneToken.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            var body = new JsonObject();
            if (parse.GetValue(id) is { } tokenId)
            {
                body["tokenId"] = tokenId;
            }
            else
            {
                var path = parse.GetRequiredValue(tokenFile);
                try
                {
                    body["token"] = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
                }
                catch (IOException e)
                {
                    throw new CliException($"cannot read {path}: {e.Message}");
                }
                catch (UnauthorizedAccessException e)
                {
                    throw new CliException($"cannot read {path}: {e.Message}");
                }
            }
            using var client = context.CreateClient();
            var answer = await client.PostJsonAsync("tokens/zone/revoke", body, "a zone token", cancellationToken);
            context.Out.WriteLine($"revoked zone token {answer["revoked"]?.GetValue<string>()}");
            return 0;
        });
        revoke.Subcommands.Add(zoneToken);
        return revoke;
    }
}
