global using Omnichannel.Sdk.Orleans;
global using Omnichannel.Sdk.Storage;
global using Xunit;

// One test class at a time: each starts in-process clusters of three or four silos (some beside PostgreSQL), and two at
// once, while the solution's other test projects run too, stretched the cluster's own timeouts on a two-core machine
// (a joining silo's catch-up, a definition change's pushes) into rare failures in CI that never reproduced alone.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
