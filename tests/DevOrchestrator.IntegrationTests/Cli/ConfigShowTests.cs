using System.Diagnostics;
using System.Reflection;
using DevOrchestrator.Cli;
using DevOrchestrator.Hosting;
using DevOrchestrator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace DevOrchestrator.IntegrationTests.Cli;

/// <summary><c>devorch config show</c>, run as a separate process in a directory with its own appsettings.json and .env.</summary>
public sealed class ConfigShowTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("devorch-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task<(int ExitCode, string Stdout, string Stderr)> ShowAsync(Dictionary<string, string> environment)
    {
        var ct = TestContext.Current.CancellationToken;
        var start = DevorchProcess.StartInfo(["config", "show"], environment.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)), _directory);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The line of a setting: its value and its source.</summary>
    private static (string Value, string Source) Line(string stdout, string key)
    {
        var line = stdout.Split('\n').Single(l => l.StartsWith(key + " ", StringComparison.Ordinal));
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (parts[1], parts[^1]);
    }

    [Fact]
    public async Task A_secret_setting_is_read_from_the_file_its_FILE_variable_names()
    {
        var ct = TestContext.Current.CancellationToken;
        var secrets = Directory.CreateDirectory(Path.Combine(_directory, "run-secrets")).FullName;
        await File.WriteAllTextAsync(Path.Combine(secrets, "github_token"), "github-token-from-a-mounted-file\n", ct);
        await File.WriteAllTextAsync(Path.Combine(secrets, "database_url"), "postgresql://devorch:file-pg-password@db.internal:5432/devorch\n", ct);

        var (exitCode, stdout, stderr) = await ShowAsync(new()
        {
            ["GITHUB_TOKEN_FILE"] = Path.Combine(secrets, "github_token"),
            ["DATABASE_URL_FILE"] = Path.Combine(secrets, "database_url"),
            ["LOG_FILE"] = Path.Combine(_directory, "devorch.log"), // not a secret: an ordinary setting, never read as one
        });

        Assert.True(exitCode == 0, stderr);
        Assert.Equal((ConfigCommand.Masked, "GITHUB_TOKEN_FILE"), Line(stdout, "GITHUB_TOKEN"));
        // The URL is read from the file (its host shows) and its password is masked.
        Assert.Equal(($"postgresql://devorch:{ConfigCommand.Masked}@db.internal:5432/devorch", "DATABASE_URL_FILE"), Line(stdout, "DATABASE_URL"));
        Assert.DoesNotContain("github-token-from-a-mounted-file", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("file-pg-password", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_FILE_variable_whose_file_is_missing_or_empty_or_that_doubles_its_setting_is_refused_naming_variable_and_path()
    {
        var ct = TestContext.Current.CancellationToken;
        var empty = Path.Combine(_directory, "empty");
        await File.WriteAllTextAsync(empty, "\n", ct);
        var doubled = Path.Combine(_directory, "jwt");
        await File.WriteAllTextAsync(doubled, "a-jwt-secret-from-a-file-long-enough-to-be-valid", ct);
        var missing = Path.Combine(_directory, "nowhere", "slack_bot_token");

        var (exitCode, stdout, stderr) = await ShowAsync(new()
        {
            ["SLACK_BOT_TOKEN_FILE"] = missing,
            ["ENCRYPTION_KEY_FILE"] = empty,
            ["JWT_SECRET_KEY_FILE"] = doubled,
            ["JWT_SECRET_KEY"] = "a-jwt-secret-from-the-environment-long-enough",
        });

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains($"SLACK_BOT_TOKEN_FILE: cannot read {missing} (no such file)", stderr, StringComparison.Ordinal);
        Assert.Contains($"ENCRYPTION_KEY_FILE: the file {empty} is empty", stderr, StringComparison.Ordinal);
        Assert.Contains($"JWT_SECRET_KEY and JWT_SECRET_KEY_FILE are both set", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("a-jwt-secret-from", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public async Task Every_setting_is_listed_once_with_its_value_and_source_and_secrets_are_masked()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "appsettings.json"), """
            { "LOG_LEVEL": "debug", "MAX_WORKERS": 7, "MODEL_PRICES": { "llama3.1:8b": { "input": 0.1, "output": 0.2 } } }
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_directory, ".env"), "OPENAI_API_KEY=openai-key-from-dotenv\nMAX_WORKERS=8\nWORKSPACE_POOL_SIZE=2\n", TestContext.Current.CancellationToken);

        var (exitCode, stdout, stderr) = await ShowAsync(new()
        {
            ["MAX_WORKERS"] = "9",
            ["DATABASE_URL"] = "postgresql://devorch:pg-secret-password@db.example.com:5432/devorch",
            ["JWT_SECRET_KEY"] = "a-jwt-secret-that-is-long-enough-for-validation",
            ["GITHUB_TOKEN"] = "github-token-value-secret",
        });

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(("debug", "appsettings.json"), Line(stdout, "LOG_LEVEL"));
        Assert.Equal(("9", "environment"), Line(stdout, "MAX_WORKERS"));
        Assert.Equal(("2", ".env"), Line(stdout, "WORKSPACE_POOL_SIZE"));
        Assert.Equal(("0.1", "appsettings.json"), Line(stdout, "MODEL_PRICES:llama3.1:8b:input"));
        Assert.Equal(("./data", "default"), Line(stdout, "DATA_DIR"));
        Assert.Equal(("30", "default"), Line(stdout, "TASK_LEASE_SECONDS"));
        Assert.Equal(("https://api.github.com", "default"), Line(stdout, "GITHUB_API_URL"));
        Assert.Equal(("(unset)", "default"), Line(stdout, "SLACK_SIGNING_SECRET"));
        Assert.Equal((ConfigCommand.Masked, ".env"), Line(stdout, "OPENAI_API_KEY"));
        Assert.Equal((ConfigCommand.Masked, "environment"), Line(stdout, "JWT_SECRET_KEY"));
        Assert.Equal((ConfigCommand.Masked, "environment"), Line(stdout, "GITHUB_TOKEN"));
        Assert.Equal(($"postgresql://devorch:{ConfigCommand.Masked}@db.example.com:5432/devorch", "environment"), Line(stdout, "DATABASE_URL"));
        foreach (var secret in new[] { "openai-key-from-dotenv", "pg-secret-password", "a-jwt-secret-that", "github-token-value-secret" })
        {
            Assert.DoesNotContain(secret, stdout, StringComparison.Ordinal);
        }

        // Every key of every feature's options is there, once (DATA_DIR is read by two of them).
        var keys = new DevOrchestratorOptions().All
            .SelectMany(o => o.GetType().GetProperties())
            .Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name)
            .OfType<string>().Where(k => k != "MODEL_PRICES").Distinct().ToList();
        Assert.True(keys.Count > 50, $"only {keys.Count} keys");
        foreach (var key in keys)
        {
            Assert.Single(stdout.Split('\n'), l => l.StartsWith(key + " ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_bad_value_is_shown_and_named_on_standard_error_with_exit_code_2()
    {
        var (exitCode, stdout, stderr) = await ShowAsync(new() { ["MAX_WORKERS"] = "0", ["SANDBOX_MODE"] = "docker" });

        Assert.Equal(2, exitCode);
        Assert.Equal(("0", "environment"), Line(stdout, "MAX_WORKERS"));
        Assert.Contains("MAX_WORKERS must be between 1 and 1000 (got 0).", stderr, StringComparison.Ordinal);
        Assert.Contains("SANDBOX_MODE must be auto, bubblewrap or process (got docker).", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_repeated_in_dotenv_starts_with_the_last_value_and_a_warning_naming_the_lines()
    {
        // The guide's example .env sets SLACK_BOT_TOKEN twice; any key behaves the same. The secret's two values are
        // placeholders: neither may appear in the output.
        await File.WriteAllTextAsync(Path.Combine(_directory, ".env"),
            "JWT_SECRET_KEY=placeholder-value-one-for-the-repeated-key\nMAX_WORKERS=3\n# a comment\nexport MAX_WORKERS=5\nJWT_SECRET_KEY=placeholder-value-two-for-the-repeated-key\n",
            TestContext.Current.CancellationToken);

        var (exitCode, stdout, stderr) = await ShowAsync([]);

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(("5", ".env"), Line(stdout, "MAX_WORKERS"));
        Assert.Contains("sets MAX_WORKERS 2 times (lines 2, 4); the last one (line 4) is used.", stderr, StringComparison.Ordinal);
        Assert.Contains("sets JWT_SECRET_KEY 2 times (lines 1, 5); the last one (line 5) is used.", stderr, StringComparison.Ordinal);
        Assert.Equal((ConfigCommand.Masked, ".env"), Line(stdout, "JWT_SECRET_KEY"));
        Assert.DoesNotContain("placeholder-value-", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_setting_given_under_both_of_its_names_with_different_values_is_reported()
    {
        var (exitCode, _, stderr) = await ShowAsync(new() { ["MONTHLY_BUDGET_LIMIT"] = "10", ["MONTHLY_BUDGET"] = "20", ["PER_TASK_COST_LIMIT"] = "1", ["MAX_COST_PER_TASK"] = "1" });

        Assert.True(exitCode == 0, stderr);
        Assert.Contains("MONTHLY_BUDGET_LIMIT and its alias MONTHLY_BUDGET are both set, to different values; MONTHLY_BUDGET_LIMIT is used.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("PER_TASK_COST_LIMIT and its alias", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_password_with_unescaped_reserved_characters_is_refused_with_how_to_encode_it()
    {
        var (exitCode, stdout, stderr) = await ShowAsync(new() { ["DATABASE_URL"] = "postgresql://devorch:p@ss#w0rd@db.example.com:5432/devorch" });

        Assert.Equal(2, exitCode);
        Assert.Contains("DATABASE_URL is not a valid PostgreSQL URL: the user name or password holds a reserved character", stderr, StringComparison.Ordinal);
        Assert.Contains("percent-encode it (@ as %40, # as %23", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("ss#w0rd", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);

        var (encodedExit, _, encodedStderr) = await ShowAsync(new() { ["DATABASE_URL"] = "postgresql://devorch:p%40ss%23w0rd@db.example.com:5432/devorch" });
        Assert.True(encodedExit == 0, encodedStderr);
    }

    [Fact]
    public async Task Every_setting_of_every_options_type_is_documented_in_the_readme_and_env_example()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "DevOrchestrator.slnx")))
        {
            root = root.Parent ?? throw new InvalidOperationException("the repository root was not found");
        }

        var readme = await File.ReadAllTextAsync(Path.Combine(root.FullName, "README.md"), TestContext.Current.CancellationToken);
        var example = await File.ReadAllTextAsync(Path.Combine(root.FullName, ".env.example"), TestContext.Current.CancellationToken);
        var keys = new DevOrchestratorOptions().All
            .SelectMany(o => o.GetType().GetProperties())
            .Select(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name)
            .OfType<string>().Distinct().ToList();

        var notInReadme = keys.Where(k => !readme.Contains($"`{k}`", StringComparison.Ordinal)).ToList();
        var notInExample = keys.Where(k => !example.Contains(k, StringComparison.Ordinal)).ToList();
        Assert.True(notInReadme.Count == 0, "not in README.md: " + string.Join(", ", notInReadme));
        Assert.True(notInExample.Count == 0, "not in .env.example: " + string.Join(", ", notInExample));
    }
}
