using System.Text;

namespace Omnichannel.Sdk.Privacy;

/// <summary>
/// An exception as the engine's logs may show it: the original's type, its message and its inner exceptions' messages run
/// through <see cref="PersonalDataScrubber"/>, and its stack trace. A store or transport may put the value it refused in
/// its message (PostgreSQL's <c>Key (value)=(ann@…) already exists</c>, a <see cref="FormatException"/> quoting its
/// input); logging the exception itself would write that address into every log sink.
/// </summary>
internal sealed class ScrubbedException : Exception
{
    private readonly string _type;
    private readonly string? _stackTrace;

    private ScrubbedException(Exception original)
        : base(PersonalDataScrubber.Scrub(original.Message), original.InnerException is { } inner ? new ScrubbedException(inner) : null)
    {
        _type = original.GetType().FullName ?? original.GetType().Name;
        _stackTrace = original.StackTrace;
        HResult = original.HResult;
    }

    /// <summary>The original exception's type name (what a reader looks for first).</summary>
    public string OriginalType => _type;

    /// <inheritdoc />
    public override string? StackTrace => _stackTrace;

    /// <summary>The exception to hand a logger in place of <paramref name="exception"/>.</summary>
    public static Exception Of(Exception exception) => exception as ScrubbedException ?? new ScrubbedException(exception);

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder(_type).Append(": ").Append(Message);
        if (InnerException is not null)
        {
            text.Append(" ---> ").Append(InnerException).AppendLine().Append("   --- End of inner exception stack trace ---");
        }

        if (_stackTrace is not null)
        {
            text.AppendLine().Append(_stackTrace);
        }

        return text.ToString();
    }
}
