using System.Linq.Expressions;
using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Audit;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Features.Workspaces;
using DevOrchestrator.Hosting;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Features.Projects;

/// <summary><c>/api/v1/projects</c>: a project is a repository plus its integration mapping.</summary>
public static partial class ProjectsApi
{
    public sealed record ProjectRequest(
        string? Name,
        string? Description,
        string? RepositoryUrl,
        string? DefaultBranch,
        List<string>? TechStack,
        string? TestCommand,
        string? JiraProjectKey,
        string? SlackChannel,
        string? ConfluenceSpaceKey,
        string? ConfluenceParentId,
        List<string?>? SetupCommands = null,
        bool? SandboxNetwork = null);

    public sealed record ProjectResponse(
        long Id, string Name, string? Description, string? RepositoryUrl, string DefaultBranch, IReadOnlyList<string> TechStack,
        string? TestCommand, IReadOnlyList<string> SetupCommands, bool SandboxNetwork, string? JiraProjectKey, string? SlackChannel, string? ConfluenceSpaceKey, string? ConfluenceParentId,
        DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public static ProjectResponse From(Project p) => new(p.Id, p.Name, p.Description, p.RepositoryUrl, p.DefaultBranch, p.TechStack,
            p.TestCommand, p.SetupCommands, p.SandboxNetwork, p.JiraProjectKey, p.SlackChannel, p.ConfluenceSpaceKey, p.ConfluenceParentId, p.CreatedAt, p.UpdatedAt);
    }

    public sealed record DeletedResponse(long Id);

    public sealed record GeneratePlanRequest(List<string?>? Requirements, bool? AutoStart);

    public sealed record PlannedTaskResponse(long Id, string Title, string Description, IReadOnlyList<string> AcceptanceCriteria, string Status);

    public sealed record PlannedEpicResponse(
        long Id, string Title, string Description, IReadOnlyList<string> AcceptanceCriteria, string Status, IReadOnlyList<PlannedTaskResponse> Tasks);

    public sealed record PlanResponse(long ProjectId, IReadOnlyList<PlannedEpicResponse> Epics);

    /// <summary>Where the plan is being created as issues (null when no tracker is configured or the project is not mapped).</summary>
    public sealed record PlanTrackerResponse(string Plugin, string ProjectKey, string Status);

    public sealed record GeneratePlanResponse(PlanResponse Plan, decimal CostUsd, string Model, PlanTrackerResponse? Tracker);

    public const int MaxSetupCommands = 20;
    public const int MaxSetupCommandChars = 4000;

    public const int MaxRequirements = 50;
    public const int MaxRequirementChars = 10_000;

    private static readonly string[] s_sortable = ["created_at", "name", "id", "updated_at"];

    private static readonly Dictionary<string, Expression<Func<Project, object?>>> s_sortKeys = new()
    {
        ["created_at"] = p => p.CreatedAt,
        ["updated_at"] = p => p.UpdatedAt,
        ["name"] = p => p.Name,
        ["id"] = p => p.Id,
    };

    public static IEndpointRouteBuilder MapProjectsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/projects").WithTags("Projects").RequireAuthorization(Roles.CanView);
        group.MapGet("/", ListAsync).WithSummary("List projects (page, per_page, sort, order).")
            .WithMetadata(new SortableFields(s_sortable)).ProducesData<List<ProjectResponse>>();
        group.MapGet("/{id:long}", GetAsync).WithSummary("Get a project.").ProducesData<ProjectResponse>().ProducesErrors(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Create a project (name is required).")
            .ProducesData<ProjectResponse>(StatusCodes.Status201Created).ProducesErrors(StatusCodes.Status409Conflict);
        group.MapPut("/{id:long}", UpdateAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Update a project (fields left out keep their value).")
            .ProducesData<ProjectResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPatch("/{id:long}", UpdateAsync).RequireAuthorization(Roles.CanOperate).WithSummary("Update a project (fields left out keep their value).")
            .ProducesData<ProjectResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapDelete("/{id:long}", DeleteAsync).RequireAuthorization(Roles.CanAdminister).WithSummary("Delete a project that has no tasks.")
            .ProducesData<DeletedResponse>().ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPost("/{id:long}/generate-plan", GeneratePlanAsync).RequireAuthorization(Roles.CanOperate)
            .WithSummary("Turn requirements into epics and tasks (planning agent, one model call) and store them; auto_start queues the tasks.")
            .ProducesData<GeneratePlanResponse>(StatusCodes.Status201Created)
            .ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status429TooManyRequests);
        group.MapProjectMembersApi();
        return app;
    }

    private static async Task<IResult> ListAsync([AsParameters] PageQuery page, HttpContext context, AppDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var paging = PageRequest.Read(page, validation, s_sortable);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        var query = Ownership.VisibleProjects(db, context.User).AsNoTracking();
        var total = await query.LongCountAsync(cancellationToken);
        var items = await paging.Apply(query, s_sortKeys, p => p.Id).ToListAsync(cancellationToken);
        return Api.Ok(context, items.Select(ProjectResponse.From).ToList(), pagination: paging.Describe(total));
    }

    private static async Task<IResult> GetAsync(long id, HttpContext context, AppDbContext db, CancellationToken cancellationToken) =>
        await Ownership.VisibleProjects(db, context.User).AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken) is { } project
            ? Api.Ok(context, ProjectResponse.From(project))
            : Api.NotFound(context, "Project", id);

    private static async Task<IResult> CreateAsync(ProjectRequest request, HttpContext context, AppDbContext db, TimeProvider timeProvider, AuditTrail audit,
        Workspaces.GitCli git, IEnumerable<Abstractions.Plugins.IVersionControlPlugin> codeHosts, CancellationToken cancellationToken)
    {
        var validation = Validate(request, creating: true);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (request.RepositoryUrl is { Length: > 0 } repositoryUrl && await RepositoryProblemAsync(repositoryUrl, git, codeHosts, cancellationToken) is { } problem)
        {
            return Api.Error(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.Unprocessable, "The repository cannot be used.",
                new Dictionary<string, string[]> { ["repository_url"] = [problem] });
        }

        var name = request.Name!.Trim();
        if (await db.Projects.AnyAsync(p => p.Name == name, cancellationToken))
        {
            return Api.Conflict(context, $"A project named '{name}' already exists.");
        }

        var now = timeProvider.GetUtcNow();
        var project = new Project { Name = name, CreatedAt = now, UpdatedAt = now };
        Apply(project, request);
        // The project's id names the audit row's target: two saves, one transaction.
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        db.Projects.Add(project);
        // The creator is the project's first maintainer, in the same save.
        var member = context.User.UserId() is { } creatorId
            ? new ProjectMember { Project = project, UserId = creatorId, Role = ProjectRoles.Maintainer, CreatedAt = now, UpdatedAt = now }
            : null;
        if (member is not null)
        {
            db.ProjectMembers.Add(member);
        }

        await db.SaveChangesAsync(CancellationToken.None);
        audit.Add(AuditActions.ProjectCreated, "project", project.Id, new { name = project.Name, repository_url = project.RepositoryUrl is { } url ? GitCli.Redact(url) : null });
        if (member is not null)
        {
            ProjectMembersApi.RecordMembershipChange(context, member, AuditActions.ProjectMemberAdded);
        }

        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        context.Response.Headers.Location = $"/api/v1/projects/{project.Id}";
        return Api.Ok(context, ProjectResponse.From(project), "Project created.", statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> UpdateAsync(long id, ProjectRequest request, HttpContext context, AppDbContext db, TimeProvider timeProvider, AuditTrail audit, CancellationToken cancellationToken)
    {
        var validation = Validate(request, creating: false);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (Ownership.Refuse(context, await Ownership.ProjectAccessAsync(db, context.User, id, cancellationToken), AccessLevel.Manage, "Project", id) is { } refused)
        {
            return refused;
        }

        var project = await db.Projects.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (project is null)
        {
            return Api.NotFound(context, "Project", id);
        }

        if (request.Name is { } newName && newName.Trim() != project.Name && await db.Projects.AnyAsync(p => p.Name == newName.Trim(), cancellationToken))
        {
            return Api.Conflict(context, $"A project named '{newName.Trim()}' already exists.");
        }

        Apply(project, request);
        project.UpdatedAt = timeProvider.GetUtcNow();
        var changed = db.Entry(project).Properties.Where(p => p.IsModified && p.Metadata.Name != nameof(Project.UpdatedAt))
            .Select(p => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Metadata.Name)).Order(StringComparer.Ordinal).ToList();
        audit.Add(AuditActions.ProjectUpdated, "project", project.Id, new { name = project.Name, changed });
        await db.SaveChangesAsync(CancellationToken.None);
        return Api.Ok(context, ProjectResponse.From(project), "Project updated.");
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext context, AppDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var project = await db.Projects.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (project is null)
        {
            return Api.NotFound(context, "Project", id);
        }

        if (await db.Tasks.AnyAsync(t => t.ProjectId == id, cancellationToken))
        {
            return Api.Conflict(context, $"Project {id} has tasks; it cannot be deleted.");
        }

        db.Projects.Remove(project);
        audit.Add(AuditActions.ProjectDeleted, "project", project.Id, new { name = project.Name });
        await db.SaveChangesAsync(CancellationToken.None);
        return Api.Ok(context, new DeletedResponse(id), "Project deleted.");
    }

    /// <summary>
    /// <c>POST /api/v1/projects/{id}/generate-plan</c>: the planning agent turns the requirements into epics and tasks,
    /// stored in one transaction (epics as <c>kind=epic</c>, their tasks with <c>parent_id</c>, source <c>plan</c>, status
    /// pending). 503 when no model can be used (the message names the setting) or the provider keeps failing; 429
    /// <c>BUDGET_EXCEEDED</c> when the call could break the monthly budget; 422 when the answer holds no readable plan
    /// (nothing is stored).
    /// </summary>
    private static async Task<IResult> GeneratePlanAsync(
        long id, GeneratePlanRequest? request, HttpContext context, AppDbContext db, PlanningAgent planner, TaskLifecycle lifecycle,
        Plugins.PluginRegistry plugins, IBackgroundJobClient jobs, ActiveAgentTasks activeAgentTasks, CancellationToken cancellationToken)
    {
        var validation = ValidatePlanRequest(request);
        if (!validation.IsValid)
        {
            return Api.Invalid(context, validation);
        }

        if (Ownership.Refuse(context, await Ownership.ProjectAccessAsync(db, context.User, id, cancellationToken), AccessLevel.Write, "Project", id) is { } refused)
        {
            return refused;
        }

        var project = await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (project is null)
        {
            return Api.NotFound(context, "Project", id);
        }

        var userId = context.User.UserId();
        if (request!.AutoStart == true)
        {
            // Before the (paid) model call: a user at the active agent task limit gets the 429 now, not after planning.
            await activeAgentTasks.CheckRoomAsync(db, userId, cancellationToken);
        }

        var requirements = request.Requirements!.Select(r => r!.Trim()).ToList();
        var (result, failure) = await PlanAsync(context, planner, project, userId, requirements, cancellationToken);
        if (result is null)
        {
            return failure!;
        }

        var autoStart = request.AutoStart == true;
        var stored = await StorePlanAsync(lifecycle, project.Id, userId, result.Plan, autoStart);

        // The issues are made in the background (a tracker's rate limit makes a large plan take minutes).
        PlanTrackerResponse? tracker = null;
        if (PlanTrackerSync.TrackerFor(plugins, project) is { } trackerPlugin)
        {
            await QueueTrackerSyncAsync(jobs, id, stored.Select(s => s.Row.Id).ToArray());
            tracker = new PlanTrackerResponse(trackerPlugin.Name, project.JiraProjectKey!, "queued");
        }

        var response = new GeneratePlanResponse(
            new PlanResponse(id, stored.Select(s => new PlannedEpicResponse(
                s.Row.Id, s.Plan.Title, s.Plan.Description, s.Plan.AcceptanceCriteria, s.Row.Status,
                s.Plan.Tasks.Zip(s.Tasks, (t, row) => new PlannedTaskResponse(row.Id, t.Title, t.Description, t.AcceptanceCriteria, row.Status)).ToList())).ToList()),
            result.CostUsd,
            result.Model,
            tracker);
        var message = $"Plan stored: {stored.Count} epic(s), {result.Plan.TaskCount} task(s)" + (autoStart ? ", tasks queued." : ".")
            + (tracker is null ? string.Empty : $" Creating them as issues in {tracker.Plugin} project {tracker.ProjectKey} in the background.")
            + (result.Plan.Notes.Count > 0 ? " Note: " + string.Join("; ", result.Plan.Notes) + "." : string.Empty);
        return Api.Ok(context, response, message, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>The planning model's plan, or the error answer when no plan was made (503, 429, 422).</summary>
    private static async Task<(PlanningResult? Result, IResult? Failure)> PlanAsync(
        HttpContext context, PlanningAgent planner, Project project, long? userId, IReadOnlyList<string> requirements, CancellationToken cancellationToken)
    {
        try
        {
            return (await planner.PlanAsync(
                new ModelCallScope(TaskId: null, ProjectId: project.Id, UserId: userId, AgentExecutionId: null, AgentRoles.Planning),
                new PlanningProject(project.Name, project.Description, project.TechStack, project.RepositoryUrl),
                requirements,
                cancellationToken), null);
        }
        catch (ModelUnavailableException ex)
        {
            return (null, Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, "The planning model cannot be used: " + ex.Message));
        }
        catch (BudgetExceededException ex)
        {
            return (null, Api.Error(context, StatusCodes.Status429TooManyRequests, ErrorCodes.BudgetExceeded, "No plan was made: " + ex.Message));
        }
        catch (UnreadablePlanException ex)
        {
            return (null, Api.Error(context, StatusCodes.Status422UnprocessableEntity, ErrorCodes.Unprocessable,
                $"No plan was stored: {ex.Message} (the call cost ${ex.CostUsd:0.######}; try again or rephrase the requirements)"));
        }
        catch (Exception ex) when (ModelResilience.IsModelFailure(ex) && !cancellationToken.IsCancellationRequested)
        {
            return (null, Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable,
                $"The model provider did not answer the planning request after retries: {ModelResilience.Describe(ex)}"));
        }
    }

    /// <summary>
    /// Stores the plan: epics first (their ids become the tasks' parent_id), then their tasks; one transaction, all or
    /// nothing, committed whether or not the client is still there (the model call is paid for).
    /// </summary>
    private static async Task<List<(PlannedEpic Plan, DevTask Row, IReadOnlyList<DevTask> Tasks)>> StorePlanAsync(
        TaskLifecycle lifecycle, long projectId, long? userId, ProjectPlan plan, bool startTasks)
    {
        NewTask Planned(PlannedTask item) => new(item.Title)
        {
            Description = DescribeWithCriteria(item),
            ProjectId = projectId,
            Source = TaskSources.Plan,
            Variables = JsonSerializer.Serialize(new { acceptance_criteria = item.AcceptanceCriteria }, JsonDefaults.Options),
            CreatedByUserId = userId,
        };

        var created = await lifecycle.CreatePlanAsync(
            plan.Epics.Select(e => (Planned(new PlannedTask(e.Title, e.Description, e.AcceptanceCriteria)), (IReadOnlyList<NewTask>)e.Tasks.Select(Planned).ToList())).ToList(),
            startTasks);
        return plan.Epics.Zip(created, (epic, rows) => (epic, rows.Epic, rows.Tasks)).ToList();
    }

    /// <summary>Queues the creation of the plan's issues in the tracker; Hangfire's client is synchronous, so off the request thread.</summary>
    private static async Task QueueTrackerSyncAsync(IBackgroundJobClient jobs, long projectId, long[] epicIds) =>
        await Task.Factory.StartNew(
            () => jobs.Create<PlanTrackerSync>(sync => sync.RunAsync(projectId, epicIds, CancellationToken.None), new Hangfire.States.EnqueuedState(TaskDispatch.BackgroundQueue)),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static Validation ValidatePlanRequest(GeneratePlanRequest? request)
    {
        var v = new Validation();
        if (request?.Requirements is not { } requirements)
        {
            return v.Add("requirements", "is required: a list of requirement texts");
        }

        if (requirements.Count == 0)
        {
            v.Add("requirements", "must have at least one requirement");
        }

        if (requirements.Count > MaxRequirements)
        {
            v.Add("requirements", $"must have at most {MaxRequirements} requirements (got {requirements.Count})");
        }

        for (var i = 0; i < requirements.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(requirements[i]))
            {
                v.Add($"requirements[{i}]", "must not be blank");
            }
            else
            {
                v.MaxLength($"requirements[{i}]", requirements[i], MaxRequirementChars);
            }
        }

        return v;
    }

    /// <summary>The stored description: the item's description, then its acceptance criteria as a list.</summary>
    internal static string DescribeWithCriteria(PlannedTask item)
    {
        if (item.AcceptanceCriteria.Count == 0)
        {
            return item.Description;
        }

        var criteria = "Acceptance criteria:\n" + string.Join('\n', item.AcceptanceCriteria.Select(c => "- " + c));
        return item.Description.Length == 0 ? criteria : item.Description + "\n\n" + criteria;
    }

    private static Validation Validate(ProjectRequest r, bool creating)
    {
        var v = new Validation();
        if (creating || r.Name is not null)
        {
            v.Required("name", r.Name, 200);
        }

        v.MaxLength("description", r.Description, 10_000);
        if (r.RepositoryUrl is { Length: > 0 } url && !LooksLikeGitLocation(url))
        {
            v.Add("repository_url", "must be a git URL (https://, ssh://, git@host:path, file://) or an absolute local path");
        }

        v.MaxLength("repository_url", r.RepositoryUrl, 2000);
        if (r.DefaultBranch is not null && !IsValidBranchName(r.DefaultBranch))
        {
            v.Add("default_branch", "must be a valid git branch name");
        }

        if (r.TechStack is { } stack && (stack.Count > 50 || stack.Any(s => string.IsNullOrWhiteSpace(s) || s.Length > 100)))
        {
            v.Add("tech_stack", "must be at most 50 non-empty names of at most 100 characters");
        }

        v.MaxLength("test_command", r.TestCommand, 2000);
        if (r.SetupCommands is { } setup)
        {
            if (setup.Count > MaxSetupCommands)
            {
                v.Add("setup_commands", $"must have at most {MaxSetupCommands} commands (got {setup.Count})");
            }

            for (var i = 0; i < setup.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(setup[i]))
                {
                    v.Add($"setup_commands[{i}]", "must be a non-empty shell command");
                }
                else if (setup[i]!.Contains('\0', StringComparison.Ordinal))
                {
                    v.Add($"setup_commands[{i}]", "must not contain a NUL character");
                }
                else
                {
                    v.MaxLength($"setup_commands[{i}]", setup[i], MaxSetupCommandChars);
                }
            }
        }

        v.MaxLength("jira_project_key", r.JiraProjectKey, 50);
        v.MaxLength("slack_channel", r.SlackChannel, 200);
        v.MaxLength("confluence_space_key", r.ConfluenceSpaceKey, 200);
        v.MaxLength("confluence_parent_id", r.ConfluenceParentId, 200);
        return v;
    }

    private static void Apply(Project p, ProjectRequest r)
    {
        if (r.Name is not null) p.Name = r.Name.Trim();
        if (r.Description is not null) p.Description = r.Description;
        if (r.RepositoryUrl is not null) p.RepositoryUrl = r.RepositoryUrl.Length == 0 ? null : r.RepositoryUrl.Trim();
        if (r.DefaultBranch is not null) p.DefaultBranch = r.DefaultBranch;
        if (r.TechStack is not null) p.TechStack = r.TechStack;
        if (r.TestCommand is not null) p.TestCommand = r.TestCommand.Length == 0 ? null : r.TestCommand;
        if (r.SetupCommands is not null) p.SetupCommands = [.. r.SetupCommands.Select(c => c!)];
        if (r.SandboxNetwork is { } network) p.SandboxNetwork = network;
        if (r.JiraProjectKey is not null) p.JiraProjectKey = r.JiraProjectKey.Length == 0 ? null : r.JiraProjectKey;
        if (r.SlackChannel is not null) p.SlackChannel = r.SlackChannel.Length == 0 ? null : r.SlackChannel;
        if (r.ConfluenceSpaceKey is not null) p.ConfluenceSpaceKey = r.ConfluenceSpaceKey.Length == 0 ? null : r.ConfluenceSpaceKey;
        if (r.ConfluenceParentId is not null) p.ConfluenceParentId = r.ConfluenceParentId.Length == 0 ? null : r.ConfluenceParentId;
    }

    /// <summary>
    /// Why a new project's repository cannot be used, or null: a local path must be a git repository; a URL must answer
    /// <c>git ls-remote</c> (with the code host's credentials, 20 s at most). A host that cannot be reached at all (no
    /// network, DNS) is not proof that the repository is missing, so it is accepted, and so is a host that asks for
    /// credentials when no code host plugin is configured for it (a private repository looks the same); a host that
    /// answers "not found", or refuses the configured credentials, is not.
    /// </summary>
    internal static async Task<string?> RepositoryProblemAsync(string url, Workspaces.GitCli git, IEnumerable<Abstractions.Plugins.IVersionControlPlugin> codeHosts,
        CancellationToken cancellationToken)
    {
        var local = Path.IsPathFullyQualified(url) ? url : url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(url).LocalPath : null;
        if (local is not null && !Directory.Exists(local))
        {
            return $"no such directory: {local}";
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var config = codeHosts.FirstOrDefault(h => h.IsConfigured && h.Handles(url))?.GitConfigFor(url) ?? [];
        Workspaces.GitResult result;
        try
        {
            result = await git.RunAsync(null, ["ls-remote", "--heads", "--", url], timeout.Token, allowFailure: true, config: config);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (result.ExitCode == 0)
        {
            return null;
        }

        var error = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var reason = Workspaces.GitCli.Redact(string.Join(" ", error.Where(l => l.StartsWith("fatal:", StringComparison.Ordinal) || l.StartsWith("ERROR:", StringComparison.Ordinal)).DefaultIfEmpty(error.FirstOrDefault() ?? $"exit {result.ExitCode}")));
        // Without credentials for this host a private repository asks for them like a missing one: accept it (the
        // code host may be configured after the project).
        var unknowable = local is null && (UnreachableHost().IsMatch(reason) || (config.Count == 0 && CredentialsNeeded().IsMatch(reason)));
        return unknowable ? null : $"git cannot read this repository: {reason}";
    }

    [System.Text.RegularExpressions.GeneratedRegex("(?i)could not read username|terminal prompts disabled|authentication failed|permission denied \\(publickey")]
    private static partial System.Text.RegularExpressions.Regex CredentialsNeeded();

    [System.Text.RegularExpressions.GeneratedRegex("(?i)could not resolve|failed to connect|connection (refused|timed out)|network is unreachable|no route to host|timed out")]
    private static partial System.Text.RegularExpressions.Regex UnreachableHost();

    internal static bool LooksLikeGitLocation(string url) =>
        url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
        url.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("git://", StringComparison.OrdinalIgnoreCase) ||
        url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) || Path.IsPathFullyQualified(url) ||
        System.Text.RegularExpressions.Regex.IsMatch(url, @"^[\w.-]+@[\w.-]+:[\w./~-]+$");

    internal static bool IsValidBranchName(string name) =>
        name.Length is > 0 and <= 200 && !name.StartsWith('-') && !name.StartsWith('/') && !name.EndsWith('/') && !name.EndsWith(".lock", StringComparison.Ordinal)
        && !name.Contains("..", StringComparison.Ordinal) && !name.Contains("//", StringComparison.Ordinal) && !name.Contains("@{", StringComparison.Ordinal)
        && name.All(c => c > ' ' && c != 0x7f && c is not ('~' or '^' or ':' or '?' or '*' or '[' or '\\'));
}
