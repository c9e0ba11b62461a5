namespace DevOrchestrator.Features.Audit;

/// <summary>The actions the audit log records (<c>audit_log.action</c>), each named <c>target.verb</c>.</summary>
public static class AuditActions
{
    public const string UserCreated = "user.created";
    public const string UserRoleChanged = "user.role_changed";
    public const string UserDisabled = "user.disabled";
    public const string UserEnabled = "user.enabled";
    public const string UserTokensRevoked = "user.tokens_revoked";
    public const string UserPasswordReset = "user.password_reset";
    public const string UserPasswordChanged = "user.password_changed";
    public const string ApiKeyCreated = "api_key.created";
    public const string ApiKeyRevoked = "api_key.revoked";
    public const string PluginConfigChanged = "plugin_config.changed";
    public const string ProjectCreated = "project.created";
    public const string ProjectUpdated = "project.updated";
    public const string ProjectDeleted = "project.deleted";
    public const string ProjectMemberAdded = "project.member_added";
    public const string ProjectMemberRoleChanged = "project.member_role_changed";
    public const string ProjectMemberRemoved = "project.member_removed";
    public const string TaskCancelled = "task.cancelled";

    public static readonly IReadOnlyList<string> All =
    [
        UserCreated, UserRoleChanged, UserDisabled, UserEnabled, UserTokensRevoked, UserPasswordReset, UserPasswordChanged,
        ApiKeyCreated, ApiKeyRevoked, PluginConfigChanged, ProjectCreated, ProjectUpdated, ProjectDeleted,
        ProjectMemberAdded, ProjectMemberRoleChanged, ProjectMemberRemoved, TaskCancelled,
    ];
}
