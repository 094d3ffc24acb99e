using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit U103 on the in-memory store (restarted over the same store after the erasure): see <see cref="AuditU103Scenario"/>.</summary>
public sealed class AuditU103Properties
{
    [Property(MaxTest = 100)]
    public void AfterHerErasure_HerOldIdentifiers_BringBackNothingOfHers(int a, int b)
    {
        var store = new InMemoryOmnichannelStore();
        AuditU103Scenario.RunAsync(a, b, () => Task.FromResult<IOmnichannelStore>(store), _ => ValueTask.CompletedTask).GetAwaiter().GetResult();
    }
}
