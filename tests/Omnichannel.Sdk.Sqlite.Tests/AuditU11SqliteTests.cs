using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U11 on SQLite: a merge chain read back from the file after a restart, and a journey's tied write.</summary>
public sealed class AuditU11SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly Identifier Card = Identifier.LoyaltyCard("1234567");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Omnichannel.Sdk.Journeys.JourneyDefinition Tagger => JourneyRig.Parse("""
        {"id": "tagger", "version": 1, "name": "Tagger", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "tag", "type": "updateProfile", "set": {"tier": "gold"}}]}
        """);

    // A+B, then C joining through B's email, and a journey's write on the kept side tied with an event's on the absorbed side; reopened,
    // every old profile id and identifier finds the one profile with the same trait, and erasure by the cookie clears all.
    [Fact]
    public async Task AMergeChain_SurvivesARestart_AndErasureByOneIdentifierClearsEverySide()
    {
        var file = "Data Source=" + _folder.File();
        string[] olds;
        string merged;
        var start = new DateTimeOffset(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var rig = JourneyRig.Create([Tagger], store: store, start: start);
            await rig.TrackAsync("user.signed_up", [AnnMail]); // the journey writes on the side that will be kept
            await rig.TrackAsync("user.updated", [Cookie], traits: new { tier = "silver" }); // the same instant
            await rig.TrackAsync("user.updated", [Card], traits: new { city = "Leeds" });
            var h = rig.Host;
            olds = [(await h.ProfileAsync(Cookie)).Id, (await h.ProfileAsync(AnnMail)).Id, (await h.ProfileAsync(Card)).Id];
            await rig.AdvanceAsync(TimeSpan.FromMinutes(1));
            await rig.TrackAsync("user.logged_in", [AnnMail, Cookie]);
            await rig.TrackAsync("checkout.started", [Card, AnnMail, Ann]);
            merged = (await h.ProfileAsync(Cookie)).Id;
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var rig = JourneyRig.Create([Tagger], store: store, start: start.AddMinutes(2));
            var c = rig.Host.Client;
            foreach (var id in new[] { Cookie, AnnMail, Card, Ann })
            {
                Assert.Equal(merged, (await c.GetProfileAsync(id))!.Id);
            }

            foreach (var old in olds)
            {
                Assert.Equal(merged, (await c.GetProfileByIdAsync(old))!.Id);
            }

            var p = (await c.GetProfileAsync(Ann))!;
            Assert.True(p.TryGetTrait("tier", out var tier));
            Assert.Equal("gold", tier.GetString()); // the journey's write wins the tie, whichever side ran it
            Assert.Equal(2, p.Merges.Count);

            Assert.True(await c.EraseProfileAsync(Cookie));
            foreach (var id in new[] { Cookie, AnnMail, Card, Ann })
            {
                Assert.Null(await c.GetProfileAsync(id));
            }

            foreach (var old in olds)
            {
                Assert.Null(await c.GetProfileByIdAsync(old));
            }
        }
    }
}
