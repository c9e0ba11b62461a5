using DevOrchestrator.Data;
using DevOrchestrator.Features.Events;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace DevOrchestrator.IntegrationTests.Data;

public sealed class DbContextRegistrationTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task The_factory_and_the_scoped_context_share_one_configuration_with_each_interceptor_once(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var service = await ServiceUnderTest.StartAsync(db, cancellationToken: ct);
        var factory = service.Services.GetRequiredService<IDbContextFactory<AppDbContext>>();

        await using var fromFactory = await factory.CreateDbContextAsync(ct);
        await using var scope = service.Services.CreateAsyncScope();
        var scoped = scope.ServiceProvider.GetRequiredService<AppDbContext>();

        foreach (var context in new[] { fromFactory, scoped })
        {
            Assert.Equal(db == Db.Postgres, context.Database.IsNpgsql());
            var interceptors = context.GetService<IDbContextOptions>().FindExtension<CoreOptionsExtension>()!.Interceptors!;
            Assert.Single(interceptors, i => i is EventSignalInterceptor);
        }

        // Both reach the same database: a row written through one is read through the other.
        fromFactory.Users.Add(new() { Email = "factory@example.test", Role = "viewer", PasswordHash = "x", CreatedAt = DateTimeOffset.UnixEpoch });
        await fromFactory.SaveChangesAsync(ct);
        Assert.True(await scoped.Users.AnyAsync(u => u.Email == "factory@example.test", ct));
    }
}
