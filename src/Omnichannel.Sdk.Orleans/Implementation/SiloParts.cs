using Microsoft.Extensions.DependencyInjection;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// What the grains need from their silo, resolved with an error that says what to register: Orleans finds these grain
/// classes in any silo that references the package, including one whose host never called <c>UseOrleans()</c>.
/// </summary>
internal static class SiloParts
{
    public static OmnichannelEngine Engine(IServiceProvider services) => Get<OmnichannelEngine>(services, "an Omnichannel engine");

    public static ClusterDefinitions Definitions(IServiceProvider services) => Get<ClusterDefinitions>(services, "the Omnichannel cluster services");

    private static T Get<T>(IServiceProvider services, string what)
        where T : class =>
        services.GetService<T>() ?? throw new InvalidOperationException(
            $"This Orleans silo has no {what}. Register the silo's services with services.AddOmnichannel(...).UseOrleans() " +
            "(an engine registered some other way still needs .UseOrleans() on services.AddOmnichannel()).");
}
