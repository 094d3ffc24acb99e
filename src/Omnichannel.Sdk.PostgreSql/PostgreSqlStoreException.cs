namespace Omnichannel.Sdk.PostgreSql;

/// <summary>
/// The PostgreSQL store cannot use its database: the server is unreachable, the connection string or credentials are
/// wrong, or the schema is newer than this version of the SDK knows. Raised when the store opens; the message says
/// what to do. Retrying does not help until the cause is fixed.
/// </summary>
public sealed class PostgreSqlStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The Npgsql error behind it, if any.</param>
    public PostgreSqlStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
