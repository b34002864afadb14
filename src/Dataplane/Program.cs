using Federation.Dataplane.Commands;

return await FedDp.RunAsync(args, DataplaneEnvironment.FromProcess());
