using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.AspNetCore;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// A Kestrel application on the in-memory store and a fake clock (so <c>receivedAt</c> is known), for audit TA.
/// </summary>
public sealed class AuditTAServer : IAsyncLifetime
{
    public const string Key = "wk_auditta_0123456789abcdef";
    public const string HashKey = "audit-ta-tracking-properties-key-000000001";

    private WebApplication? _app;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));

    public Uri BaseAddress { get; private set; } = null!;

    public IOmnichannelClient Client { get; private set; } = null!;

    public HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TimeProvider>(Time);
        builder.Services.AddOmnichannel(o =>
            {
                o.Partitions = 4;
                o.Privacy.HashKey = HashKey;
            })
            .AddTrackingApi(o =>
            {
                o.WriteKeys.Add(new TrackingWriteKey { Key = Key, Source = "website" });
                o.RequestsPerSecond = 0;
            });
        _app = builder.Build();
        _app.MapOmnichannelTracking("/v1");
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single().TrimEnd('/') + "/");
        Client = _app.Services.GetRequiredService<IOmnichannelClient>();
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "v1/" + path));
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Key + ":")));
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }
}

/// <summary>
/// Audit TA: random sequences of Segment Spec calls sent over HTTP end in the same profiles as the events an oracle
/// written from the Spec (<see href="https://segment.com/docs/connections/spec/common/"/>) and the package README expects,
/// tracked straight into a second engine; every acknowledged message is applied once, an invalid one is reported with its
/// field and blocks no other, a retry changes nothing, and no input is a 5xx.
/// </summary>
public sealed class AuditTATrackingProperties(AuditTAServer server) : IClassFixture<AuditTAServer>
{
    private static int _run;

    private static readonly string[] CallTypes = ["identify", "track", "page", "screen", "alias", "group"];

    /// <summary>A message as the client sends it, with what the oracle expects of it.</summary>
    private sealed record Sent(JsonObject Json, string Call, CustomerEvent? Expected, string? BadField, DateTimeOffset? Original = null);

    // The same instant in the ISO 8601 forms the clients send (analytics.js, Python, Go, .NET, PHP, strftime).
    private static string Iso(DateTimeOffset t, int form) => form switch
    {
        0 => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        1 => t.ToOffset(TimeSpan.FromHours(2)).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture),
        2 => t.ToOffset(TimeSpan.FromHours(-5.5)).ToString("o", CultureInfo.InvariantCulture),
        3 => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        4 => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture) + "+0000",
        _ => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
    };

    private static readonly JsonNode?[] TraitValues =
    [
        "Zoë 🐈", "\u2028line", "", 0, -1, long.MaxValue, JsonNode.Parse("9007199254740993"), 1.5e300, JsonNode.Parse("-0.0"),
        true, null, JsonNode.Parse("""{"a":{"b":[1,{"c":"ü"}]}}"""), JsonNode.Parse("""[1,"two",[3]]"""), "日本語",
    ];

    [Property(MaxTest = 80)]
    public bool RandomCallSequences_OverHttp_EndInTheProfilesTheSpecOracleExpects(PositiveInt seed)
    {
        Run(seed.Get).GetAwaiter().GetResult();
        return true;
    }

    private async Task Run(int seed)
    {
        var random = new Random(seed);
        var run = Interlocked.Increment(ref _run);
        var tag = $"ta{seed}x{run}";
        server.Time.Advance(TimeSpan.FromMinutes(1));
        var receivedAt = server.Time.GetUtcNow();
        await using var reference = OmnichannelTestHost.Create(o => o.Privacy.HashKey = AuditTAServer.HashKey, receivedAt);

        var users = Enumerable.Range(0, 3).Select(i => $"{tag}-u{i}").ToArray();
        var anons = Enumerable.Range(0, 3).Select(i => $"{tag}-a{i}").ToArray();
        var sent = new List<Sent>();
        var count = random.Next(1, 16);
        for (var i = 0; i < count; i++)
        {
            sent.Add(Message(random, tag, i, users, anons, receivedAt));
        }

        // Sent in random requests: single calls (long or short path) and batches, some with the batch's sentAt; then a
        // random part of them again (a client's retry).
        var expectedEvents = new List<CustomerEvent>();
        async Task SendAllAsync(IReadOnlyList<Sent> messages, bool retry)
        {
            var at = 0;
            while (at < messages.Count)
            {
                var take = random.Next(1, messages.Count - at + 1);
                var part = messages.Skip(at).Take(take).ToList();
                at += take;
                if (part.Count == 1 && random.Next(2) == 0)
                {
                    var m = part[0];
                    var shortPath = random.Next(2) == 0;
                    var path = shortPath ? m.Call[..1] : m.Call;
                    var (status, body) = await server.PostAsync(path, m.Json.ToJsonString());
                    if (m.BadField is null)
                    {
                        Assert.True(status == HttpStatusCode.OK, $"{m.Json.ToJsonString()} → {status} {body?.ToJsonString()}");
                    }
                    else
                    {
                        Assert.True(status == HttpStatusCode.BadRequest, $"{m.Json.ToJsonString()} → {status} {body?.ToJsonString()}");
                        Assert.Contains(body!["errors"]!.AsArray(), e => (string)e!["field"]! == m.BadField);
                    }
                }
                else
                {
                    var batch = new JsonObject { ["batch"] = new JsonArray([.. part.Select(p => (JsonNode)WithType(p))]) };
                    if (!retry && part.Any(p => p.Original is not null) && random.Next(2) == 0)
                    {
                        // The batch's sentAt (analytics-node, the mobile libraries) corrects every message without its own.
                        var batchSentAt = part.Where(p => p.Original is not null).Max(p => p.Original!.Value) + TimeSpan.FromMilliseconds(random.Next(0, 5000));
                        var text = Iso(batchSentAt, random.Next(6));
                        batch["sentAt"] = text;
                        var sentAt = Millis(batchSentAt, text);
                        for (var i = 0; i < part.Count; i++)
                        {
                            if (part[i].Original is { } original)
                            {
                                // Its own sentAt, if any, is taken off: the batch's then applies (README, "event time").
                                ((JsonObject)batch["batch"]![i]!).Remove("sentAt");
                                if (part[i].Expected is { } e)
                                {
                                    part[i] = part[i] with { Expected = e with { Timestamp = receivedAt - (sentAt - original) } };
                                }
                            }
                        }
                    }

                    var (status, body) = await server.PostAsync(random.Next(2) == 0 ? "batch" : "b", batch.ToJsonString());
                    Assert.True(status == HttpStatusCode.OK, $"{batch.ToJsonString()} → {status} {body?.ToJsonString()}");
                    var rejected = body!["rejected"]?.AsArray() ?? [];
                    for (var i = 0; i < part.Count; i++)
                    {
                        var r = rejected.FirstOrDefault(x => (int)x!["index"]! == i);
                        if (part[i].BadField is { } field)
                        {
                            Assert.True(r is not null, $"message {i} ({field} invalid) was not rejected: {batch.ToJsonString()} → {body.ToJsonString()}");
                            Assert.Contains(r!["errors"]!.AsArray(), e => (string)e!["field"]! == field);
                        }
                        else
                        {
                            Assert.True(r is null, $"message {i} rejected: {body.ToJsonString()} ← {batch.ToJsonString()}");
                        }
                    }

                    var valid = part.Count(p => p.BadField is null);
                    var accepted = (int)body["accepted"]!;
                    var duplicates = (int)body["duplicates"]!;
                    Assert.Equal(valid, accepted + duplicates);
                    if (retry)
                    {
                        Assert.Equal(0, accepted);
                    }
                }

                if (!retry)
                {
                    expectedEvents.AddRange(part.Where(p => p.Expected is not null).Select(p => p.Expected!));
                }
            }
        }

        await SendAllAsync(sent, retry: false);
        var before = await SnapshotAsync(server.Client, users, anons);
        await SendAllAsync([.. sent.Where(_ => random.Next(3) == 0)], retry: true);
        var after = await SnapshotAsync(server.Client, users, anons);
        Assert.Equal(before, after);

        // The oracle's events, straight into the engine, in one random split of batches.
        var k = 0;
        while (k < expectedEvents.Count)
        {
            var take = random.Next(1, expectedEvents.Count - k + 1);
            foreach (var result in await reference.Client.TrackBatchAsync(expectedEvents.Skip(k).Take(take)))
            {
                Assert.True(result.Status is TrackStatus.Accepted or TrackStatus.Duplicate, $"reference: {result.Status}");
            }

            k += take;
        }

        var expected = await SnapshotAsync(reference.Client, users, anons);
        await using (var oneByOne = OmnichannelTestHost.Create(o => o.Privacy.HashKey = AuditTAServer.HashKey, receivedAt))
        {
            foreach (var e in expectedEvents)
            {
                await oneByOne.Client.TrackAsync(e);
            }

            var sequential = await SnapshotAsync(oneByOne.Client, users, anons);
            Assert.True(expected == sequential, $"BATCHVSSEQ expected:\n{expected}\nsequential:\n{sequential}\nevents:\n{string.Join("\n", expectedEvents.Select(e => $"{e.Id} {e.Type} {e.Timestamp:o} {string.Join(",", e.Identifiers)}"))}");
        }

        Assert.True(expected == after, $"expected only:\n{string.Join("\n", expected.Split('\n').Except(after.Split('\n')))}\nactual only:\n{string.Join("\n", after.Split('\n').Except(expected.Split('\n')))}\nmessages:\n{string.Join("\n", sent.Select(s => s.Call + " " + s.Json.ToJsonString()))}");
    }

    // Found by the property: a batch's events that share an anonymous id but are routed by two customer ids (two
    // partitions) ran side by side, so the second customer's claim on the visitor's id sometimes won over the first's.
    // IOmnichannelClient.TrackBatchAsync: "Events that share an identifier are applied in the order given".
    [Fact]
    public async Task TwoUsersClaimingOneAnonymousId_InOneBatch_TheFirstGivenWins_AsOneAtATime()
    {
        var tag = $"tafact{Interlocked.Increment(ref _run)}";
        var batch = new JsonArray();
        for (var i = 0; i < 40; i++)
        {
            batch.Add(new JsonObject { ["type"] = "identify", ["userId"] = $"{tag}-u{i}", ["anonymousId"] = $"{tag}-a{i}", ["messageId"] = $"{tag}-m{i}a" });
            batch.Add(new JsonObject { ["type"] = "identify", ["userId"] = $"{tag}-v{i}", ["anonymousId"] = $"{tag}-a{i}", ["messageId"] = $"{tag}-m{i}b" });
        }

        var (status, body) = await server.PostAsync("batch", new JsonObject { ["batch"] = batch }.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(80, (int)body!["accepted"]!);
        var lost = new List<int>();
        for (var i = 0; i < 40; i++)
        {
            var p = await server.Client.GetProfileAsync(Identifier.AnonymousId($"{tag}-a{i}"));
            if (p is null || !p.Has(Identifier.CustomerId($"{tag}-u{i}")))
            {
                lost.Add(i);
            }
        }

        Assert.Empty(lost);
    }

    // Found by the property: a message's own sentAt was read in every ISO 8601 form the mapper reads (a space for T,
    // +0000), the batch's only in System.Text.Json's: the same clock error went uncorrected when the batch carried it.
    // Segment Spec, common fields (timestamps): "timestamp = receivedAt - (sentAt - originalTimestamp)", sentAt of the batch.
    [Theory]
    [InlineData("2026-06-01T11:00:00.000+0000")]
    [InlineData("2026-06-01 11:00:00.000Z")]
    [InlineData("2026-06-01t11:00:00z")]
    public async Task ABatchsSentAtInAnyFormAMessagesOwnMayHave_CorrectsTheClockAlike(string sentAt)
    {
        var tag = $"tasent{Interlocked.Increment(ref _run)}";
        server.Time.Advance(TimeSpan.FromMinutes(1));
        var receivedAt = server.Time.GetUtcNow();
        // The device's clock is an hour fast: its timestamp 10:59, sent at 11:00 by that clock, is a minute before arrival.
        var (status, body) = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","userId":"{{tag}}-own","event":"Signed Up","messageId":"{{tag}}-m1","timestamp":"2026-06-01T10:59:00.000Z","sentAt":"{{sentAt}}"},
                      {"type":"track","userId":"{{tag}}-batch","event":"Signed Up","messageId":"{{tag}}-m2","timestamp":"2026-06-01T10:59:00.000Z"}],
             "sentAt":"{{sentAt}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, (int)body!["accepted"]!);
        var own = await server.Client.GetProfileAsync(Identifier.CustomerId($"{tag}-own"));
        var batched = await server.Client.GetProfileAsync(Identifier.CustomerId($"{tag}-batch"));
        Assert.Equal(receivedAt.AddMinutes(-1), Assert.Single(own!.Timeline).Timestamp);
        Assert.Equal(receivedAt.AddMinutes(-1), Assert.Single(batched!.Timeline).Timestamp);
    }

    private static JsonObject WithType(Sent s)
    {
        var copy = s.Json.DeepClone().AsObject();
        copy["type"] ??= s.Call;
        return copy;
    }

    private static Sent Message(Random random, string tag, int i, string[] users, string[] anons, DateTimeOffset receivedAt)
    {
        var call = CallTypes[random.Next(CallTypes.Length)];
        var json = new JsonObject();
        string? badField = null;
        var userId = random.Next(3) == 0 ? null : users[random.Next(users.Length)];
        var anonymousId = random.Next(2) == 0 ? null : anons[random.Next(anons.Length)];
        if (call != "alias" && userId is null && anonymousId is null)
        {
            badField = "userId";
        }

        if (userId is not null)
        {
            json["userId"] = userId;
        }

        if (anonymousId is not null)
        {
            json["anonymousId"] = anonymousId;
        }

        var messageId = $"{tag}-m{i}";
        json["messageId"] = messageId;

        // Times: the true time of the event, a client clock off by a skew, a delay before sending.
        var trueTime = receivedAt - TimeSpan.FromSeconds(random.Next(1, 86_400)) - TimeSpan.FromTicks(random.Next(0, 10_000) * 1000);
        var skew = TimeSpan.FromSeconds(random.Next(-7200, 7200));
        var delay = TimeSpan.FromMilliseconds(random.Next(0, 5000));
        var clientTime = trueTime + skew;
        DateTimeOffset expectedTime;
        DateTimeOffset? correctable = null;
        switch (random.Next(5))
        {
            case 0: // nothing: receivedAt
                expectedTime = receivedAt;
                break;
            case 1: // a server library: timestamp, no sentAt → as it is (corrected by a batch's sentAt, if it has one)
                json["timestamp"] = Iso(trueTime, random.Next(6));
                expectedTime = Millis(trueTime, json["timestamp"]!);
                correctable = expectedTime;
                break;
            case 2: // analytics.js / mobile: timestamp + sentAt, no originalTimestamp → corrected
            {
                json["timestamp"] = Iso(clientTime, random.Next(6));
                json["sentAt"] = Iso(clientTime + delay, random.Next(6));
                expectedTime = receivedAt - (Millis(clientTime + delay, json["sentAt"]!) - Millis(clientTime, json["timestamp"]!));
                correctable = Millis(clientTime, json["timestamp"]!);
                break;
            }

            case 3: // originalTimestamp + sentAt → corrected
                json["originalTimestamp"] = Iso(clientTime, random.Next(6));
                json["sentAt"] = Iso(clientTime + delay, random.Next(6));
                expectedTime = receivedAt - (Millis(clientTime + delay, json["sentAt"]!) - Millis(clientTime, json["originalTimestamp"]!));
                correctable = Millis(clientTime, json["originalTimestamp"]!);
                break;
            default: // timestamp and originalTimestamp (a replay): timestamp as it is
                json["timestamp"] = Iso(trueTime, random.Next(6));
                json["originalTimestamp"] = Iso(clientTime, random.Next(6));
                json["sentAt"] = Iso(clientTime + delay, random.Next(6));
                expectedTime = Millis(trueTime, json["timestamp"]!);
                break;
        }

        var identifiers = new List<Identifier>();
        void AddId(string type, string? value)
        {
            if (value is not null && !identifiers.Contains(new Identifier(type, value)))
            {
                identifiers.Add(new Identifier(type, value));
            }
        }

        AddId(IdentifierTypes.CustomerId, userId);
        JsonObject properties = [];
        JsonElement traits = default;
        string type;
        EventContext? context = null;
        if (random.Next(3) == 0)
        {
            var ctx = new JsonObject();
            if (random.Next(2) == 0)
            {
                var locale = random.Next(2) == 0 ? "es-MX" : "de-DE";
                ctx["locale"] = locale;
                ctx["timezone"] = "Europe/Berlin";
                context = new EventContext { Locale = locale, TimeZone = "Europe/Berlin" };
            }

            if (random.Next(2) == 0)
            {
                // context.traits: an email that is an identifier when valid, left out when not (README).
                var valid = random.Next(2) == 0;
                ctx["traits"] = new JsonObject { ["email"] = valid ? $"{tag}-c{random.Next(2)}@example.com" : "not an email" };
            }

            json["context"] = ctx;
        }

        switch (call)
        {
            case "identify":
                type = "user.identified";
                var t = new JsonObject();
                for (var k = random.Next(0, 4); k > 0; k--)
                {
                    t[$"t{random.Next(4)}"] = TraitValues[random.Next(TraitValues.Length)]?.DeepClone();
                }

                if (random.Next(3) == 0)
                {
                    t["email"] = $"{tag}-e{random.Next(2)}@example.com";
                }

                if (t.Count > 0 || random.Next(2) == 0)
                {
                    json["traits"] = t;
                }

                if (t.Count == 0 && json["context"]?["traits"] is JsonObject ct)
                {
                    // RudderStack: an identify's traits in context.traits only (README / design notes).
                    t = ct.DeepClone().AsObject();
                }

                traits = JsonSerializer.SerializeToElement(t);
                break;
            case "track":
                var names = new[] { "Signed Up", "Video Played!", "Order Completed", "Product Viewed", "" };
                var name = names[random.Next(names.Length)];
                json["event"] = name;
                if (name == "Order Completed")
                {
                    properties["order_id"] = $"{tag}-o{random.Next(3)}";
                    properties["revenue"] = random.Next(1, 500) + 0.25;
                    properties["currency"] = "eur";
                }
                else if (name == "Product Viewed")
                {
                    properties["product_id"] = "p-" + random.Next(5);
                }
                else
                {
                    properties["plan"] = TraitValues[random.Next(TraitValues.Length)]?.DeepClone();
                }

                json["properties"] = properties.DeepClone();
                type = name switch
                {
                    "Signed Up" => "signed_up",
                    "Video Played!" => "video_played",
                    "Order Completed" => EventTypes.OrderPlaced,
                    "Product Viewed" => EventTypes.ProductViewed,
                    _ => "",
                };
                if (name == "Order Completed")
                {
                    properties["total"] = properties["revenue"]!.DeepClone();
                    properties["currency"] = "EUR";
                }

                if (name.Length == 0)
                {
                    badField ??= "event";
                }

                break;
            case "page":
            case "screen":
                type = call + ".viewed";
                json["name"] = "Cat towers";
                if (random.Next(2) == 0)
                {
                    json["properties"] = new JsonObject { ["path"] = "/towers", ["name"] = "own name" };
                    properties["path"] = "/towers";
                    properties["name"] = "own name";
                }
                else
                {
                    properties["name"] = "Cat towers";
                }

                break;
            case "alias":
                type = "user.aliased";
                var previous = anons[random.Next(anons.Length)];
                json["previousId"] = previous;
                if (userId is null)
                {
                    badField = "userId";
                }

                AddId(IdentifierTypes.AnonymousId, previous);
                break;
            default:
                type = "group.joined";
                var groupId = random.Next(4) == 0 ? null : "g-" + random.Next(3);
                if (groupId is null)
                {
                    badField ??= "groupId";
                }
                else
                {
                    json["groupId"] = groupId;
                }

                properties["group_id"] = groupId;
                if (random.Next(2) == 0)
                {
                    json["traits"] = new JsonObject { ["name"] = "Kitty Ltd", ["email"] = "info@kitty.example" };
                    properties["group_traits"] = json["traits"]!.DeepClone();
                }

                break;
        }

        AddId(IdentifierTypes.AnonymousId, anonymousId);
        if (json["context"]?["traits"]?["email"] is JsonValue ce && (string)ce! is var email && email.Contains('@'))
        {
            AddId(IdentifierTypes.Email, email);
        }

        if (call == "identify" && json["traits"]?["email"] is JsonValue te)
        {
            AddId(IdentifierTypes.Email, (string)te!);
        }

        properties["tracking_source"] = "website";
        var expected = badField is not null ? null : new CustomerEvent
        {
            Id = messageId,
            Type = type,
            Timestamp = expectedTime,
            Identifiers = identifiers,
            Channel = ChannelNames.Web,
            Context = context,
            Properties = JsonSerializer.SerializeToElement(properties),
            Traits = traits,
        };
        return new Sent(json, call, expected, badField, correctable);
    }

    // The instant a formatted time names (the forms above keep at least milliseconds; form 4 and 0, 3 keep exactly ms).
    private static DateTimeOffset Millis(DateTimeOffset t, JsonNode formatted) =>
        DateTimeOffset.Parse(((string)formatted!).Replace("+0000", "+00:00", StringComparison.Ordinal), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>What the public API shows of every profile the pools name, in a comparable text.</summary>
    private static async Task<string> SnapshotAsync(IOmnichannelClient client, string[] users, string[] anons)
    {
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var id in users.Select(Identifier.CustomerId).Concat(anons.Select(Identifier.AnonymousId)))
        {
            var p = await client.GetProfileAsync(id);
            if (p is null)
            {
                lines.Add($"{id}: none");
                continue;
            }

            var ids = string.Join(",", p.Identifiers.Select(x => $"{x.Type}={x.Value}").Order(StringComparer.Ordinal));
            var timeline = string.Join(",", p.Timeline.Select(e => $"{e.EventId}/{e.Type}/{e.Channel}/{e.Timestamp.UtcTicks}/{e.Summary}").Order(StringComparer.Ordinal));
            lines.Add($"{id}: ids[{ids}] traits{p.Traits.ToJsonString()} timeline[{timeline}] locale={p.Locale} tz={p.TimeZone} orders={p.Statistics.OrderCount} spent={p.Statistics.TotalSpent}");
        }

        return string.Join("\n", lines);
    }
}
