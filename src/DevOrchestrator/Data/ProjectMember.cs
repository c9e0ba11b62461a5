namespace DevOrchestrator.Data;

/// <summary>
/// A user's membership of a project, with their role in it (<see cref="ProjectRoles"/>): one row per (project, user).
/// A non-admin sees and acts only on the projects they are a member of (see <c>Features/Auth/Ownership</c>).
/// </summary>
public sealed class ProjectMember
{
    public long ProjectId { get; set; }

    /// <summary>Set instead of <see cref="ProjectId"/> when the project is inserted in the same save (its first maintainer).</summary>
    public Project? Project { get; set; }
    public long UserId { get; set; }
    public required string Role { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
