using BenchmarkDotNet.Running;

// Every benchmark class carries its own baseline (Baseline = true), so the report reads as ratios.
// Run all:   dotnet run -c Release --project benchmarks/Omnichannel.Sdk.Benchmarks -- --filter '*'
// Run one:   dotnet run -c Release --project benchmarks/Omnichannel.Sdk.Benchmarks -- --filter '*Ingest*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
