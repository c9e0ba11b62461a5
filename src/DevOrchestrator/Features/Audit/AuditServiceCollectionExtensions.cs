namespace DevOrchestrator.Features.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>The audit trail (scoped, on the scope's database context) and the request accessor it reads the actor from.</summary>
    public static IServiceCollection AddAuditTrail(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddScoped<AuditTrail>();
        return services;
    }
}
