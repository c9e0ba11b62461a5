namespace DevOrchestrator.Features.Auth;

/// <summary>What a caller may do with one project or task, in increasing power (see <see cref="Ownership"/>).</summary>
public enum AccessLevel
{
    /// <summary>Not visible: the resource answers 404, as if it did not exist.</summary>
    None = 0,

    /// <summary>Visible: read it, its tasks, events and costs (project role <c>viewer</c>).</summary>
    Read = 1,

    /// <summary>Act on its tasks: create, update, queue, cancel, plan (project role <c>developer</c>; the creator of a task without a project).</summary>
    Write = 2,

    /// <summary>Edit the project and manage its members (project role <c>maintainer</c>; admins).</summary>
    Manage = 3,
}
