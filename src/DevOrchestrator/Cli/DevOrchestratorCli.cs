using System.CommandLine;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Audit;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using DevOrchestrator.Hosting.SecretStores;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace DevOrchestrator.Cli;

/// <summary>The <c>devorch</c> command line: <c>serve</c>, <c>db migrate</c>, <c>user create</c>, <c>token create</c>, and HTTP clients of a running server.</summary>
public static class DevOrchestratorCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("DevOrchestrator: self-hosted AI development automation.")
        {
            ServeCommand(),
            DbCommand(),
            UserCommand(),
            TokenCommand(),
            IdentityCommands.ApiKey(),
            IdentityCommands.Audit(),
            new Command("workflows", "Workflow commands.") { WorkflowsValidateCommand.Create(), ServerCommands.WorkflowsList() },
            PromptsCommand.Create(),
            ServerCommands.Tasks(),
            RunCommand.Create(),
            ServerCommands.Costs(),
            ServerCommands.Plugins(),
            OperationsCommands.Health(),
            ConfigCommand.Create(),
            SecretsCommand.Create(),
        };
        if (Console.IsOutputRedirected)
        {
            // Piped or redirected: tables keep one line per row instead of wrapping at the 80 columns Spectre assumes.
            Spectre.Console.AnsiConsole.Profile.Width = 10_000;
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            // Usage errors (an unknown command or option, a missing or bad value): each on its own line, exit 2.
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync(error.Message);
            }

            await Console.Error.WriteLineAsync($"See '{CommandPath(parse.CommandResult)} --help'.");
            return ExitCodes.Usage;
        }

        try
        {
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
            if (parse.CommandResult.Command.Name == "serve")
            {
                // The host stops gracefully on SIGTERM/SIGINT itself; System.CommandLine's handler racing it threw an
                // unhandled InvalidOperationException at shutdown.
                invocation.ProcessTerminationTimeout = null;
            }

            return await parse.InvokeAsync(invocation);
        }
        catch (SettingsException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return ExitCodes.Usage;
        }
        catch (DatabaseUnreachableException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return ExitCodes.Failure;
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !args.Contains("--debug"))
        {
            // A short message, not a stack trace (run with --debug to see it).
            await Console.Error.WriteLineAsync($"devorch: {ex.GetType().Name}: {ex.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>"devorch tasks list" for the command a parse stopped in.</summary>
    private static string CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (var current = result; current?.Parent is System.CommandLine.Parsing.CommandResult parent; current = parent)
        {
            names.Push(current.Command.Name);
        }

        names.Push("devorch");
        return string.Join(' ', names);
    }

    private static Command ServeCommand()
    {
        var role = new Option<string>("--role") { Description = "all (API + workers, the default), api or worker", DefaultValueFactory = _ => "all" };
        role.AcceptOnlyFromAmong("all", "api", "worker");
        var urls = new Option<string?>("--urls") { Description = $"Addresses to listen on (default {DevOrchestratorApp.DefaultUrls})" };
        var debug = new Option<bool>("--debug") { Description = "Debug logging and detailed errors in logs" };
        var logLevel = new Option<string?>("--log-level") { Description = "trace, debug, info, warning, error or critical" };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "info", "information", "warning", "error", "critical");
        var command = new Command("serve", "Run the service.") { role, urls, debug, logLevel };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var options = new ServeOptions(Enum.Parse<ServiceRole>(parseResult.GetValue(role)!, ignoreCase: true), parseResult.GetValue(urls),
                parseResult.GetValue(debug), parseResult.GetValue(logLevel));
            // Secret stores (Vault, AWS, Azure) are read before the host is built: their settings are the host's.
            await using var secretStores = await SecretStoreSet.LoadAsync(ConfigCommand.Configuration(), TimeProvider.System, cancellationToken);
            // The database is checked before the host is built: building it prepares the job storage, which retries ~30 s.
            var app = DevOrchestratorApp.Build(options, checkOptions: o => DatabaseMigrator.EnsureReachable(o.Database), secretStores: secretStores);
            await DatabaseMigrator.MigrateOnStartIfEmbeddedAsync(app, cancellationToken);
            await app.RunAsync();
            return 0;
        });
        return command;
    }

    private static Command DbCommand()
    {
        var migrate = new Command("migrate", "Apply database migrations (SQLite file or DATABASE_URL).");
        migrate.SetAction(async (_, cancellationToken) =>
        {
            await using var services = BuildServices();
            var applied = await DatabaseMigrator.MigrateAsync(services, cancellationToken);
            Console.WriteLine(applied.Count == 0 ? "The database is up to date." : $"Applied {applied.Count} migration(s): {string.Join(", ", applied)}");
            return 0;
        });
        return new Command("db", "Database commands.") { migrate, OperationsCommands.Status(), OperationsCommands.Backup(), OperationsCommands.Restore() };
    }

    private static Command UserCommand()
    {
        var email = new Option<string>("--email") { Description = "The user's email", Required = true };
        var role = new Option<string>("--role") { Description = "admin, operator or viewer", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var password = new Option<string?>("--password") { Description = "The password (generated and printed when left out)" };
        var create = new Command("create", "Create a user.") { email, role, password };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            var address = parseResult.GetValue(email)!.Trim();
            if (!address.Contains('@', StringComparison.Ordinal) || address.Length > 320)
            {
                await Console.Error.WriteLineAsync("--email must be an email address.");
                return ExitCodes.Usage;
            }

            var given = parseResult.GetValue(password);
            if (given is not null && UserAccounts.PasswordProblem(given) is { } problem)
            {
                await Console.Error.WriteLineAsync($"--password {problem}.");
                return ExitCodes.Usage;
            }

            await using var services = await BuildMigratedServicesAsync(cancellationToken);
            await using var scope = services.CreateAsyncScope();
            var accounts = scope.ServiceProvider.GetRequiredService<UserAccounts>();
            var secret = given ?? UserAccounts.GeneratePassword();
            var user = await accounts.CreateAsync(address, parseResult.GetValue(role)!, secret, cancellationToken);
            if (user is null)
            {
                await Console.Error.WriteLineAsync($"A user with email {address} already exists.");
                return 1;
            }

            Console.WriteLine($"Created user {user.Id} {user.Email} ({user.Role}).");
            if (given is null)
            {
                Console.WriteLine($"Password: {secret}");
            }

            return 0;
        });
        return new Command("user", "User commands (on the database; the same operations as /api/v1/users).")
        {
            create, UserListCommand(), UserChangeCommand("disable", "Disable a user: no login, and their tokens stop working (within 2 s on a running server).", null, false),
            UserChangeCommand("enable", "Enable a disabled user.", null, true), UserChangeCommand("set-role", "Change a user's role.", true, null),
            UserRevokeTokensCommand(), IdentityCommands.ResetPassword(),
        };
    }

    private static Command UserListCommand()
    {
        var list = new Command("list", "List users.");
        list.SetAction(async (_, cancellationToken) =>
        {
            await using var services = await BuildMigratedServicesAsync(cancellationToken);
            await using var scope = services.CreateAsyncScope();
            var users = await scope.ServiceProvider.GetRequiredService<UserAccounts>().Query().ToListAsync(cancellationToken);
            var table = new Table().AddColumns("id", "email", "role", "active", "created_at");
            foreach (var u in users)
            {
                table.AddRow(Markup.Escape($"{u.Id}"), Markup.Escape(u.Email), u.Role, u.IsActive ? "yes" : "no",
                    Markup.Escape(u.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture)));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        });
        return list;
    }

    /// <summary><c>user disable|enable|set-role --email E [--role R]</c>: <paramref name="withRole"/> adds the required --role.</summary>
    private static Command UserChangeCommand(string name, string description, bool? withRole, bool? active)
    {
        var email = new Option<string>("--email") { Description = "The user's email", Required = true };
        var role = new Option<string>("--role") { Description = "admin, operator or viewer", Required = true };
        role.AcceptOnlyFromAmong([.. Roles.All]);
        var command = new Command(name, description) { email };
        if (withRole == true)
        {
            command.Add(role);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await using var services = await BuildMigratedServicesAsync(cancellationToken);
            await using var scope = services.CreateAsyncScope();
            var accounts = scope.ServiceProvider.GetRequiredService<UserAccounts>();
            var address = parseResult.GetValue(email)!.Trim().ToLowerInvariant();
            var user = await accounts.FindAsync(address, cancellationToken);
            if (user is null)
            {
                await Console.Error.WriteLineAsync($"No user with email {address} (see 'devorch user list').");
                return ExitCodes.Failure;
            }

            var change = await accounts.ChangeAsync(user.Id, withRole == true ? parseResult.GetValue(role) : null, active, cancellationToken);
            if (change.Outcome == UserChangeOutcome.LastAdmin)
            {
                await Console.Error.WriteLineAsync($"{address} is the last active admin: make another user admin first.");
                return ExitCodes.Failure;
            }

            var changed = change.User!;
            Console.WriteLine($"User {changed.Id} {changed.Email}: {changed.Role}, {(changed.IsActive ? "active" : "disabled")}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>user revoke-tokens --email E</c>: every token the user holds stops working (within 2 s on a running server).</summary>
    private static Command UserRevokeTokensCommand()
    {
        var email = new Option<string>("--email") { Description = "The user's email", Required = true };
        var command = new Command("revoke-tokens", "Revoke every token and API key of a user: refused from their next request (within 2 s on a running server).") { email };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await using var services = await BuildMigratedServicesAsync(cancellationToken);
            await using var scope = services.CreateAsyncScope();
            var accounts = scope.ServiceProvider.GetRequiredService<UserAccounts>();
            var address = parseResult.GetValue(email)!.Trim().ToLowerInvariant();
            if (await accounts.FindAsync(address, cancellationToken) is not { } user)
            {
                await Console.Error.WriteLineAsync($"No user with email {address} (see 'devorch user list').");
                return ExitCodes.Failure;
            }

            await accounts.RevokeTokensAsync(user.Id, apiKeysToo: true, CancellationToken.None);
            Console.WriteLine($"User {user.Id} {user.Email}: every token issued so far is revoked.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command TokenCommand()
    {
        var email = new Option<string>("--email") { Description = "The user's email", Required = true };
        var expires = new Option<string>("--expires") { Description = "Lifetime: 30d, 12h, 90m (default 30d)", DefaultValueFactory = _ => "30d" };
        var create = new Command("create", "Print a JWT for a user.") { email, expires };
        create.SetAction(async (parseResult, cancellationToken) =>
        {
            if (!TryParseLifetime(parseResult.GetValue(expires)!, out var lifetime))
            {
                await Console.Error.WriteLineAsync("--expires must be a number followed by d, h or m (for example 30d), at most 3650d.");
                return ExitCodes.Usage;
            }

            await using var services = await BuildMigratedServicesAsync(cancellationToken);
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AppDbContext>();
            var address = parseResult.GetValue(email)!.Trim().ToLowerInvariant();
            var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == address, cancellationToken);
            if (user is null)
            {
                await Console.Error.WriteLineAsync($"No user with email {address}: create one with 'devorch user create --email {address} --role operator'.");
                return 1;
            }

            if (!user.IsActive)
            {
                await Console.Error.WriteLineAsync($"User {address} is disabled: enable it first with 'devorch user enable --email {address}'.");
                return 1;
            }

            Console.WriteLine(scope.ServiceProvider.GetRequiredService<TokenIssuer>().Issue(user, lifetime).Token);
            return 0;
        });
        return new Command("token", "Token commands.") { create };
    }

    internal static bool TryParseLifetime(string text, out TimeSpan lifetime)
    {
        lifetime = default;
        if (text.Length < 2 || !int.TryParse(text[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }

        lifetime = text[^1] switch
        {
            'd' => TimeSpan.FromDays(n),
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            _ => TimeSpan.Zero,
        };
        return lifetime > TimeSpan.Zero && lifetime <= TimeSpan.FromDays(3650);
    }

    /// <summary>The settings, database and auth services, without a web server (for the local commands).</summary>
    internal static ServiceProvider BuildServices()
    {
        var configuration = new ConfigurationManager();
        configuration.AddJsonFile("appsettings.json", optional: true);
        configuration.AddEnvironmentVariables();
        DevOrchestratorApp.AddSettingsSources(configuration);
        var options = DevOrchestratorOptions.Read(configuration);
        DevOrchestratorApp.CreateIgnoredDirectory(options.Server.FullDataDir);
        DatabaseMigrator.EnsureReachable(options.Database);
        var services = new ServiceCollection();
        options.AddTo(services);
        services.AddSingleton(TimeProvider.System);
        services.AddLogging();
        services.AddDevOrchestratorDatabase(options.Database);
        services.AddAuditTrail();
        services.AddAuth(options.Auth, options.Server);
        return services.BuildServiceProvider();
    }

    internal static async Task<ServiceProvider> BuildMigratedServicesAsync(CancellationToken cancellationToken)
    {
        var services = BuildServices();
        if (!services.GetRequiredService<IOptions<DatabaseOptions>>().Value.UsesPostgres)
        {
            await DatabaseMigrator.MigrateAsync(services, cancellationToken);
        }

        return services;
    }
}
