using System.Security.Claims;
using DevOrchestrator.Data;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Auth;

/// <summary>
/// Who sees and acts on which projects and tasks. Admins see and do everything. Anyone else sees the projects they are
/// a member of (<see cref="ProjectMember"/>), the tasks of those projects, and the tasks without a project that they
/// created; what they may do there is their project role (<see cref="ProjectRoles"/>), capped by their global role (the
/// route's policy). Lists are filtered in SQL (an <c>IN (SELECT project_id FROM project_members WHERE user_id = …)</c>,
/// never a query per row); a single resource the caller may not see answers 404, one they see but may not change 403.
/// </summary>
public static class Ownership
{
    public static bool IsAdmin(ClaimsPrincipal user) => user.FindFirst(TokenIssuer.RoleClaim)?.Value == Roles.Admin;

    /// <summary>The caller's user id; -1 (no user) for a principal without one, which then sees nothing.</summary>
    private static long CallerId(ClaimsPrincipal user) => user.UserId() ?? -1;

    /// <summary>The ids of the projects <paramref name="user"/> is a member of, as a subquery (for <c>IN</c>).</summary>
    public static IQueryable<long?> MemberProjectIds(AppDbContext db, ClaimsPrincipal user)
    {
        var userId = CallerId(user);
        return db.ProjectMembers.Where(m => m.UserId == userId).Select(m => (long?)m.ProjectId);
    }

    /// <summary>The projects the caller may see.</summary>
    public static IQueryable<Project> VisibleProjects(AppDbContext db, ClaimsPrincipal user)
    {
        if (IsAdmin(user))
        {
            return db.Projects;
        }

        var userId = CallerId(user);
        var projectIds = db.ProjectMembers.Where(m => m.UserId == userId).Select(m => m.ProjectId);
        return db.Projects.Where(p => projectIds.Contains(p.Id));
    }

    /// <summary>The tasks the caller may see: those of their projects, and those without a project that they created.</summary>
    public static IQueryable<DevTask> VisibleTasks(AppDbContext db, ClaimsPrincipal user) => VisibleTasks(db, db.Tasks, user);

    /// <summary><paramref name="tasks"/> (tracked or not) narrowed to those the caller may see.</summary>
    public static IQueryable<DevTask> VisibleTasks(AppDbContext db, IQueryable<DevTask> tasks, ClaimsPrincipal user)
    {
        if (IsAdmin(user))
        {
            return tasks;
        }

        var userId = CallerId(user);
        var projectIds = MemberProjectIds(db, user);
        return tasks.Where(t => (t.ProjectId == null && t.CreatedByUserId == userId) || projectIds.Contains(t.ProjectId));
    }

    /// <summary>The ids of the tasks the caller may see, as a subquery (to filter agents, workflow executions, costs).</summary>
    public static IQueryable<long> VisibleTaskIds(AppDbContext db, ClaimsPrincipal user) => VisibleTasks(db, user).Select(t => t.Id);

    /// <summary>The caller's access to one project (one indexed lookup; none for an admin).</summary>
    public static async Task<AccessLevel> ProjectAccessAsync(AppDbContext db, ClaimsPrincipal user, long projectId, CancellationToken cancellationToken)
    {
        if (IsAdmin(user))
        {
            return await db.Projects.AnyAsync(p => p.Id == projectId, cancellationToken) ? AccessLevel.Manage : AccessLevel.None;
        }

        var userId = CallerId(user);
        var role = await db.ProjectMembers.AsNoTracking().Where(m => m.ProjectId == projectId && m.UserId == userId).Select(m => m.Role).FirstOrDefaultAsync(cancellationToken);
        return role switch
        {
            ProjectRoles.Maintainer => AccessLevel.Manage,
            ProjectRoles.Developer => AccessLevel.Write,
            ProjectRoles.Viewer => AccessLevel.Read,
            _ => AccessLevel.None,
        };
    }

    /// <summary>The caller's access to a task already read: its project's role, or for a task without a project, its creator's.</summary>
    public static async Task<AccessLevel> TaskAccessAsync(AppDbContext db, ClaimsPrincipal user, DevTask task, CancellationToken cancellationToken)
    {
        if (IsAdmin(user))
        {
            return AccessLevel.Manage;
        }

        if (task.ProjectId is not { } projectId)
        {
            return task.CreatedByUserId is { } creator && creator == CallerId(user) ? AccessLevel.Write : AccessLevel.None;
        }

        var access = await ProjectAccessAsync(db, user, projectId, cancellationToken);
        return access == AccessLevel.Manage ? AccessLevel.Write : access;
    }

    /// <summary>
    /// The answer that refuses <paramref name="have"/> when <paramref name="need"/> is required, or null when it is
    /// enough: 404 when the caller cannot see the resource (its existence is not revealed), 403 when they can see it
    /// but their project role does not allow the operation.
    /// </summary>
    public static IResult? Refuse(HttpContext context, AccessLevel have, AccessLevel need, string what, object id)
    {
        if (have >= need)
        {
            return null;
        }

        if (have == AccessLevel.None)
        {
            return Api.NotFound(context, what, id);
        }

        var needed = need == AccessLevel.Manage ? "maintainer" : "developer or maintainer";
        var where = what == "Project" ? $"project {id}" : $"the project of {what.ToLowerInvariant()} {id}";
        return Api.Error(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
            $"Your role in {where} does not allow this operation (it needs {needed}).");
    }
}
