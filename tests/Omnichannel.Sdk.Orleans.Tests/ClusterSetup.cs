using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>The silo registration and client options the in-process cluster tests share.</summary>
internal static class ClusterSetup
{
    /// <summary>Options for a cluster client or a single engine to compare with: the test kit's fixed hash key.</summary>
    public static OmnichannelOptions Options()
    {
        var o = new OmnichannelOptions();
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        return o;
    }

    /// <summary>A silo's engine on <paramref name="store"/> and <paramref name="time"/>, two partitions, served through Orleans.</summary>
    public static void Register(TimeProvider time, IServiceCollection services, IOmnichannelStore store)
    {
        services.AddSingleton(time);
        services.AddOmnichannel(o =>
        {
            o.Partitions = 2;
            o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        }).UseStore(_ => store).UseOrleans();
    }
}
