using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Federation.Cli.Output;
using Federation.Serialization;

namespace Federation.Cli.Commands;

/// <summary>
/// <c>fedctl inspect zones</c>: every zone with its status and KDS counters, from <c>/zones/_overview</c>;
/// <c>fedctl inspect dataplanes</c>: every proxy with its xDS stream, ACK/NACK counters and certificate, from
/// <c>/meshes/{mesh}/dataplanes/_overview</c> (a zone's or the global's).
/// </summary>
internal static class InspectCommands
{
    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var inspect = new Command("inspect", "Show the live state of zones and proxies");
        inspect.Subcommands.Add(Zones(environment, globals));
        inspect.Subcommands.Add(Dataplanes(environment, globals));
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

    private static Command Dataplanes(CliEnvironment environment, GlobalOptions globals)
    {
        var output = OutputOption();
        var mesh = new Option<string?>("--mesh", "-m") { Description = "Only this mesh (default: every mesh)", HelpName = "MESH" };
        var command = new Command("dataplanes", "Proxies known to this control plane: status, xDS updates, NACKs, config version, certificate") { mesh, output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            using var client = context.CreateClient();
            var meshName = parse.GetValue(mesh);
            var overview = meshName is null
                ? await client.GetJsonAsync("dataplanes/_overview", "dataplanes", cancellationToken)
                : await client.GetJsonAsync($"meshes/{Uri.EscapeDataString(meshName)}/dataplanes/_overview", $"dataplanes in mesh {meshName}", cancellationToken);
            var format = parse.GetRequiredValue(output);
            if (format != "table")
            {
                context.Out.Write(format == "json" ? overview.ToJsonString(FederationJson.Indented) + "\n" : YamlJson.ToYaml(overview));
                return 0;
            }
            var items = (overview["items"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            var now = environment.Time.GetUtcNow();
            TablePrinter.Write(
                context.Out,
                ["MESH", "NAME", "STATUS", "LAST CONNECTED", "LAST UPDATED", "TOTAL UPDATES", "NACKS", "CONFIG VERSION", "CERT EXPIRES", "LAST NACK"],
                [.. items.Select(d => DataplaneRow(d, now))]);
            return 0;
        });
        return command;
    }

    /// <summary>The proxy's latest xDS stream (the live one while it is connected) and its certificate.</summary>
    private static List<string> DataplaneRow(JsonObject dataplane, DateTimeOffset now)
    {
        var insight = dataplane["dataplaneInsight"];
        var last = (insight?["subscriptions"] as JsonArray)?.OfType<JsonObject>()
            .OrderBy(s => s["connectTime"]?.GetValue<string>() ?? "", StringComparer.Ordinal)
            .LastOrDefault();
        var total = last?["status"]?["total"];
        long Count(string field) => total?[field] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
        var lastNack = total?["lastNackReason"]?.GetValue<string>() ?? "";
        return
        [
            dataplane["mesh"]?.GetValue<string>() ?? "",
            dataplane["name"]?.GetValue<string>() ?? "",
            dataplane["status"]?.GetValue<string>() ?? "Offline",
            Ago(last?["connectTime"], now),
            Ago(last?["status"]?["lastUpdateTime"], now),
            Count("responsesSent").ToString(CultureInfo.InvariantCulture),
            Count("responsesRejected").ToString(CultureInfo.InvariantCulture),
            last?["configVersion"]?.GetValue<string>() ?? "",
            Expires(insight?["mTls"]?["certificateExpirationTime"], now),
            lastNack.Length > 80 ? lastNack[..77] + "..." : lastNack,
        ];
    }

    private static string Expires(JsonNode? time, DateTimeOffset now)
    {
        if (time?.GetValue<string>() is not { } text || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiry))
        {
            return "-";
        }
        return expiry >= now ? $"in {Age.Format(expiry - now)}" : $"expired {Age.Format(now - expiry)} ago";
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
