using DevOrchestrator.Cli;
using DevOrchestrator.Data;

namespace DevOrchestrator.UnitTests.Operations;

public sealed class OperationsCommandsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8000", "http://127.0.0.1:8000/health")]
    [InlineData("http://api:8000/", "http://api:8000/health")]
    [InlineData("https://devorch.example.com/health/ready", "https://devorch.example.com/health/ready")]
    [InlineData("http://[::1]:9000/api/v1/health", "http://[::1]:9000/api/v1/health")]
    public void A_base_url_gets_health_and_a_url_with_a_path_is_kept(string given, string expected)
    {
        Assert.True(OperationsCommands.TryHealthUrl(given, out var url));
        Assert.Equal(expected, url.ToString());
    }

    [Theory]
    [InlineData("ftp://example.com")]
    [InlineData("localhost:8000")]
    [InlineData("not a url")]
    public void Anything_but_an_http_url_is_refused(string given) => Assert.False(OperationsCommands.TryHealthUrl(given, out _));

    [Fact]
    public void The_postgres_description_names_host_database_and_user_but_never_the_password()
    {
        var settings = new DatabaseOptions { DatabaseUrl = "postgresql://devorch:s3cr%40t-pw@db.internal:6543/orchestrator?sslmode=require" };
        var description = DatabaseBackup.Describe(settings);
        Assert.Equal("postgresql db.internal:6543/orchestrator (user devorch)", description);
        Assert.DoesNotContain("s3cr", description, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_backup_names_carry_the_utc_time_and_the_kind()
    {
        var at = new DateTimeOffset(2026, 12, 7, 1, 2, 3, TimeSpan.FromHours(2));
        Assert.Equal("devorch-20261206T230203Z.dump", DatabaseBackup.DefaultFileName(new DatabaseOptions { DatabaseUrl = "postgres://u@h/d" }, at));
        Assert.Equal("devorch-20261206T230203Z.sqlite", DatabaseBackup.DefaultFileName(new DatabaseOptions(), at));
    }
}
