using BenchmarkDotNet.Running;
using Federation.Benchmarks.Kds;
using Federation.Benchmarks.ZoneProxy;

// Scale harnesses (whole control planes in this process) by name; everything else goes to BenchmarkDotNet,
// e.g. --filter '*Store*' --job short.
string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

int Int(string name, int fallback) => int.Parse(Arg(name, fallback.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);

switch (args.FirstOrDefault())
{
    case "kds-propagation":
        return await KdsHarness.PropagationAsync(Int("--zones", 10), Int("--writes", 200), Arg("--store", "memory"));
    case "xds-scale":
        return await Federation.Benchmarks.Xds.XdsScaleHarness.RunAsync(Int("--proxies", 1000), Int("--services", 100), Int("--rounds", 5), Int("--channels", 10));
    case "kds-resync":
        return await KdsHarness.ResyncAsync(Int("--policies", 10_000), Int("--dataplanes", 10_000), Arg("--store", "memory"));
    case "api-roundtrips":
        return await Federation.Benchmarks.Api.ApiHarness.RunAsync([.. Arg("--stores", "sqlite,memory").Split(',')],
            [.. Arg("--concurrency", "1,16,64").Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))], Int("--seconds", 10));
    case "zoneproxy":
        return await ZoneProxyHarness.RunAsync(Int("--total-mb", 2048), Int("--rounds", 3), Int("--latency-connections", 2000),
            [.. Arg("--connections", "1,16,256").Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))], Int("--buffer-kb", 256));
    default:
        BenchmarkSwitcher.FromAssembly(typeof(KdsHarness).Assembly).Run(args);
        return 0;
}
