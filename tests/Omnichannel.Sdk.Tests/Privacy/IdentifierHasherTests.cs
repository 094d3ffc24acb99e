using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Privacy;

namespace Omnichannel.Sdk.Tests.Privacy;

/// <summary>
/// Stored suppression entries and erasure tombstones are keyed hashes: a hash that changed between versions would let an
/// erased person's events back in. These pin the definition, hex(HMAC-SHA256(key, UTF-8 of "type:value")) (RFC 2104),
/// with vectors computed outside .NET (Python's hmac module).
/// </summary>
public sealed class IdentifierHasherTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("k3y");

    [Fact]
    public void Hashes_MatchVectorsComputedElsewhere()
    {
        var hasher = new IdentifierHasher(Key, []);
        Assert.Equal("3bf70e9d3e04a416a6120b2ac99b75543f8b1f6c4635b14b51cebc91dd8d9abf", hasher.Hash(Identifier.Email("ann@x.io")));
        Assert.Equal("69d299ff71c9b7d1e8eaf68793c4fee99c6f07ad7d7bad51b09a2f1a5f15912d", hasher.EventHash("ev-1"));

        // Longer than the stack buffer: the rented path gives the same answer.
        Assert.Equal("aa6fff2a1e7245029e5a18fd1b8591c61ae8cbe0b1a6e62c72ea553f8a3092a1", hasher.Hash(new Identifier("email", new string('é', 400) + "@x.io")));
    }

    [Fact]
    public void AllHashes_PutTheCurrentKeyFirst_ThenThePreviousOnes()
    {
        var previous = Encoding.UTF8.GetBytes("old-key");
        var hasher = new IdentifierHasher(Key, [previous]);
        var id = Identifier.Email("ann@x.io");

        Assert.Equal([Reference(Key, "email:ann@x.io"), Reference(previous, "email:ann@x.io")], hasher.AllHashes(id));
        Assert.Equal([Reference(Key, "\0event\0ev-1"), Reference(previous, "\0event\0ev-1")], hasher.AllEventHashes("ev-1"));
    }

    [Property(MaxTest = 300)]
    public void Hash_IsTheKeyedHashOfTypeColonValue_ForEveryText(NonNull<string> type, NonNull<string> value, bool longValue)
    {
        // Lone surrogates become U+FFFD in UTF-8 either way; long values take the rented buffer.
        var text = longValue ? value.Get + new string('x', 700) : value.Get;
        var hasher = new IdentifierHasher(Key, []);
        Assert.Equal(Reference(Key, type.Get + ":" + text), hasher.Hash(new Identifier(type.Get, text)));
        Assert.Equal(Reference(Key, "\0event\0" + text), hasher.EventHash(text));
    }

    [Property(MaxTest = 100)]
    public Property MessageSize_IsCountedAsTheSerializedMessageWouldBe() =>
        Prop.ForAll(Gen.Elements("Hello", "Ünïcödé ✉", "<b>\"quoted\"</b>", new string('a', 5000)).ToArbitrary(), text =>
        {
            var message = new EmailMessage { MessageId = "m-1", From = "shop@example.com", To = "ann@example.com", Subject = text, TextBody = text + text };
            var size = JsonSerializer.SerializeToUtf8Bytes(message, message.GetType()).Length;
            var limits = new DeliveryOptions { MaxMessageBytes = size };
            Assert.Null(DeliveryFaults.TooLarge(message, limits)); // exactly at the limit: allowed
            Assert.Contains($"is {size} bytes", DeliveryFaults.TooLarge(message, new DeliveryOptions { MaxMessageBytes = size - 1 }));
        });

    private static string Reference(byte[] key, string text) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text)));
}
