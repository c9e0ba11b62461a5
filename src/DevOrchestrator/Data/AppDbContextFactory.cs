using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Data;

/// <summary>
/// <see cref="IDbContextFactory{AppDbContext}"/> over the provider's pooled factory (<typeparamref name="TContext"/> is
/// <see cref="SqliteAppDbContext"/> or <see cref="PostgresAppDbContext"/>): code asks for the base context and never
/// names the provider. Each context is the caller's to dispose, which returns it to the pool.
/// </summary>
internal sealed class AppDbContextFactory<TContext>(IDbContextFactory<TContext> pool) : IDbContextFactory<AppDbContext>
    where TContext : AppDbContext
{
    public AppDbContext CreateDbContext() => pool.CreateDbContext();

    public async Task<AppDbContext> CreateDbContextAsync(CancellationToken cancellationToken = default) =>
        await pool.CreateDbContextAsync(cancellationToken);
}
