using Federation.Cli.Commands;

return await Fedctl.RunAsync(args, CliEnvironment.FromProcess());
