using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.Confluence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Plugins.Confluence;

public sealed class ConfluenceSettingsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        services.AddLogging();
        services.AddConfluence();
        services.AddConfluence();
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Unset_settings_are_valid_and_leave_the_plugin_not_configured()
    {
        using var services = Build([]);
        var plugin = services.GetRequiredService<IPlugin>();

        Assert.Equal("confluence", plugin.Name);
        Assert.Equal(PluginTypes.Documentation, plugin.Type);
        Assert.False(plugin.IsConfigured);
        Assert.Empty(plugin.Validate(new Dictionary<string, string?>()));
        Assert.NotNull(services.GetRequiredService<IOptions<ConfluenceSettings>>().Value);
    }

    [Fact]
    public void All_three_required_settings_make_it_configured()
    {
        using var services = Build(new()
        {
            ["CONFLUENCE_URL"] = "https://acme.atlassian.net/wiki",
            ["CONFLUENCE_EMAIL"] = "bot@acme.test",
            ["CONFLUENCE_API_TOKEN"] = "token",
            ["CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND"] = "5.5",
        });
        var settings = services.GetRequiredService<IOptionsMonitor<ConfluenceSettings>>().CurrentValue;

        Assert.True(services.GetRequiredService<IDocumentationPlugin>().IsConfigured);
        Assert.Equal(new Uri("https://acme.atlassian.net/wiki/api/v2/"), settings.ApiBase);
        Assert.Equal(5.5, settings.RateLimitRequestsPerSecond);
    }

    [Fact]
    public void The_API_base_is_the_wiki_base_plus_api_v2_with_or_without_a_trailing_slash()
    {
        Assert.Equal(new Uri("https://acme.atlassian.net/wiki/api/v2/"), new ConfluenceSettings { Url = "https://acme.atlassian.net/wiki/" }.ApiBase);
        Assert.Equal(new Uri("http://127.0.0.1:5000/wiki/api/v2/pages"), new Uri(new ConfluenceSettings { Url = "http://127.0.0.1:5000/wiki" }.ApiBase!, "pages"));
    }

    [Fact]
    public void Registering_twice_registers_one_plugin()
    {
        using var services = Build([]);

        Assert.Single(services.GetServices<IPlugin>());
        Assert.Single(services.GetServices<IDocumentationPlugin>());
        Assert.Same(services.GetRequiredService<ConfluencePlugin>(), services.GetRequiredService<IPlugin>());
    }

    [Fact]
    public void Settings_list_every_variable_with_the_token_secret()
    {
        using var services = Build([]);
        var settings = services.GetRequiredService<IPlugin>().Settings;

        Assert.Equal(["CONFLUENCE_URL", "CONFLUENCE_EMAIL", "CONFLUENCE_API_TOKEN", "CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND"], settings.Select(s => s.Key));
        Assert.Equal(["CONFLUENCE_API_TOKEN"], settings.Where(s => s.Secret).Select(s => s.Key));
        Assert.Equal(["CONFLUENCE_URL", "CONFLUENCE_EMAIL", "CONFLUENCE_API_TOKEN"], settings.Where(s => s.Required).Select(s => s.Key));
    }

    [Theory]
    [InlineData("CONFLUENCE_URL", "not a url")]
    [InlineData("CONFLUENCE_URL", "ftp://acme.test/wiki")]
    [InlineData("CONFLUENCE_URL", "https://bot:secret@acme.atlassian.net/wiki")]
    [InlineData("CONFLUENCE_URL", "ftp://bot:secret@acme.test/wiki")]
    [InlineData("CONFLUENCE_URL", "https://acme.atlassian.net/wiki?x=1")]
    [InlineData("CONFLUENCE_EMAIL", "not-an-email")]
    [InlineData("CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND", "-1")]
    [InlineData("CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND", "0")]
    public void A_malformed_value_is_reported_under_its_variable(string key, string value)
    {
        using var services = Build([]);
        var errors = services.GetRequiredService<IPlugin>().Validate(new Dictionary<string, string?> { [key] = value });

        var error = Assert.Single(errors);
        Assert.Equal(key, error.Key);
        Assert.StartsWith(key + " must", error.Value, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rate_that_is_not_a_number_is_a_binding_error()
    {
        using var services = Build([]);
        var errors = services.GetRequiredService<IPlugin>().Validate(new Dictionary<string, string?> { ["CONFLUENCE_RATE_LIMIT_REQUESTS_PER_SECOND"] = "fast" });

        Assert.Equal("config", Assert.Single(errors).Key);
    }

    [Fact]
    public void A_malformed_setting_fails_when_the_settings_are_read()
    {
        using var services = Build(new() { ["CONFLUENCE_URL"] = "acme.atlassian.net/wiki" });

        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ConfluenceSettings>>().Value);
        Assert.StartsWith("CONFLUENCE_URL must", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_on_an_unconfigured_plugin_fail_without_a_request()
    {
        using var services = Build([]);
        var plugin = services.GetRequiredService<IDocumentationPlugin>();
        var ct = TestContext.Current.CancellationToken;

        var ex = await Assert.ThrowsAsync<PluginException>(() => plugin.CreateOrUpdatePageAsync(new DocumentPageDraft("DOCS", null, "T", "<p/>"), ct));
        var health = await plugin.CheckHealthAsync(ct);

        Assert.Contains("not configured", ex.Message, StringComparison.Ordinal);
        Assert.False(health.Healthy);
        Assert.Contains("CONFLUENCE_API_TOKEN", health.Message, StringComparison.Ordinal);
    }
}
