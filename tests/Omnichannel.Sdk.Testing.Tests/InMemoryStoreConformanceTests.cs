using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing.Conformance;

namespace Omnichannel.Sdk.Testing.Tests;

public sealed class InMemoryStoreConformanceTests : StoreConformanceTests
{
    protected override Task<IOmnichannelStore> CreateStoreAsync() => Task.FromResult<IOmnichannelStore>(new InMemoryOmnichannelStore());
}
