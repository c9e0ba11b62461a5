namespace DevOrchestrator.Abstractions.Plugins;

public static class PluginOutcomes
{
    public const string Success = "success";
    public const string ClientError = "client_error";
    public const string RateLimited = "rate_limited";
    public const string ServerError = "server_error";
    public const string Timeout = "timeout";
    public const string CircuitOpen = "circuit_open";
    public const string Error = "error";
}
