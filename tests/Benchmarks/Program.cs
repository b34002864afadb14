using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Federation.Benchmarks.Xds.AdsServeBenchmarks).Assembly).Run(args);
