using System.Globalization;

namespace DevOrchestrator.Hosting;

/// <summary>
/// Marks an endpoint deprecated (docs/api.md, "Version policy"): every response carries <c>Deprecation</c> (RFC 9745,
/// <c>@unix-seconds</c>), <c>Sunset</c> when a removal date is set (RFC 8594, an HTTP-date) and a <c>Link</c> to the
/// changelog entry with <c>rel="deprecation"</c> (and <c>rel="sunset"</c>).
/// </summary>
public sealed record ApiDeprecation(DateTimeOffset DeprecatedAt, DateTimeOffset? SunsetAt, string DocumentationUrl)
{
    public void WriteHeaders(HttpResponse response)
    {
        response.Headers["Deprecation"] = "@" + DeprecatedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var links = new List<string> { $"<{DocumentationUrl}>; rel=\"deprecation\"; type=\"text/html\"" };
        if (SunsetAt is { } sunset)
        {
            response.Headers["Sunset"] = sunset.UtcDateTime.ToString("R", CultureInfo.InvariantCulture);
            links.Add($"<{DocumentationUrl}>; rel=\"sunset\"; type=\"text/html\"");
        }

        response.Headers.Append("Link", string.Join(", ", links));
    }
}
