using DevOrchestrator.Data;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Events;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace DevOrchestrator.IntegrationTests.Events;

public sealed class EventHubClockTests
{
    /// <summary>
    /// An idle hub starts from the events newer than "now" when its first subscriber arrives, and "now" is the injected
    /// clock's: with a clock set before the existing event, that event is the first one streamed (on the machine's clock
    /// it would be skipped and the next one would come first).
    /// </summary>
    [Fact]
    public async Task A_first_subscriber_starts_from_the_injected_clocks_now()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(Db.Sqlite, cancellationToken: ct);
        using var client = await service.ClientForNewUserAsync(Roles.Operator, ct);
        var repo = await GitFixtures.CreateBareRepositoryAsync(service.State.Root, ct);
        var project = (long)(await (await client.PostJsonAsync("/api/v1/projects", new { name = "p", repository_url = repo })).ReadJsonAsync())["data"]!["id"]!;
        await client.PostJsonAsync("/api/v1/tasks", new { title = "before", project_id = project });
        var dbContexts = service.Services.GetRequiredService<IDbContextFactory<AppDbContext>>();
        long oldest;
        await using (var db = await dbContexts.CreateDbContextAsync(ct))
        {
            oldest = await db.Events.MinAsync(e => e.Id, ct);
        }

        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        using var hub = new EventHub(dbContexts, new EventSignal(), clock, NullLogger<EventHub>.Instance);
        using var unsubscribe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var events = hub.Subscribe(unsubscribe.Token);
        await hub.StartAsync(ct);
        await client.PostJsonAsync("/api/v1/tasks", new { title = "after", project_id = project });

        var first = await events.ReadAsync(ct);
        Assert.Equal(oldest, first.Id);
        await hub.StopAsync(CancellationToken.None);
    }
}
