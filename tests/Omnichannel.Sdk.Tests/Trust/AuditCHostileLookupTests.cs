using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Audit C: look-ups, exports and erasures with hostile identifiers answer "nobody" or refuse with the argument.</summary>
public sealed class AuditCHostileLookupTests
{
    public static TheoryData<string, string> Hostile() => new()
    {
        { IdentifierTypes.Email, "ann\0@example.com" },
        { IdentifierTypes.Email, "not an email" },
        { IdentifierTypes.Email, new string('a', 100_000) + "@example.com" },
        { IdentifierTypes.Phone, "call me" },
        { IdentifierTypes.Phone, "+44 " + new string('7', 5000) },
        { IdentifierTypes.CustomerId, "c\n1" },
        { "no_such_type", "x" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task HostileIdentifiers_InLookUpsExportsErasuresAndSends_NeverThrowAnythingButArgumentErrors(string type, string value)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.Email("ann@example.com")]);
        var id = new Identifier(type, value);

        async Task Check(Func<Task> call, string what)
        {
            try
            {
                await call();
            }
            catch (ArgumentException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"{what}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        await Check(async () => await host.Client.GetProfileAsync(id), "GetProfileAsync");
        await Check(async () => await host.Client.ExportProfileAsync(id), "ExportProfileAsync");
        await Check(async () => await host.Client.EraseProfileAsync(id), "EraseProfileAsync");
        await Check(async () => await host.Client.LiftErasureAsync(id), "LiftErasureAsync");
        await Check(async () => await host.Client.SendAsync(id, new MessageRequest { Key = "k", Channels = [ChannelNames.Email], TemplateId = "t" }), "SendAsync");
        var r = await host.Client.TrackAsync(host.Event("page.viewed", [id]));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field.StartsWith("identifiers[0]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnpairedSurrogateInAnEmail_IsRefusedWithItsField()
    {
        await using var host = OmnichannelTestHost.Create();
        var r = await host.Client.TrackAsync(host.Event("page.viewed", [new Identifier(IdentifierTypes.Email, "\ud800@example.com")]));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field == "identifiers[0].value");
    }
}
