using DevOrchestrator.Hosting;
using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.UnitTests.Hosting;

/// <summary>The worktree pool's limits: defaults, edges, and validation naming the variable.</summary>
public sealed class WorkspaceSettingsTests
{
    private static DevOrchestratorOptions Read(params (string Key, string Value)[] values) =>
        DevOrchestratorOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build());

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var settings = Read();

        Assert.Equal(4, settings.Workspaces.WorkspacePoolSize);
        Assert.Equal(10_240, settings.Workspaces.WorkspacesMaxDiskMb);
        Assert.True(settings.Workspaces.SecretScanEnabled);
        Assert.Equal(1_048_576, settings.Workspaces.SecretScanMaxFileBytes);
    }

    [Fact]
    public void The_secret_scan_can_be_turned_off_and_its_switches_are_not_secrets_to_mask()
    {
        Assert.False(Read(("SECRET_SCAN_ENABLED", "false")).Workspaces.SecretScanEnabled);
        Assert.False(SecretFiles.IsSecret("SECRET_SCAN_ENABLED"));
        Assert.False(SecretFiles.IsSecret("SECRET_SCAN_MAX_FILE_BYTES"));
        Assert.True(SecretFiles.IsSecret("JIRA_API_TOKEN"));
    }

    [Fact]
    public void Zero_turns_the_pool_and_the_disk_limit_off_and_the_edges_are_accepted()
    {
        var off = Read(("WORKSPACE_POOL_SIZE", "0"), ("WORKSPACES_MAX_DISK_MB", "0"));
        var high = Read(("WORKSPACE_POOL_SIZE", "100"), ("WORKSPACES_MAX_DISK_MB", "1048576"));

        Assert.Equal(0, off.Workspaces.WorkspacePoolSize);
        Assert.Equal(0, off.Workspaces.WorkspacesMaxDiskMb);
        Assert.Equal(100, high.Workspaces.WorkspacePoolSize);
        Assert.Equal(1_048_576, high.Workspaces.WorkspacesMaxDiskMb);
    }

    [Theory]
    [InlineData("WORKSPACE_POOL_SIZE", "-1")]
    [InlineData("WORKSPACE_POOL_SIZE", "101")]
    [InlineData("WORKSPACES_MAX_DISK_MB", "-1")]
    [InlineData("SECRET_SCAN_MAX_FILE_BYTES", "1000")]
    public void Out_of_range_values_are_refused_by_name(string setting, string value) =>
        Assert.StartsWith(setting + " must", Assert.Single(Assert.Throws<SettingsException>(() => Read((setting, value))).Errors), StringComparison.Ordinal);
}
