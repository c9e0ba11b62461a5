namespace DevOrchestrator.Data;

/// <summary>The database of <c>DATABASE_URL</c> cannot be used; the message is one line naming the variable and the host.</summary>
public sealed class DatabaseUnreachableException(string message) : Exception(message);
