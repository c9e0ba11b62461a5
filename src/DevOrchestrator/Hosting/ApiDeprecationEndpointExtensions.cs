namespace DevOrchestrator.Hosting;

public static class ApiDeprecationEndpointExtensions
{
    /// <summary>
    /// Announces that an endpoint (or a group) is deprecated: the responses of its handler, errors included, carry the
    /// <see cref="ApiDeprecation"/> headers (metadata an OpenAPI transformer can read too).
    /// </summary>
    public static TBuilder Deprecated<TBuilder>(this TBuilder builder, DateTimeOffset deprecatedAt, DateTimeOffset? sunsetAt, string documentationUrl)
        where TBuilder : IEndpointConventionBuilder
    {
        var deprecation = new ApiDeprecation(deprecatedAt, sunsetAt, documentationUrl);
        builder.WithMetadata(deprecation);
        builder.AddEndpointFilter(async (context, next) =>
        {
            // Before the handler, so the headers are on whatever it answers (a result, an error envelope).
            deprecation.WriteHeaders(context.HttpContext.Response);
            return await next(context);
        });
        return builder;
    }
}
