using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit C: identifier values are limited to 256 characters, but the limit is checked before normalisation, and NFKC
/// expands some characters several times (U+3316 ㌖ becomes キロメートル, six characters): the stored value must still be
/// within the limit, or the event refused with its field.
/// </summary>
public sealed class AuditCIdentifierExpansionTests
{
    public static string Expanding { get; } = new string('\u3316', 240) + "@example.com";

    [Fact]
    public async Task AnEmailThatNormalisesPastTheLimit_IsRefusedWithItsField_OrStoredWithinIt()
    {
        await using var host = OmnichannelTestHost.Create();
        Assert.True(Expanding.Length <= 256);

        var r = await host.Client.TrackAsync(host.Event("page.viewed", [new Identifier(IdentifierTypes.Email, Expanding)]));

        if (r.Status == TrackStatus.Rejected)
        {
            Assert.Contains(r.Errors, e => e.Field == "identifiers[0].value");
            return;
        }

        var p = await host.Client.GetProfileByIdAsync(r.ProfileId!);
        Assert.All(p!.Identifiers, i => Assert.True(i.Value.Length <= 256, $"{i.Type} stored with {i.Value.Length} characters"));
    }
}
