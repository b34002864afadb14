using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Federation.Cli.Output;
using Federation.Serialization;

namespace Federation.Cli.Commands;

/// <summary><c>fedctl inspect zones</c>: every zone with its status and KDS counters, from <c>/zones/_overview</c>.</summary>
internal static class InspectCommands
{
    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var inspect = new Command("inspect", "Show the live state of zones and proxies");
        inspect.Subcommands.Add(Zones(environment, globals));
        return inspect;
    }

    private static Command Zones(CliEnvironment environment, GlobalOptions globals)
    {
        var output = OutputOption();
        var command = new Command("zones", "Zones known to the global: status, last connection, KDS updates and NACKs") { output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            using var client = context.CreateClient();
            var overview = await client.GetJsonAsync("zones/_overview", "zones", cancellationToken);
            var items = (overview["items"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            var format = parse.GetRequiredValue(output);
            if (format != "table")
            {
                context.Out.Write(format == "json" ? overview.ToJsonString(FederationJson.Indented) + "\n" : YamlJson.ToYaml(overview));
                return 0;
            }
            var now = environment.Time.GetUtcNow();
            var rows = items.Select(z => ZoneRow(z, now)).ToList();
            TablePrinter.Write(context.Out, ["NAME", "STATUS", "LAST CONNECTED", "LAST UPDATED", "TOTAL UPDATES", "NACKS", "VERSION", "LAST NACK"], rows);
            return 0;
        });
        return command;
    }

    private static List<string> ZoneRow(JsonObject zone, DateTimeOffset now)
    {
        var name = zone["name"]?.GetValue<string>() ?? "";
        var status = zone["status"]?.GetValue<string>() ?? "Offline";
        if (zone["zone"]?["enabled"] is JsonValue enabled && enabled.TryGetValue<bool>(out var isEnabled) && !isEnabled)
        {
            status += " (disabled)";
        }
        var last = (zone["zoneInsight"]?["subscriptions"] as JsonArray)?.OfType<JsonObject>().LastOrDefault();
        var total = last?["status"]?["total"];
        long Count(string field) => total?[field] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
        var nacks = Count("responsesRejected") + Count("responsesRefused");
        var lastNack = total?["lastNackReason"]?.GetValue<string>() ?? total?["lastRefusalReason"]?.GetValue<string>() ?? "";
        return
        [
            name,
            status,
            Ago(last?["connectTime"], now),
            Ago(last?["status"]?["lastUpdateTime"], now),
            (Count("responsesSent") + Count("responsesReceived")).ToString(CultureInfo.InvariantCulture),
            nacks.ToString(CultureInfo.InvariantCulture),
            last?["zoneVersion"]?.GetValue<string>() ?? "",
            lastNack.Length > 80 ? lastNack[..77] + "..." : lastNack,
        ];
    }

    private static string Ago(JsonNode? time, DateTimeOffset now) =>
        time?.GetValue<string>() is { } text ? Age.Since(text, now) + " ago" : "never";

    internal static Option<string> OutputOption()
    {
        var output = new Option<string>("--output", "-o") { Description = "Output format", HelpName = "table|yaml|json", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "yaml", "json");
        return output;
    }
}
