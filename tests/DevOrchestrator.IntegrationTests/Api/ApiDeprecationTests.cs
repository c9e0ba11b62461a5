using System.Net;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>The version policy's deprecation headers (docs/api.md): <c>Deprecation</c>, <c>Sunset</c>, <c>Link</c>.</summary>
public sealed class ApiDeprecationTests
{
    [Fact]
    public async Task A_deprecated_endpoint_announces_deprecation_sunset_and_the_changelog_on_success_and_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        var deprecatedAt = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var sunsetAt = new DateTimeOffset(2027, 6, 1, 0, 0, 0, TimeSpan.Zero);
        const string link = "https://devorch.example/docs/api.md#changelog";
        app.MapGet("/old", () => TypedResults.Ok("still here")).Deprecated(deprecatedAt, sunsetAt, link);
        app.MapGet("/old/{id:int}", (int id) => id == 0 ? Results.NotFound() : Results.Ok(id)).Deprecated(deprecatedAt, null, link);
        app.MapGet("/current", () => "fine");
        await app.StartAsync(ct);
        using var client = new HttpClient { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

        var old = await client.GetAsync("/old", ct);
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
        Assert.Equal("@1796083200", Assert.Single(old.Headers.GetValues("Deprecation")));
        Assert.Equal("Tue, 01 Jun 2027 00:00:00 GMT", Assert.Single(old.Headers.GetValues("Sunset")));
        var links = string.Join(", ", old.Headers.GetValues("Link"));
        Assert.Contains($"<{link}>; rel=\"deprecation\"", links, StringComparison.Ordinal);
        Assert.Contains($"<{link}>; rel=\"sunset\"", links, StringComparison.Ordinal);

        // An error answer is announced too; no sunset date, no Sunset header.
        var missing = await client.GetAsync("/old/0", ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.True(missing.Headers.Contains("Deprecation"));
        Assert.False(missing.Headers.Contains("Sunset"));
        Assert.DoesNotContain("rel=\"sunset\"", string.Join(", ", missing.Headers.GetValues("Link")), StringComparison.Ordinal);

        var current = await client.GetAsync("/current", ct);
        Assert.False(current.Headers.Contains("Deprecation"));
        Assert.False(current.Headers.Contains("Link"));
        Assert.NotNull(app.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .Single(e => e.DisplayName?.Contains("/old", StringComparison.Ordinal) == true && e.Metadata.GetMetadata<ApiDeprecation>() is { SunsetAt: not null }));
        await app.StopAsync(ct);
    }
}
