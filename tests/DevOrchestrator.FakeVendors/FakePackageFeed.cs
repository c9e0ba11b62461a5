using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace DevOrchestrator.FakeVendors;

/// <summary>
/// A package source on loopback for the setup phase's tests, standing in for nuget.org and the npm registry: a NuGet
/// v3 feed (the service index with a <c>PackageBaseAddress/3.0.0</c> flat container: version lists and
/// <c>.nupkg</c> files) under <c>/nuget/</c> and an npm registry (packuments with <c>dist.tarball</c>,
/// <c>integrity</c>; tarballs) under <c>/npm/</c>. The sandbox without network has its own
/// loopback, so this server is as unreachable from there as the internet is.
/// </summary>
public sealed class FakePackageFeed : FakeVendorServer
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte[]>> _nuget = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte[]>> _npm = new(StringComparer.Ordinal);

    /// <summary>The NuGet v3 service index, for a <c>nuget.config</c> source.</summary>
    public Uri NuGetIndex => new(BaseUrl, "nuget/v3/index.json");

    /// <summary>The npm registry, for an <c>.npmrc</c> <c>registry=</c>.</summary>
    public Uri NpmRegistry => new(BaseUrl, "npm/");

    public void AddNuGetPackage(string id, string version) =>
        _nuget.GetOrAdd(id, _ => new(StringComparer.OrdinalIgnoreCase))[version] = NuGetPackage(id, version);

    /// <summary>Adds an npm package whose <c>index.js</c> is <paramref name="indexJs"/>.</summary>
    public void AddNpmPackage(string name, string version, string indexJs) =>
        _npm.GetOrAdd(name, _ => new(StringComparer.Ordinal))[version] = NpmTarball(name, version, indexJs);

    protected override string? Authenticate(HttpRequest request) => null;

    protected override void MapRoutes(WebApplication app)
    {
        app.MapGet("/nuget/v3/index.json", () => Results.Json(new JsonObject
        {
            ["version"] = "3.0.0",
            ["resources"] = new JsonArray(new JsonObject { ["@id"] = new Uri(BaseUrl, "nuget/v3/flat/").ToString(), ["@type"] = "PackageBaseAddress/3.0.0" }),
        }));
        app.MapGet("/nuget/v3/flat/{id}/index.json", (string id) => _nuget.TryGetValue(id, out var versions)
            ? Results.Json(new JsonObject { ["versions"] = new JsonArray([.. versions.Keys.Select(v => (JsonNode)v.ToLowerInvariant())]) })
            : Results.NotFound());
        app.MapGet("/nuget/v3/flat/{id}/{version}/{file}", (string id, string version, string file) =>
            _nuget.TryGetValue(id, out var versions) && versions.TryGetValue(version, out var package) && file.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase)
                ? Results.Bytes(package, "application/octet-stream")
                : Results.NotFound());
        app.MapGet("/npm/{name}", (string name) =>
        {
            if (!_npm.TryGetValue(name, out var versions))
            {
                return Results.Json(new JsonObject { ["error"] = "Not found" }, statusCode: 404);
            }

            var all = new JsonObject();
            foreach (var (version, tarball) in versions)
            {
                all[version] = new JsonObject
                {
                    ["name"] = name,
                    ["version"] = version,
                    ["main"] = "index.js",
                    ["dist"] = new JsonObject
                    {
                        ["tarball"] = new Uri(BaseUrl, $"npm/{name}/-/{name}-{version}.tgz").ToString(),
                        ["integrity"] = "sha512-" + Convert.ToBase64String(SHA512.HashData(tarball)),
                    },
                };
            }

            return Results.Json(new JsonObject
            {
                ["name"] = name,
                ["dist-tags"] = new JsonObject { ["latest"] = versions.Keys.Max() },
                ["versions"] = all,
            });
        });
        app.MapGet("/npm/{name}/-/{file}", (string name, string file) =>
            _npm.TryGetValue(name, out var versions) && versions.FirstOrDefault(v => file == $"{name}-{v.Key}.tgz") is { Value: { } tarball }
                ? Results.Bytes(tarball, "application/octet-stream")
                : Results.NotFound());
    }

    protected override Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(new { error = message });
    }

    /// <summary>A minimal package: its manifest and an empty <c>lib/netstandard2.0</c> (enough to restore and build against).</summary>
    public static byte[] NuGetPackage(string id, string version)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string path, string text)
            {
                using var writer = new StreamWriter(zip.CreateEntry(path).Open(), new UTF8Encoding(false));
                writer.Write(text);
            }

            Add($"{id}.nuspec", $"""
                <?xml version="1.0" encoding="utf-8"?>
                <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
                  <metadata>
                    <id>{id}</id>
                    <version>{version}</version>
                    <authors>test</authors>
                    <description>A test package.</description>
                  </metadata>
                </package>
                """);
            Add("lib/netstandard2.0/_._", string.Empty);
        }

        return buffer.ToArray();
    }

    /// <summary>An npm tarball: <c>package/package.json</c> and <c>package/index.js</c>.</summary>
    public static byte[] NpmTarball(string name, string version, string indexJs)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: true))
        {
            void Add(string path, string text)
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                };
                tar.WriteEntry(entry);
            }

            Add("package/package.json", new JsonObject { ["name"] = name, ["version"] = version, ["main"] = "index.js" }.ToJsonString());
            Add("package/index.js", indexJs);
        }

        return buffer.ToArray();
    }
}
