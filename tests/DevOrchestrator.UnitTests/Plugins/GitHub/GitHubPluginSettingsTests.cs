using System.Text;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Plugins.GitHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.UnitTests.Plugins.GitHub;

/// <summary>Settings, registration, URL matching and git credentials: no I/O (nothing here calls GitHub).</summary>
public sealed class GitHubPluginSettingsTests
{
    [Fact]
    public void Empty_settings_are_valid_and_not_configured()
    {
        using var services = Build(new Dictionary<string, string?>());
        var plugin = services.GetRequiredService<GitHubPlugin>();

        Assert.False(plugin.IsConfigured);
        Assert.Empty(plugin.Validate(new Dictionary<string, string?>()));
        Assert.Equal((PluginTypes.VersionControl, "github"), (plugin.Type, plugin.Name));
        var settings = services.GetRequiredService<IOptions<GitHubSettings>>().Value;
        Assert.Equal(new Uri("https://api.github.com/"), settings.ApiBaseUri);
        Assert.Equal(("devorch", "/devorch"), (settings.EffectiveIntakeLabel, settings.EffectiveCommand));
    }

    [Fact]
    public void Settings_list_every_variable_with_secrets_and_the_required_token()
    {
        using var services = Build(new Dictionary<string, string?>());
        var settings = services.GetRequiredService<GitHubPlugin>().Settings.ToDictionary(s => s.Key);

        Assert.Equal(
            ["GITHUB_API_URL", "GITHUB_COMMAND", "GITHUB_INTAKE_LABEL", "GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND", "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET"],
            settings.Keys.Order());
        Assert.True(settings["GITHUB_TOKEN"] is { Required: true, Secret: true });
        Assert.True(settings["GITHUB_WEBHOOK_SECRET"] is { Required: false, Secret: true });
        Assert.Equal("https://api.github.com", settings["GITHUB_API_URL"].Default);
        Assert.Equal("devorch", settings["GITHUB_INTAKE_LABEL"].Default);
        Assert.Equal("/devorch", settings["GITHUB_COMMAND"].Default);
        Assert.Single(settings.Values, s => s.Required);
    }

    [Fact]
    public void Malformed_values_are_filed_under_their_variable()
    {
        using var services = Build(new Dictionary<string, string?>());
        var plugin = services.GetRequiredService<GitHubPlugin>();

        var errors = plugin.Validate(new Dictionary<string, string?>
        {
            ["GITHUB_TOKEN"] = "ghp_abc\r\nX-Injected: 1",
            ["GITHUB_API_URL"] = "ftp://ghe.example.com",
            ["GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND"] = "-1",
            ["GITHUB_COMMAND"] = "/dev orch",
        });

        Assert.Equal(["GITHUB_API_URL", "GITHUB_COMMAND", "GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND", "GITHUB_TOKEN"], errors.Keys.Order());
        Assert.All(errors, e => Assert.StartsWith(e.Key, e.Value, StringComparison.Ordinal));
        Assert.DoesNotContain("ghp_abc", errors["GITHUB_TOKEN"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://user:secret@ghe.example.com/api/v3")]
    [InlineData("https://ghe.example.com/api/v3?x=1")]
    [InlineData("not a url")]
    public void Bad_api_urls_fail(string url)
    {
        var result = new GitHubSettingsValidator().Validate(null, new GitHubSettings { ApiUrl = url });

        Assert.True(result.Failed);
        Assert.StartsWith("GITHUB_API_URL", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void A_rate_that_is_not_a_number_is_reported_not_thrown()
    {
        using var services = Build(new Dictionary<string, string?>());
        var errors = services.GetRequiredService<GitHubPlugin>().Validate(new Dictionary<string, string?> { ["GITHUB_RATE_LIMIT_REQUESTS_PER_SECOND"] = "fast" });

        Assert.Single(errors);
    }

    [Fact]
    public void Invalid_settings_fail_when_read()
    {
        using var services = Build(new Dictionary<string, string?> { ["GITHUB_API_URL"] = "github" });

        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptionsMonitor<GitHubSettings>>().CurrentValue);

        Assert.StartsWith("GITHUB_API_URL", ex.Failures.Single(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://api.github.com", "https://api.github.com/")]
    [InlineData("https://api.github.com/", "https://api.github.com/")]
    [InlineData("https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/")]
    [InlineData("https://ghe.example.com", "https://ghe.example.com/api/v3/")]
    [InlineData("http://127.0.0.1:5123/api/v3", "http://127.0.0.1:5123/api/v3/")]
    public void The_api_url_is_normalised_for_Octokit(string configured, string expected)
    {
        Assert.Equal(new Uri(expected), new GitHubSettings { ApiUrl = configured }.ApiBaseUri);
    }

    [Fact]
    public void AddGitHub_twice_registers_one_plugin_under_all_three_types()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddGitHub();
        services.AddGitHub();
        using var provider = services.BuildServiceProvider();

        var plugin = provider.GetRequiredService<GitHubPlugin>();
        Assert.Same(plugin, Assert.Single(provider.GetServices<IPlugin>()));
        Assert.Same(plugin, Assert.Single(provider.GetServices<IVersionControlPlugin>()));
        Assert.Single(provider.GetServices<IValidateOptions<GitHubSettings>>());
    }

    // ---------------------------------------------------------------- Handles

    [Theory]
    [InlineData("https://github.com/acme/widgets", true)]
    [InlineData("https://github.com/acme/widgets.git", true)]
    [InlineData("https://www.github.com/acme/widgets", true)]
    [InlineData("git@github.com:acme/widgets.git", true)]
    [InlineData("ssh://git@github.com/acme/widgets.git", true)]
    [InlineData("https://gitlab.com/acme/widgets", false)]
    [InlineData("https://github.com.evil.example/acme/widgets", false)]
    [InlineData("git@gitlab.com:acme/widgets.git", false)]
    [InlineData("/srv/repos/widgets.git", false)]
    [InlineData("file:///srv/repos/widgets.git", false)]
    [InlineData("", false)]
    public void Public_GitHub_handles_github_com(string url, bool handled)
    {
        using var services = Build(new Dictionary<string, string?> { ["GITHUB_TOKEN"] = "t" });
        Assert.Equal(handled, services.GetRequiredService<GitHubPlugin>().Handles(url));
    }

    [Theory]
    [InlineData("http://127.0.0.1:5123/acme/widgets.git", true)]
    [InlineData("http://127.0.0.1:5123/acme/widgets", true)]
    [InlineData("http://127.0.0.1:5124/acme/widgets.git", false)]
    [InlineData("https://github.com/acme/widgets", false)]
    [InlineData("ssh://git@127.0.0.1/acme/widgets.git", true)]
    public void Enterprise_handles_its_own_host_and_port(string url, bool handled)
    {
        using var services = Build(new Dictionary<string, string?> { ["GITHUB_TOKEN"] = "t", ["GITHUB_API_URL"] = "http://127.0.0.1:5123/api/v3" });
        Assert.Equal(handled, services.GetRequiredService<GitHubPlugin>().Handles(url));
    }

    [Theory]
    [InlineData("https://github.com/acme/widgets", "acme", "widgets")]
    [InlineData("https://github.com/acme/widgets.git/", "acme", "widgets")]
    [InlineData("git@github.com:acme/my.repo.git", "acme", "my.repo")]
    [InlineData("ssh://git@github.com/acme-org/widgets_2.git", "acme-org", "widgets_2")]
    [InlineData("http://127.0.0.1:5123/acme/widgets", "acme", "widgets")]
    public void Owner_and_name_are_parsed(string url, string owner, string name)
    {
        var address = GitHubRepositoryAddress.TryParse(url);
        Assert.NotNull(address);
        Assert.Equal((owner, name), (address.Owner, address.Name));
    }

    [Theory]
    [InlineData("https://github.com/")]
    [InlineData("https://github.com/acme")]
    [InlineData("https://github.com/acme/widgets/tree/main")]
    [InlineData("https://github.com/acme/widgets?tab=readme")]
    [InlineData("https://github.com/acme/..")]
    [InlineData("https://github.com/-acme/widgets")]
    public void Urls_without_exactly_owner_and_repo_are_refused(string url)
    {
        Assert.Null(GitHubRepositoryAddress.TryParse(url));
    }

    [Fact]
    public async Task Operations_on_a_url_without_owner_and_repo_fail_before_any_call()
    {
        using var services = Build(new Dictionary<string, string?> { ["GITHUB_TOKEN"] = "t" });

        var ex = await Assert.ThrowsAsync<PluginException>(() => services.GetRequiredService<GitHubPlugin>().GetRepositoryAsync("https://user:pw@github.com/acme", TestContext.Current.CancellationToken));

        Assert.Contains("https://github.com/acme", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", ex.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- GitConfigFor

    [Fact]
    public void Git_config_is_a_basic_extra_header_for_handled_http_urls()
    {
        using var services = Build(new Dictionary<string, string?> { ["GITHUB_TOKEN"] = "ghp_example" });
        var plugin = services.GetRequiredService<GitHubPlugin>();

        var config = Assert.Single(plugin.GitConfigFor("https://github.com/acme/widgets.git"));

        Assert.Equal("http.https://github.com/.extraHeader", config.Key); // only for that host: never sent to another one
        Assert.Equal("Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:ghp_example")), config.Value);
        Assert.Empty(plugin.GitConfigFor("git@github.com:acme/widgets.git"));
        Assert.Empty(plugin.GitConfigFor("https://gitlab.com/acme/widgets.git"));
    }

    [Fact]
    public void Git_config_is_empty_without_a_token()
    {
        using var services = Build(new Dictionary<string, string?>());
        Assert.Empty(services.GetRequiredService<GitHubPlugin>().GitConfigFor("https://github.com/acme/widgets.git"));
    }

    [Theory]
    [InlineData("a--b")]
    [InlineData("a>b")]
    [InlineData("a\nb")]
    [InlineData(" ")]
    public void Keys_that_would_break_the_comment_marker_are_refused(string key)
    {
        Assert.ThrowsAny<ArgumentException>(() => GitHubPlugin.Marker(key));
    }

    [Fact]
    public void The_marker_is_an_html_comment()
    {
        Assert.Equal("<!-- devorch:task-1:pr-comment -->", GitHubPlugin.Marker("task-1:pr-comment"));
    }

    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        services.AddLogging();
        services.AddGitHub();
        return services.BuildServiceProvider();
    }
}
