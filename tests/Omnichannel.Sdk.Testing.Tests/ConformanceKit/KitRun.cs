using System.Reflection;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing.Conformance;

namespace Omnichannel.Sdk.Testing.Tests.ConformanceKit;

/// <summary>Runs every conformance test of the kit against one store factory, as a store author's test run would.</summary>
internal static class KitRun
{
    /// <summary>The kit's tests, by name.</summary>
    public static IReadOnlyList<MethodInfo> Facts { get; } = [.. typeof(StoreConformanceTests)
        .GetMethods(BindingFlags.Public | BindingFlags.Instance)
        .Where(m => m.GetCustomAttribute<FactAttribute>() is not null)
        .OrderBy(m => m.Name, StringComparer.Ordinal)];

    /// <summary>Runs each test on a fresh store from <paramref name="create"/>; answers the failed ones with their messages.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> FailuresAsync(Func<IOmnichannelStore> create)
    {
        var kit = new Subject(create);
        var failures = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var fact in Facts)
        {
            try
            {
                await (Task)fact.Invoke(kit, null)!;
            }
            catch (Exception e)
            {
                failures[fact.Name] = (e is TargetInvocationException { InnerException: { } inner } ? inner : e).Message;
            }
        }

        return failures;
    }

    // Private, so xUnit does not collect it as a test class of its own.
    private sealed class Subject(Func<IOmnichannelStore> create) : StoreConformanceTests
    {
        protected override Task<IOmnichannelStore> CreateStoreAsync() => Task.FromResult(create());
    }
}
