using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// Every benchmark class carries its own baseline (Baseline = true), so the report reads as ratios.
// Run all:   dotnet run -c Release --project benchmarks/Omnichannel.Sdk.Benchmarks -- --filter '*'
// Run one:   dotnet run -c Release --project benchmarks/Omnichannel.Sdk.Benchmarks -- --filter '*Ingest*'
// Stores:    --filter '*Sqlite*' (about 2 minutes; OMNICHANNEL_BENCH_DIR=/dev/shm takes the disk out) and
//            --filter '*PostgreSql*' (about 4 minutes; starts a throw-away cluster per case, needs eng/install-test-servers.sh).
// The generated project builds the whole SDK: on a busy 2-core machine that takes longer than BenchmarkDotNet's
// default two minutes.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10)));
