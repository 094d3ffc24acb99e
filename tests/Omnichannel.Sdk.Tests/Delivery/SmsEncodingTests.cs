using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Delivery;

public sealed class SmsEncodingTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(160, 1)]
    [InlineData(161, 2)]
    [InlineData(306, 2)]
    [InlineData(307, 3)]
    [InlineData(459, 3)]
    [InlineData(460, 4)]
    public void Analyze_WhenTextIsPlainGsm7_Counts160ThenSplitsBy153(int length, int segments)
    {
        var info = SmsEncoding.Analyze(new string('a', length));

        Assert.Equal(SmsAlphabet.Gsm7, info.Alphabet);
        Assert.Equal(length, info.Length);
        Assert.Equal(segments, info.SegmentCount);
        Assert.Equal(segments == 1 ? 160 : 153, info.UnitsPerSegment);
    }

    [Theory]
    [InlineData('€')]
    [InlineData('[')]
    [InlineData(']')]
    [InlineData('{')]
    [InlineData('}')]
    [InlineData('~')]
    [InlineData('|')]
    [InlineData('^')]
    [InlineData('\\')]
    [InlineData('\f')]
    public void Analyze_WhenTextHasAnExtensionCharacter_StaysGsm7AndCountsItTwice(char extension)
    {
        var info = SmsEncoding.Analyze("Price 5" + extension);

        Assert.Equal(SmsAlphabet.Gsm7, info.Alphabet);
        Assert.Equal(9, info.Length);
        Assert.True(SmsEncoding.IsGsm7Extension(extension));
    }

    [Fact]
    public void Analyze_WhenExtensionCharacterPushesPast160_SplitsIntoTwo()
    {
        Assert.Equal(1, SmsEncoding.CountSegments(new string('a', 158) + "€"));
        Assert.Equal(2, SmsEncoding.CountSegments(new string('a', 159) + "€"));
    }

    [Fact]
    public void Analyze_WhenEscapeSequenceWouldStraddleAPartBoundary_MovesItToTheNextPart()
    {
        // 152 septets + € (2) + 152 septets = 306 septets, which divides into 2 parts of 153 only by splitting the €.
        var text = new string('a', 152) + "€" + new string('a', 152);

        var info = SmsEncoding.Analyze(text);

        Assert.Equal(306, info.Length);
        Assert.Equal(3, info.SegmentCount);
    }

    [Theory]
    [InlineData("Grüße aus Köln")] // ü, ö are GSM-7; ß too
    [InlineData("Ça va? ¿Qué tal? ¡Olé! ñÑ")]
    [InlineData("Line\nbreak and @£$¥ΔΦΓΛΩΠΨΣΘΞ")]
    public void IsGsm7_WhenTextUsesOnlyTheGsmAlphabet_IsTrue(string text) => Assert.True(SmsEncoding.IsGsm7(text));

    [Theory]
    [InlineData("Olá, ação")] // á, ã, ç (lower-case ç is not GSM-7)
    [InlineData("Hi 😀")]
    [InlineData("Привет")]
    [InlineData("smart “quotes”")]
    public void Analyze_WhenOneCharacterIsNotGsm7_UsesUcs2(string text)
    {
        var info = SmsEncoding.Analyze(text);

        Assert.False(SmsEncoding.IsGsm7(text));
        Assert.Equal(SmsAlphabet.Ucs2, info.Alphabet);
        Assert.Equal(text.Length, info.Length);
    }

    [Theory]
    [InlineData(70, 1)]
    [InlineData(71, 2)]
    [InlineData(134, 2)]
    [InlineData(135, 3)]
    public void Analyze_WhenTextIsUcs2_Counts70ThenSplitsBy67(int length, int segments)
    {
        var info = SmsEncoding.Analyze(new string('ж', length));

        Assert.Equal(SmsAlphabet.Ucs2, info.Alphabet);
        Assert.Equal(segments, info.SegmentCount);
        Assert.Equal(segments == 1 ? 70 : 67, info.UnitsPerSegment);
    }

    [Fact]
    public void Analyze_WhenEmojiAreCounted_EachCostsTwoCodeUnits()
    {
        var thirtyFive = string.Concat(Enumerable.Repeat("😀", 35));

        Assert.Equal(70, SmsEncoding.Analyze(thirtyFive).Length);
        Assert.Equal(1, SmsEncoding.CountSegments(thirtyFive));
        Assert.Equal(2, SmsEncoding.CountSegments(thirtyFive + "a"));
    }

    [Fact]
    public void Analyze_WhenSurrogatePairWouldStraddleAPartBoundary_MovesItToTheNextPart()
    {
        // 66 units + emoji (2) + 66 units = 134 units, which fits 2 parts of 67 only by splitting the emoji.
        var text = new string('ж', 66) + "😀" + new string('ж', 66);

        var info = SmsEncoding.Analyze(text);

        Assert.Equal(134, info.Length);
        Assert.Equal(3, info.SegmentCount);
    }

    [Fact]
    public void SmsMessage_ExposesEncodingAndSegmentCountOfItsBody()
    {
        var plain = new SmsMessage { MessageId = "m1", To = "+15550100", Body = new string('a', 161) };
        var emoji = new SmsMessage { MessageId = "m2", To = "+15550100", Body = "Your order shipped 📦" };

        Assert.Equal(SmsAlphabet.Gsm7, plain.Encoding);
        Assert.Equal(2, plain.SegmentCount);
        Assert.Equal(SmsAlphabet.Ucs2, emoji.Encoding);
        Assert.Equal(1, emoji.SegmentCount);
    }
}
