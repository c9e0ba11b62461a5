namespace DevOrchestrator.Hosting;

/// <summary>
/// <c>/redoc</c>: a ReDoc-style, read-only API reference (navigation, operations, sample bodies) drawn in the browser
/// from <c>/openapi.json</c>. The page is one embedded HTML file with its script inline, so it works on a server with no
/// internet access and loads nothing from a CDN. Decision record 0015.
/// </summary>
public static class ApiReferencePage
{
    private static readonly Lazy<byte[]> s_page = new(() =>
    {
        using var stream = typeof(ApiReferencePage).Assembly.GetManifestResourceStream("api-reference.redoc.html")
            ?? throw new InvalidOperationException("The embedded /redoc page is missing from the build.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    });

    public static IResult Write() => TypedResults.Bytes(s_page.Value, "text/html; charset=utf-8");
}
