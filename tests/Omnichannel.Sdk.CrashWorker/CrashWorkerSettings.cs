namespace Omnichannel.Sdk.CrashWorker;

/// <summary>The durable store a crash run uses.</summary>
public enum CrashStore
{
    /// <summary>Omnichannel.Sdk.Sqlite.</summary>
    Sqlite,

    /// <summary>Omnichannel.Sdk.PostgreSql.</summary>
    PostgreSql,
}

/// <summary>The worker's command line.</summary>
/// <param name="Store">The store.</param>
/// <param name="ConnectionString">Its connection string.</param>
/// <param name="EventsFile">The input: one JSON <see cref="CustomerEvent"/> a line.</param>
/// <param name="AcksFile">Where acknowledged event ids and message keys are appended, one a line.</param>
/// <param name="SentFile">The recording transport's file.</param>
/// <param name="From">Events before this line of the input are left alone (not sent, not checked).</param>
public sealed record CrashWorkerSettings(CrashStore Store, string ConnectionString, string EventsFile, string AcksFile, string SentFile, int From = 0)
{
    /// <summary>How to call the worker.</summary>
    public const string Usage =
        "usage: Omnichannel.Sdk.CrashWorker --store sqlite|postgres --connection <cs> --events <input.jsonl> --acks <acks file> --sent <recording file> [--from N]";

    /// <summary>The command line of this run, for a test to start the worker with.</summary>
    public IReadOnlyList<string> ToArguments() =>
    [
        "--store", Store == CrashStore.Sqlite ? "sqlite" : "postgres",
        "--connection", ConnectionString,
        "--events", EventsFile,
        "--acks", AcksFile,
        "--sent", SentFile,
        "--from", From.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ];

    /// <summary>Reads the command line; <see langword="null"/> when it is incomplete or wrong.</summary>
    /// <param name="args">The arguments.</param>
    public static CrashWorkerSettings? Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (args.Count % 2 != 0)
        {
            return null;
        }

        CrashStore? store = values.GetValueOrDefault("store") switch
        {
            "sqlite" => CrashStore.Sqlite,
            "postgres" => CrashStore.PostgreSql,
            _ => null,
        };
        var from = 0;
        if (store is null
            || values.GetValueOrDefault("connection") is not { Length: > 0 } connection
            || values.GetValueOrDefault("events") is not { Length: > 0 } events
            || values.GetValueOrDefault("acks") is not { Length: > 0 } acks
            || values.GetValueOrDefault("sent") is not { Length: > 0 } sent
            || (values.TryGetValue("from", out var f) && (!int.TryParse(f, System.Globalization.CultureInfo.InvariantCulture, out from) || from < 0)))
        {
            return null;
        }

        return new CrashWorkerSettings(store.Value, connection, events, acks, sent, from);
    }
}
