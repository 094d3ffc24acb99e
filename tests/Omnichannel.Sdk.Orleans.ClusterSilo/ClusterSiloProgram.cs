using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.CrashWorker;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Omnichannel.Sdk.Orleans.ClusterSilo;

/// <summary>
/// One silo of the cluster crash test, as an application would host it: Redis membership, loopback endpoints, the crash
/// worker's engine (PostgreSQL store, templates, a journey with a durable timer, a file-backed recording transport)
/// behind <c>UseOrleans()</c>. Prints <c>READY</c> once it has joined the cluster; runs until killed.
/// </summary>
/// <remarks>
/// Arguments: <c>--redis</c> host:port, <c>--cluster</c> id, <c>--silo-port</c>, <c>--gateway-port</c>,
/// <c>--connection</c> (PostgreSQL), <c>--sent</c> (this run's recording file). Exit code 64: bad arguments.
/// </remarks>
public static class ClusterSiloProgram
{
    /// <summary>Failure detection tuned for a test on loopback: a killed silo is declared dead within seconds.</summary>
    public static void FastFailureDetection(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(1);
        o.NumMissedProbesLimit = 2;
        o.NumVotesForDeathDeclaration = 1;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
        o.DefunctSiloExpiration = TimeSpan.FromMinutes(1);
    }

    /// <summary>Runs the silo.</summary>
    /// <param name="args">See the remarks.</param>
    public static async Task<int> Main(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }

        if (!values.TryGetValue("redis", out var redis) || !values.TryGetValue("cluster", out var clusterId)
            || !int.TryParse(values.GetValueOrDefault("silo-port"), out var siloPort) || !int.TryParse(values.GetValueOrDefault("gateway-port"), out var gatewayPort)
            || !values.TryGetValue("connection", out var connection) || !values.TryGetValue("sent", out var sent))
        {
            await Console.Error.WriteLineAsync("usage: --redis host:port --cluster id --silo-port n --gateway-port n --connection pg --sent file");
            return 64;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo => silo
            .UseRedisClustering(redis)
            .ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort)
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "omnichannel-crash"))
            .Configure<ClusterMembershipOptions>(FastFailureDetection));
        var omnichannel = builder.Services.AddOmnichannel();
        CrashWorkerProgram.ConfigureEngine(omnichannel, new CrashWorkerSettings(CrashStore.PostgreSql, connection, "-", "-", sent));
        omnichannel.UseOrleans(o => o.Sweep = TimeSpan.FromSeconds(1));

        using var host = builder.Build();
        await host.StartAsync();
        Console.WriteLine("READY");
        await host.WaitForShutdownAsync();
        return 0;
    }
}
