using System.Linq.Expressions;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Audit;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Hosting;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Projects;

/// <summary>
/// <c>/api/v1/projects/{id}/members</c>: who belongs to a project and with which role (<see cref="ProjectRoles"/>).
/// Every member (and every admin) lists them; admins and the project's maintainers add, change and remove them. The
/// last maintainer cannot be removed or demoted (409), so a project always has someone who manages it.
/// </summary>
public static partial class ProjectMembersApi
{
    public sealed record AddMemberRequest(long? UserId, string? Email, string? Role);

    public sealed record UpdateMemberRequest(string? Role);

    public sealed record MemberResponse(long ProjectId, long UserId, string Email, string Role, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

    public sealed record RemovedMemberResponse(long ProjectId, long UserId);

    private static readonly string[] s_sortable = ["created_at", "user_id", "role"];

    private static readonly Dictionary<string, Expression<Func<ProjectMember, object?>>> s_sortKeys = new()
    {
        ["created_at"] = m => m.CreatedAt,
        ["user_id"] = m => m.UserId,
        ["role"] = m => m.Role,
    };

    public static RouteGroupBuilder MapProjectMembersApi(this RouteGroupBuilder projects)
    {
        projects.MapGet("/{id:long}/members", ListAsync).WithSummary("List a project's members and their roles (page, per_page, sort, order).")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<MemberResponse>>().ProducesErrors(StatusCodes.Status404NotFound);
        projects.MapPost("/{id:long}/members", AddAsync).RequireAuthorization(Roles.CanOperate)
            .WithSummary("Add a member (user_id or email) with a role: maintainer, developer or viewer. Admins and the project's maintainers.")
            .ProducesData<MemberResponse>(StatusCodes.Status201Created).ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        projects.MapPatch("/{id:long}/members/{userId:long}", UpdateAsync).RequireAuthorization(Roles.CanOperate)
            .WithSummary("Change a member's role. The last maintainer cannot be demoted (409).")
            .ProducesData<MemberResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        projects.MapDelete("/{id:long}/members/{userId:long}", RemoveAsync).RequireAuthorization(Roles.CanOperate)
            .WithSummary("Remove a member. The last maintainer cannot be removed (409).")
            .ProducesData<RemovedMemberResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return projects;
    }

    private static async Task<IResult> ListAsync(long id, [AsParameters] PageQuery page, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (Ownership.Refuse(context, await Ownership.ProjectAccessAsync(db, context.User, id, cancellationToken), AccessLevel.Read, "Project", id) is { } refused)
        {
            return refused;
        }

        var query = db.ProjectMembers.AsNoTracking().Where(m => m.ProjectId == id);
        var total = await query.LongCountAsync(cancellationToken);
        var members = await paging.Apply(query, s_sortKeys, m => m.UserId).ToListAsync(cancellationToken);
        var userIds = members.Select(m => m.UserId).ToList();
        var emails = await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.Email, cancellationToken);
        var rows = members.Select(m => new MemberResponse(m.ProjectId, m.UserId, emails.GetValueOrDefault(m.UserId, string.Empty), m.Role, m.CreatedAt, m.UpdatedAt)).ToList();
        return Api.Ok(context, rows, pagination: paging.Describe(total));
    }

    private static async Task<IResult> AddAsync(long id, AddMemberRequest request, HttpContext context, AppDbContext db, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("role", request.Role, 20).OneOf("role", request.Role, ProjectRoles.All);
        if (request.UserId is null == string.IsNullOrWhiteSpace(request.Email))
        {
            validation.Add("user_id", "give exactly one of user_id and email");
        }

        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (Ownership.Refuse(context, await Ownership.ProjectAccessAsync(db, context.User, id, cancellationToken), AccessLevel.Manage, "Project", id) is { } refused)
        {
            return refused;
        }

        var email = request.Email?.Trim();
        var user = request.UserId is { } userId
            ? await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, cancellationToken)
            : await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email, cancellationToken);
        if (user is null)
        {
            return Api.Invalid(context, request.UserId is not null
                ? new Validation().Add("user_id", $"no user has id {request.UserId}")
                : new Validation().Add("email", "no user has this email"));
        }

        if (await db.ProjectMembers.AnyAsync(m => m.ProjectId == id && m.UserId == user.Id, cancellationToken))
        {
            return Api.Conflict(context, $"User {user.Id} is already a member of project {id}; change the role with PATCH.");
        }

        var now = timeProvider.GetUtcNow();
        var member = new ProjectMember { ProjectId = id, UserId = user.Id, Role = request.Role!, CreatedAt = now, UpdatedAt = now };
        db.ProjectMembers.Add(member);
        RecordMembershipChange(context, member, AuditActions.ProjectMemberAdded);
        try
        {
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (DbUpdateException ex) when (TransientDatabaseErrors.IsUniqueViolation(ex))
        {
            return Api.Conflict(context, $"User {user.Id} is already a member of project {id}; change the role with PATCH.");
        }

        context.Response.Headers.Location = $"/api/v1/projects/{id}/members/{user.Id}";
        return Api.Ok(context, new MemberResponse(id, user.Id, user.Email, member.Role, now, now), "Member added.", statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> UpdateAsync(long id, long userId, UpdateMemberRequest request, HttpContext context, AppDbContext db, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("role", request.Role, 20).OneOf("role", request.Role, ProjectRoles.All);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var (member, failure) = await FindForChangeAsync(id, userId, context, db, cancellationToken);
        if (member is null)
        {
            return failure!;
        }

        if (member.Role == ProjectRoles.Maintainer && request.Role != ProjectRoles.Maintainer && await IsLastMaintainerAsync(db, member, cancellationToken))
        {
            return Api.Conflict(context, $"User {userId} is the last maintainer of project {id}; make another member maintainer first.");
        }

        if (member.Role != request.Role)
        {
            // Only a real change is saved and audited.
            member.Role = request.Role!;
            member.UpdatedAt = timeProvider.GetUtcNow();
            RecordMembershipChange(context, member, AuditActions.ProjectMemberRoleChanged);
            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
        }

        var email = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.Email).FirstAsync(CancellationToken.None);
        return Api.Ok(context, new MemberResponse(id, userId, email, member.Role, member.CreatedAt, member.UpdatedAt), "Member updated.");
    }

    private static async Task<IResult> RemoveAsync(long id, long userId, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        var (member, failure) = await FindForChangeAsync(id, userId, context, db, cancellationToken);
        if (member is null)
        {
            return failure!;
        }

        if (member.Role == ProjectRoles.Maintainer && await IsLastMaintainerAsync(db, member, cancellationToken))
        {
            return Api.Conflict(context, $"User {userId} is the last maintainer of project {id}; make another member maintainer first.");
        }

        db.ProjectMembers.Remove(member);
        RecordMembershipChange(context, member, AuditActions.ProjectMemberRemoved);
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        return Api.Ok(context, new RemovedMemberResponse(id, userId), "Member removed.");
    }

    /// <summary>
    /// The member row to change, tracked, once the caller may manage the project; else the refusal (404, 403). Called in
    /// the change's transaction, it first writes the project's row (to itself): on PostgreSQL that locks the row, on
    /// SQLite it takes the write lock, so two changes of one project's members run one after the other and the
    /// last-maintainer check of the second sees the first (two maintainers removing each other at once leave one).
    /// </summary>
    private static async Task<(ProjectMember? Member, IResult? Failure)> FindForChangeAsync(
        long id, long userId, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        await db.Projects.Where(p => p.Id == id).ExecuteUpdateAsync(s => s.SetProperty(p => p.UpdatedAt, p => p.UpdatedAt), CancellationToken.None);
        if (Ownership.Refuse(context, await Ownership.ProjectAccessAsync(db, context.User, id, cancellationToken), AccessLevel.Manage, "Project", id) is { } refused)
        {
            return (null, refused);
        }

        var member = await db.ProjectMembers.FirstOrDefaultAsync(m => m.ProjectId == id && m.UserId == userId, cancellationToken);
        return member is null ? (null, Api.NotFound(context, $"Member of project {id} with user id", userId)) : (member, null);
    }

    private static async Task<bool> IsLastMaintainerAsync(AppDbContext db, ProjectMember member, CancellationToken cancellationToken) =>
        !await db.ProjectMembers.AnyAsync(m => m.ProjectId == member.ProjectId && m.UserId != member.UserId && m.Role == ProjectRoles.Maintainer, cancellationToken);

    /// <summary>
    /// The one place a membership change passes before it is saved (<paramref name="change"/>: one of the
    /// <c>project.member_*</c> audit actions): its audit row is staged on the request's context, so it is saved with the
    /// change, and a log line is written (ids and the role; nothing secret).
    /// </summary>
    internal static void RecordMembershipChange(HttpContext context, ProjectMember member, string change)
    {
        context.RequestServices.GetRequiredService<AuditTrail>().Add(change, "project", member.ProjectId, new { user_id = member.UserId, role = member.Role });
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProjectMembersApi));
        var actorUserId = context.User.UserId();
        LogMembershipChange(logger, member.ProjectId, member.UserId, change, member.Role, actorUserId);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Project {ProjectId} membership of user {MemberUserId} {Change} (role {Role}) by user {ActorUserId}")]
    private static partial void LogMembershipChange(ILogger logger, long projectId, long memberUserId, string change, string role, long? actorUserId);
}
