namespace DevOrchestrator.Data;

/// <summary>
/// A member's role in one project, in increasing power: a <c>viewer</c> reads the project and its tasks, events and
/// costs; a <c>developer</c> also creates, updates, queues and cancels its tasks and generates plans; a
/// <c>maintainer</c> also edits the project and manages its members. The global role still caps it: a global
/// <c>viewer</c> never writes, whatever their project role.
/// </summary>
public static class ProjectRoles
{
    public const string Viewer = "viewer";
    public const string Developer = "developer";
    public const string Maintainer = "maintainer";

    public static readonly IReadOnlyList<string> All = [Viewer, Developer, Maintainer];
}
