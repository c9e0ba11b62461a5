using System.Net;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.IntegrationTests.Infrastructure;

namespace DevOrchestrator.IntegrationTests.Api;

/// <summary>POST /api/v1/projects refuses a repository that git cannot read, naming repository_url and the reason.</summary>
public sealed class ProjectRepositoryTests
{
    [Fact]
    public async Task A_project_whose_repository_does_not_exist_is_refused_with_the_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var notARepository = Directory.CreateDirectory(Path.Combine(service.State.Root, "plain-directory")).FullName;
        var missing = Path.Combine(service.State.Root, "no-such-repository.git");

        foreach (var (url, reason) in new[]
        {
            (missing, $"no such directory: {missing}"),
            ("file://" + missing, $"no such directory: {missing}"),
            (notARepository, "git cannot read this repository: fatal:"),
        })
        {
            var response = await client.PostJsonAsync("/api/v1/projects", new { name = "p-" + Guid.NewGuid().ToString("N")[..6], repository_url = url });
            Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            var error = (await response.ReadJsonAsync())["error"]!;
            Assert.Equal("UNPROCESSABLE", (string?)error["code"]);
            Assert.StartsWith(reason, (string?)error["details"]!["repository_url"]![0], StringComparison.Ordinal);
        }

        // Nothing was stored; a real repository (a local bare one, and the same as file://) is accepted.
        var list = await (await client.GetAsync("/api/v1/projects", ct)).ReadJsonAsync();
        Assert.Empty(list["data"]!.AsArray());
        var bare = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/projects", new { name = "real", repository_url = bare })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/projects", new { name = "real-file-url", repository_url = "file://" + bare })).StatusCode);
    }
}
