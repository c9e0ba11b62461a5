using System.Text.Json;
using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Features.Audit;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DevOrchestrator.Features.Plugins;

/// <summary>
/// <c>/api/v1/plugins</c>: each plugin's state; <c>GET|PUT /{type}/{name}/config</c> (secrets write-only, stored
/// encrypted); <c>POST /{type}/{name}/check</c> (connect and probe now).
/// </summary>
public static class PluginsApi
{
    /// <summary>What the API shows for a secret that is set.</summary>
    public const string Masked = "********";

    public sealed record SettingResponse(string Key, string Description, bool Required, bool Secret, bool IsSet, string Source, string? Value, string? Default);

    public sealed record PluginResponse(
        string Type, string Name, string Description, bool Configured, string Status, string CircuitState, DateTimeOffset? CircuitOpenUntil,
        IReadOnlyList<SettingResponse> Settings, IReadOnlyList<string> Actions);

    public sealed record ConfigResponse(string Type, string Name, bool Configured, IReadOnlyList<SettingResponse> Settings);

    public sealed record CheckResponse(string Type, string Name, bool Configured, bool Connected, string? Identity, bool Healthy, string Message, string CircuitState);

    public static IEndpointRouteBuilder MapPluginsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/plugins").WithTags("Plugins").RequireAuthorization(Roles.CanView);
        group.MapGet("/", List).WithSummary("Every plugin: configured or not, circuit state, settings (secrets never shown), workflow actions.")
            .ProducesData<List<PluginResponse>>();
        group.MapGet("/{type}/{name}/config", GetConfigAsync).WithSummary("A plugin's settings and where each comes from (stored, environment, default); secrets are shown only as set or not.")
            .ProducesData<ConfigResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPut("/{type}/{name}/config", PutConfigAsync).RequireAuthorization(Roles.CanAdminister)
            .WithSummary("Store settings for a plugin (encrypted with ENCRYPTION_KEY; they win over the environment). A key set to null goes back to the environment's value; keys left out keep theirs.")
            .ProducesData<ConfigResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPost("/{type}/{name}/check", CheckAsync).RequireAuthorization(Roles.CanOperate)
            .WithSummary("Connect to the vendor with the current settings and probe it now.")
            .ProducesData<CheckResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        return app;
    }

    private static JsonHttpResult<ApiResponse<List<PluginResponse>>> List(HttpContext context, PluginRegistry registry, IConfiguration configuration, StoredPluginConfiguration stored, IEnumerable<Abstractions.IWorkflowActions> actions)
    {
        var actionNames = actions.ToDictionary(a => a.Plugin, a => a.Actions.Keys.Select(k => $"{a.Plugin}.{k}").ToArray(), StringComparer.Ordinal);
        var list = registry.All.Select(p =>
        {
            var circuit = registry.CircuitState(p);
            var status = !p.IsConfigured ? "not_configured" : circuit == PluginCircuitState.Open ? "circuit_open" : "configured";
            return new PluginResponse(p.Type, p.Name, p.Description, p.IsConfigured, status, PluginRegistry.StateName(circuit), registry.OpenUntil(p),
                Describe(p, configuration, stored), actionNames.TryGetValue(p.Type, out var names) ? names : []);
        }).ToList();
        return Api.Ok(context, list);
    }

    private static IResult GetConfigAsync(HttpContext context, string type, string name, PluginRegistry registry, IConfiguration configuration, StoredPluginConfiguration stored)
    {
        if (registry.Find(type, name) is not { } plugin)
        {
            return Api.NotFound(context, "plugin", $"{type}/{name}");
        }

        return Api.Ok(context, new ConfigResponse(type, name, plugin.IsConfigured, Describe(plugin, configuration, stored)));
    }

    private static async Task<IResult> PutConfigAsync(
        HttpContext context, string type, string name, JsonElement body, PluginRegistry registry, PluginConfigStore store, ConfigEncryption encryption,
        IConfiguration configuration, StoredPluginConfiguration stored, AuditTrail audit, CancellationToken cancellationToken)
    {
        if (registry.Find(type, name) is not { } plugin)
        {
            return Api.NotFound(context, "plugin", $"{type}/{name}");
        }

        var validation = new Validation();
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Api.Invalid(context, validation.Add("body", "must be a JSON object of settings, e.g. {\"GITHUB_TOKEN\": \"…\"}"));
        }

        var known = plugin.Settings.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var change = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var property in body.EnumerateObject())
        {
            if (!known.ContainsKey(property.Name))
            {
                validation.Add(property.Name, $"is not a setting of {type}/{name}; known: {string.Join(", ", known.Keys)}");
                continue;
            }

            switch (property.Value.ValueKind)
            {
                case JsonValueKind.Null:
                    change[property.Name] = null;
                    break;
                case JsonValueKind.String:
                    change[property.Name] = property.Value.GetString();
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    change[property.Name] = property.Value.GetRawText();
                    break;
                default:
                    validation.Add(property.Name, "must be a string, a number, true/false or null");
                    break;
            }
        }

        if (change.Count == 0 && validation.IsValid)
        {
            validation.Add("body", "names no setting to change");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        // Validate the settings as they would be: the current effective values with the change applied.
        var proposed = plugin.Settings.ToDictionary(s => s.Key, s => change.TryGetValue(s.Key, out var v) ? v ?? EnvironmentValue(configuration, stored, s.Key) : configuration[s.Key], StringComparer.Ordinal);
        foreach (var (key, problem) in plugin.Validate(proposed))
        {
            validation.Add(key, problem);
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (!encryption.IsAvailable)
        {
            return Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable,
                "ENCRYPTION_KEY is not set: it is needed to store plugin settings in a shared database. Set it (the same on every replica) and restart.");
        }

        // Saved with the configuration, in its transaction: the names of the settings changed, never their values.
        audit.Add(AuditActions.PluginConfigChanged, "plugin", $"{type}/{name}", new
        {
            set = change.Where(c => c.Value is not null).Select(c => c.Key).Order(StringComparer.Ordinal).ToList(),
            removed = change.Where(c => c.Value is null).Select(c => c.Key).Order(StringComparer.Ordinal).ToList(),
        });
        await store.SaveAsync(type, name, change, context.User.UserId(), cancellationToken);
        await plugin.DisconnectAsync(cancellationToken);
        return Api.Ok(context, new ConfigResponse(type, name, plugin.IsConfigured, Describe(plugin, configuration, stored)), "Stored; the plugin uses the new settings from its next call.");
    }

    private static async Task<IResult> CheckAsync(HttpContext context, string type, string name, PluginRegistry registry, PluginProbeCache probes, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (registry.Find(type, name) is not { } plugin)
        {
            return Api.NotFound(context, "plugin", $"{type}/{name}");
        }

        if (!plugin.IsConfigured)
        {
            var missing = plugin.Settings.Where(s => s.Required).Select(s => s.Key);
            return Api.Ok(context, new CheckResponse(type, name, false, false, null, false, $"not configured: set {string.Join(", ", missing)}", PluginRegistry.StateName(registry.CircuitState(plugin))));
        }

        string? identity = null;
        string message;
        var connected = false;
        try
        {
            identity = (await plugin.ConnectAsync(cancellationToken)).Identity;
            connected = true;
            message = $"connected as {identity}";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            message = ex is PluginException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
        }

        var health = connected ? await probes.ProbeAsync(plugin, timeProvider, cancellationToken, fresh: true) : Abstractions.Plugins.PluginHealth.Failed(message);
        return Api.Ok(context, new CheckResponse(type, name, true, connected, identity, health.Healthy, connected ? $"{message}; {health.Message}" : message,
            PluginRegistry.StateName(registry.CircuitState(plugin))));
    }

    private static List<SettingResponse> Describe(IPlugin plugin, IConfiguration configuration, StoredPluginConfiguration stored) =>
        plugin.Settings.Select(s =>
        {
            var value = configuration[s.Key];
            var isSet = !string.IsNullOrEmpty(value);
            var source = stored.TryGet(s.Key, out var storedValue) && storedValue is not null ? "stored" : isSet ? "environment" : s.Default is not null ? "default" : "unset";
            return new SettingResponse(s.Key, s.Description, s.Required, s.Secret, isSet, source, s.Secret ? (isSet ? Masked : null) : value ?? s.Default, s.Default);
        }).ToList();

    /// <summary>The value a key would have without the stored layer (what removing the stored value brings back).</summary>
    private static string? EnvironmentValue(IConfiguration configuration, StoredPluginConfiguration stored, string key) =>
        configuration is IConfigurationRoot root
            ? root.Providers.Where(p => !ReferenceEquals(p, stored)).Select(p => p.TryGet(key, out var v) ? v : null).LastOrDefault(v => v is not null)
            : null;
}
