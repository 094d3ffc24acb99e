using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Orleans;
using Omnichannel.Sdk.Orleans.Implementation;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Runs Omnichannel.Sdk on a Microsoft Orleans cluster: <c>AddOmnichannel(...).UseOrleans()</c>.</summary>
public static class OrleansOmnichannelBuilderExtensions
{
    /// <summary>
    /// Silo side: the engine registered by <c>AddOmnichannel</c> runs inside the cluster's grains (one per customer, on
    /// the silo that owns her), and <see cref="IOmnichannelClient"/> becomes an <see cref="OmnichannelClusterClient"/>
    /// that routes every call through the cluster. Configure Orleans itself (clustering, ports) on the host as usual,
    /// with <c>UseOrleans(silo => ...)</c>; give every silo the same store (PostgreSQL for a cluster) and definitions.
    /// Without a store registration a silo keeps profiles in its own memory: with two silos each answers only its own
    /// customers (each logs an error, event id 131, at its next sweep).
    /// </summary>
    /// <exception cref="InvalidOperationException">When the client or a silo service is resolved (at host start): the host
    /// has no Orleans silo (<c>builder.UseOrleans(silo => ...)</c> was not called); the message says which call is missing.</exception>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">How the silo takes part in time-driven work (<see cref="OmnichannelClusterOptions"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public static OmnichannelBuilder UseOrleans(this OmnichannelBuilder builder, Action<OmnichannelClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new OmnichannelClusterOptions();
        configure?.Invoke(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Orleans cluster options: " + string.Join(" ", problems), nameof(configure));
        }

        var services = builder.Services;
        AddClusterClient(services);

        // Hosted services stop in reverse order of registration: the engine's goes first in the list, so it stops after
        // the silo has stopped taking calls and deactivated its grains, whichever of AddOmnichannel and the host's
        // UseOrleans(silo => ...) came first.
        foreach (var engineService in services.Where(IsEngineService).ToList())
        {
            services.Remove(engineService);
            services.Insert(0, engineService);
        }

        services.RemoveAll<OmnichannelClusterOptions>();
        services.AddSingleton(options);

        // A silo's definitions are the options plus the cluster's log of run-time changes, which it applies after it
        // starts: a start-up visit under the options alone would undo those changes on every profile it reached.
        services.PostConfigure<OmnichannelOptions>(o => o.CatchUpSegmentsAtStart = false);
        AddSiloServices(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Omnichannel.Sdk.Orleans.Implementation.DueWorkSweep>());
        return builder;
    }

    /// <summary>What every silo's grains need besides the engine: its copy of the run-time definition changes, and the placement of per-silo grains.</summary>
    internal static void AddSiloServices(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(ClusterDefinitions)))
        {
            return;
        }

        services.AddSingleton(sp =>
        {
            RequireOrleans(sp, silo: true);
            return ActivatorUtilities.CreateInstance<ClusterDefinitions>(sp);
        });
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ClusterDefinitions>());
        services.AddSingleton<SiloStarted>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloStarted>());
        services.AddPlacementDirector<SiloKeyPlacement, SiloKeyPlacementDirector>();
    }

    /// <summary>
    /// Client side, for a process that only talks to a cluster (an Orleans client registered with
    /// <c>UseOrleansClient(client => ...)</c>): <see cref="IOmnichannelClient"/> is an <see cref="OmnichannelClusterClient"/>
    /// and no engine or store runs here. Use the same options (identity rules, definitions, hash key) as the silos:
    /// neither the key nor the start-up definitions are compared with the silos'.
    /// </summary>
    /// <exception cref="InvalidOperationException">When the client is resolved: no hash key is set, or the host has no
    /// Orleans client (<c>builder.UseOrleansClient(client => ...)</c> was not called); the message says which.</exception>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static OmnichannelBuilder UseOrleansClient(this OmnichannelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.RemoveAll<OmnichannelEngine>();
        foreach (var hosted in services.Where(IsEngineService).ToList())
        {
            services.Remove(hosted);
        }

        AddClusterClient(services);

        // Without the silos' key this process would route each customer by another hash than the silos do, so her events
        // would meet two grains: correct (the store's version check), but never the one writer it is meant to be.
        services.AddOptions<OmnichannelOptions>().Validate(
            o => !string.IsNullOrEmpty(o.Privacy.HashKey),
            "Privacy.HashKey is required with UseOrleansClient(): set the same key as the silos (AddOmnichannel(o => o.Privacy.HashKey = ...)), " +
            "so this client routes each customer to the grain the silos use.");
        return builder;
    }

    /// <summary>
    /// The host's Orleans: <c>AddOmnichannel(...).UseOrleans()</c> and <c>.UseOrleansClient()</c> only put the SDK on top
    /// of it, and the two calls share a name with the host's own <c>builder.UseOrleans(silo => ...)</c> and
    /// <c>builder.UseOrleansClient(client => ...)</c>, so forgetting one of each pair is easy; say which one.
    /// </summary>
    private static IGrainFactory RequireOrleans(IServiceProvider services, bool silo) =>
        services.GetService<IGrainFactory>() ?? throw new InvalidOperationException(silo
            ? "AddOmnichannel(...).UseOrleans() runs the SDK on an Orleans silo, but this host has no Orleans: also call " +
              "builder.UseOrleans(silo => silo.UseLocalhostClustering()) (or your clustering provider) on the host builder " +
              "(package Microsoft.Orleans.Server). In a process that only sends to a cluster, call " +
              "builder.UseOrleansClient(client => ...) and AddOmnichannel(...).UseOrleansClient() instead."
            : "AddOmnichannel(...).UseOrleansClient() talks to an Orleans cluster, but this host has no Orleans client: also call " +
              "builder.UseOrleansClient(client => client.UseLocalhostClustering()) (or the silos' clustering provider and " +
              "ClusterOptions) on the host builder (package Microsoft.Orleans.Client).");

    private static bool IsEngineService(ServiceDescriptor d) => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(OmnichannelHostedService);

    private static void AddClusterClient(IServiceCollection services)
    {
        services.RemoveAll<IOmnichannelClient>();
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OmnichannelOptions>>().Value;   // validated first: what to set comes before what to register
            var engine = sp.GetService<OmnichannelEngine>();
            return new OmnichannelClusterClient(RequireOrleans(sp, silo: engine is not null), options, engine, sp.GetService<SiloStarted>());
        });
        services.AddSingleton<IOmnichannelClient>(sp => sp.GetRequiredService<OmnichannelClusterClient>());
    }
}
