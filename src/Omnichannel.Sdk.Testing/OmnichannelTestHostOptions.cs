namespace Omnichannel.Sdk.Testing;

/// <summary>What <see cref="OmnichannelTestHost.Create(Action{Microsoft.Extensions.DependencyInjection.IServiceCollection}, OmnichannelTestHostOptions?)"/> replaces in the application's registration.</summary>
public sealed class OmnichannelTestHostOptions
{
    /// <summary>
    /// Start of the fake clock; <see cref="OmnichannelTestHost.DefaultStart"/> (2026-01-05 09:00 UTC) when <see langword="null"/>.
    /// An instant written with an offset (<c>22:30+02:00</c>) is the same instant: the clock answers it in UTC (20:30+00:00),
    /// as the system clock's <c>GetUtcNow</c> does.
    /// </summary>
    public DateTimeOffset? Start { get; set; }

    /// <summary>
    /// Keep the registered store (default <see langword="false"/>: a fresh in-memory store, so a test never touches the
    /// application's SQLite file or database).
    /// </summary>
    public bool KeepStore { get; set; }

    /// <summary>
    /// Replace every transport with a recorder, and add one for every message channel the application did not register
    /// (default <see langword="true"/>): nothing leaves the test, and <see cref="OmnichannelTestHost.Sent"/> shows it all.
    /// When <see langword="false"/>, the registered transports send for real and <see cref="OmnichannelTestHost.Sent"/>
    /// throws (it would record nothing).
    /// </summary>
    public bool RecordTransports { get; set; } = true;

    /// <summary>
    /// Replace the application's templates with a <see cref="StubMessageRenderer"/> (default <see langword="false"/>):
    /// each message then carries its template id as its text, for tests about who gets what and when, not about wording.
    /// The templates are then never loaded, so the checks that stop the application's start (a template that does not
    /// parse, a journey naming a template the source lacks, email templates without <c>Delivery.EmailFrom</c>) do not run:
    /// keep at least one test that creates the host without it.
    /// </summary>
    public bool StubTemplates { get; set; }
}
