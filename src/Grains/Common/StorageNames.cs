namespace RootCause.Common;

/// <summary>Names of the Orleans providers RootCause configures.</summary>
public static class StorageNames
{
    /// <summary>The ADO.NET grain storage on PostgreSQL that holds every grain's state.</summary>
    public const string Default = "rootcause";
}
