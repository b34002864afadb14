using Federation.Global;
using Federation.Hosting;
using Federation.Security;
using Microsoft.Extensions.Options;

var overrides = HostCommandLine.Parse(args, "Federation global control plane: holds policies, federates zones over KDS.", GlobalOptions.Flags, out var exitCode);
if (overrides is null)
{
    return exitCode;
}

WebApplication app;
try
{
    app = GlobalHost.Build(overrides);
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync($"federation-global: {string.Join("; ", e.Failures)}");
    return 2;
}

var options = app.Services.GetRequiredService<GlobalOptions>();
try
{
    await GlobalHost.PrepareAsync(app.Services);
}
catch (Exception e)
{
    await Console.Error.WriteLineAsync($"federation-global: cannot open the {options.Store} store: {e.Message}");
    return 1;
}
var token = app.Services.GetRequiredService<AdminToken>();
try
{
    await app.StartAsync();
}
catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    await Console.Error.WriteLineAsync($"federation-global: {e.Message} (is another control plane running? choose other ports with --api-port etc.)");
    return 1;
}
Console.WriteLine($"federation-global {ControlPlaneIdentity.Version} started");
Console.WriteLine($"  API:        http://{options.BindAddress}:{options.ApiPort}");
Console.WriteLine($"  KDS:        https://{options.BindAddress}:{options.KdsPort} (zones verify it with --kds-ca-file {Path.GetFullPath(Path.Combine(options.DataDir, Federation.Global.Kds.KdsTls.CaCertFile))})");
Console.WriteLine($"  store:      {options.Store}{(options.Store == "sqlite" ? $" ({Path.GetFullPath(Path.Combine(options.DataDir, StoreFactory.SqliteFileName))})" : "")}");
Console.WriteLine($"  admin token: {token.FilePath}");
if (token.Created)
{
    Console.WriteLine($"  (generated now; it is shown this once: {token.Value})");
}
await app.WaitForShutdownAsync();
return 0;
