using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.Jira;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.UnitTests.Plugins.Jira;

public sealed class JiraSettingsTests
{
    [Fact]
    public void Unset_settings_are_valid_and_not_configured()
    {
        using var services = Services([]);
        var plugin = services.GetRequiredService<JiraPlugin>();

        Assert.False(plugin.IsConfigured);
        Assert.Empty(plugin.Validate(new Dictionary<string, string?>()));
        Assert.Equal("task_management", plugin.Type);
        Assert.Equal("jira", plugin.Name);
    }

    [Fact]
    public void Malformed_values_are_filed_under_their_variable()
    {
        using var services = Services([]);
        var plugin = services.GetRequiredService<JiraPlugin>();

        var errors = plugin.Validate(new Dictionary<string, string?>
        {
            ["JIRA_URL"] = "acme.atlassian.net",
            ["JIRA_EMAIL"] = "not-an-email",
            ["JIRA_RATE_LIMIT_REQUESTS_PER_SECOND"] = "-1",
            ["JIRA_POLL_INTERVAL_SECONDS"] = "5",
        });

        Assert.Equal(["JIRA_EMAIL", "JIRA_POLL_INTERVAL_SECONDS", "JIRA_RATE_LIMIT_REQUESTS_PER_SECOND", "JIRA_URL"], errors.Keys.Order());
        Assert.StartsWith("JIRA_URL must be", errors["JIRA_URL"], StringComparison.Ordinal);
        Assert.StartsWith("JIRA_POLL_INTERVAL_SECONDS must be 0", errors["JIRA_POLL_INTERVAL_SECONDS"], StringComparison.Ordinal);
        Assert.Contains("JIRA_URL must be the site's base URL", plugin.Validate(new Dictionary<string, string?> { ["JIRA_URL"] = "https://user:pw@acme.atlassian.net" })["JIRA_URL"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("10")]
    [InlineData("3600")]
    [InlineData("")]
    public void Poll_interval_may_be_zero_or_at_least_ten(string seconds)
    {
        using var services = Services([]);

        Assert.Empty(services.GetRequiredService<JiraPlugin>().Validate(new Dictionary<string, string?>
        {
            ["JIRA_URL"] = "https://acme.atlassian.net",
            ["JIRA_EMAIL"] = "bot@acme.test",
            ["JIRA_API_TOKEN"] = "t",
            ["JIRA_POLL_INTERVAL_SECONDS"] = seconds,
        }));
    }

    [Fact]
    public void Settings_list_every_variable_with_secrets_and_required_ones_marked()
    {
        using var services = Services([]);
        var settings = services.GetRequiredService<JiraPlugin>().Settings;

        Assert.Equal(15, settings.Count);
        Assert.Equal(["JIRA_API_TOKEN", "JIRA_EMAIL", "JIRA_URL"], settings.Where(s => s.Required).Select(s => s.Key).Order());
        Assert.Equal(["JIRA_API_TOKEN", "JIRA_WEBHOOK_SECRET"], settings.Where(s => s.Secret).Select(s => s.Key).Order());
        Assert.Equal("300", settings.Single(s => s.Key == "JIRA_POLL_INTERVAL_SECONDS").Default);
        Assert.Equal("ai-dev", settings.Single(s => s.Key == "JIRA_INTAKE_LABEL").Default);
    }

    [Fact]
    public void Intake_JQL_quotes_and_escapes_keys_label_and_status()
    {
        using var services = Services(new()
        {
            ["JIRA_INTAKE_LABEL"] = "ai\"dev\\x",
            ["JIRA_INTAKE_STATUS"] = "Ready for \"AI\"",
        });
        var plugin = services.GetRequiredService<JiraPlugin>();

        Assert.Equal(
            """project in ("PROJ", "OPS", "A\"B") AND labels = "ai\"dev\\x" AND status = "Ready for \"AI\"" """.TrimEnd(),
            plugin.BuildIntakeJql(["PROJ", "OPS", " ", "proj", "A\"B"]));
        Assert.Equal("""labels = "ai\"dev\\x" AND status = "Ready for \"AI\"" """.TrimEnd(), plugin.BuildIntakeJql([]));
    }

    [Fact]
    public void Intake_JQL_defaults_and_the_override()
    {
        using var defaults = Services([]);
        using var custom = Services(new() { ["JIRA_POLL_JQL"] = "  filter = 10042  " });

        Assert.Equal("""project in ("PROJ") AND labels = "ai-dev" AND status = "To Do" """.TrimEnd(), defaults.GetRequiredService<JiraPlugin>().BuildIntakeJql(["PROJ"]));
        Assert.Equal("filter = 10042", custom.GetRequiredService<JiraPlugin>().BuildIntakeJql(["PROJ"]));
    }

    [Fact]
    public void Status_and_issue_type_mapping_with_blank_values_falling_back_to_defaults()
    {
        var settings = new JiraSettings { StatusInReview = "Code Review", StatusDone = " ", IssueTypeEpic = "Initiative" };

        Assert.Equal("To Do", settings.StatusName(TrackerStatuses.Todo));
        Assert.Equal("In Progress", settings.StatusName("IN_PROGRESS"));
        Assert.Equal("Code Review", settings.StatusName(TrackerStatuses.InReview));
        Assert.Equal("Done", settings.StatusName(TrackerStatuses.Done));
        Assert.Equal("Blocked", settings.StatusName("Blocked"));
        Assert.Equal("Initiative", settings.IssueTypeName("epic"));
        Assert.Equal("Task", settings.IssueTypeName("task"));
        Assert.Equal("Task", settings.IssueTypeName(null));
        Assert.Equal(TimeSpan.FromSeconds(300), settings.PollInterval);
        Assert.Null(new JiraSettings { PollIntervalSeconds = 0 }.PollInterval);
    }

    [Fact]
    public void AddJira_twice_registers_one_plugin_under_all_three_services()
    {
        var collection = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddLogging();
        collection.AddJira();
        collection.AddJira();
        using var services = collection.BuildServiceProvider();

        var plugin = services.GetRequiredService<JiraPlugin>();
        Assert.Same(plugin, Assert.Single(services.GetServices<IPlugin>()));
        Assert.Same(plugin, Assert.Single(services.GetServices<ITaskManagementPlugin>()));
        Assert.Single(collection, d => d.ServiceType == typeof(JiraPlugin));
    }

    [Fact]
    public void Invalid_settings_make_the_plugin_unconfigured_and_its_calls_fail_with_the_variable_named()
    {
        using var services = Services(new()
        {
            ["JIRA_URL"] = "ftp://acme",
            ["JIRA_EMAIL"] = "bot@acme.test",
            ["JIRA_API_TOKEN"] = "t",
        });
        var plugin = services.GetRequiredService<JiraPlugin>();

        Assert.False(plugin.IsConfigured);
        var error = Assert.Throws<PluginException>(() => plugin.GetIssueAsync("PROJ-1", TestContext.Current.CancellationToken).GetAwaiter().GetResult());
        Assert.Contains("JIRA_URL must be", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Services(Dictionary<string, string?> values) =>
        new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build())
            .AddLogging()
            .AddJira()
            .BuildServiceProvider();
}
