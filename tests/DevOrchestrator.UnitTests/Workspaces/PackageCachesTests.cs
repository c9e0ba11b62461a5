using DevOrchestrator.Features.Workspaces;

namespace DevOrchestrator.UnitTests.Workspaces;

public sealed class PackageCachesTests
{
    [Fact]
    public void EachProjectHasItsOwnCacheBoundIntoTheCommandWithThePackageManagersPointedAtIt()
    {
        var settings = new WorkspaceOptions { PackageCacheDir = "/srv/caches" };
        var offline = PackageCaches.For(settings, 7).Apply(new SandboxCommand("npm test", "/w", "/w", TimeSpan.FromMinutes(1)));
        var online = PackageCaches.For(settings, 8).Apply(new SandboxCommand("npm ci", "/w", "/w", TimeSpan.FromMinutes(1)) { Network = true });

        Assert.Equal(["/srv/caches/project-7"], offline.WritableDirectories);
        Assert.Equal("/srv/caches/project-7/nuget/packages", offline.Environment["NUGET_PACKAGES"]);
        Assert.Equal("/srv/caches/project-7/npm", offline.Environment["npm_config_cache"]);
        Assert.Equal("/srv/caches/project-7/pip", offline.Environment["PIP_CACHE_DIR"]);
        Assert.Equal("true", offline.Environment["npm_config_offline"]);
        Assert.Equal("off", offline.Environment["GOPROXY"]);
        Assert.False(offline.Network);

        Assert.Equal(["/srv/caches/project-8"], online.WritableDirectories);
        Assert.False(online.Environment.ContainsKey("npm_config_offline"));
        Assert.False(online.Environment.ContainsKey("GOPROXY"));
        Assert.True(online.Network);
        Assert.Null(PackageCaches.For(settings, (long?)null));
    }

    [Theory]
    [InlineData("error NU1301: Unable to load the service index for source https://api.nuget.org/v3/index.json.")]
    [InlineData("npm error code ENOTFOUND\nnpm error network request to https://registry.npmjs.org/left-pad failed")]
    [InlineData("npm error code ENOTCACHED")]
    [InlineData("npm error code EAI_AGAIN")]
    [InlineData("WARNING: Retrying ... NewConnectionError: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution")]
    [InlineData("curl: (6) Could not resolve host: example.com")]
    public void AFailedDownloadIsRecognised(string stderr)
    {
        Assert.True(NetworkFailure.Seen(new SandboxResult(1, string.Empty, stderr, false, false, TimeSpan.Zero, Sandbox.BubblewrapMode)));
    }

    [Theory]
    [InlineData(1, "Assert.Equal() Failure: Expected 2, Actual 3")]
    [InlineData(1, "error CS1002: ; expected")]
    [InlineData(0, "npm warn ENOTFOUND is only a warning here")]
    public void OtherOutcomesAreNot(int exitCode, string stderr)
    {
        Assert.False(NetworkFailure.Seen(new SandboxResult(exitCode, string.Empty, stderr, false, false, TimeSpan.Zero, Sandbox.BubblewrapMode)));
    }
}
