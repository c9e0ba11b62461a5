using Microsoft.Extensions.Options;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The service's settings, bound from environment variables (and <c>.env</c> and <c>appsettings*.json</c>)
/// under the deployment guide's names. Validated at start by <see cref="DevOrchestratorSettingsValidator"/>.
/// </summary>
public sealed class DevOrchestratorSettings
{
    [ConfigurationKeyName("ENVIRONMENT")] public string Environment { get; set; } = "development";
    [ConfigurationKeyName("DEBUG")] public bool Debug { get; set; }
    [ConfigurationKeyName("LOG_LEVEL")] public string LogLevel { get; set; } = "info";

    /// <summary>Write the JSON log to this file instead of standard output.</summary>
    [ConfigurationKeyName("LOG_FILE")] public string? LogFile { get; set; }

    [ConfigurationKeyName("DATABASE_URL")] public string? DatabaseUrl { get; set; }
    [ConfigurationKeyName("REDIS_URL")] public string? RedisUrl { get; set; }
    [ConfigurationKeyName("REDIS_KEY_PREFIX")] public string RedisKeyPrefix { get; set; } = "devorch:";
    [ConfigurationKeyName("DATA_DIR")] public string DataDir { get; set; } = "./data";
    [ConfigurationKeyName("WORKSPACES_DIR")] public string WorkspacesDir { get; set; } = "./workspaces";
    [ConfigurationKeyName("WORKFLOWS_DIR")] public string WorkflowsDir { get; set; } = "./workflows";

    /// <summary>Finished worktrees kept per repository mirror for the next task to recycle (0: remove them instead).</summary>
    [ConfigurationKeyName("WORKSPACE_POOL_SIZE")] public int WorkspacePoolSize { get; set; } = 4;

    /// <summary>Disk (MiB) the pooled, idle worktrees of all repositories may take together; least recently used go first (0: no limit).</summary>
    [ConfigurationKeyName("WORKSPACES_MAX_DISK_MB")] public long WorkspacesMaxDiskMb { get; set; } = 10_240;

    /// <summary>Author and committer of the commits the service makes in worktrees (git's global identity is never used).</summary>
    [ConfigurationKeyName("DEVORCH_GIT_AUTHOR_NAME")] public string GitAuthorName { get; set; } = Features.Workspaces.WorkspaceActions.BotName;
    [ConfigurationKeyName("DEVORCH_GIT_AUTHOR_EMAIL")] public string GitAuthorEmail { get; set; } = Features.Workspaces.WorkspaceActions.BotEmail;

    [ConfigurationKeyName("JWT_SECRET_KEY")] public string? JwtSecretKey { get; set; }
    [ConfigurationKeyName("JWT_EXPIRES_MINUTES")] public int JwtExpiresMinutes { get; set; } = 60 * 24;
    [ConfigurationKeyName("ENCRYPTION_KEY")] public string? EncryptionKey { get; set; }

    [ConfigurationKeyName("MAX_WORKERS")] public int MaxWorkers { get; set; } = 10;
    [ConfigurationKeyName("MAX_CONCURRENT_AGENTS")] public int MaxConcurrentAgents { get; set; } = 5;
    [ConfigurationKeyName("TASK_LEASE_SECONDS")] public int TaskLeaseSeconds { get; set; } = 30;
    [ConfigurationKeyName("SWEEPER_INTERVAL_SECONDS")] public int SweeperIntervalSeconds { get; set; } = 5;

    [ConfigurationKeyName("SANDBOX_TIMEOUT_SECONDS")] public int SandboxTimeoutSeconds { get; set; } = 600;
    [ConfigurationKeyName("SANDBOX_OUTPUT_LIMIT_BYTES")] public int SandboxOutputLimitBytes { get; set; } = 1_000_000;
    /// <summary><c>auto</c> (bubblewrap when present), <c>bubblewrap</c> (required) or <c>process</c> (no network isolation).</summary>
    [ConfigurationKeyName("SANDBOX_MODE")] public string SandboxMode { get; set; } = "auto";

    /// <summary>Per-project package caches filled by the setup phase and reused offline (<c>{dir}/project-{id}</c>).</summary>
    [ConfigurationKeyName("PACKAGE_CACHE_DIR")] public string PackageCacheDir { get; set; } = "./package-caches";

    /// <summary>Time limit of each command of the per-worktree setup phase.</summary>
    [ConfigurationKeyName("SETUP_TIMEOUT_SECONDS")] public int SetupTimeoutSeconds { get; set; } = 1800;

    /// <summary>More directories (absolute, separated by commas or colons) bound read-only into the bubblewrap sandbox: toolchains outside the system directories.</summary>
    [ConfigurationKeyName("SANDBOX_READONLY_PATHS")] public string? SandboxReadOnlyPaths { get; set; }

    [ConfigurationKeyName("COST_TRACKING_ENABLED")] public bool CostTrackingEnabled { get; set; } = true;
    [ConfigurationKeyName("MONTHLY_BUDGET_LIMIT")] public decimal? MonthlyBudgetLimit { get; set; }
    [ConfigurationKeyName("MONTHLY_BUDGET")] public decimal? MonthlyBudget { get; set; }
    [ConfigurationKeyName("PER_TASK_COST_LIMIT")] public decimal? PerTaskCostLimit { get; set; }
    [ConfigurationKeyName("MAX_COST_PER_TASK")] public decimal? MaxCostPerTask { get; set; }

    [ConfigurationKeyName("ANTHROPIC_API_KEY")] public string? AnthropicApiKey { get; set; }
    [ConfigurationKeyName("ANTHROPIC_BASE_URL")] public string? AnthropicBaseUrl { get; set; }
    [ConfigurationKeyName("OPENAI_API_KEY")] public string? OpenAIApiKey { get; set; }
    [ConfigurationKeyName("OPENAI_BASE_URL")] public string? OpenAIBaseUrl { get; set; }

    /// <summary><c>auto</c> (Anthropic when its key is set, else OpenAI-compatible when its key or base URL is set), <c>anthropic</c> or <c>openai</c>.</summary>
    [ConfigurationKeyName("AI_PROVIDER")] public string AiProvider { get; set; } = "auto";
    [ConfigurationKeyName("DEVELOPMENT_MODEL")] public string? DevelopmentModel { get; set; }
    [ConfigurationKeyName("PLANNING_MODEL")] public string? PlanningModel { get; set; }
    [ConfigurationKeyName("REVIEW_MODEL")] public string? ReviewModel { get; set; }
    [ConfigurationKeyName("SUMMARY_MODEL")] public string? SummaryModel { get; set; }

    [ConfigurationKeyName("AGENT_MAX_TURNS")] public int AgentMaxTurns { get; set; } = 40;
    [ConfigurationKeyName("AGENT_MAX_OUTPUT_TOKENS")] public int AgentMaxOutputTokens { get; set; } = 8192;
    [ConfigurationKeyName("AGENT_VERIFY_ATTEMPTS")] public int AgentVerifyAttempts { get; set; } = 2;
    [ConfigurationKeyName("AGENT_TOOL_OUTPUT_CHARS")] public int AgentToolOutputChars { get; set; } = 20_000;

    [ConfigurationKeyName("MODEL_TIMEOUT_SECONDS")] public int ModelTimeoutSeconds { get; set; } = 600;
    [ConfigurationKeyName("MODEL_RETRY_ATTEMPTS")] public int ModelRetryAttempts { get; set; } = 4;
    [ConfigurationKeyName("MODEL_REQUESTS_PER_SECOND")] public double ModelRequestsPerSecond { get; set; } = 10;
    [ConfigurationKeyName("MODEL_MAX_CONCURRENT_REQUESTS")] public int ModelMaxConcurrentRequests { get; set; } = 20;
    [ConfigurationKeyName("CIRCUIT_BREAKER_ENABLED")] public bool CircuitBreakerEnabled { get; set; } = true;
    [ConfigurationKeyName("CIRCUIT_BREAKER_THRESHOLD")] public int CircuitBreakerThreshold { get; set; } = 5;

    [ConfigurationKeyName("PLUGIN_RETRY_ATTEMPTS")] public int PluginRetryAttempts { get; set; } = 3;

    /// <summary>The first retry's delay of a plugin call, in seconds (then doubling, with jitter; Retry-After wins).</summary>
    [ConfigurationKeyName("PLUGIN_RETRY_DELAY_SECONDS")] public double PluginRetryDelaySeconds { get; set; } = 1;
    [ConfigurationKeyName("PLUGIN_TIMEOUT_SECONDS")] public int PluginTimeoutSeconds { get; set; } = 30;
    [ConfigurationKeyName("CIRCUIT_BREAKER_RESET_SECONDS")] public int CircuitBreakerResetSeconds { get; set; } = 60;
    [ConfigurationKeyName("RATE_LIMITING_ENABLED")] public bool RateLimitingEnabled { get; set; } = true;
    [ConfigurationKeyName("RATE_LIMIT_REQUESTS_PER_SECOND")] public double RateLimitRequestsPerSecond { get; set; } = 2.0;

    /// <summary>Prices per million tokens by model id (prefix match), over the built-in table; see <c>docs/agents.md</c>.</summary>
    [ConfigurationKeyName("MODEL_PRICES")] public Dictionary<string, Features.Costs.ModelPrice> ModelPrices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public bool IsProduction => string.Equals(Environment, "production", StringComparison.OrdinalIgnoreCase);

    public bool UsesPostgres => DatabaseUrl is { } url &&
        (url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase));

    public decimal MonthlyBudgetUsd => MonthlyBudgetLimit ?? MonthlyBudget ?? 100m;

    public decimal PerTaskLimitUsd => PerTaskCostLimit ?? MaxCostPerTask ?? 10m;

    public string FullDataDir => Path.GetFullPath(DataDir);

    /// <summary>The SQLite file used when <c>DATABASE_URL</c> is not a PostgreSQL URL.</summary>
    public string SqlitePath
    {
        get
        {
            var url = DatabaseUrl;
            if (string.IsNullOrWhiteSpace(url))
            {
                return Path.Combine(FullDataDir, "devorch.db");
            }

            if (url.StartsWith("sqlite:///", StringComparison.OrdinalIgnoreCase))
            {
                url = url["sqlite:///".Length..];
            }
            else if (url.StartsWith("sqlite://", StringComparison.OrdinalIgnoreCase))
            {
                url = url["sqlite://".Length..];
            }

            return Path.GetFullPath(url);
        }
    }
}

internal sealed class DevOrchestratorSettingsValidator : IValidateOptions<DevOrchestratorSettings>
{
    private static readonly string[] s_logLevels = ["trace", "debug", "info", "information", "warning", "warn", "error", "critical", "fatal"];
    private static readonly string[] s_environments = ["development", "staging", "production", "test"];

    public ValidateOptionsResult Validate(string? name, DevOrchestratorSettings options)
    {
        var errors = new List<string>();
        if (!s_environments.Contains(options.Environment, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"ENVIRONMENT must be one of {string.Join(", ", s_environments)} (got '{options.Environment}').");
        }

        if (!s_logLevels.Contains(options.LogLevel, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"LOG_LEVEL must be one of trace, debug, info, warning, error, critical (got '{options.LogLevel}').");
        }

        if (options.DatabaseUrl is { Length: > 0 } url && url.Contains("://", StringComparison.Ordinal) && !options.UsesPostgres
            && !url.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add("DATABASE_URL must be a postgresql://user:pass@host:5432/db URL or a SQLite file path.");
        }

        if (options.UsesPostgres)
        {
            try
            {
                _ = DatabaseUrls.ToNpgsqlConnectionString(options.DatabaseUrl!);
            }
            catch (FormatException ex)
            {
                errors.Add($"DATABASE_URL is not a valid PostgreSQL URL: {ex.Message}");
            }
        }

        if (options.RedisUrl is { Length: > 0 } redisUrl)
        {
            try
            {
                _ = RedisUrls.ToConfiguration(redisUrl);
            }
            catch (FormatException ex)
            {
                errors.Add($"REDIS_URL is not a valid Redis URL: {ex.Message}");
            }
        }

        if (options.IsProduction && string.IsNullOrWhiteSpace(options.JwtSecretKey))
        {
            errors.Add("JWT_SECRET_KEY must be set when ENVIRONMENT=production (at least 32 characters).");
        }

        if (options.JwtSecretKey is { Length: > 0 and < 32 })
        {
            errors.Add("JWT_SECRET_KEY must be at least 32 characters long.");
        }

        if (options.JwtExpiresMinutes <= 0)
        {
            errors.Add("JWT_EXPIRES_MINUTES must be a positive number of minutes.");
        }

        if (options.MaxWorkers is < 1 or > 1000)
        {
            errors.Add("MAX_WORKERS must be between 1 and 1000.");
        }

        if (options.MaxConcurrentAgents is < 1 or > 1000)
        {
            errors.Add("MAX_CONCURRENT_AGENTS must be between 1 and 1000.");
        }

        if (options.TaskLeaseSeconds < 5)
        {
            errors.Add("TASK_LEASE_SECONDS must be at least 5.");
        }

        if (options.SweeperIntervalSeconds < 1)
        {
            errors.Add("SWEEPER_INTERVAL_SECONDS must be at least 1.");
        }

        if (options.WorkspacePoolSize is < 0 or > 100)
        {
            errors.Add($"WORKSPACE_POOL_SIZE must be between 0 and 100 pooled worktrees per repository (got {options.WorkspacePoolSize}; 0 turns the pool off).");
        }

        if (options.WorkspacesMaxDiskMb < 0)
        {
            errors.Add($"WORKSPACES_MAX_DISK_MB must be 0 (no limit) or a positive number of MiB (got {options.WorkspacesMaxDiskMb}).");
        }

        if (string.IsNullOrWhiteSpace(options.GitAuthorName) || options.GitAuthorName.Length > 200 || options.GitAuthorName.IndexOfAny(['<', '>', '\n', '\r', '\0']) >= 0)
        {
            errors.Add("DEVORCH_GIT_AUTHOR_NAME must be a name of 1-200 characters without '<', '>' or line breaks.");
        }

        if (string.IsNullOrWhiteSpace(options.GitAuthorEmail) || options.GitAuthorEmail.Length > 320 || options.GitAuthorEmail.IndexOfAny(['<', '>', ' ', '\n', '\r', '\0']) >= 0)
        {
            errors.Add("DEVORCH_GIT_AUTHOR_EMAIL must be an email address without spaces, '<' or '>' (for example devorch@example.com).");
        }

        if (options.SandboxTimeoutSeconds < 1)
        {
            errors.Add("SANDBOX_TIMEOUT_SECONDS must be at least 1.");
        }

        if (options.SetupTimeoutSeconds < 1)
        {
            errors.Add($"SETUP_TIMEOUT_SECONDS must be at least 1 (got {options.SetupTimeoutSeconds}).");
        }

        if (string.IsNullOrWhiteSpace(options.PackageCacheDir))
        {
            errors.Add("PACKAGE_CACHE_DIR must not be empty.");
        }

        if (options.SandboxOutputLimitBytes < 1024)
        {
            errors.Add("SANDBOX_OUTPUT_LIMIT_BYTES must be at least 1024.");
        }

        if (options.SandboxMode is not ("auto" or "bubblewrap" or "process"))
        {
            errors.Add("SANDBOX_MODE must be auto, bubblewrap or process.");
        }

        if ((options.SandboxReadOnlyPaths ?? string.Empty).Split([',', ':'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(p => !p.StartsWith('/')) is { } relativePath)
        {
            errors.Add($"SANDBOX_READONLY_PATHS must list absolute directories separated by commas or colons (got '{relativePath}').");
        }

        if (options.MonthlyBudgetUsd < 0)
        {
            errors.Add("MONTHLY_BUDGET_LIMIT must not be negative.");
        }

        if (options.PerTaskLimitUsd < 0)
        {
            errors.Add("PER_TASK_COST_LIMIT must not be negative.");
        }

        if (options.AiProvider is not ("auto" or "anthropic" or "openai"))
        {
            errors.Add($"AI_PROVIDER must be auto, anthropic or openai (got '{options.AiProvider}').");
        }

        foreach (var (setting, value) in new[] { ("ANTHROPIC_BASE_URL", options.AnthropicBaseUrl), ("OPENAI_BASE_URL", options.OpenAIBaseUrl) })
        {
            if (value is { Length: > 0 } && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                errors.Add($"{setting} must be an http(s) URL (got '{value}').");
            }
        }

        if (options.AgentMaxTurns is < 1 or > 1000)
        {
            errors.Add("AGENT_MAX_TURNS must be between 1 and 1000.");
        }

        if (options.AgentMaxOutputTokens is < 256 or > 200_000)
        {
            errors.Add("AGENT_MAX_OUTPUT_TOKENS must be between 256 and 200000.");
        }

        if (options.AgentVerifyAttempts is < 0 or > 20)
        {
            errors.Add("AGENT_VERIFY_ATTEMPTS must be between 0 and 20.");
        }

        if (options.AgentToolOutputChars < 1000)
        {
            errors.Add("AGENT_TOOL_OUTPUT_CHARS must be at least 1000.");
        }

        if (options.ModelTimeoutSeconds < 1)
        {
            errors.Add("MODEL_TIMEOUT_SECONDS must be at least 1.");
        }

        if (options.ModelRetryAttempts is < 0 or > 20)
        {
            errors.Add("MODEL_RETRY_ATTEMPTS must be between 0 and 20.");
        }

        if (options.ModelRequestsPerSecond <= 0)
        {
            errors.Add("MODEL_REQUESTS_PER_SECOND must be greater than 0.");
        }

        if (options.ModelMaxConcurrentRequests is < 1 or > 10_000)
        {
            errors.Add("MODEL_MAX_CONCURRENT_REQUESTS must be between 1 and 10000.");
        }

        if (options.CircuitBreakerThreshold < 1)
        {
            errors.Add("CIRCUIT_BREAKER_THRESHOLD must be at least 1.");
        }

        if (options.PluginRetryAttempts is < 0 or > 20)
        {
            errors.Add("PLUGIN_RETRY_ATTEMPTS must be between 0 and 20.");
        }

        if (options.PluginRetryDelaySeconds is < 0 or > 600)
        {
            errors.Add("PLUGIN_RETRY_DELAY_SECONDS must be between 0 and 600.");
        }

        if (options.PluginTimeoutSeconds is < 1 or > 3600)
        {
            errors.Add("PLUGIN_TIMEOUT_SECONDS must be between 1 and 3600.");
        }

        if (options.CircuitBreakerResetSeconds is < 1 or > 86_400)
        {
            errors.Add("CIRCUIT_BREAKER_RESET_SECONDS must be between 1 and 86400.");
        }

        if (options.RateLimitRequestsPerSecond <= 0)
        {
            errors.Add("RATE_LIMIT_REQUESTS_PER_SECOND must be greater than 0.");
        }

        foreach (var (model, price) in options.ModelPrices)
        {
            if (price.Input < 0 || price.Output < 0 || price.CacheWrite < 0 || price.CacheRead < 0 || price.ContextWindow < 0)
            {
                errors.Add($"MODEL_PRICES:{model}: prices and context_window must not be negative.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Turns the guide's <c>postgresql://user:pass@host:5432/db</c> URL into an Npgsql connection string.</summary>
public static class DatabaseUrls
{
    public static string ToNpgsqlConnectionString(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgresql" or "postgres"))
        {
            throw new FormatException("expected postgresql://user:pass@host:5432/db");
        }

        var database = uri.AbsolutePath.Trim('/');
        if (database.Length == 0)
        {
            throw new FormatException("the URL names no database (postgresql://user:pass@host:5432/db)");
        }

        var builder = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(database),
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : string.Empty;
            if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
            {
                builder.SslMode = Enum.Parse<Npgsql.SslMode>(value, ignoreCase: true);
            }
            else
            {
                try
                {
                    builder[key] = value;
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"unknown parameter '{key}'", ex);
                }
            }
        }

        return builder.ConnectionString;
    }
}

/// <summary>Turns <c>redis://[:password@]host[:6379][/db]</c> (or <c>rediss://</c> for TLS) into StackExchange.Redis options.</summary>
public static class RedisUrls
{
    public static StackExchange.Redis.ConfigurationOptions ToConfiguration(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || uri.Host.Length == 0)
        {
            throw new FormatException("expected redis://[:password@]host:6379[/db]");
        }

        var options = new StackExchange.Redis.ConfigurationOptions
        {
            Ssl = uri.Scheme == "rediss",
            AbortOnConnectFail = false,
            ConnectTimeout = 5000,
        };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts.Length == 2)
            {
                options.User = parts[0].Length > 0 ? Uri.UnescapeDataString(parts[0]) : null;
                options.Password = Uri.UnescapeDataString(parts[1]);
            }
            else
            {
                options.Password = Uri.UnescapeDataString(parts[0]);
            }
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var db) || db > 15)
            {
                throw new FormatException("the database number after the host must be 0-15");
            }

            options.DefaultDatabase = db;
        }

        return options;
    }
}
