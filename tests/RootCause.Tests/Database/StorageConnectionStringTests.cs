using Npgsql;
using RootCause.Hosting;

namespace RootCause.Tests.Database;

public sealed class StorageConnectionStringTests
{
    [Fact]
    public void AddsAutoPrepareAndNoResetWhenTheConnectionStringDoesNotSetThem()
    {
        var built = new NpgsqlConnectionStringBuilder(
            PersistenceRegistration.StorageConnectionString("Host=db;Database=rootcause;Username=app;Password=secret"));

        Assert.Equal(PersistenceRegistration.StorageMaxAutoPrepare, built.MaxAutoPrepare);
        Assert.True(built.NoResetOnClose);
        Assert.Equal("db", built.Host);
        Assert.Equal("rootcause", built.Database);
        Assert.Equal("app", built.Username);
        Assert.Equal("secret", built.Password);
    }

    [Theory]
    [InlineData("Host=db;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;maxautoprepare=0;NoResetOnClose=false")]
    public void KeepsWhatTheOperatorSetUnderAnySpelling(string connectionString)
    {
        var built = new NpgsqlConnectionStringBuilder(PersistenceRegistration.StorageConnectionString(connectionString));

        Assert.Equal(0, built.MaxAutoPrepare);
        Assert.False(built.NoResetOnClose);
    }

    [Fact]
    public void TheStreamPlansEveryStatementAfreshUnlessTheOperatorSaysOtherwise()
    {
        var plain = new NpgsqlConnectionStringBuilder(PersistenceRegistration.StreamConnectionString("Host=db;Max Auto Prepare=0"));
        var operatorOptions = new NpgsqlConnectionStringBuilder(
            PersistenceRegistration.StreamConnectionString("Host=db;Options=-c plan_cache_mode=auto -c statement_timeout=5000"));

        Assert.Equal(PersistenceRegistration.CustomPlans, plain.Options);
        Assert.Equal(0, plain.MaxAutoPrepare);
        Assert.True(plain.NoResetOnClose);
        // PostgreSQL applies the options in order, so what the operator wrote comes last and wins.
        Assert.Equal(PersistenceRegistration.CustomPlans + " -c plan_cache_mode=auto -c statement_timeout=5000", operatorOptions.Options);
    }
}
