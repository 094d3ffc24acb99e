namespace Omnichannel.Sdk.Sqlite;

/// <summary>
/// The SQLite store cannot use its database: the file is not SQLite or is corrupt, belongs to another application,
/// has a newer schema than this version of the SDK knows, or cannot be opened or written. Raised at start-up, when the
/// store opens; the message names the file and says what to do. Retrying does not help until the cause is fixed.
/// </summary>
public sealed class SqliteStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="filePath">The database file.</param>
    /// <param name="innerException">The SQLite error behind it, if any.</param>
    public SqliteStoreException(string message, string filePath, Exception? innerException = null)
        : base(message, innerException) => FilePath = filePath;

    /// <summary>The database file concerned (full path).</summary>
    public string FilePath { get; }
}
