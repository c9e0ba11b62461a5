using DevOrchestrator.Abstractions;
using DevOrchestrator.Features.Workspaces;

namespace DevOrchestrator.IntegrationTests.Workspaces;

/// <summary>
/// The secret scan of the <c>workspace</c> commit and push actions on a real repository: planted secrets (built at run
/// time) block the commit with file:line and rule and never the value; a commit an agent's own command made is caught
/// at the push and the remote never gets the branch; the allow-list on the base branch lets known false positives
/// through, one in the task's own change does not; <c>SECRET_SCAN_ENABLED=false</c> turns it off.
/// </summary>
public sealed class SecretScanWorkspaceTests
{
    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    private static string Planted(int length, string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", int seed = 11)
    {
        var random = new Random(seed);
        return new string([.. Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)])]);
    }

    private static WorkflowActionContext Context(WorkspaceTestRepository repository, long executionId, IReadOnlyDictionary<string, object?>? prepared = null) => new()
    {
        Task = new WorkflowTaskInfo(9, "Configure the client", null, null, "api", null),
        Project = new WorkflowProjectInfo(1, "demo", repository.Bare, "main", null),
        WorkflowExecutionId = executionId,
        StepName = "step",
        Inputs = new Dictionary<string, object?>(),
        StepOutputs = prepared is null ? new Dictionary<string, IReadOnlyDictionary<string, object?>>() : new Dictionary<string, IReadOnlyDictionary<string, object?>> { ["prepare"] = prepared },
    };

    [Fact]
    public async Task PlantedSecretsBlockTheCommitNamingFileLineAndRuleButNeverTheValue()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var plugin = repository.CreatePlugin();
        var prepared = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        var worktree = (string)prepared["worktree"]!;

        var token = "gh" + "p_" + Planted(36);
        var awsKey = "AK" + "IA" + Planted(16, Upper);
        await File.WriteAllTextAsync(Path.Combine(worktree, "README.md"), "# demo\n\nUse the client.\nGITHUB = \"" + token + "\"\n", ct);
        Directory.CreateDirectory(Path.Combine(worktree, "keys"));
        await File.WriteAllTextAsync(Path.Combine(worktree, "keys", "deploy.txt"), "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nAAAA\n", ct);
        await File.WriteAllTextAsync(Path.Combine(worktree, "settings.ini"), "[aws]\nregion = eu-west-1\naws_id = " + awsKey + "\n", ct);
        // A binary file is skipped (git shows no lines for it), even with a token-shaped run of bytes inside.
        await File.WriteAllBytesAsync(Path.Combine(worktree, "blob.bin"), [0, 1, 2, 0, .. System.Text.Encoding.ASCII.GetBytes(token), 0], ct);

        var error = await Assert.ThrowsAsync<WorkflowActionException>(() => plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct));

        Assert.Contains("secret scan blocked the commit: 3 possible secrets", error.Message, StringComparison.Ordinal);
        Assert.Contains("README.md:4 github-token", error.Message, StringComparison.Ordinal);
        Assert.Contains("keys/deploy.txt:1 private-key", error.Message, StringComparison.Ordinal);
        Assert.Contains("settings.ini:3 aws-access-key-id", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("blob.bin", error.Message, StringComparison.Ordinal);
        Assert.Contains(SecretScanAllowList.FilePath, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(awsKey, error.Message, StringComparison.Ordinal);
        Assert.Equal("blocked", error.Outputs!["secret_scan"]);
        var findings = Assert.IsType<List<object?>>(error.Outputs["secret_findings"]);
        Assert.Equal(3, findings.Count);
        Assert.DoesNotContain(token, System.Text.Json.JsonSerializer.Serialize(error.Outputs), StringComparison.Ordinal);

        // Nothing was committed: HEAD is still the base.
        Assert.Equal(prepared["base_sha"], await WorkspaceTestRepository.GitAsync(worktree, ct, "rev-parse", "HEAD"));

        // Once the secrets are gone, the same step commits and pushes.
        await File.WriteAllTextAsync(Path.Combine(worktree, "README.md"), "# demo\n\nUse the client.\nGITHUB = os.environ[\"GITHUB_TOKEN\"]\n", ct);
        File.Delete(Path.Combine(worktree, "keys", "deploy.txt"));
        File.Delete(Path.Combine(worktree, "settings.ini"));
        var committed = await plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct);
        Assert.Equal(true, committed["committed"]);
        Assert.Equal("passed", committed["secret_scan"]);
        var pushed = await plugin.InvokeAsync("push", Context(repository, 1, prepared), ct);
        Assert.Equal("passed", pushed["secret_scan"]);
        Assert.Equal(0, (await repository.RemoteAsync(ct, "rev-parse", "--verify", "refs/heads/" + prepared["branch"])).ExitCode);
    }

    [Fact]
    public async Task ACommitTheAgentsOwnCommandMadeIsCaughtAtThePushAndTheRemoteNeverGetsTheBranch()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        // The process sandbox (no bubblewrap) leaves the git metadata writable: a command can commit by itself.
        repository.Settings.Sandbox.SandboxMode = Sandbox.ProcessMode;
        var plugin = repository.CreatePlugin();
        var prepared = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        var worktree = (string)prepared["worktree"]!;
        var slackToken = "xo" + "xb-" + "123456789012-1234567890123-" + Planted(24);
        await File.WriteAllTextAsync(Path.Combine(worktree, "notify.sh"), "#!/bin/sh\ncurl -H \"Authorization: Bearer " + slackToken + "\" https://slack.example\n", ct);

        var command = await plugin.InvokeAsync("run_command", new WorkflowActionContext
        {
            Task = new WorkflowTaskInfo(9, "Configure the client", null, null, "api", null),
            Project = new WorkflowProjectInfo(1, "demo", repository.Bare, "main", null),
            WorkflowExecutionId = 1,
            StepName = "agent",
            Inputs = new Dictionary<string, object?> { ["command"] = "git add -A && git commit -q -m 'agent commit' && git rev-parse HEAD" },
            StepOutputs = new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
        }, ct);
        var agentCommit = ((string)command["stdout"]!).Trim();
        Assert.Equal(agentCommit, await WorkspaceTestRepository.GitAsync(worktree, ct, "rev-parse", "HEAD"));

        // The commit step has nothing staged (the scan of the index finds nothing) and reports the unpushed commit.
        var committed = await plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct);
        Assert.Equal(true, committed["already_committed"]);

        var error = await Assert.ThrowsAsync<WorkflowActionException>(() => plugin.InvokeAsync("push", Context(repository, 1, prepared), ct));
        Assert.Contains($"notify.sh:2 slack-token (commit {agentCommit[..7]})", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(slackToken, error.Message, StringComparison.Ordinal);
        Assert.NotEqual(0, (await repository.RemoteAsync(ct, "rev-parse", "--verify", "refs/heads/" + prepared["branch"])).ExitCode);

        // A later commit removing it does not help: the secret is still in the history the push would send.
        await File.WriteAllTextAsync(Path.Combine(worktree, "notify.sh"), "#!/bin/sh\ncurl -H \"Authorization: Bearer $SLACK_TOKEN\" https://slack.example\n", ct);
        await plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct);
        error = await Assert.ThrowsAsync<WorkflowActionException>(() => plugin.InvokeAsync("push", Context(repository, 1, prepared), ct));
        Assert.Contains("notify.sh:2 slack-token", error.Message, StringComparison.Ordinal);
        Assert.NotEqual(0, (await repository.RemoteAsync(ct, "rev-parse", "--verify", "refs/heads/" + prepared["branch"])).ExitCode);
    }

    [Fact]
    public async Task TheAllowListOnTheBaseBranchLetsKnownFalsePositivesThroughButOneInTheTasksOwnChangeDoesNot()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        var example = "AK" + "IA" + Planted(16, Upper);
        var fixtureLine = "password = \"" + Planted(24, seed: 5) + "\"";
        var seed = Path.Combine(repository.Root, "seed");
        Directory.CreateDirectory(Path.Combine(seed, ".devorch"));
        var fingerprint = SecretFinding.FingerprintOf("generic-secret", "tests/fixture.py", fixtureLine);
        await File.WriteAllTextAsync(Path.Combine(seed, ".devorch", "secret-scan-allow"), $"# reviewed false positives\ndocs/examples/**\n{fingerprint}  # the test fixture's fake password\n", ct);
        await repository.PushUpstreamCommitAsync("other.txt", ct);

        var plugin = repository.CreatePlugin();
        var prepared = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        var worktree = (string)prepared["worktree"]!;
        Directory.CreateDirectory(Path.Combine(worktree, "docs", "examples"));
        Directory.CreateDirectory(Path.Combine(worktree, "tests"));
        await File.WriteAllTextAsync(Path.Combine(worktree, "docs", "examples", "aws.md"), "Set `AWS_ACCESS_KEY_ID=" + example + "`.\n", ct);
        await File.WriteAllTextAsync(Path.Combine(worktree, "tests", "fixture.py"), fixtureLine + "\n", ct);
        var committed = await plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct);
        Assert.Equal("passed", committed["secret_scan"]);
        Assert.Equal(2, committed["secret_scan_allowed"]);
        var pushed = await plugin.InvokeAsync("push", Context(repository, 1, prepared), ct);
        Assert.Equal(true, pushed["pushed"]);
        Assert.Equal(2, pushed["secret_scan_allowed"]);

        // The agent cannot allow its own finding: an allow-list written in the task's change is not read.
        var other = "AK" + "IA" + Planted(16, Upper, seed: 12);
        await File.WriteAllTextAsync(Path.Combine(worktree, "config.txt"), "id " + other + "\n", ct);
        await File.AppendAllTextAsync(Path.Combine(worktree, ".devorch", "secret-scan-allow"), "config.txt\n", ct);
        var error = await Assert.ThrowsAsync<WorkflowActionException>(() => plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct));
        Assert.Contains("config.txt:1 aws-access-key-id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretScanEnabledFalseCommitsWithoutScanning()
    {
        var ct = TestContext.Current.CancellationToken;
        using var repository = await WorkspaceTestRepository.CreateAsync(ct);
        repository.Settings.Workspaces.SecretScanEnabled = false;
        var plugin = repository.CreatePlugin();
        var prepared = await plugin.InvokeAsync("prepare", Context(repository, 1), ct);
        await File.WriteAllTextAsync(Path.Combine((string)prepared["worktree"]!, "key.txt"), "-----BEGIN " + "EC PRIVATE KEY-----\n", ct);

        var committed = await plugin.InvokeAsync("commit", Context(repository, 1, prepared), ct);
        Assert.Equal(true, committed["committed"]);
        Assert.False(committed.ContainsKey("secret_scan"));
    }
}
