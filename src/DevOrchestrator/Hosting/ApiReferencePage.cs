using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace DevOrchestrator.Hosting;

/// <summary>
/// <c>/redoc</c>: a ReDoc-style, read-only API reference (navigation, operations, sample bodies) drawn in the browser
/// from <c>/openapi.json</c>. The page is one embedded HTML file with its script inline, so it works on a server with no
/// internet access and loads nothing from a CDN. Decision record 0015.
/// </summary>
public static partial class ApiReferencePage
{
    private static readonly Lazy<byte[]> s_page = new(() =>
    {
        using var stream = typeof(ApiReferencePage).Assembly.GetManifestResourceStream("api-reference.redoc.html")
            ?? throw new InvalidOperationException("The embedded /redoc page is missing from the build.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    });

    private static readonly Lazy<string> s_contentSecurityPolicy = new(() =>
    {
        var page = Encoding.UTF8.GetString(s_page.Value);
        return "default-src 'none'; script-src " + Hashes(ScriptPattern(), page) + "; style-src " + Hashes(StylePattern(), page)
            + "; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    });

    public static IResult Write() => TypedResults.Bytes(s_page.Value, "text/html; charset=utf-8");

    /// <summary>The page's Content-Security-Policy: its own inline script and style (by their SHA-256 hashes), and fetching <c>/openapi.json</c>; nothing else.</summary>
    public static string ContentSecurityPolicy => s_contentSecurityPolicy.Value;

    private static string Hashes(Regex pattern, string page) => string.Join(' ', pattern.Matches(page)
        .Select(m => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value)))}'"));

    [GeneratedRegex("<script>(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ScriptPattern();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StylePattern();
}
