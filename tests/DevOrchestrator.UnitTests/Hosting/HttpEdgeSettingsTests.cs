using System.Net;
using DevOrchestrator.Hosting;
using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.UnitTests.Hosting;

/// <summary>The HTTP edge's settings: defaults, parsing of the proxy networks and CORS origins, and refusals naming the variable and the entry.</summary>
public sealed class HttpEdgeSettingsTests
{
    private static DevOrchestratorOptions Read(params (string Key, string Value)[] values) =>
        DevOrchestratorOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    [Fact]
    public void Defaults_are_1_MiB_for_the_api_25_MiB_for_webhooks_and_everything_else_off()
    {
        var edge = Read().HttpEdge;

        Assert.Equal(1024 * 1024, edge.ApiMaxBodyBytes);
        Assert.Equal(25 * 1024 * 1024, edge.WebhookMaxBodyBytes);
        Assert.Equal(25 * 1024 * 1024, edge.LargestBodyLimit);
        Assert.Empty(edge.TrustedNetworks());
        Assert.Empty(edge.CorsOrigins());
        Assert.False(edge.HttpsRedirect);
        Assert.Null(edge.HttpsPort);
        Assert.Equal(0, edge.HstsMaxAgeSeconds);
    }

    [Fact]
    public void Trusted_proxies_are_addresses_and_networks_and_origins_are_normalised_as_browsers_send_them()
    {
        var edge = Read(("TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.7 ,::1, fd00::/8"), ("CORS_ALLOWED_ORIGINS", "https://App.Example.com, http://localhost:3000/, https://b.example.com:443")).HttpEdge;

        Assert.Equal(["10.0.0.0/8", "192.168.1.7/32", "::1/128", "fd00::/8"], edge.TrustedNetworks().Select(n => n.ToString()));
        Assert.Contains(edge.TrustedNetworks(), n => n.Contains(IPAddress.Parse("10.20.30.40")));
        Assert.DoesNotContain(edge.TrustedNetworks(), n => n.Contains(IPAddress.Parse("127.0.0.1")));
        Assert.Equal(["https://app.example.com", "http://localhost:3000", "https://b.example.com"], edge.CorsOrigins());
    }

    [Theory]
    [InlineData("TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip", "'not-an-ip'")]
    [InlineData("CORS_ALLOWED_ORIGINS", "*", "'*'")]
    [InlineData("CORS_ALLOWED_ORIGINS", "https://*.example.com", "'https://*.example.com'")]
    [InlineData("CORS_ALLOWED_ORIGINS", "https://app.example.com/path", "'https://app.example.com/path'")]
    [InlineData("CORS_ALLOWED_ORIGINS", "app.example.com", "'app.example.com'")]
    [InlineData("API_MAX_BODY_BYTES", "0", "(got 0)")]
    [InlineData("WEBHOOK_MAX_BODY_BYTES", "-5", "(got -5)")]
    [InlineData("HTTPS_PORT", "70000", "(got 70000)")]
    [InlineData("HSTS_MAX_AGE_SECONDS", "-1", "(got -1)")]
    public void Bad_values_are_refused_naming_the_variable_and_the_value(string setting, string value, string named)
    {
        var error = Assert.Single(Assert.Throws<SettingsException>(() => Read((setting, value))).Errors);
        Assert.StartsWith(setting, error, StringComparison.Ordinal);
        Assert.Contains(named, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/webhooks/github", 2048, "WEBHOOK_MAX_BODY_BYTES")]
    [InlineData("/webhooks/slack/commands", 2048, "WEBHOOK_MAX_BODY_BYTES")]
    [InlineData("/api/v1/tasks", 1024, "API_MAX_BODY_BYTES")]
    [InlineData("/webhooksx", 1024, "API_MAX_BODY_BYTES")]
    [InlineData("/health", 1024, "API_MAX_BODY_BYTES")]
    public void Each_route_has_its_limit(string path, long limit, string setting) =>
        Assert.Equal((limit, setting), RequestBodyLimits.For(path, new HttpEdgeOptions { ApiMaxBodyBytes = 1024, WebhookMaxBodyBytes = 2048 }));

    [Theory]
    [InlineData("/docs", SecurityHeaders.ScalarPolicy)]
    [InlineData("/docs/scalar.js", SecurityHeaders.ScalarPolicy)]
    [InlineData("/hangfire/jobs", SecurityHeaders.DashboardPolicy)]
    [InlineData("/api/v1/tasks", SecurityHeaders.StrictPolicy)]
    [InlineData("/metrics", SecurityHeaders.StrictPolicy)]
    [InlineData("/docsx", SecurityHeaders.StrictPolicy)]
    public void Pages_get_the_policy_they_need_and_everything_else_the_strict_one(string path, string policy) =>
        Assert.Equal(policy, SecurityHeaders.PolicyFor(path));

    [Theory]
    [InlineData(null, "http://0.0.0.0:8000", 443)]
    [InlineData(null, "https://0.0.0.0:8443", null)]
    [InlineData(8443, "http://0.0.0.0:8000", 8443)]
    public void The_redirect_goes_to_HTTPS_PORT_else_the_listen_port_else_443(int? setting, string urls, int? port) =>
        Assert.Equal(port, HttpsRedirect.RedirectPort(new HttpEdgeOptions { HttpsPort = setting }, urls));
}
