using Federation.Hosting;
using Federation.Security;
using Federation.Zone;
using Microsoft.Extensions.Options;

var overrides = HostCommandLine.Parse(args, "Federation zone control plane: serves xDS to the proxies of one zone, syncs with the global over KDS.", ZoneOptions.Flags, out var exitCode);
if (overrides is null)
{
    return exitCode;
}

WebApplication app;
try
{
    app = ZoneHost.Build(overrides);
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync($"federation-zone: {string.Join("; ", e.Failures)}");
    return 2;
}

var options = app.Services.GetRequiredService<ZoneOptions>();
try
{
    await app.Services.OpenStoreAsync();
}
catch (Exception e)
{
    await Console.Error.WriteLineAsync($"federation-zone: cannot open the {options.Store} store: {e.Message}");
    return 1;
}
var token = app.Services.GetRequiredService<AdminToken>();
try
{
    await app.StartAsync();
}
catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    await Console.Error.WriteLineAsync($"federation-zone: {e.Message} (is another control plane running? choose other ports with --api-port etc.)");
    return 1;
}
Console.WriteLine($"federation-zone {ControlPlaneIdentity.Version} started: zone {options.Zone} ({(options.Federated ? $"federated with {options.GlobalAddress}" : "standalone")})");
Console.WriteLine($"  API:        http://{options.BindAddress}:{options.ApiPort}");
Console.WriteLine($"  store:      {options.Store}");
Console.WriteLine($"  admin token: {token.FilePath}");
if (token.Created)
{
    Console.WriteLine($"  (generated now; it is shown this once: {token.Value})");
}
await app.WaitForShutdownAsync();
return 0;
