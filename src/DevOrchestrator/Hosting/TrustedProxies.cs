using Microsoft.AspNetCore.HttpOverrides;

namespace DevOrchestrator.Hosting;

/// <summary>
/// <c>X-Forwarded-For</c>, <c>X-Forwarded-Proto</c> and <c>X-Forwarded-Host</c> believed only from <c>TRUSTED_PROXIES</c>
/// (ASP.NET Core's forwarded headers middleware, with its default of trusting loopback removed). The list is read from
/// the right: each address that is a trusted proxy hands over to the one it names, and the first that is not is the
/// client — so a client cannot choose its address by sending the header itself. What follows (logs, the API rate
/// limiter's per-IP partition, the HTTPS redirection, HSTS, the request's scheme and host) sees the client's address
/// and the scheme it used. Unset: the headers are ignored and the client is the connection's peer.
/// </summary>
public static class TrustedProxies
{
    public static IApplicationBuilder UseTrustedProxies(this IApplicationBuilder app, HttpEdgeOptions options)
    {
        var networks = options.TrustedNetworks();
        if (networks.Count == 0)
        {
            return app;
        }

        var forwarded = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost,
            // Every trusted hop (a load balancer, then nginx) is walked, not only the last one.
            ForwardLimit = null,
            // nginx sends X-Forwarded-For and X-Forwarded-Proto but not X-Forwarded-Host (it passes Host itself).
            RequireHeaderSymmetry = false,
        };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear();
        foreach (var network in networks)
        {
            forwarded.KnownIPNetworks.Add(network);
        }

        return app.UseForwardedHeaders(forwarded);
    }
}
