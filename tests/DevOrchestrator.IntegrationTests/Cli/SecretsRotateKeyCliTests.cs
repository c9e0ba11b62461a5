using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Plugins;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.IntegrationTests.Cli;

/// <summary>
/// <c>devorch secrets rotate-key --new-key-file PATH</c> run as the real executable against a real database, and services
/// started with the new key (and <c>ENCRYPTION_KEY_PREVIOUS</c>) reading what it re-encrypted (docs/security.md).
/// </summary>
public sealed class SecretsRotateKeyCliTests
{
    private const string KeyA = "key-A-of-the-rotation-tests-0123456789abcdef";
    private const string KeyB = "key-B-of-the-rotation-tests-fedcba9876543210";
    private const string WrongKey = "a-wrong-key-of-the-rotation-tests-00000000";
    private const string StoredToken = "ghp_stored_under_key_a_0123456789";
    private const string ApiUrlUnderA = "http://127.0.0.1:9/stored-with-key-a";
    private const string ReplyUrl = "https://hooks.slack.example/commands/T1/B2/reply-url-secret";

    private sealed record Result(int ExitCode, string Stdout, string Stderr);

    private sealed record Stored(List<string> PluginConfigs, List<string> ReplyUrls);

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Rotating_re_encrypts_every_value_to_the_new_key_all_or_nothing_and_a_service_reads_them_with_the_new_and_previous_key(Db db)
    {
        var ct = TestContext.Current.CancellationToken;
        var service = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?> { ["ENCRYPTION_KEY"] = KeyA }, cancellationToken: ct);
        var state = service.State;
        ServiceUnderTest? running = service; // the one that deletes the state when disposed
        try
        {
            // Plugin settings stored through the API with key A, and a task with a Slack reply URL encrypted with A.
            using (var admin = await service.ClientForNewUserAsync(Roles.Admin, ct))
            {
                using var put = await admin.PutAsJsonAsync("/api/v1/plugins/version_control/github/config",
                    new Dictionary<string, object?> { ["GITHUB_TOKEN"] = StoredToken, ["GITHUB_API_URL"] = ApiUrlUnderA }, ct);
                Assert.True(put.StatusCode == HttpStatusCode.OK, (await put.ReadJsonAsync()).ToJsonString());
                using var created = await admin.PostJsonAsync("/api/v1/tasks", new { title = "a task answered on Slack" });
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            }

            var replyUnderA = ConfigEncryption.WithKey(KeyA).Encrypt(ReplyUrl);
            await using (var write = state.OpenDb())
            {
                await write.Tasks.ExecuteUpdateAsync(s => s.SetProperty(t => t.ReplyTo, replyUnderA), ct);
            }

            await StopKeepingStateAsync(running);
            running = null;
            var original = await ReadStoredAsync(state, ct);
            Assert.Single(original.PluginConfigs);
            Assert.Equal([replyUnderA], original.ReplyUrls);

            var newKeyFile = Path.Combine(state.Root, "new.key");
            await File.WriteAllTextAsync(newKeyFile, KeyB + "\n", ct);

            // With a wrong current key: refused, naming the row, and not one byte changed.
            var wrong = await DevorchAsync(Environment(state, WrongKey), ct, "secrets", "rotate-key", "--new-key-file", newKeyFile);
            Assert.True(wrong.ExitCode == 1, wrong.Stdout + wrong.Stderr);
            Assert.Contains("Nothing was changed", wrong.Stderr, StringComparison.Ordinal);
            Assert.Contains("plugin_configs row", wrong.Stderr, StringComparison.Ordinal);
            AssertNoKeyMaterial(wrong);
            AssertSame(original, await ReadStoredAsync(state, ct));

            // The right key for the plugin settings, but the task's value is under a third key: still nothing changes
            // (the plugin settings that did decrypt are not written either).
            await SetReplyAsync(state, ConfigEncryption.WithKey(WrongKey).Encrypt(ReplyUrl), ct);
            var mixedBefore = await ReadStoredAsync(state, ct);
            var mixed = await DevorchAsync(Environment(state, KeyA), ct, "secrets", "rotate-key", "--new-key-file", newKeyFile);
            Assert.True(mixed.ExitCode == 1, mixed.Stdout + mixed.Stderr);
            Assert.Contains("reply_to", mixed.Stderr, StringComparison.Ordinal);
            AssertNoKeyMaterial(mixed);
            AssertSame(mixedBefore, await ReadStoredAsync(state, ct));
            await SetReplyAsync(state, replyUnderA, ct);

            // The rotation: every value now decrypts with B (and no longer with A).
            var rotate = await DevorchAsync(Environment(state, KeyA), ct, "secrets", "rotate-key", "--new-key-file", newKeyFile);
            Assert.True(rotate.ExitCode == 0, rotate.Stdout + rotate.Stderr);
            Assert.Contains("Rotated 2 value(s) to the new key (1 plugin configuration(s), 1 task reply URL(s); 0 of them", rotate.Stdout, StringComparison.Ordinal);
            AssertNoKeyMaterial(rotate);
            var rotated = await ReadStoredAsync(state, ct);
            Assert.Contains(StoredToken, ConfigEncryption.WithKey(KeyB).Decrypt(rotated.PluginConfigs[0]), StringComparison.Ordinal);
            Assert.Equal(ReplyUrl, ConfigEncryption.WithKey(KeyB).Decrypt(Assert.Single(rotated.ReplyUrls)));
            Assert.Throws<ConfigEncryptionException>(() => ConfigEncryption.WithKey(KeyA).Decrypt(rotated.PluginConfigs[0]));

            // A service started with B reads the stored settings.
            running = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?> { ["ENCRYPTION_KEY"] = KeyB }, shareWith: service, ownState: true, cancellationToken: ct);
            Assert.Equal(("stored", ApiUrlUnderA), await GitHubApiUrlAsync(running, ct));
            await StopKeepingStateAsync(running);
            running = null;

            // A replica still on A saved the settings during the roll-out: a service with B and PREVIOUS=A reads them.
            const string savedByOldReplica = "http://127.0.0.1:9/saved-by-a-replica-still-on-key-a";
            await using (var write = state.OpenDb())
            {
                var json = $$"""{"GITHUB_TOKEN":"{{StoredToken}}","GITHUB_API_URL":"{{savedByOldReplica}}"}""";
                var underA = ConfigEncryption.WithKey(KeyA).Encrypt(json);
                await write.PluginConfigs.ExecuteUpdateAsync(s => s.SetProperty(c => c.EncryptedValues, underA), ct);
            }

            running = await ServiceUnderTest.StartAsync(db, settings: new Dictionary<string, string?> { ["ENCRYPTION_KEY"] = KeyB, ["ENCRYPTION_KEY_PREVIOUS"] = KeyA },
                shareWith: service, ownState: true, cancellationToken: ct);
            Assert.Equal(("stored", savedByOldReplica), await GitHubApiUrlAsync(running, ct));
            await StopKeepingStateAsync(running);
            running = null;

            // Running it again with ENCRYPTION_KEY=B, PREVIOUS=A finishes the rotation: the straggler moves to B.
            var finish = await DevorchAsync(Environment(state, KeyB, previous: KeyA), ct, "secrets", "rotate-key", "--new-key-file", newKeyFile);
            Assert.True(finish.ExitCode == 0, finish.Stdout + finish.Stderr);
            Assert.Contains("1 of them were still under ENCRYPTION_KEY_PREVIOUS", finish.Stdout, StringComparison.Ordinal);
            AssertNoKeyMaterial(finish);
            var finished = await ReadStoredAsync(state, ct);
            Assert.Contains(savedByOldReplica, ConfigEncryption.WithKey(KeyB).Decrypt(finished.PluginConfigs[0]), StringComparison.Ordinal);
            Assert.Equal(ReplyUrl, ConfigEncryption.WithKey(KeyB).Decrypt(finished.ReplyUrls[0]));
        }
        finally
        {
            if (running is not null)
            {
                await running.DisposeAsync();
            }
            else
            {
                if (state.DatabaseUrl is not null)
                {
                    await TestDatabases.DropPostgresDatabaseAsync(state.DatabaseUrl);
                }

                Directory.Delete(state.Root, recursive: true);
            }
        }
    }

    private static async Task StopKeepingStateAsync(ServiceUnderTest service)
    {
        service.KeepStateOnDispose = true;
        await service.DisposeAsync();
    }

    [Fact]
    public async Task A_missing_or_empty_new_key_file_is_refused_naming_the_option()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-rotate-").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["DATA_DIR"] = Path.Combine(root, "data"), ["ENCRYPTION_KEY"] = KeyA };
            var none = await DevorchAsync(env, ct, "secrets", "rotate-key");
            Assert.Equal(2, none.ExitCode);
            Assert.Contains("--new-key-file", none.Stderr, StringComparison.Ordinal);

            var missing = Path.Combine(root, "nowhere", "new.key");
            var absent = await DevorchAsync(env, ct, "secrets", "rotate-key", "--new-key-file", missing);
            Assert.Equal(2, absent.ExitCode);
            Assert.Contains($"--new-key-file: cannot read {missing}", absent.Stderr, StringComparison.Ordinal);

            var empty = Path.Combine(root, "empty.key");
            await File.WriteAllTextAsync(empty, "\n", ct);
            var blank = await DevorchAsync(env, ct, "secrets", "rotate-key", "--new-key-file", empty);
            Assert.Equal(2, blank.ExitCode);
            Assert.Contains($"--new-key-file: the file {empty} is empty", blank.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Config_show_masks_ENCRYPTION_KEY_PREVIOUS_and_reads_it_from_its_FILE_variable()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = Directory.CreateTempSubdirectory("devorch-rotate-").FullName;
        try
        {
            var file = Path.Combine(root, "previous.key");
            await File.WriteAllTextAsync(file, KeyA + "\n", ct);
            var show = await DevorchAsync(new Dictionary<string, string> { ["DATA_DIR"] = Path.Combine(root, "data"), ["ENCRYPTION_KEY_PREVIOUS_FILE"] = file }, ct, "config", "show");
            Assert.True(show.ExitCode == 0, show.Stderr);
            var line = show.Stdout.Split('\n').Single(l => l.StartsWith("ENCRYPTION_KEY_PREVIOUS ", StringComparison.Ordinal));
            Assert.Contains(DevOrchestrator.Cli.ConfigCommand.Masked, line, StringComparison.Ordinal);
            Assert.EndsWith("ENCRYPTION_KEY_PREVIOUS_FILE", line.TrimEnd(), StringComparison.Ordinal);
            Assert.DoesNotContain(KeyA, show.Stdout + show.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void AssertNoKeyMaterial(Result result)
    {
        foreach (var key in new[] { KeyA, KeyB, WrongKey, StoredToken, ReplyUrl })
        {
            Assert.DoesNotContain(key, result.Stdout + result.Stderr, StringComparison.Ordinal);
        }
    }

    private static void AssertSame(Stored expected, Stored actual)
    {
        Assert.Equal(expected.PluginConfigs, actual.PluginConfigs);
        Assert.Equal(expected.ReplyUrls, actual.ReplyUrls);
    }

    private static async Task<Stored> ReadStoredAsync(ServiceUnderTest.SharedState state, CancellationToken ct)
    {
        await using var db = state.OpenDb();
        return new(
            await db.PluginConfigs.AsNoTracking().OrderBy(c => c.Id).Select(c => c.EncryptedValues).ToListAsync(ct),
            await db.Tasks.AsNoTracking().Where(t => t.ReplyTo != null).OrderBy(t => t.Id).Select(t => t.ReplyTo!).ToListAsync(ct));
    }

    private static async Task SetReplyAsync(ServiceUnderTest.SharedState state, string value, CancellationToken ct)
    {
        await using var db = state.OpenDb();
        await db.Tasks.ExecuteUpdateAsync(s => s.SetProperty(t => t.ReplyTo, value), ct);
    }

    /// <summary>GITHUB_API_URL as the service sees it: its source (stored when the stored settings decrypted) and value.</summary>
    private static async Task<(string?, string?)> GitHubApiUrlAsync(ServiceUnderTest service, CancellationToken ct)
    {
        using var admin = await service.ClientForNewUserAsync(Roles.Admin, ct);
        using var config = await admin.GetAsync("/api/v1/plugins/version_control/github/config", ct);
        var data = (await config.ReadJsonAsync())["data"]!;
        var setting = data["settings"]!.AsArray().Single(s => (string?)s!["key"] == "GITHUB_API_URL")!;
        return ((string?)setting["source"], (string?)setting["value"]);
    }

    private static Dictionary<string, string> Environment(ServiceUnderTest.SharedState state, string key, string? previous = null)
    {
        var env = new Dictionary<string, string>
        {
            ["DATA_DIR"] = state.DataDir,
            ["DATABASE_URL"] = state.DatabaseUrl ?? Path.Combine(state.DataDir, "devorch.db"),
            ["ENCRYPTION_KEY"] = key,
        };
        if (previous is not null)
        {
            env["ENCRYPTION_KEY_PREVIOUS"] = previous;
        }

        return env;
    }

    /// <summary>Runs <c>devorch ARGS</c> to its end; one still running after two minutes (a hang, not slowness) fails the test.</summary>
    private static async Task<Result> DevorchAsync(IDictionary<string, string> environment, CancellationToken ct, params string[] args)
    {
        var start = DevorchProcess.StartInfo(args, environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), Path.GetTempPath());
        if (System.Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            start.FileName = path;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"devorch {string.Join(' ', args)} did not exit within 2 minutes");
        }

        return new Result(process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }
}
