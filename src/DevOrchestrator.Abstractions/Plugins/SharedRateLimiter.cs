using System.Threading.RateLimiting;

namespace DevOrchestrator.Abstractions.Plugins;

/// <summary>A budget of the fleet (waits for the slot the shared state reserves); this process's bucket when it cannot answer.</summary>
public sealed class SharedRateLimiter(string budget, double perSecond, int burst, RateLimiter local, ISharedResilienceState shared, TimeProvider timeProvider) : RateLimiter
{
    public override TimeSpan? IdleDuration => local.IdleDuration;

    public override RateLimiterStatistics? GetStatistics() => local.GetStatistics();

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => local.AttemptAcquire(permitCount);

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        TimeSpan wait;
        try
        {
            wait = await shared.ReserveAsync(budget, perSecond, burst, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return await local.AcquireAsync(permitCount, cancellationToken).ConfigureAwait(false);
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return GrantedLease.Instance;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            local.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed class GrantedLease : RateLimitLease
    {
        public static readonly GrantedLease Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
