namespace DevOrchestrator.Hosting;

/// <summary>Options of one <c>devorch serve</c> process, from its command line.</summary>
public sealed record ServeOptions(ServiceRole Role = ServiceRole.All, string? Urls = null, bool Debug = false, string? LogLevel = null);
