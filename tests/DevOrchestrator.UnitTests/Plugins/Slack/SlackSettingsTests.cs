using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.Slack;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Plugins.Slack;

public sealed class SlackSettingsTests
{
    private const string Token = "xoxb-fake-slack-bot-token";

    [Fact]
    public void The_plugin_lists_every_setting_with_secrets_marked()
    {
        using var provider = Provider(new Dictionary<string, string?>());
        var plugin = provider.GetRequiredService<SlackPlugin>();

        Assert.Equal(
            ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "SLACK_RATE_LIMIT_REQUESTS_PER_SECOND", "SLACK_COMMAND"],
            plugin.Settings.Select(s => s.Key));
        Assert.Equal(["SLACK_BOT_TOKEN"], plugin.Settings.Where(s => s.Required).Select(s => s.Key));
        Assert.Equal(["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"], plugin.Settings.Where(s => s.Secret).Select(s => s.Key));
        Assert.Equal("https://slack.com/api/", plugin.Settings.Single(s => s.Key == "SLACK_API_URL").Default);
        Assert.Equal("/devorch", plugin.Settings.Single(s => s.Key == "SLACK_COMMAND").Default);
        Assert.Equal((PluginTypes.Communication, "slack"), (plugin.Type, plugin.Name));
    }

    [Fact]
    public void Unset_is_valid_and_not_configured()
    {
        using var provider = Provider(new Dictionary<string, string?>());
        var plugin = provider.GetRequiredService<SlackPlugin>();
        var settings = provider.GetRequiredService<IOptionsMonitor<SlackSettings>>().CurrentValue;

        Assert.False(plugin.IsConfigured);
        Assert.Empty(plugin.Validate(new Dictionary<string, string?>()));
        Assert.Equal(new Uri("https://slack.com/api/"), settings.ApiBaseUri);
        Assert.Equal("/devorch", settings.EffectiveCommand);
        Assert.Null(settings.RateLimitRequestsPerSecond);
    }

    [Fact]
    public void Everything_set_binds_from_the_variable_names()
    {
        using var provider = Provider(new Dictionary<string, string?>
        {
            ["SLACK_BOT_TOKEN"] = Token,
            ["SLACK_SIGNING_SECRET"] = "fake-signing-secret",
            ["SLACK_APP_TOKEN"] = "xapp-fake-app-token",
            ["SLACK_API_URL"] = "https://slack.internal.example/api",
            ["SLACK_RATE_LIMIT_REQUESTS_PER_SECOND"] = "0.5",
            ["SLACK_COMMAND"] = "/dev",
        });
        var settings = provider.GetRequiredService<IOptionsMonitor<SlackSettings>>().CurrentValue;

        Assert.True(provider.GetRequiredService<SlackPlugin>().IsConfigured);
        Assert.Equal(Token, settings.BotToken);
        Assert.Equal("fake-signing-secret", settings.SigningSecret);
        Assert.Equal("xapp-fake-app-token", settings.AppToken);
        Assert.Equal(new Uri("https://slack.internal.example/api/"), settings.ApiBaseUri);
        Assert.Equal(0.5, settings.RateLimitRequestsPerSecond);
        Assert.Equal("/dev", settings.EffectiveCommand);
    }

    [Theory]
    [InlineData("SLACK_BOT_TOKEN", "xoxp-a-user-token")]
    [InlineData("SLACK_BOT_TOKEN", "xoxb- with spaces")]
    [InlineData("SLACK_BOT_TOKEN", "xoxb-")]
    [InlineData("SLACK_APP_TOKEN", "xoxb-not-an-app-token")]
    [InlineData("SLACK_SIGNING_SECRET", "has a space")]
    [InlineData("SLACK_API_URL", "slack.com/api")]
    [InlineData("SLACK_API_URL", "ftp://slack.com/api/")]
    [InlineData("SLACK_RATE_LIMIT_REQUESTS_PER_SECOND", "0")]
    [InlineData("SLACK_RATE_LIMIT_REQUESTS_PER_SECOND", "-1")]
    [InlineData("SLACK_COMMAND", "devorch")]
    [InlineData("SLACK_COMMAND", "/dev orch")]
    public void A_malformed_value_is_reported_under_its_variable_without_echoing_secrets(string key, string value)
    {
        using var provider = Provider(new Dictionary<string, string?>());
        var plugin = provider.GetRequiredService<SlackPlugin>();

        var errors = plugin.Validate(new Dictionary<string, string?> { ["SLACK_BOT_TOKEN"] = Token, [key] = value });

        var (errorKey, message) = Assert.Single(errors);
        Assert.Equal(key, errorKey);
        Assert.StartsWith(key + " must be", message, StringComparison.Ordinal);
        // (A bare "xoxb-" is the documented prefix, which the message names.)
        if (plugin.Settings.Single(s => s.Key == key).Secret && value != "xoxb-")
        {
            Assert.DoesNotContain(value, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_rate_that_is_not_a_number_is_a_binding_error()
    {
        using var provider = Provider(new Dictionary<string, string?>());

        var errors = provider.GetRequiredService<SlackPlugin>().Validate(new Dictionary<string, string?> { ["SLACK_RATE_LIMIT_REQUESTS_PER_SECOND"] = "fast" });

        Assert.True(errors.ContainsKey("config"));
    }

    [Fact]
    public void Invalid_settings_fail_at_start_naming_the_variable()
    {
        using var provider = Provider(new Dictionary<string, string?> { ["SLACK_API_URL"] = "not a url" });

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<SlackSettings>>().CurrentValue);

        Assert.StartsWith("SLACK_API_URL must be", Assert.Single(ex.Failures), StringComparison.Ordinal);
        Assert.False(provider.GetRequiredService<SlackPlugin>().IsConfigured);
    }

    [Theory]
    [InlineData("https://hooks.slack.com/commands/T1/2/abc", true)]
    [InlineData("https://HOOKS.slack.com/actions/T1/2/abc", true)]
    [InlineData("https://slack.com/commands/T1/2/abc", true)]
    [InlineData("http://hooks.slack.com/commands/T1/2/abc", false)]
    [InlineData("https://hooks.slack.com:8443/commands/T1/2/abc", false)]
    [InlineData("https://hooks.slack.com.example.net/commands", false)]
    [InlineData("https://example.net/?u=https://hooks.slack.com/", false)]
    [InlineData("https://a:b@hooks.slack.com/commands", false)]
    [InlineData("http://slack.com/commands/T1/2/abc", false)]
    public void Only_slack_hosts_and_the_api_host_take_response_urls(string url, bool allowed)
    {
        Assert.Equal(allowed, SlackPlugin.IsAllowedResponseUrl(new Uri(url), new Uri("https://slack.com/api/")));
    }

    [Theory]
    [InlineData("channel_not_found", 404)]
    [InlineData("message_not_found", 404)]
    [InlineData("thread_not_found", 404)]
    [InlineData("invalid_auth", 401)]
    [InlineData("not_authed", 401)]
    [InlineData("not_in_channel", 403)]
    [InlineData("missing_scope", 403)]
    [InlineData("ratelimited", 429)]
    [InlineData("no_text", 400)]
    [InlineData("invalid_arguments", 400)]
    public void Slack_error_codes_map_to_statuses(string error, int status)
    {
        Assert.Equal(status, SlackPlugin.StatusFor(error));
    }

    private static ServiceProvider Provider(Dictionary<string, string?> values)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        services.AddLogging();
        services.AddSlack();
        return services.BuildServiceProvider();
    }
}
